"""A small MLIP study through the local Slurm cluster: submit, sbatch, results in the store."""

from __future__ import annotations

import json

import pytest
from tests.hpc.conftest import job_output, wait_for_jobs, write_cluster

from ionflow.cli.main import main

pytestmark = [pytest.mark.hpc, pytest.mark.mlff]

TINY_STUDY = """
name: tiny_slurm
structure: {builtin: Li3OCl}
engine: mlip
supercell: {matrix: [1, 1, 1]}
relax: {enabled: true, fmax_eV_A: 0.5, max_steps: 5}
md:
  temperatures_K: [1000, 1500]
  time_step_fs: 2.0
  equilibration_steps: 0
  production_steps: 20
  sampling_interval: 2
analysis: {specie: Li}
"""


def _cli(capsys, *args: str) -> str:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_study_through_slurm(slurm, tmp_path, capsys):
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.rocket import LAUNCH_RECORDS
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    settings = get_settings()
    study = tmp_path / "tiny.yaml"
    study.write_text(TINY_STUDY)
    cluster = write_cluster(tmp_path)
    lp_file = settings.work_dir / "launchpad" / "launchpad.json"

    dry = json.loads(
        _cli(capsys, "submit", str(study), "--cluster", str(cluster), "--dry-run", "--json")
    )
    assert dry["workflow_id"] is None
    assert not lp_file.exists()
    assert next(j["name"] for j in dry["jobs"]) == "relax cell"
    assert "#SBATCH --partition=debug" in dry["queue_script"]
    assert "-m ionflow.hpc.rocket --cluster" in dry["queue_script"]

    sub = json.loads(_cli(capsys, "submit", str(study), "--cluster", str(cluster), "--json"))
    assert sub["workflow_id"] == 1
    n_jobs = len(dry["jobs"])
    assert len(sub["fw_ids"]) == n_jobs
    meta = sub["metadata"]
    assert (meta["study"], meta["host_formula"], meta["temperatures_K"]) == (
        "tiny_slurm", "Li3ClO", [1000.0, 1500.0]
    )  # fmt: skip

    out = _cli(capsys, "launch", "--cluster", str(cluster), "--fws-per-job", "0")
    job_id = out.split()[2].rstrip(":")
    launch_dir = settings.work_dir / "queue"
    states = wait_for_jobs([job_id], timeout_s=400)
    assert states[job_id] == "COMPLETED", job_output(next(launch_dir.glob("launcher_*")))

    cfg = load_cluster_config(cluster)
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fw_states = {d["name"]: d["state"] for d in lp.fireworks.find({})}
        records = list(lp.db[LAUNCH_RECORDS].find({}))
        wf_meta = lp.workflows.find_one({})["metadata"]["ionflow"]
    assert set(fw_states.values()) == {"COMPLETED"}, fw_states
    assert len(records) == n_jobs
    assert {r["queue_job_id"] for r in records} == {job_id}
    assert wf_meta["run_id"] == meta["run_id"]

    store = open_job_store(settings)
    try:
        docs = list(store.query({"metadata.ionflow.run_id": meta["run_id"]}, ["uuid", "name"]))
    finally:
        store.close()
    assert sorted(d["name"] for d in docs) == sorted(fw_states)  # one output per job
    assert len({d["uuid"] for d in docs}) == len(docs)

    studies = json.loads(_cli(capsys, "query", "--json"))
    assert [(s["study"], s["run_id"]) for s in studies] == [("tiny_slurm", meta["run_id"])]
    jobs = json.loads(_cli(capsys, "query", "jobs", "--cluster", str(cluster), "--json"))
    assert {j["state"] for j in jobs} == {"COMPLETED"}
    assert len(jobs) == n_jobs
    assert {j["temperature_K"] for j in jobs if j["job"].startswith("md")} == {1000.0, 1500.0}
    report = _cli(capsys, "report", "tiny_slurm")
    assert report.startswith("report: ")
