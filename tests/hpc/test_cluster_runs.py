"""Cluster runs on the real local Slurm cluster (issue 18).

- per-kind resources: MD queue jobs ask Slurm for 2 tasks, analysis ones for 1 (read back
  with ``scontrol show job``), each rocket running only its kind;
- walltime: a 1-minute queue job (with a 45 s margin) stops its MD segment at the
  deadline; the segment continues in the next queue job, frame count exact;
- rerun: a VASP relaxation (fake VASP replaying custodian's ZBRENT log, then a crash)
  FIZZLES; ``ionflow rerun`` restarts it from its CONTCAR with custodian's INCAR fix.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from tests.hpc.conftest import FAKE_VASP, job_output, run_cli, wait_for_jobs, write_cluster

pytestmark = [pytest.mark.hpc, pytest.mark.filterwarnings("ignore::FutureWarning")]


def _num_tasks(job_id: str) -> tuple[int, str]:
    text = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=30
    ).stdout
    return int(re.search(r"NumTasks=(\d+)", text).group(1)), re.search(r"JobName=(\S+)", text)[1]


def test_kinds_resources_and_walltime_continuation(slurm, tmp_path):
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.submit import QUEUE_RECORDS, submit_flow, wait_for_workflow
    from ionflow.makers.md import MultiTemperatureMDMaker
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store
    from ionflow.testing.md import LJ_DEFAULTS, LennardJonesEngine, li3ocl_vacancy_cell

    settings = get_settings()
    cluster = write_cluster(
        tmp_path,
        "kinds",
        fworker={"env": {"OMP_NUM_THREADS": "1", "IONFLOW_WALLTIME_MARGIN_S": "25"}},
        resources={"md": {"ntasks": 2, "walltime": "1"}, "analysis": {"ntasks": 1}},
    )
    cfg = load_cluster_config(cluster)
    # 120 steps at >= 0.3 s each (36 s) from a job whose deadline is its start + 35 s
    # (1-minute limit, 25 s margin): a stored frame (every 10 steps) always falls after
    # the deadline, so the segment is cut and continues in new queue jobs (2 on an idle
    # machine, more while Python starts slowly)
    engine = LennardJonesEngine(calculator_kwargs={**LJ_DEFAULTS, "delay_s": 0.3})
    md = MultiTemperatureMDMaker(
        engine=engine,
        temperatures_K=[800.0],
        time_step_fs=1.0,
        equilibration_steps=0,
        production_steps=120,
        traj_interval=10,
        checkpoint_dir=str(settings.work_dir / "ckpt"),
        checkpoint_every=1,
    ).make(li3ocl_vacancy_cell())
    check = probe(work_s=0.0)
    check.name = "probe after md"
    from jobflow import Flow

    (fw_id, *_) = submit_flow(Flow([md, check]), cfg, settings, {"study": "kinds"})
    counts = wait_for_workflow(cfg, settings, fw_id, timeout_s=400, poll_s=2, max_fws_per_job=0)
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        records = list(lp.db[QUEUE_RECORDS].find({}))
        fws = list(lp.fireworks.find({}, {"name": 1, "state": 1, "spec._category": 1}))
    dirs = [Path(r["launch_dir"]) for r in records]
    assert counts == {"COMPLETED": len(fws)}, [job_output(d) for d in dirs]
    by_kind: dict[str, list[str]] = {}
    for rec in records:
        by_kind.setdefault(rec["kind"], []).append(rec["queue_job_id"])
    assert set(by_kind) == {"md", "analysis"}
    assert len(by_kind["md"]) >= 2  # the segment did not fit one queue job
    for kind, tasks in (("md", 2), ("analysis", 1)):
        for job_id in by_kind[kind]:
            assert _num_tasks(job_id) == (tasks, f"ionflow-kinds-{kind}")
    assert {f["spec"]["_category"] for f in fws if f["name"].startswith("md ")} == {"md"}
    assert [f["spec"]["_category"] for f in fws if f["name"] == "probe after md"] == ["analysis"]

    store = open_job_store(settings)
    try:
        docs = list(store.query({"name": "md 800K production 0"}, ["uuid", "index", "output"]))
        final = store.get_output(docs[0]["uuid"], load=True)  # the newest index
    finally:
        store.close()
    continued = [d for d in docs if d["output"]["kind"] == "md_segment_continued"]
    finished = [d for d in docs if d["output"]["kind"] == "md_segment"]
    assert len(continued) >= 1  # each stop handed the segment to a new job
    assert len(finished) == 1
    out = finished[0]["output"]
    assert out["attempts"] == len(continued) + 1
    assert (out["first_stored_step"], out["last_step"], out["n_frames"]) == (0, 120, 13)
    props = final.trajectory.frame_properties if hasattr(final, "trajectory") else None
    props = props or final["trajectory"]["frame_properties"]
    steps = [p["step"] for p in props]
    np.testing.assert_array_equal(steps, np.arange(0, 121, 10))  # none lost, none twice
    assert all(c["output"]["stopped_at_step"] % 10 == 0 for c in continued)


def _launch_and_wait(cfg, settings, fw_id: int):
    """Launch queue jobs, wait for them; the launch, the Firework and its last launch folder."""
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.submit import launch_jobs

    launch = launch_jobs(cfg, settings)
    wait_for_jobs(launch.job_ids, timeout_s=180)
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fw = lp.fireworks.find_one({"fw_id": fw_id})
        launch_dir = Path(lp.launches.find_one({"launch_id": fw["launches"][-1]})["launch_dir"])
    return launch, fw, launch_dir


def test_fizzled_relax_reruns_from_contcar_with_custodian_fix(slurm, tmp_path, capsys, shared_dir):
    import gzip

    from pymatgen.core import Structure
    from pymatgen.io.vasp import Incar, Poscar

    from ionflow.engines.vasp.adapter import VaspEngine
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.submit import submit_flow
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    settings = get_settings()
    fake = f"{sys.executable} {FAKE_VASP} zbrent_crash_then_ok"
    env = {
        "OMP_NUM_THREADS": "1",
        "FAKE_VASP_STATE": str(tmp_path / "fake_state"),
        "IONFLOW_SHARED_DATA": str(shared_dir / "data"),
    }
    cluster = write_cluster(
        tmp_path,
        "rerun",
        walltime="00:05:00",
        fworker={"vasp_cmd": fake, "vasp_gamma_cmd": fake, "env": env},
    )
    cfg = load_cluster_config(cluster)
    poscar = shared_dir / "data/neb/atomate2_si_vacancy_neb/relax_endpoint_1/outputs/POSCAR.gz"
    with gzip.open(poscar, "rt") as fh:
        start = Structure.from_str(fh.read(), fmt="poscar")
    engine = VaspEngine(write_input_set_kwargs={"potcar_spec": True})  # command from the node
    relax = engine.relax_maker(max_steps=5).make(start)
    relax.name = "relax si"
    (fw_id,) = submit_flow(relax, cfg, settings, {"study": "rerun"})

    first, fw, old_dir = _launch_and_wait(cfg, settings, fw_id)
    assert fw["state"] == "FIZZLED", job_output(first.launch_dirs[0])
    contcar = Poscar.from_file(old_dir / "CONTCAR").structure
    assert contcar[0].frac_coords[0] == pytest.approx(start[0].frac_coords[0] + 0.02)

    listing = json.loads(run_cli(capsys, "rerun", "--cluster", str(cluster), "--dry-run", "--json"))
    ((error_type, runs),) = listing["groups"].items()
    assert error_type.startswith("custodian: zbrent")
    changes = runs[0]["changes"]
    assert changes["incar_set"]["NELMIN"] == 8  # VaspErrorHandler's ZBRENT fix
    assert changes["structure_from"] == str(old_dir)
    text = run_cli(capsys, "rerun", "--cluster", str(cluster), "--dry-run")
    assert "NELMIN=8" in text
    assert "starts from the CONTCAR of" in text

    run_cli(capsys, "rerun", "--cluster", str(cluster), "--state", "fizzled")
    second, fw, new_dir = _launch_and_wait(cfg, settings, fw_id)
    assert fw["state"] == "COMPLETED", job_output(second.launch_dirs[0])
    assert new_dir != old_dir
    # the rerun's first VASP call already had custodian's fix, and started from the CONTCAR
    calls = (new_dir / "fake_vasp_calls.log").read_text().splitlines()
    assert calls == ["zbrent_crash_then_ok NELMIN=8"]
    # the job's inputs as written (custodian keeps them as *.orig; atomate2 gzips them)
    incar = Incar.from_file(new_dir / "INCAR.orig.gz")
    assert incar["NELMIN"] == 8
    assert incar["EDIFF"] == changes["incar_set"]["EDIFF"]
    rerun_start = Poscar.from_file(new_dir / "POSCAR.orig.gz").structure
    np.testing.assert_allclose(rerun_start.frac_coords, contcar.frac_coords, atol=1e-8)
    # the queue job's walltime reached custodian on the node: the replayed OUTCAR says an
    # ionic step takes 120 s, 3 of which no longer fit in the 5-minute job, so the handler
    # asked VASP to stop (STOPCAR); outside a queue job it never fires
    log = json.loads(gzip.decompress((new_dir / "custodian.json.gz").read_bytes()))
    fired = [c for run in log for c in run["corrections"]]
    assert [(c["handler"]["@class"], c["errors"]) for c in fired] == [
        ("JobWalltimeHandler", ["Walltime reached"])
    ]
    assert (new_dir / "STOPCAR").read_text().strip() == "LSTOP = .TRUE."

    store = open_job_store(settings)
    try:
        doc = store.query_one({"uuid": relax.uuid}, ["metadata", "output.dir_name"])
    finally:
        store.close()
    (attempt,) = doc["metadata"]["ionflow_attempts"]  # the history travels with the output
    assert attempt["launch_dir"] == str(old_dir)
    assert attempt["incar_set"]["NELMIN"] == 8
    assert attempt["structure_from"] == str(old_dir)


def test_stock_rlaunch_stores_in_the_configured_store(tmp_path):
    """Stock FireWorks ``rlaunch`` (no ionflow rocket, no jobflow.yaml, no IONFLOW_*
    variables) runs an ionflow Firework and its output lands in ionflow's store."""
    import os

    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.probe import probe
    from ionflow.hpc.submit import submit_flow
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    settings = get_settings()
    cfg = load_cluster_config(write_cluster(tmp_path, "stock"))
    job = probe(work_s=0.0)
    submit_flow(job, cfg, settings, {"study": "stock"})
    lp_file = cfg.launchpad.file_path(settings.work_dir)
    # what a user writes for the stock tools (README, cluster section)
    fw_dir = tmp_path / "fw_config"
    fw_dir.mkdir()
    (fw_dir / "FW_config.yaml").write_text(
        yaml.safe_dump({"CONFIG_FILE_DIR": str(fw_dir), "MONGOMOCK_SERVERSTORE_FILE": str(lp_file)})
    )
    (fw_dir / "my_launchpad.yaml").write_text(
        yaml.safe_dump({"host": "localhost", "port": 27017, "name": cfg.launchpad.database})
    )
    (fw_dir / "my_fworker.yaml").write_text(
        yaml.safe_dump({"name": "stock", "category": "", "query": "{}"})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IONFLOW_", "JOBFLOW_"))}
    env |= {
        "FW_CONFIG_FILE": str(fw_dir / "FW_config.yaml"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "HOME": str(tmp_path),  # no ~/.ionflow.yaml, no ~/.jobflow.yaml
    }
    run_dir = tmp_path / "stock_launch"
    run_dir.mkdir()
    rlaunch = Path(sys.executable).with_name("rlaunch")
    proc = subprocess.run(
        [str(rlaunch), "-l", str(fw_dir / "my_launchpad.yaml"), "-w",
         str(fw_dir / "my_fworker.yaml"), "singleshot"],
        cwd=run_dir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ionflow.hpc.firetask.IonflowJobFiretask" in proc.stderr + proc.stdout
    store = open_job_store(settings)
    try:
        doc = store.query_one({"uuid": job.uuid}, ["output", "metadata"])
    finally:
        store.close()
    assert doc is not None, proc.stderr[-3000:]
    assert doc["output"]["cwd"].startswith(str(run_dir))  # ran by the stock rlaunch
    assert doc["metadata"]["ionflow"]["study"] == "stock"


@pytest.mark.mlff
def test_quick_design_study_with_resources_per_kind(slurm, tmp_path, capsys):
    """A --quick design study (CHGNet) through Slurm with per-kind resources: every MD
    queue job asked Slurm for 2 tasks, every analysis one for 1, and the study finishes."""
    from tests.hpc.test_slurm_e2e import TINY_STUDY

    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.submit import QUEUE_RECORDS
    from ionflow.settings import get_settings

    settings = get_settings()
    study = tmp_path / "tiny.yaml"
    study.write_text(TINY_STUDY)
    cluster = write_cluster(
        tmp_path,
        "design",
        resources={"analysis": {"ntasks": 1}, "md": {"ntasks": 2}, "relax": {"ntasks": 1}},
    )
    args = ["submit", str(study), "--cluster", str(cluster), "--quick", "--json"]
    sub = json.loads(run_cli(capsys, *args))
    kinds = {j["name"]: j["kind"] for j in sub["jobs"]}
    assert kinds["relax cell [hot]"] == "relax"
    assert {kinds[n] for n in kinds if n.startswith("md ")} == {"md"}
    assert kinds["summarize study tiny_slurm"] == "analysis"
    wf = str(sub["workflow_id"])
    out = run_cli(capsys, "launch", "--cluster", str(cluster), "--wait", wf, "--fws-per-job", "0")
    assert "'COMPLETED'" in out
    cfg = load_cluster_config(cluster)
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        records = list(lp.db[QUEUE_RECORDS].find({}))
    by_kind: dict[str, list[str]] = {}
    for rec in records:
        by_kind.setdefault(rec["kind"], []).append(rec["queue_job_id"])
    assert {"analysis", "md", "relax"} <= set(by_kind)
    for kind, tasks in (("md", 2), ("analysis", 1), ("relax", 1)):
        for job_id in by_kind[kind]:
            assert _num_tasks(job_id) == (tasks, f"ionflow-design-{kind}")
