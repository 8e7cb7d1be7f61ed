"""Local runs on worker processes (ionflow.run.jobs): the same results as one process."""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore
from maggma.stores import MemoryStore

from ionflow.run.jobs import auto_workers, execute
from ionflow.run.local import JobFailure, run_flow_logged
from ionflow.settings import get_settings
from ionflow.stores import default_store_config, get_job_store, is_shared_store
from ionflow.testing.flow_jobs import Hooked, add, fail, grow, hooked, stamp, stop_below


def test_independent_jobs_run_side_by_side_in_two_processes(disk_store, tmp_path):
    first, second = stamp(1, seconds=2.0), stamp(2, seconds=2.0)
    total = add(first.output["value"], second.output["value"])
    flow = Flow([first, second, total], output=total.output)
    lines: list[str] = []
    log_file = tmp_path / "run.log"
    responses = run_flow_logged(flow, disk_store, tmp_path, log_file, lines.append, workers=2)
    a = responses[first.uuid][1].output
    b = responses[second.uuid][1].output
    assert responses[total.uuid][1].output == 3
    assert a["pid"] != b["pid"]
    # both slept 2 s; side by side, each started before the other ended
    assert a["start"] < b["end"]
    assert b["start"] < a["end"]
    # the store holds every output, as after a run in one process
    assert disk_store.get_output(total.uuid) == 3
    # progress lines and the log file come from the workers' records
    assert sum(line.endswith("running stamp ...") for line in lines) == 2
    assert lines[-1].startswith("[2/3 done,")
    assert lines[-1].endswith("running add ...")
    text = log_file.read_text()
    assert text.count("Finished job - stamp") == 2
    assert "Finished job - add" in text


def test_a_failed_job_skips_its_children_and_the_rest_runs(disk_store, tmp_path):
    broken = fail("no convergence")
    child = add(broken.output, 1)
    other = add(2, 3)
    after = add(other.output, 10)
    flow = Flow([broken, child, other, after])
    failures: list[JobFailure] = []
    responses = run_flow_logged(
        flow, disk_store, tmp_path, tmp_path / "run.log", print, failures=failures, workers=2
    )
    assert responses[after.uuid][1].output == 15
    assert broken.uuid not in responses
    assert child.uuid not in responses
    assert [(f.job, f.error) for f in failures] == [("fail", "RuntimeError: no convergence")]


def test_a_replaced_job_passes_its_last_output_to_its_children(disk_store, tmp_path):
    grown = grow(3, 40)
    plus = add(grown.output, 1)
    responses = execute(Flow([grown, plus]), disk_store, tmp_path, workers=2)
    assert responses[plus.uuid][1].output == 49  # 3 -> 6 -> 12 -> 24 -> 48, + 1
    assert disk_store.get_output(grown.uuid, which="last") == 48


def test_stop_children_skips_the_children_only(disk_store, tmp_path):
    low, high = stop_below(1.0, 5.0), stop_below(9.0, 5.0)
    after_low, after_high = add(low.output, 1), add(high.output, 1)
    responses = execute(Flow([low, high, after_low, after_high]), disk_store, tmp_path, workers=2)
    assert after_low.uuid not in responses
    assert responses[after_high.uuid][1].output == 10


def test_one_worker_runs_in_this_process_and_memory_stores_are_not_shared(tmp_path):
    memory = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    assert not is_shared_store(memory)
    assert is_shared_store(get_job_store(get_settings(work_dir=tmp_path), default_store_config()))
    job = stamp(4)
    responses = execute(Flow([job]), memory, tmp_path, workers=1)
    assert responses[job.uuid][1].output["pid"] == __import__("os").getpid()
    with pytest.raises(ValueError, match="not in-memory"):
        execute(Flow([stamp(5)]), memory, tmp_path, workers=2)


def test_auto_workers_one_per_core_for_an_in_process_engine_only(tmp_path):
    disk = get_job_store(get_settings(work_dir=tmp_path), default_store_config())
    memory = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    assert auto_workers(True, disk, cpus=2) == 2
    assert auto_workers(True, disk, cpus=64) == 4
    assert auto_workers(False, disk, cpus=64) == 1  # a DFT code uses the cores itself
    assert auto_workers(True, memory, cpus=8) == 1


def test_an_output_that_does_not_pickle_comes_back_in_its_stored_form(disk_store, tmp_path):
    live = hooked(2.5)
    after = add(live.output.value, 1.0)
    responses = execute(Flow([live, after]), disk_store, tmp_path, workers=2)
    back = responses[live.uuid][1].output
    assert isinstance(back, Hooked)
    assert back.value == 2.5
    assert not back.live
    assert responses[after.uuid][1].output == 3.5
