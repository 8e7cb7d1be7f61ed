"""Chained multi-temperature MD on the cheap Lennard-Jones engine (same machinery as CHGNet)."""

from __future__ import annotations

import itertools

import bson
import numpy as np
import pytest

from ionflow.errors import ConfigError
from ionflow.makers.md import MultiTemperatureMDMaker, plan_segments
from ionflow.testing.md import (
    LennardJonesEngine,
    concatenate_frames,
    li3ocl_vacancy_cell,
    memory_job_store,
    run_flow,
)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # ASE Langevin fixcm notice


def _maker(tmp_path, **kwargs):
    settings = {
        "engine": LennardJonesEngine(),
        "temperatures_K": [700.0],
        "time_step_fs": 1.0,
        "equilibration_steps": 8,
        "production_steps": 24,
        "traj_interval": 2,
        "checkpoint_dir": str(tmp_path / "ckpt"),
        "checkpoint_every": 3,
    }
    settings.update(kwargs)
    return MultiTemperatureMDMaker(**settings)


def _run(tmp_path, name, **kwargs):
    flow = _maker(tmp_path, **kwargs).make(li3ocl_vacancy_cell())
    store = memory_job_store()
    return run_flow(flow, store, tmp_path / name), store


def test_plan_segments_splits_phases():
    plan = plan_segments(30, 50, 20, heating_steps=10)
    assert plan == [
        ("equilibration", 10, True),
        ("equilibration", 20, False),
        ("production", 20, False),
        ("production", 20, False),
        ("production", 10, False),
    ]
    assert sum(n for _, n, _ in plan) == 80
    assert plan_segments(0, 40, None) == [("production", 40, False)]


@pytest.mark.parametrize("thermostat", ["nose-hoover", "langevin", "berendsen"])
def test_chained_equals_unchained_frame_for_frame(tmp_path, thermostat):
    # 8 equilibration + 24 production steps: unchained = 2 segments, chained = 1 + 3 segments
    one, _ = _run(tmp_path, "one", thermostat=thermostat)
    chain, _ = _run(tmp_path, "chain", thermostat=thermostat, segment_steps=8)
    a = concatenate_frames(one["trajectories"][0])
    b = concatenate_frames(chain["trajectories"][0])
    assert len(chain["trajectories"][0]) == 4
    assert chain["runs"][0].segments == 3
    n_expected = (8 + 24) // 2 + 1
    assert len(a["steps"]) == len(b["steps"]) == n_expected
    np.testing.assert_array_equal(b["steps"], np.arange(0, 33, 2))
    np.testing.assert_allclose(np.diff(b["time_fs"]), 2.0)
    # exact: same seed, exact thermostat state handed over (RNG state for Langevin)
    np.testing.assert_array_equal(a["frac_coords"], b["frac_coords"])
    np.testing.assert_array_equal(a["velocities_A_fs"], b["velocities_A_fs"])


def test_segments_start_from_previous_velocities(tmp_path):
    out, _ = _run(tmp_path, "v", segment_steps=8, temperatures_K=[500.0, 900.0])
    assert out["temperatures_K"] == [500.0, 900.0]
    for trajs in out["trajectories"]:
        for prev, nxt in itertools.pairwise(trajs):
            # the first new frame of a segment is one sampling interval after the last
            assert nxt.frame_properties[0]["step"] == prev.frame_properties[-1]["step"] + 2
    # different temperatures really ran at different temperatures
    t_mean = [
        np.mean([p["temperature_K"] for t in trajs for p in t.frame_properties])
        for trajs in out["trajectories"]
    ]
    assert t_mean[0] < t_mean[1]


def test_main_documents_stay_small(tmp_path):
    _, short = _run(tmp_path, "short", production_steps=8)
    _, long = _run(tmp_path, "long", production_steps=64)

    def largest(store):
        return max(len(bson.encode(d)) for d in store.docs_store.query({}))

    def data_bytes(store):
        return sum(len(bson.encode(d)) for d in store.additional_stores["data"].query({}))

    # trajectories (8x more frames) go to the data store; main documents do not grow
    assert data_bytes(long) > 3 * data_bytes(short)
    assert largest(long) < 1.2 * largest(short)
    assert largest(long) < 100_000
    for doc in long.docs_store.query({"output.kind": "md_segment"}):
        assert "blob_uuid" in doc["output"]["trajectory"]


def test_rerun_of_finished_segment_returns_checkpointed_result(tmp_path):
    maker = _maker(tmp_path, segment_steps=8)
    flow = maker.make(li3ocl_vacancy_cell())
    first = run_flow(flow, memory_job_store(), tmp_path / "a")
    # same flow again (e.g. resumed after a crash): segments are recovered, not re-run
    again = run_flow(flow, memory_job_store(), tmp_path / "b")
    a = concatenate_frames(first["trajectories"][0])
    b = concatenate_frames(again["trajectories"][0])
    np.testing.assert_array_equal(a["frac_coords"], b["frac_coords"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperatures_K": [600.0, -5.0]}, "finite and > 0"),
        ({"temperatures_K": [600.0, 0.0]}, "finite and > 0"),
        ({"temperatures_K": [900.0, 600.0, 900.0]}, "duplicate temperatures"),
        ({"temperatures_K": []}, "at least one"),
        ({"time_step_fs": 25.0}, "outside"),
        ({"time_step_fs": 0.0}, "outside"),
        ({"segment_steps": 7}, "multiple of traj_interval"),
        ({"production_steps": 25}, "multiple of traj_interval"),
        ({"heating_steps": 10}, "cannot exceed"),
        ({"heating_steps": 8, "segment_steps": 4}, "fit in one segment"),
        ({"engine": None}, "engine adapter"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _maker(tmp_path, **kwargs)


def test_large_time_step_warns_for_li(tmp_path):
    maker = _maker(tmp_path, time_step_fs=3.0)
    with pytest.warns(UserWarning, match="large for Li"):
        maker.make(li3ocl_vacancy_cell())


def test_heating_ramp_is_part_of_equilibration(tmp_path):
    out, _ = _run(tmp_path, "heat", heating_steps=8, heating_start_K=100.0, thermostat="berendsen")
    first = out["trajectories"][0][0]
    assert first.frame_properties[-1]["step"] == 8
    frames = concatenate_frames(out["trajectories"][0])
    assert len(frames["steps"]) == 17
