"""Concurrency helpers: a dead or raising worker is a reported failure within seconds."""

from __future__ import annotations

import time

import pytest

from ionflow.testing.processes import WorkerFailed, run_in_processes, run_process
from ionflow.testing.workers import die_mid_task, raise_base_exception, square


def test_workers_return_results_in_order():
    assert run_in_processes(square, [3, 1, 2]) == [9, 1, 4]


def test_a_worker_killed_mid_task_is_reported_not_waited_on():
    t0 = time.monotonic()
    with pytest.raises(
        WorkerFailed, match=r"worker \d of 3 \(die_mid_task\) died without a result"
    ):
        run_in_processes(die_mid_task, [7, 7, 7], timeout_s=300)
    assert time.monotonic() - t0 < 60  # the failure comes at once, far before the timeout


def test_a_base_exception_in_a_worker_becomes_a_failure_with_its_message():
    with pytest.raises(WorkerFailed, match=r"raised WorkerAbort: marker 'mongodb' not found"):
        run_in_processes(raise_base_exception, ["marker 'mongodb' not found"])


def test_a_hung_worker_times_out_and_is_killed():
    t0 = time.monotonic()
    with pytest.raises(WorkerFailed, match=r"gave no result in 3 s"):
        run_in_processes(time.sleep, [600], timeout_s=3)
    assert time.monotonic() - t0 < 60


def test_run_process_returns_the_exit_code():
    assert run_process(die_mid_task, 5) == 5
