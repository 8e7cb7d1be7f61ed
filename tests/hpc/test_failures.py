"""Lost runs without a queue (dead rocket process, stale heartbeat), error classification and
reruns that keep every earlier attempt (launches, folders, stored outputs)."""

from __future__ import annotations

import json

import pytest
from tests.hpc.conftest import write_cluster

from ionflow.hpc.failures import (
    ATTEMPT_RECORDS,
    classify_exception,
    find_failures,
    group_failures,
    read_custodian_log,
    rerun_failures,
)
from ionflow.testing.processes import run_process
from ionflow.testing.workers import checkout_and_die


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A cluster config, settings, a JobStore wired into jobflow, and a rocket folder."""
    import jobflow

    from ionflow.hpc.config import load_cluster_config
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    settings = get_settings()
    cfg = load_cluster_config(write_cluster(tmp_path))
    store = open_job_store(settings)
    monkeypatch.setattr(jobflow.SETTINGS, "JOB_STORE", store)
    rocket_dir = tmp_path / "rocket"
    rocket_dir.mkdir()
    monkeypatch.chdir(rocket_dir)
    yield cfg, settings, store
    store.close()


def _kill_a_rocket(cfg, settings, launch_dir) -> None:
    """A separate rocket process checks a Firework out and dies (os._exit) before running it."""
    assert (
        run_process(checkout_and_die, cfg, settings.work_dir, str(launch_dir), timeout_s=120) == 0
    )


def test_classify_exception():
    trace = (
        'Traceback (most recent call last):\n  File "x.py"\n'
        "ionflow.errors.EngineError: custodian gave up\n"
    )
    assert classify_exception(trace) == ("EngineError", "custodian gave up")
    assert classify_exception(None) == ("unknown", "no traceback stored")
    assert classify_exception("something odd happened") == ("unknown", "something odd happened")


def test_read_custodian_log(tmp_path):
    runs = [
        {
            "job": {},
            "corrections": [
                {
                    "errors": ["zbrent"],
                    "actions": [{"dict": "INCAR"}],
                    "handler": {"@class": "VaspErrorHandler"},
                },
                {"errors": ["zbrent"], "actions": None, "handler": {"@class": "VaspErrorHandler"}},
            ],
            "max_errors": True,
        }
    ]
    (tmp_path / "custodian.json").write_text(json.dumps(runs))
    log = read_custodian_log(tmp_path)
    assert [c["handler"] for c in log] == ["VaspErrorHandler", "VaspErrorHandler", "custodian"]
    assert [c["errors"] for c in log] == [["zbrent"], ["zbrent"], ["max_errors"]]
    assert read_custodian_log(tmp_path / "absent") == []


def test_dead_rocket_is_lost_and_rerun_keeps_history(setup, tmp_path):
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.rocket import run_rocket
    from ionflow.hpc.submit import submit_flow

    cfg, settings, store = setup
    job = probe(work_s=0.0)
    (fw_id,) = submit_flow(job, cfg, settings, {"study": "lost_test", "run_id": "r1"})
    first_dir = tmp_path / "attempt1"
    first_dir.mkdir()
    (first_dir / "partial.out").write_text("written by the killed attempt\n")
    _kill_a_rocket(cfg, settings, first_dir)

    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        assert lp.fireworks.find_one({"fw_id": fw_id})["state"] == "RUNNING"
        failures = find_failures(lp)
        assert [(f.fw_id, f.state, f.error_type) for f in failures] == [
            (fw_id, "LOST", "lost: process gone")
        ]
        assert failures[0].launch_dir == str(first_dir)
        assert find_failures(lp, states=("FIZZLED",)) == []
        records = rerun_failures(lp, failures, store=store)
        assert records[0]["output_index_after_rerun"] is None  # nothing stored by attempt 1
        fw = lp.fireworks.find_one({"fw_id": fw_id})
        assert fw["state"] == "READY"
        assert fw["spec"]["_ionflow_attempts"] == [
            {
                "attempt": 1,
                "launch_id": 1,
                "launch_dir": str(first_dir),
                "error_type": "lost: process gone",
            }
        ]
        assert fw["archived_launches"] == [1]
        assert lp.db[ATTEMPT_RECORDS].count_documents({"fw_id": fw_id}) == 1

    assert run_rocket(cfg, settings.work_dir) == 1
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fw = lp.fireworks.find_one({"fw_id": fw_id})
        launches = {d["launch_id"]: d for d in lp.launches.find({})}
        assert find_failures(lp) == []
    assert fw["state"] == "COMPLETED"
    assert launches[1]["state"] == "FIZZLED"  # the lost attempt, kept with its folder
    assert launches[2]["state"] == "COMPLETED"
    assert launches[2]["launch_dir"] != launches[1]["launch_dir"]
    assert (first_dir / "partial.out").read_text() == "written by the killed attempt\n"
    assert [d["index"] for d in store.query({"uuid": job.uuid}, ["index"])] == [1]


def test_output_of_an_earlier_attempt_is_never_overwritten(setup, tmp_path):
    from jobflow import Flow, OutputReference

    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.rocket import run_rocket
    from ionflow.hpc.submit import submit_flow
    from ionflow.results import list_jobs

    cfg, settings, store = setup
    job = probe(work_s=0.0)
    submit_flow(Flow([job]), cfg, settings, {"study": "keep_test", "run_id": "r1"})
    _kill_a_rocket(cfg, settings, tmp_path)
    # the killed attempt had already stored its output (killed while reporting back)
    store.update(
        {"uuid": job.uuid, "index": 1, "output": {"attempt": 1}, "name": job.name,
         "metadata": {"ionflow": {"study": "keep_test", "run_id": "r1"}}, "completed_at": "t1"},
        key=["uuid", "index"],
    )  # fmt: skip
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        records = rerun_failures(lp, find_failures(lp), store=store)
    assert records[0]["output_index_after_rerun"] == 2
    assert run_rocket(cfg, settings.work_dir) == 1
    stored = {d["index"]: d["output"] for d in store.query({"uuid": job.uuid}, ["index", "output"])}
    assert stored[1] == {"attempt": 1}  # earlier attempt kept
    assert stored[2]["work_s"] == 0.0  # rerun written next to it
    assert OutputReference(job.uuid).resolve(store)["work_s"] == 0.0  # readers get the newest
    (row,) = list_jobs(store, study="keep_test")
    assert row["index"] == 2


def test_stale_heartbeat_is_lost_only_after_expiration(setup):
    from fireworks import FWorker

    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.submit import submit_flow

    cfg, settings, _ = setup
    submit_flow(probe(), cfg, settings, {"study": "hb"})
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        lp.checkout_fw(FWorker(), ".")  # a rocket ionflow did not start: no launch record
        assert find_failures(lp, expiration_s=3600) == []
        (run,) = find_failures(lp, expiration_s=0.0)
    assert run.error_type == "lost: no heartbeat"
    assert group_failures([run]) == {"lost: no heartbeat": [run]}


def test_without_queue_tools_lost_runs_fall_back_to_heartbeats(setup, monkeypatch):
    from fireworks import FWorker

    from ionflow.hpc import failures as failures_mod
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.probe import probe
    from ionflow.hpc.queue import QueueError
    from ionflow.hpc.rocket import LAUNCH_RECORDS
    from ionflow.hpc.submit import submit_flow

    def no_squeue(kind, ids):
        raise QueueError("squeue is not available on this machine; run this on the cluster")

    monkeypatch.setattr(failures_mod, "queue_job_states", no_squeue)
    cfg, settings, _ = setup
    submit_flow(probe(), cfg, settings, {"study": "laptop"})
    with launchpad_session(cfg.launchpad, settings.work_dir) as lp:
        fw, launch_id = lp.checkout_fw(FWorker(), ".")
        lp.db[LAUNCH_RECORDS].insert_one(
            {"launch_id": launch_id, "fw_id": fw.fw_id, "queue_type": "slurm",
             "queue_job_id": "999", "host": "node17", "pid": 1}
        )  # fmt: skip
        assert find_failures(lp, expiration_s=3600) == []
        (run,) = find_failures(lp, expiration_s=0.0)
    assert run.error_type == "lost: no heartbeat"
