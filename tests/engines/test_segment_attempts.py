"""The attempt log and the finished check shared by the VASP and CP2K segment runners."""

from __future__ import annotations

import json

import pytest

from ionflow.engines.segments import (
    ATTEMPTS_FILE,
    check_segment_finished,
    load_attempts,
    record_attempt,
)
from ionflow.errors import EngineError, InputError
from ionflow.schemas.md import MDSegmentSpec


def spec(tmp_path) -> MDSegmentSpec:
    return MDSegmentSpec(
        temperature_K=900.0,
        phase="production",
        index=1,
        first_step=100,
        n_steps=50,
        time_step_fs=1.0,
        traj_interval=1,
        thermostat="nose-hoover",
        checkpoint_dir=str(tmp_path),
    )


def test_attempt_log_round_trip(tmp_path):
    assert load_attempts(tmp_path) == []
    attempts = load_attempts(tmp_path)
    record_attempt(tmp_path, attempts, tmp_path / "job_a", 100)
    record_attempt(tmp_path, attempts, tmp_path / "job_b", 130)
    expected = [
        {"dir": str(tmp_path / "job_a"), "first_step": 100},
        {"dir": str(tmp_path / "job_b"), "first_step": 130},
    ]
    assert attempts == expected
    assert json.loads((tmp_path / ATTEMPTS_FILE).read_text()) == expected
    assert load_attempts(tmp_path) == expected
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file


def test_unreadable_attempt_log_names_the_file(tmp_path):
    (tmp_path / ATTEMPTS_FILE).write_text("{not json")
    with pytest.raises(InputError, match=f"{ATTEMPTS_FILE} is unreadable.*delete"):
        load_attempts(tmp_path)


def test_finished_check(tmp_path):
    s = spec(tmp_path)
    assert s.last_step == 150
    check_segment_finished(s, "VASP", 150, "its CONTCAR")
    with pytest.raises(EngineError) as err:
        check_segment_finished(s, "CP2K", 120, "its restart file")
    assert str(err.value) == (
        f"{s.label}: CP2K stopped at step 120 of 150 (walltime or crash); run the job "
        "again to continue from its restart file"
    )
