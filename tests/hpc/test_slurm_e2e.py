"""A small design study (two systems, --quick) through the local Slurm cluster: submit,
sbatch, results in the store, query and report from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.hpc.conftest import job_output, run_cli, wait_for_jobs, write_cluster

pytestmark = [pytest.mark.hpc, pytest.mark.mlff]

REPO = Path(__file__).resolve().parents[2]

# production settings (VASP, 3x3x3, 50 ps) that only --quick makes runnable here
TINY_STUDY = f"""
name: tiny_slurm
engine: vasp
common:
  structure: {{builtin: Li3OCl}}
  supercell: {{matrix: [3, 3, 3]}}
systems:
  hot:
    notes: pristine cell, MD at two temperatures
    relax: {{enabled: true, fmax_eV_A: 0.5, max_steps: 5}}
    md: {{temperatures_K: [1000, 1500], time_step_fs: 2.0, production_steps: 25000}}
    analysis: {{specie: Li}}
  stability:
    notes: electrochemical window from the shipped entries
    window: {{entries: {REPO}/configs/entries/li_o_cl_chgnet.json}}
quick:
  engine: mlip
  common: {{supercell: {{matrix: [1, 1, 1]}}}}
  systems:
    hot: {{md: {{equilibration_steps: 0, production_steps: 20, sampling_interval: 2}}}}
"""


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

    submit = ["submit", str(study), "--cluster", str(cluster), "--quick", "--json"]
    dry = json.loads(run_cli(capsys, *submit, "--dry-run"))
    assert dry["workflow_id"] is None
    assert not lp_file.exists()
    names = [j["name"] for j in dry["jobs"]]
    assert names[0] == "relax cell [hot]"
    assert any(n.endswith("Li3ClO [stability]") for n in names)  # the window job
    assert names[-1] == "summarize study tiny_slurm"
    assert "#SBATCH --partition=debug" in dry["queue_script"]
    assert "-m ionflow.hpc.rocket --cluster" in dry["queue_script"]

    sub = json.loads(run_cli(capsys, *submit))
    assert sub["workflow_id"] == 1
    n_jobs = len(dry["jobs"])
    assert len(sub["fw_ids"]) == n_jobs
    meta = sub["metadata"]
    assert (meta["study"], meta["host_formula"], meta["temperatures_K"]) == (
        "tiny_slurm", "Li3ClO", [1000.0, 1500.0]
    )  # fmt: skip
    assert (meta["quick"], meta["engine"], meta["systems"]) == (True, "mlip", ["hot", "stability"])

    out = run_cli(capsys, "launch", "--cluster", str(cluster), "--fws-per-job", "0")
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

    studies = json.loads(run_cli(capsys, "query", "--json"))  # transport summaries
    assert [(s["study"], s["run_id"]) for s in studies] == [("tiny_slurm-hot", meta["run_id"])]
    jobs = json.loads(run_cli(capsys, "query", "jobs", "--cluster", str(cluster), "--json"))
    assert {j["state"] for j in jobs} == {"COMPLETED"}
    assert len(jobs) == n_jobs
    assert {j["temperature_K"] for j in jobs if j["job"].startswith("md")} == {1000.0, 1500.0}
    report = run_cli(capsys, "report", "tiny_slurm")
    assert report.startswith("report: ")
    text = Path(report.split(maxsplit=1)[1].strip()).read_text()
    assert "tiny_slurm" in text
    assert "hot" in text
    assert "stability" in text

    from ionflow.results import load_study_doc

    store = open_job_store(settings)
    try:
        doc = load_study_doc(store, "tiny_slurm")
    finally:
        store.close()
    assert (doc.kind, doc.meta.run_id) == ("study", meta["run_id"])
    hot, stability = doc.system("hot"), doc.system("stability")
    assert [r.temperature_K for r in hot.transport.diffusion] == [1000.0, 1500.0]
    assert stability.window.formula == "Li3ClO"
