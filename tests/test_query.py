"""``ionflow query``: filters, results export, JSON/CSV, on montydb and MongoDB (mongomock).

The store is seeded with documents shaped as ionflow's jobs store them (pydantic study
documents serialised by jobflow's rules, job metadata, defect and NEB outputs).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.test_stores import store_settings  # noqa: F401  (fixture: montydb and mongodb)

from ionflow.cli.main import main
from ionflow.errors import InputError
from ionflow.results import Filters, collect_results, list_jobs, list_studies, merge_launchpad_jobs

STUDY_A = "li3ocl_schottky"
STUDY_B = "li3obr_vac"


def _study_doc(study, run_id, host, engine, defects, temps, ea=None, sigma=None):
    from ionflow.schemas.study import StudyMeta, TransportDoc
    from ionflow.schemas.transport import ArrheniusResult

    fit = None
    if ea is not None:
        fit = ArrheniusResult(
            specie="Li",
            target_temperature_K=300.0,
            activation_energy_eV=ea[0],
            activation_energy_std_eV=ea[1],
            conductivity_at_target_mS_cm=sigma[0],
            conductivity_at_target_ci_mS_cm=list(sigma[1]),
            fitted_temperatures_K=list(temps),
        )
    meta = StudyMeta(
        study=study, run_id=run_id, host_formula=host, engine=engine,
        defect_labels=defects, temperatures_K=temps, work_dir="/tmp/w",
    )  # fmt: skip
    return meta, TransportDoc(
        meta=meta, n_atoms=38, cell_formula="Li22Cl7O8", volume_A3=478.0, arrhenius=fit
    )


def _put(store, uuid, name, output, meta):
    from monty.json import jsanitize

    store.docs_store.update(
        {
            "uuid": uuid,
            "index": 1,
            "name": name,
            "output": jsanitize(output, strict=True, allow_bson=True, enum_values=True),
            "metadata": {"ionflow": meta.model_dump(mode="json")},
            "completed_at": f"2026-11-26T08:00:{len(uuid):02d}",
        },
        key=["uuid", "index"],
    )


@pytest.fixture
def seeded(store_settings):  # noqa: F811
    from ionflow.stores import open_job_store

    store = open_job_store(store_settings)
    meta_a2, doc_a2 = _study_doc(
        STUDY_A, "20261126-0900-aaaa", "Li3ClO", "mlip", ["V_Li+V_Cl"], [1000.0, 1200.0, 1400.0],
        ea=(0.312, 0.021), sigma=(0.118, (0.047, 0.296)),
    )  # fmt: skip
    meta_a1, doc_a1 = _study_doc(
        STUDY_A, "20261125-0900-bbbb", "Li3ClO", "mlip", ["V_Li+V_Cl"], [1000.0, 1400.0],
        ea=(0.35, 0.05), sigma=(0.05, (0.01, 0.2)),
    )  # fmt: skip
    meta_b, doc_b = _study_doc(
        STUDY_B, "20261124-0900-cccc", "Li3BrO", "vasp", ["V_Li"], [600.0, 800.0]
    )
    _put(store, "sum-a2", "summarize study", doc_a2, meta_a2)
    _put(store, "sum-a1", "summarize study", doc_a1, meta_a1)
    _put(store, "sum-b", "summarize study", doc_b, meta_b)
    for t in (1000, 1200, 1400):
        _put(store, f"md-{t}", f"md {t}K", {"temperature_K": float(t)}, meta_a2)
    defects = {
        "host_formula": "Li3ClO",
        "defects": [
            {"label": "V_Li", "kroger_vink": "V_Li'", "charge": -1, "formation_energy_eV": 1.23},
            {
                "label": "V_Li+V_Cl", "kroger_vink": "V_Li' + V_Cl•", "charge": 0,
                "formation_energy_eV": 2.104, "binding": {"binding_energy_eV": -0.41},
            },
        ],
    }  # fmt: skip
    _put(store, "def-a2", "defect energies", defects, meta_a2)
    neb = {"hop_label": "V_Li hop 1", "barrier_forward_eV": 0.352, "barrier_reverse_eV": 0.338}
    _put(store, "neb-a2", "neb V_Li hop 1", neb, meta_a2)
    band2 = {"label": "Li_i hop 2", "barrier_forward_eV": 0.21, "barrier_backward_eV": None}
    _put(store, "band-a2", "band 2", band2, meta_a2)  # found by its fields, not its name
    summary = {  # a study summary repeating the numbers above: listed once
        "hops": [{"label": "V_Li hop 1", "barrier_forward_eV": 0.352}],
        "defects": [defects["defects"][0]],
    }
    _put(store, "sys-a2", "system summary", summary, meta_a2)
    yield store
    store.close()


def test_study_filters(seeded):
    runs = lambda **kw: [r["run_id"][-4:] for r in list_studies(seeded, filters=Filters(**kw))]  # noqa: E731
    assert runs() == ["aaaa", "bbbb", "cccc"]  # newest first
    assert runs(formula="Li3OCl") == ["aaaa", "bbbb"]  # element order does not matter
    assert runs(formula="Li6Br2O2") == ["cccc"]  # nor the multiple
    assert runs(defect="V_Cl") == ["aaaa", "bbbb"]
    assert runs(engine="vasp") == ["cccc"]
    assert runs(t_min_K=500, t_max_K=700) == ["cccc"]
    assert runs(t_min_K=1100, t_max_K=1300) == ["aaaa"]
    assert runs(state="completed") == ["aaaa", "bbbb", "cccc"]
    assert runs(state="FIZZLED") == []
    assert [r["run_id"][-4:] for r in list_studies(seeded, STUDY_A)] == ["aaaa", "bbbb"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"t_min_K": 1500, "t_max_K": 1000}, "temperature range is empty"),
        ({"t_min_K": -5}, "t_min_K must be a temperature > 0 K"),
        ({"formula": "Xq2"}, "'Xq2' is not a chemical formula"),
    ],
)
def test_bad_filters(kw, message):
    with pytest.raises(InputError, match=message):
        Filters(**kw)


def test_results_per_study_run(seeded):
    rows = {r["run_id"][-4:]: r for r in collect_results(seeded)}
    a2 = rows["aaaa"]
    assert a2["activation_energy_eV"] == pytest.approx(0.312)
    assert a2["activation_energy_std_eV"] == pytest.approx(0.021)
    assert a2["conductivity_300K_mS_cm"] == pytest.approx(0.118)
    assert (a2["conductivity_300K_ci_low_mS_cm"], a2["conductivity_300K_ci_high_mS_cm"]) == (
        pytest.approx(0.047), pytest.approx(0.296)
    )  # fmt: skip
    assert sorted((b["label"], b["quantity"], b["value_eV"]) for b in a2["barriers"]) == [
        ("Li_i hop 2", "barrier_forward_eV", 0.21),
        ("V_Li hop 1", "barrier_forward_eV", 0.352),
        ("V_Li hop 1", "barrier_reverse_eV", 0.338),
    ]
    assert len(a2["formation_energies"]) == 2
    ef = {e["label"]: e for e in a2["formation_energies"]}
    assert ef["V_Li"]["formation_energy_eV"] == pytest.approx(1.23)
    assert ef["V_Li+V_Cl"]["binding_energy_eV"] == pytest.approx(-0.41)
    assert rows["bbbb"]["barriers"] == []
    assert rows["cccc"]["activation_energy_eV"] is None
    assert [r["run_id"][-4:] for r in collect_results(seeded, Filters(engine="vasp"))] == ["cccc"]


def test_jobs_newest_index_and_launchpad_states(seeded):
    rerun = seeded.docs_store.query_one({"uuid": "md-1000"})
    rerun.pop("_id")
    seeded.docs_store.update({**rerun, "index": 2}, key=["uuid", "index"])  # a kept rerun
    jobs = list_jobs(seeded, STUDY_A, "20261126-0900-aaaa")
    md = {r["job"]: r for r in jobs if r["job"].startswith("md")}
    assert md["md 1000K"]["index"] == 2
    assert len(jobs) == 8  # one row per job (summary, 3 md, defects, 2 bands, system), newest index
    assert [r["job"] for r in list_jobs(seeded, filters=Filters(t_min_K=1100, t_max_K=1300))] == [
        "md 1200K"
    ]
    fireworks = [
        {"fw_id": 1, "uuid": "md-1200", "name": "md 1200K", "state": "COMPLETED", "study": STUDY_A},
        {"fw_id": 2, "uuid": "md-1600", "name": "md 1600K", "state": "FIZZLED", "study": STUDY_A,
         "run_id": "20261126-0900-aaaa"},
        {"fw_id": 3, "uuid": "sum-x", "name": "summarize study", "state": "WAITING",
         "study": STUDY_A},
    ]  # fmt: skip
    merged = merge_launchpad_jobs(jobs, fireworks)
    states = {r["job"]: (r["state"], r["fw_id"]) for r in merged}
    assert states["md 1200K"] == ("COMPLETED", 1)
    assert states["md 1600K"] == ("FIZZLED", 2)
    assert states["md 1400K"] == ("COMPLETED", None)  # stored, not on this launchpad
    fizzled = merge_launchpad_jobs(jobs, fireworks, Filters(state="fizzled"))
    assert [(r["job"], r["temperature_K"]) for r in fizzled] == [("md 1600K", 1600.0)]


def _cli(capsys, *args):
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_csv_and_errors(seeded, capsys):
    code, out, err = _cli(capsys, "query", "--json")
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == [r["run_id"] for r in list_studies(seeded)]

    code, out, err = _cli(capsys, "query", "results", "--csv", "--study", STUDY_A)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run_id"][-4:] for r in rows] == ["aaaa", "bbbb"]
    assert float(rows[0]["activation_energy_eV"]) == pytest.approx(0.312)
    assert float(rows[0]["conductivity_300K_ci_high_mS_cm"]) == pytest.approx(0.296)
    assert json.loads(rows[0]["formation_energies"].split(";")[0])["label"] == "V_Li"

    code, out, err = _cli(capsys, "query", "jobs", "--t-min", "1300", "--json")
    assert code == 0, err
    assert [r["job"] for r in json.loads(out)] == ["md 1400K"]

    code, out, err = _cli(capsys, "query", "--formula", "Li3OBr", "--json")
    assert code == 0, err
    assert [r["study"] for r in json.loads(out)] == [STUDY_B]
    code, out, err = _cli(capsys, "query", "results")  # the table renders
    assert code == 0, err
    assert "ionflow results" in out

    code, _, err = _cli(capsys, "query", "--json", "--csv")
    assert (code, err.strip()) == (2, "error: choose one of --json and --csv")
    code, _, err = _cli(capsys, "query", "--t-min", "900", "--t-max", "800")
    assert code == 2
    assert "temperature range is empty" in err
    code, _, err = _cli(capsys, "query", "everything")
    assert code == 2
    assert "unknown query 'everything'" in err


def test_studies_on_the_launchpad_without_results(seeded):
    from ionflow.results import merge_launchpad_studies

    rows = list_studies(seeded)
    workflows = [
        {"fw_id": 1, "state": "COMPLETED", "study": STUDY_A, "run_id": "20261126-0900-aaaa"},
        {"fw_id": 9, "state": "FIZZLED", "study": STUDY_A, "run_id": "20261127-0900-dddd",
         "host_formula": "Li3ClO", "engine": "mlip", "temperatures_K": [1000.0]},
    ]  # fmt: skip
    merged = merge_launchpad_studies(rows, workflows)
    assert [(r["run_id"][-4:], r["state"]) for r in merged] == [
        ("dddd", "FIZZLED"), ("aaaa", "COMPLETED"), ("bbbb", "COMPLETED"), ("cccc", "COMPLETED")
    ]  # fmt: skip
    assert merged[0]["activation_energy_eV"] is None
    fizzled = merge_launchpad_studies(rows, workflows, Filters(state="fizzled", formula="Li3OCl"))
    assert [r["run_id"][-4:] for r in fizzled] == ["dddd"]


def test_formation_energy_not_determined_is_listed_with_its_reason():
    from ionflow.results import _formation

    why = "E_f = -0.681 eV < 0 for the neutral cell: ..."
    rows = _formation(
        {
            "defects": [
                {"label": "V_Cl", "formation_energy_eV": None, "raw_formation_energy_eV": -0.681,
                 "formation_energy_reason": why},
                {"label": "V_Li+V_Cl", "formation_energy_eV": 2.1,
                 "binding": {"binding_energy_eV": None, "reason": "neutral parts"}},
                {"label": "broken", "formation_energy_eV": None},  # no value, no reason: left out
            ]
        }
    )  # fmt: skip
    assert [r["label"] for r in rows] == ["V_Cl", "V_Li+V_Cl"]
    assert rows[0]["formation_energy_eV"] is None
    assert rows[0]["formation_energy_reason"] == why
    assert rows[1]["binding_energy_eV"] is None
    assert rows[1]["binding_energy_reason"] == "neutral parts"


def test_a_stored_negative_activation_energy_is_not_listed_as_a_result(store_settings):  # noqa: F811
    # a study document written by the previous release, which stored a fit with Ea < 0
    # (D fell with T over too few hops) and its absurd sigma(300 K) as results
    from monty.json import jsanitize

    from ionflow.stores import open_job_store

    store = open_job_store(store_settings)
    meta, doc = _study_doc(
        STUDY_A, "20261203-1716-dddd", "Li3ClO", "mlip", ["V_Li+V_Cl"], [1200.0, 1350.0],
        ea=(0.3, 0.1), sigma=(1.0, (0.1, 10.0)),
    )  # fmt: skip
    old = jsanitize(doc, strict=True, allow_bson=True, enum_values=True)
    old["arrhenius"].update(
        activation_energy_eV=-0.578, activation_energy_std_eV=0.587,
        conductivity_at_target_mS_cm=4.84e10, conductivity_at_target_ci_mS_cm=[8.99e-5, 2.6e25],
    )  # fmt: skip
    for key in ("not_determined", "raw_activation_energy_eV", "raw_activation_energy_std_eV"):
        old["arrhenius"].pop(key)
    _put(store, "sum-d", "summarize study", old, meta)
    (row,) = list_studies(store)
    store.close()
    assert row["activation_energy_eV"] is None
    assert row["conductivity_300K_mS_cm"] is None
    assert row["conductivity_300K_ci_mS_cm"] is None
    assert row["arrhenius_not_determined"] == (
        "Ea = -0.578 ± 0.59 eV ≤ 0: D does not rise with temperature over 1200–1350 K (too "
        "few hops for this temperature range; run longer or over a wider range)"
    )
