"""The local runner (ionflow.run.local): run folders, logged runs, outputs."""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore, job
from maggma.stores import MemoryStore

from ionflow.errors import IonflowError
from ionflow.run.local import flow_output, log_hint, prepare_run_dirs, run_flow_logged
from ionflow.settings import get_settings


@job
def add(a: int, b: int) -> int:
    return a + b


def test_prepare_run_dirs_never_reuses_a_run(tmp_path):
    settings = get_settings()
    run_dir, log_file = prepare_run_dirs(settings, "s", "r1")
    assert run_dir == settings.runs_dir / "s" / "r1"
    assert run_dir.is_dir()
    assert log_file == settings.work_dir / "logs" / "s-r1.log"
    with pytest.raises(FileExistsError):
        prepare_run_dirs(settings, "s", "r1")


def test_logged_run_writes_log_and_progress(tmp_path):
    first = add(1, 2)
    second = add(first.output, 4)
    second.name = "add again"
    flow = Flow([first, second], output=second.output)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    lines: list[str] = []
    log_file = tmp_path / "run.log"
    responses = run_flow_logged(flow, store, tmp_path, log_file, lines.append)
    assert flow_output(flow, responses, "study s run r", log_hint(log_file)) == 7
    assert lines[0].startswith("[0/2 done,")
    assert lines[1].startswith("[1/2 done,")
    assert lines[1].endswith("running add again ...")
    assert "Finished job - add again" in log_file.read_text()


def test_unfinished_flow_names_where_to_look(tmp_path):
    flow = Flow([add(1, 2)])
    flow.output = flow.jobs[0].output
    with pytest.raises(IonflowError) as err:
        flow_output(flow, {}, "study s run r", log_hint(tmp_path / "x.log"))
    assert str(err.value) == (
        f"study s run r did not finish; see {tmp_path / 'x.log'} "
        "(results of the jobs that did run are in the store)"
    )


@job
def noisy(a: int) -> int:
    import warnings

    warnings.warn("library chatter", UserWarning, stacklevel=1)
    return a


def test_logged_run_keeps_the_terminal_to_progress_lines(tmp_path, capfd):
    import logging

    flow = Flow([noisy(3)])
    flow.output = flow.jobs[0].output
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    log_file = tmp_path / "run.log"
    lines: list[str] = []
    root = logging.getLogger()
    handler = logging.StreamHandler()  # as logging.basicConfig sets up for the CLI
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        responses = run_flow_logged(flow, store, tmp_path, log_file, lines.append)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert flow_output(flow, responses, "r", log_hint(log_file)) == 3
    err = capfd.readouterr().err
    assert "Starting job" not in err
    assert "library chatter" not in err
    text = log_file.read_text()
    assert "Starting job - noisy" in text
    assert "UserWarning: library chatter" in text
    assert lines == ["[0/1 done,     0 s] running noisy ..."]
    assert logging.getLogger("jobflow").propagate
    assert logging.getLogger("py.warnings").propagate
