"""Submission without a queue: study metadata on the workflow, no credentials in Fireworks or
queue scripts, duplicate runs refused, nothing launched when nothing is ready."""

from __future__ import annotations

import json

import pytest
import yaml
from tests.hpc.conftest import write_cluster

from ionflow.errors import ConfigError

STUDY = """
name: submit_test
structure: {builtin: Li3OCl}
engine: mlip
supercell: {matrix: [2, 2, 2]}
defects:
  - {type: schottky, species: [Li, Cl], separation: nearest}
md: {temperatures_K: [1200, 900], production_steps: 20}
"""
SECRET = "pw-submit-0c4e"


@pytest.fixture
def plan_inputs(tmp_path, monkeypatch):
    from ionflow.config.study import load_system
    from ionflow.hpc.config import load_cluster_config
    from ionflow.settings import get_settings, reset_settings

    store_cfg = {
        "docs_store": {"type": "mongodb", "uri_env": "T_SUBMIT_URI", "database": "ionflow"},
        "data_store": {"type": "gridfs", "uri_env": "T_SUBMIT_URI", "collection": "outputs_data"},
    }
    (tmp_path / "store.yaml").write_text(yaml.safe_dump(store_cfg))
    monkeypatch.setenv("IONFLOW_STORE_CONFIG", str(tmp_path / "store.yaml"))
    monkeypatch.setenv("T_SUBMIT_URI", f"mongodb://ionflow:{SECRET}@db.example.org/")
    reset_settings()
    study = tmp_path / "study.yaml"
    study.write_text(STUDY)
    return load_system(study), get_settings(), load_cluster_config(write_cluster(tmp_path)), study


def test_plan_carries_study_metadata_and_no_credentials(plan_inputs):
    from ionflow.config.study_file import load_study
    from ionflow.hpc.submit import plan_submission

    _, settings, cluster, study = plan_inputs
    plan = plan_submission(load_study(study), settings, cluster)
    meta = plan.metadata
    assert meta["study"] == "submit_test"
    assert meta["host_formula"] == "Li3ClO"
    assert meta["temperatures_K"] == [900.0, 1200.0]
    assert meta["defect_labels"]  # the Schottky pair's label
    assert meta["n_atoms"] == 40 - 2  # 2x2x2 Li3OCl (40 atoms) minus one V_Li and one V_Cl
    assert meta["study_file"] == str(study.resolve())
    assert meta["store"].startswith("MongoDB URI from $T_SUBMIT_URI")
    names = [j["name"] for j in plan.jobs]
    assert names[:1] == ["relax cell"]
    assert "summarize study" in names  # the transport summary (what `query` lists)
    assert names[-1] == "summarize study submit_test"  # the study's collector (StudyDoc)
    md_temps = {n.split()[1] for n in names if n.startswith("md ")}
    assert md_temps == {"900K", "1200K"}
    wf = plan.workflow.to_dict()
    for fw in wf["fws"]:
        assert fw["spec"]["_ionflow"]["study"] == "submit_test"
        assert fw["spec"]["_tasks"][0]["store"] is None  # the rocket uses its own settings
    text = json.dumps(wf, default=str) + plan.queue_script + json.dumps(meta)
    assert SECRET not in text
    assert 'export IONFLOW_STORE_CONFIG="' in plan.queue_script


def test_active_study_run_is_not_submitted_twice(plan_inputs):
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.submit import plan_submission, submit_plan

    config, settings, cluster, _ = plan_inputs
    from ionflow.config.study_file import Study

    config = config.model_copy(update={"defects": []})  # quicker cell, same workflow shape
    study = Study.of_one_system(config)
    first = submit_plan(plan_submission(study, settings, cluster), cluster, settings)
    assert first.workflow_id == 1
    with pytest.raises(ConfigError, match="study 'submit_test' already has an active run"):
        submit_plan(plan_submission(study, settings, cluster), cluster, settings)
    again = submit_plan(
        plan_submission(study, settings, cluster), cluster, settings, allow_duplicate=True
    )
    assert min(again.fw_ids) == max(first.fw_ids) + 1
    with launchpad_session(cluster.launchpad, settings.work_dir) as lp:
        assert lp.workflows.count_documents({"metadata.ionflow.study": "submit_test"}) == 2


def test_launch_submits_nothing_without_ready_fireworks(plan_inputs, monkeypatch):
    from ionflow.hpc import submit as submit_mod
    from ionflow.hpc.launchpad import launchpad_session

    _, settings, cluster, _ = plan_inputs
    with launchpad_session(cluster.launchpad, settings.work_dir, create=True):
        pass

    def no_sbatch(*args, **kwargs):
        raise AssertionError("nothing should be submitted")

    monkeypatch.setattr(submit_mod, "submit_script", no_sbatch)
    result = submit_mod.launch_jobs(cluster, settings, max_jobs=3)
    assert (result.job_ids, result.ready, result.pending) == ([], 0, 0)


def test_launch_counts_queued_and_starting_jobs(plan_inputs, monkeypatch, tmp_path):
    from fireworks import Firework, FWorker, ScriptTask, Workflow

    from ionflow.hpc import submit as submit_mod
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.rocket import LAUNCH_RECORDS

    _, settings, cluster, _ = plan_inputs
    with launchpad_session(cluster.launchpad, settings.work_dir, create=True) as lp:
        lp.add_wf(Workflow([Firework(ScriptTask.from_str("true")) for _ in range(5)]))
        fw, launch_id = lp.checkout_fw(FWorker(), str(tmp_path))  # job 101 runs one of them
        lp.db[LAUNCH_RECORDS].insert_one(
            {"launch_id": launch_id, "fw_id": fw.fw_id, "queue_job_id": "101"}
        )
        for jid in ("101", "102", "103"):
            lp.db[submit_mod.QUEUE_RECORDS].insert_one(
                {"cluster": cluster.name, "queue_job_id": jid, "open": True}
            )
    queue = {"101": "RUNNING", "102": "PENDING", "103": "RUNNING"}  # 103: still starting up
    monkeypatch.setattr(
        submit_mod, "queue_job_states", lambda kind, ids: {i: queue[i] for i in ids}
    )
    new_ids = iter(["201", "202", "203"])
    monkeypatch.setattr(
        submit_mod, "submit_script", lambda *a, **k: (next(new_ids), tmp_path / "launcher")
    )
    result = submit_mod.launch_jobs(cluster, settings, max_jobs=10)
    # 4 READY; 102 and 103 will each take one, 101 is busy: two new jobs
    assert (result.ready, result.pending, result.job_ids) == (4, 2, ["201", "202"])
    queue.update({"102": "COMPLETED", "201": "PENDING", "202": "PENDING"})
    result = submit_mod.launch_jobs(cluster, settings, max_jobs=10)
    assert (result.pending, result.job_ids) == (3, ["203"])  # 103, 201, 202 cover 3 of 4
    with launchpad_session(cluster.launchpad, settings.work_dir) as lp:
        coll = lp.db[submit_mod.QUEUE_RECORDS]
        assert coll.find_one({"queue_job_id": "102"})["open"] is False  # finished job closed
        assert coll.count_documents({"open": True}) == 5
