"""Fault tests on the real local Slurm cluster.

- Two queue jobs run concurrently against one mongomock-file launchpad and one embedded
  store: every Firework runs exactly once and every output is stored (the launchpad lock).
- A queue job killed at its time limit leaves a lost run; ionflow detects it from Slurm's
  TIMEOUT state, reruns it, and the rerun resumes from the checkpoint and completes with
  nothing duplicated in the store (slow: Slurm kills a 1-minute job after 75-86 s).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from tests.hpc.conftest import job_output, run_cli, wait_for_jobs, write_cluster

pytestmark = pytest.mark.hpc


def _outputs(settings, uuids):
    from ionflow.stores import open_job_store

    store = open_job_store(settings)
    try:
        return list(store.query({"uuid": {"$in": list(uuids)}}, ["uuid", "index", "output"]))
    finally:
        store.close()


def test_two_concurrent_queue_jobs_share_the_work(slurm, tmp_path):
    from jobflow import Flow

    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.rocket import LAUNCH_RECORDS
    from ionflow.hpc.submit import launch_jobs, submit_flow
    from ionflow.settings import get_settings

    settings = get_settings()
    cfg = load_cluster_config(write_cluster(tmp_path, name="concurrent"))
    node = subprocess.run(
        ["scontrol", "show", "node", "localhost"], capture_output=True, text=True, timeout=30
    ).stdout
    cpus = int(re.search(r"CPUTot=(\d+)", node).group(1))
    assert cpus >= 2, (
        f"the local Slurm node has {cpus} CPU: two queue jobs cannot run at once; restart it "
        "without OMP_NUM_THREADS set (slurm-local/start sizes the node with nproc)"
    )
    # 10 s per probe: the first queue job is still busy when the second has started Python
    jobs = [probe(work_s=10.0) for _ in range(6)]
    for i, j in enumerate(jobs):
        j.name = f"probe {i}"
    submit_flow(Flow(jobs), cfg, settings, {"study": "concurrency"})
    result = launch_jobs(cfg, settings, max_jobs=2, max_fws_per_job=0)
    assert len(result.job_ids) == 2
    states = wait_for_jobs(result.job_ids, timeout_s=300)
    assert set(states.values()) == {"COMPLETED"}, [job_output(d) for d in result.launch_dirs]

    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fws = list(lp.fireworks.find({}, {"state": 1, "launches": 1, "archived_launches": 1}))
        records = list(lp.db[LAUNCH_RECORDS].find({}))
        n_launches = lp.launches.count_documents({})
    assert [f["state"] for f in fws] == ["COMPLETED"] * 6
    assert all(len(f["launches"]) == 1 and not f["archived_launches"] for f in fws)
    assert n_launches == 6  # no Firework was checked out twice
    assert {r["queue_job_id"] for r in records} == set(result.job_ids)  # both jobs took work

    docs = _outputs(settings, [j.uuid for j in jobs])
    assert sorted(d["uuid"] for d in docs) == sorted(j.uuid for j in jobs)  # all stored, once
    by_job: dict[str, list[tuple[datetime, datetime]]] = {}
    for d in docs:
        out = d["output"]
        span = (
            datetime.fromisoformat(out["started_at"]),
            datetime.fromisoformat(out["finished_at"]),
        )
        by_job.setdefault(out["env"]["SLURM_JOB_ID"], []).append(span)
    (a, b) = by_job.values()
    overlap = any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)
    assert overlap  # the two queue jobs really ran at the same time


@pytest.mark.slow
def test_time_limit_kill_is_detected_rerun_and_completed(slurm, tmp_path, capsys):
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.submit import launch_jobs, submit_flow
    from ionflow.settings import get_settings

    settings = get_settings()
    cluster = write_cluster(tmp_path, name="oneminute", walltime="1")
    cfg = load_cluster_config(cluster)
    checkpoint = settings.work_dir / "probe-checkpoint.json"
    job = probe(work_s=100.0, checkpoint=str(checkpoint))
    (fw_id,) = submit_flow(job, cfg, settings, {"study": "timeout", "run_id": "r1"})

    first = launch_jobs(cfg, settings)
    states = wait_for_jobs(first.job_ids, timeout_s=240)
    assert states[first.job_ids[0]] == "TIMEOUT"
    killed_at = json.loads(checkpoint.read_text())["done_s"]
    assert 0 < killed_at < 100
    assert "DUE TO TIME LIMIT" in job_output(first.launch_dirs[0])

    listing = json.loads(run_cli(capsys, "rerun", "--cluster", str(cluster), "--dry-run", "--json"))
    ((error_type, runs),) = listing["groups"].items()
    assert error_type == "lost: queue TIMEOUT"
    assert [(r["fw_id"], r["state"], r["queue_job_id"]) for r in runs] == [
        (fw_id, "LOST", first.job_ids[0])
    ]
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        assert (
            lp.fireworks.find_one({"fw_id": fw_id})["state"] == "RUNNING"
        )  # dry run changed nothing

    run_cli(capsys, "rerun", "--cluster", str(cluster), "--state", "lost")
    second = launch_jobs(cfg, settings)
    states = wait_for_jobs(second.job_ids, timeout_s=240)
    assert states[second.job_ids[0]] == "COMPLETED", job_output(second.launch_dirs[0])

    (doc,) = _outputs(settings, [job.uuid])  # one output, nothing duplicated
    assert doc["index"] == 1
    assert doc["output"]["done_s"] == pytest.approx(100.0)
    assert doc["output"]["resumed_from_s"] == pytest.approx(killed_at)  # resumed, not restarted
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fw = lp.fireworks.find_one({"fw_id": fw_id})
        launches = {d["launch_id"]: d for d in lp.launches.find({"fw_id": fw_id})}
    assert fw["state"] == "COMPLETED"
    assert fw["archived_launches"] == [1]
    assert [a["error_type"] for a in fw["spec"]["_ionflow_attempts"]] == ["lost: queue TIMEOUT"]
    assert launches[1]["state"] == "FIZZLED"
    assert Path(launches[1]["launch_dir"]).is_dir()  # the killed attempt's folder is kept
    assert launches[2]["launch_dir"] != launches[1]["launch_dir"]
    assert (
        json.loads(run_cli(capsys, "rerun", "--cluster", str(cluster), "--dry-run", "--json"))[
            "groups"
        ]
        == {}
    )
