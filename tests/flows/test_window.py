"""Window job, competing-phases flow (fake engine), study wiring, entries files and CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from jobflow import Flow, Job, JobStore, Maker, job, run_locally
from maggma.stores import MemoryStore
from monty.serialization import dumpfn
from pymatgen.core import Composition
from pymatgen.entries.computed_entries import ComputedEntry, ComputedStructureEntry
from tests.conftest import REPO, SHARED

from ionflow.analysis.window import stability_window
from ionflow.engines.base import EngineAdapter
from ionflow.errors import InputError
from ionflow.flows.window import CompetingPhasesWindowMaker, window_flow_from_study
from ionflow.io.entries import read_entries
from ionflow.io.structures import read_structure_folder
from ionflow.makers.window import WindowMaker, window_doc

LI_O_CL = REPO / "configs" / "structures" / "window" / "li_o_cl"
CSV = SHARED / "data" / "entries" / "li_fe_o" / "pd_entries_test.csv"

#: toy energies (eV/atom) for the Li-O-Cl phases, keyed by reduced formula
TOY_EV_ATOM = {
    "Li": -1.90,
    "O2": -4.90,
    "Cl2": -1.80,
    "Li2O": -4.95,
    "Li2O2": -5.00,
    "LiCl": -3.98,
    "Li3ClO": -4.57,
}


@dataclass
class _ToyRelaxMaker(Maker):
    name: str = "toy relax"

    @job
    def make(self, structure, prev_dir=None):
        energy = TOY_EV_ATOM[structure.composition.reduced_formula] * len(structure)
        return {"structure": structure, "entry": ComputedEntry(structure.composition, energy)}


class _ToyEngine(EngineAdapter):
    name: ClassVar[str] = "toy"

    def relax_maker(self, **kwargs: Any) -> Maker:
        assert kwargs["relax_cell"] is True
        return _ToyRelaxMaker()

    def static_maker(self, **kwargs: Any) -> Maker:  # pragma: no cover - unused
        raise NotImplementedError

    def md_maker(self, **kwargs: Any) -> Maker:  # pragma: no cover - unused
        raise NotImplementedError


def _run(flow_or_job):
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(flow_or_job, store=store, create_folders=False, ensure_success=True)
    return responses, store


def test_window_job_matches_plain_function(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    window_job = WindowMaker(formula="LiFeO2").make(str(CSV))
    assert window_job.name == "electrochemical window LiFeO2"
    responses, _ = _run(window_job)
    doc = responses[window_job.uuid][1].output
    direct = window_doc(CSV, "LiFeO2")
    assert doc.reduction_limit_V == pytest.approx(direct.reduction_limit_V, abs=1e-12)
    assert doc.oxidation_limit_V == pytest.approx(direct.oxidation_limit_V, abs=1e-12)
    assert doc.reduction_products == direct.reduction_products == ["Fe", "Li5FeO4"]
    assert len(doc.entries) == 490
    assert doc.source == str(CSV)
    json.dumps(doc.model_dump(mode="json"), allow_nan=False)


def test_competing_phases_flow_with_toy_engine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    structures = read_structure_folder(LI_O_CL)
    assert set(structures) == {"Li", "Li2O", "Li2O2", "LiCl", "Li3OCl", "O2", "Cl2"}
    flow = CompetingPhasesWindowMaker(formula="Li3OCl", engine=_ToyEngine()).make(structures)
    names = [j.name for j in flow.jobs]
    assert names[-2:] == ["window entries", "electrochemical window Li3OCl"]
    assert "window relax Li2O2" in names
    responses, _ = _run(flow)
    doc = responses[flow.jobs[-1].uuid][1].output
    # peer: the same energies analysed directly
    entries = [
        ComputedEntry(s.composition, TOY_EV_ATOM[s.composition.reduced_formula] * len(s))
        for s in structures.values()
    ]
    ref = stability_window(entries, "Li3OCl")
    assert doc.reduction_limit_V == pytest.approx(ref.reduction_limit_V, abs=1e-9)
    assert doc.oxidation_limit_V == pytest.approx(ref.oxidation_limit_V, abs=1e-9)
    assert doc.oxidation_products == list(ref.oxidation.phases)
    # by hand: Li3OCl -> 1/2 Li2O2 + LiCl + Li sets the oxidation limit with these energies
    e = {f: v * Composition(f).num_atoms for f, v in TOY_EV_ATOM.items()}
    v_ox = 0.5 * e["Li2O2"] + e["LiCl"] + e["Li"] - e["Li3ClO"]
    assert doc.oxidation_limit_V == pytest.approx(v_ox, abs=1e-9)
    assert doc.oxidation_products == ["Li2O2", "LiCl"]
    assert doc.settings == ["toy"]
    assert doc.engine == {"engine": "toy"}
    assert {r.source for r in doc.entries} == set(structures)


def test_flow_refuses_missing_phases():
    structures = read_structure_folder(LI_O_CL)
    maker = CompetingPhasesWindowMaker(formula="Li3OCl", engine=_ToyEngine())
    with pytest.raises(InputError, match="no Li metal structure"):
        maker.make({k: v for k, v in structures.items() if k != "Li"})
    with pytest.raises(InputError, match="no structure with composition"):
        maker.make({k: v for k, v in structures.items() if k != "Li3OCl"})


def test_window_flow_from_study(tmp_path, li3ocl):
    from ionflow.config.study import StudyConfig

    base = {"name": "w", "structure": {"builtin": "Li3OCl"}, "source_dir": str(tmp_path)}
    study = StudyConfig.model_validate({**base, "window": {"entries": str(CSV)}})
    result = window_flow_from_study(study, li3ocl)
    assert isinstance(result, Job)
    assert result.name == "electrochemical window Li3ClO"  # the host is the default formula
    # a structures folder without the host: the host is computed too
    folder = tmp_path / "phases"
    folder.mkdir()
    for name in ("Li", "Li2O", "LiCl", "O2", "Cl2"):
        (folder / f"{name}.cif").write_text((LI_O_CL / f"{name}.cif").read_text())
    study = StudyConfig.model_validate({**base, "window": {"structures": "phases"}})
    flow = window_flow_from_study(study, li3ocl, engine=_ToyEngine())
    assert isinstance(flow, Flow)
    assert "window relax host" in [j.name for j in flow.jobs]


def test_read_entries_json_roundtrip_and_errors(tmp_path):
    structures = read_structure_folder(LI_O_CL)
    entries = [
        ComputedStructureEntry(s, -1.0 * len(s), entry_id=label) for label, s in structures.items()
    ]
    path = tmp_path / "entries.json.gz"
    dumpfn(entries, path)
    back = read_entries(path)
    assert [e.entry_id for e in back] == list(structures)
    assert all(isinstance(e, ComputedStructureEntry) for e in back)
    dumpfn({"entries": [e.as_dict() for e in entries]}, tmp_path / "wrapped.json")
    assert len(read_entries(tmp_path / "wrapped.json")) == len(entries)
    (tmp_path / "bad.json").write_text('[{"a": 1}]')
    with pytest.raises(InputError, match="item 0 is not a pymatgen entry"):
        read_entries(tmp_path / "bad.json")
    with pytest.raises(InputError, match="does not exist"):
        read_entries(tmp_path / "missing.json")
    (tmp_path / "e.txt").write_text("x")
    with pytest.raises(InputError, match="unknown entries format"):
        read_entries(tmp_path / "e.txt")


def test_cli_window_json_text_plot_and_errors(tmp_path, capsys):
    from ionflow.cli.main import main

    plot = tmp_path / "w.png"
    rc = main(["analyze", "window", str(CSV), "--formula", "LiFeO2", "--json", "--plot", str(plot)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data)[:5] == [
        "reduction_limit_V",
        "oxidation_limit_V",
        "reduction_products",
        "oxidation_products",
        "energy_above_hull_eV_atom",
    ]
    direct = window_doc(CSV, "LiFeO2")
    assert data["oxidation_limit_V"] == pytest.approx(direct.oxidation_limit_V)
    assert plot.stat().st_size > 10_000
    assert main(["analyze", "window", str(CSV), "--formula", "LiFe5O8"]) == 0
    captured = capsys.readouterr()
    assert "reduction_limit_V" in captured.out
    assert "above the hull" in captured.err
    assert main(["analyze", "window", str(CSV), "--formula", "Li3OCl"]) == 2
    assert "outside the entries' chemical space" in capsys.readouterr().err
