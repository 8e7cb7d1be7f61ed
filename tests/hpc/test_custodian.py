"""Custodian fault tests: a correctable VASP failure is fixed by the handler, a non-correctable
one FIZZLES and ``ionflow rerun --dry-run`` lists it with its error.

The VASP executable is ``fake_vasp.py``: it prints custodian's real ZBRENT log (shared data)
until the INCAR carries VaspErrorHandler's fix, then writes a real finished VASP run's
outputs. The handlers are custodian's real default VASP set.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest
from tests.hpc.conftest import FAKE_VASP, write_cluster

from ionflow.errors import InputError

SI_RELAX = "neb/atomate2_si_vacancy_neb/relax_endpoint_1/outputs"


@pytest.fixture
def vasp_inputs(tmp_path, shared_dir, monkeypatch) -> Path:
    """INCAR/POSCAR/KPOINTS of a real VASP relaxation (no POTCAR: licensed)."""
    monkeypatch.setenv("IONFLOW_SHARED_DATA", str(shared_dir / "data"))
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("INCAR", "POSCAR", "KPOINTS"):
        with gzip.open(shared_dir / "data" / SI_RELAX / f"{name}.gz", "rb") as src:
            (folder / name).write_bytes(src.read())
    return folder


def fake_cmd(mode: str) -> str:
    return f"{sys.executable} {FAKE_VASP} {mode}"


def test_correctable_and_uncorrectable_failures_through_fireworks(
    tmp_path, vasp_inputs, monkeypatch, capsys
):
    import jobflow
    from jobflow import Flow

    from ionflow.cli.main import main
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.custodian_run import custodian_calculation
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.rocket import run_rocket
    from ionflow.hpc.submit import submit_flow
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    settings = get_settings()
    cluster = write_cluster(tmp_path)
    cfg = load_cluster_config(cluster)
    good = custodian_calculation("vasp", str(vasp_inputs), command=fake_cmd("zbrent_once"))
    good.name = "vasp correctable"
    bad = custodian_calculation(
        "vasp", str(vasp_inputs), command=fake_cmd("zbrent_always"), max_errors=3
    )
    bad.name = "vasp uncorrectable"
    fw_ids = submit_flow(Flow([good, bad]), cfg, settings, {"study": "custodian_fault"})
    assert len(fw_ids) == 2

    store = open_job_store(settings)
    monkeypatch.setattr(jobflow.SETTINGS, "JOB_STORE", store)
    rocket_dir = tmp_path / "rocket"
    rocket_dir.mkdir()
    monkeypatch.chdir(rocket_dir)
    assert run_rocket(cfg, settings.work_dir, max_fws=0) == 2  # in-process rocket, no queue

    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fws = {d["name"]: d for d in lp.fireworks.find({})}
        dirs = {
            name: lp.launches.find_one({"launch_id": d["launches"][-1]})["launch_dir"]
            for name, d in fws.items()
        }
    assert fws["vasp correctable"]["state"] == "COMPLETED"
    assert fws["vasp uncorrectable"]["state"] == "FIZZLED"

    doc = store.query_one({"uuid": good.uuid}, ["output"])["output"]
    assert doc["n_runs"] == 2
    assert [c["errors"] for c in doc["corrections"]] == [["zbrent"]]
    assert doc["corrections"][0]["handler"] == "VaspErrorHandler"
    ok_dir = Path(dirs["vasp correctable"])
    incar = (ok_dir / "INCAR").read_text()
    assert "NELMIN = 8" in incar  # VaspErrorHandler's zbrent fix, applied in the job folder
    assert (ok_dir / "error.1.tar.gz").is_file()  # the failed run's files are kept
    assert "NELMIN" not in (vasp_inputs / "INCAR").read_text()  # the input folder is untouched
    calls = (ok_dir / "fake_vasp_calls.log").read_text().splitlines()
    assert calls == ["zbrent_once NELMIN=None", "zbrent_once NELMIN=8"]
    assert store.count({"uuid": bad.uuid}) == 0
    store.close()

    capsys.readouterr()
    code = main(["rerun", "--cluster", str(cluster), "--dry-run", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    groups = json.loads(out.out)["groups"]
    assert len(groups) == 1
    ((error_type, runs),) = groups.items()
    assert error_type.startswith("custodian: zbrent x3")
    assert error_type.endswith("(EngineError)")
    assert [r["name"] for r in runs] == ["vasp uncorrectable"]
    assert runs[0]["state"] == "FIZZLED"
    assert "custodian gave up on vasp" in runs[0]["error"]
    assert "MaxCorrections" in runs[0]["error"]


def test_rerun_resumes_from_last_attempt_contcar(tmp_path, vasp_inputs):
    from pymatgen.io.vasp import Poscar

    from ionflow.hpc.custodian_run import prepare_inputs

    earlier = tmp_path / "attempt1"
    earlier.mkdir()
    start = Poscar.from_file(vasp_inputs / "POSCAR").structure
    moved = start.copy()
    moved.translate_sites([0], [0.01, 0.0, 0.0])
    Poscar(moved).write_file(earlier / "CONTCAR")
    broken = tmp_path / "attempt2"
    broken.mkdir()
    (broken / "CONTCAR").write_text("")  # killed before VASP wrote anything
    job_dir = tmp_path / "attempt3"
    job_dir.mkdir()
    spec = {"_ionflow_attempts": [{"launch_dir": str(earlier)}, {"launch_dir": str(broken)}]}
    (job_dir / "FW.json").write_text(json.dumps({"spec": spec}))
    assert prepare_inputs("vasp", vasp_inputs, job_dir) == str(earlier)
    resumed = Poscar.from_file(job_dir / "POSCAR").structure
    assert resumed[0].coords == pytest.approx(moved[0].coords)
    assert (earlier / "CONTCAR").is_file()  # earlier attempt only read
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert prepare_inputs("vasp", vasp_inputs, fresh) is None
    assert (fresh / "POSCAR").read_text() == (vasp_inputs / "POSCAR").read_text()


def test_missing_inputs_and_unknown_engine(tmp_path):
    from ionflow.errors import ConfigError
    from ionflow.hpc.custodian_run import engine_handlers, prepare_inputs

    with pytest.raises(InputError, match="lacks INCAR, POSCAR"):
        prepare_inputs("vasp", tmp_path, tmp_path)
    with pytest.raises(ConfigError, match="no custodian handlers for engine 'mlip'"):
        engine_handlers("mlip")
    names = [type(h).__name__ for h in engine_handlers("cp2k")]
    assert names[0] == "StdErrHandler"
    assert names[-1] == "WalltimeHandler"
    vasp = engine_handlers("vasp", wall_time_s=3600)
    assert type(vasp[0]).__name__ == "VaspErrorHandler"
    assert type(vasp[-1]).__name__ == "WalltimeHandler"
    assert vasp[-1].wall_time == 3600
    assert "WalltimeHandler" not in [type(h).__name__ for h in engine_handlers("vasp")]


def test_run_custodian_empty_command(tmp_path, vasp_inputs):
    from ionflow.errors import ConfigError
    from ionflow.hpc.custodian_run import run_custodian

    work = tmp_path / "w"
    shutil.copytree(vasp_inputs, work)
    with pytest.raises(ConfigError, match="empty vasp command"):
        run_custodian("vasp", work, "  ")
