"""Walltime-aware MD segments: sizing from the queue job's remaining time, continuation.

The queue job is simulated through its environment (``IONFLOW_JOB_END_EPOCH``, as
ionflow's queue script exports it), so no test waits for a real time limit; the real
Slurm run is in ``tests/hpc/test_cluster_runs.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from ionflow.engines.segments import attempt_end
from ionflow.errors import ConfigError
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.md_segments import segment_budget
from ionflow.schemas.md import MDSegmentSpec
from ionflow.settings import END_EPOCH_ENV, WALLTIME_ENV, job_walltime, reset_settings
from ionflow.testing.md import (
    LennardJonesEngine,
    concatenate_frames,
    li3ocl_vacancy_cell,
    memory_job_store,
    run_flow,
)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _spec(**kw):
    base = {
        "temperature_K": 900.0,
        "phase": "production",
        "index": 1,
        "first_step": 100,
        "n_steps": 50,
        "time_step_fs": 1.0,
        "traj_interval": 5,
        "thermostat": "nose-hoover",
        "checkpoint_dir": "/tmp/x",
    }
    return MDSegmentSpec(**{**base, **kw})


def test_job_walltime_from_environment():
    env = {WALLTIME_ENV: "3600", END_EPOCH_ENV: "10000"}
    assert job_walltime(env, now=9000.0) == (3600.0, 1000.0)
    assert job_walltime({}, now=0.0) == (None, None)
    assert job_walltime({"SLURM_JOB_END_TIME": "500"}, now=100.0) == (None, 400.0)
    assert job_walltime({END_EPOCH_ENV: "junk"}, now=0.0) == (None, None)


def test_segment_budget_from_measured_time_per_step(monkeypatch):
    monkeypatch.setenv("IONFLOW_WALLTIME_MARGIN_S", "120")
    reset_settings()
    try:
        env = {WALLTIME_ENV: "3600", END_EPOCH_ENV: "10000"}
        spec = _spec()
        # nothing measured yet: run the planned steps, stop at the deadline (end - margin)
        assert segment_budget(spec, None, env, now=9000.0) == (None, 10000.0 - 120.0)
        # (1000 s left - 120 s margin) / 2 s per step = 440 steps
        assert segment_budget(spec, 2.0, env, now=9000.0) == (440, 9880.0)
        assert segment_budget(spec, 2.0, env, now=9950.0)[0] == 0  # past the margin
        assert segment_budget(spec, 2.0, {}, now=0.0) == (None, None)  # no queue job
        with pytest.raises(ConfigError, match="does not fit in the queue walltime"):
            segment_budget(spec, 800.0, env, now=9000.0)  # 5 x 800 s > 3600 - 120 s
    finally:
        reset_settings()


def test_attempt_end_lands_on_stored_frames():
    spec = _spec()  # frames at 100, 105, ..., 150
    assert attempt_end(spec, 100, None) == 150
    assert attempt_end(spec, 100, 12) == 110  # 12 steps -> last frame within them
    assert attempt_end(spec, 100, 0) == 105  # at least the next frame
    assert attempt_end(spec, 103, 4) == 105  # a resumed attempt off a frame boundary
    assert attempt_end(spec, 140, 1000) == 150  # never past the segment's end


def _flow(tmp_path, name):
    maker = MultiTemperatureMDMaker(
        engine=LennardJonesEngine(),
        temperatures_K=[700.0],
        time_step_fs=1.0,
        equilibration_steps=8,
        production_steps=24,
        traj_interval=2,
        segment_steps=12,
        checkpoint_dir=str(tmp_path / name / "ckpt"),
        checkpoint_every=2,
    )
    return maker.make(li3ocl_vacancy_cell())


def test_segments_cut_by_walltime_continue_with_exact_frames(tmp_path, monkeypatch):
    reference = run_flow(_flow(tmp_path, "ref"), memory_job_store(), tmp_path / "ref")
    # a queue job whose end minus the margin has passed: every attempt runs one stored
    # frame past its start, then the segment continues in a replacement job
    monkeypatch.setenv(END_EPOCH_ENV, str(time.time() + 10))
    monkeypatch.setenv("IONFLOW_WALLTIME_MARGIN_S", "100")
    reset_settings()
    try:
        store = memory_job_store()
        cut = run_flow(_flow(tmp_path, "cut"), store, tmp_path / "cut")
    finally:
        reset_settings()
    a = concatenate_frames(reference["trajectories"][0])
    b = concatenate_frames(cut["trajectories"][0])
    np.testing.assert_array_equal(b["steps"], np.arange(0, 33, 2))  # 17 frames, none twice
    np.testing.assert_array_equal(a["steps"], b["steps"])
    # the continuation resumes the exact state (positions, velocities, thermostat)
    np.testing.assert_allclose(b["frac_coords"], a["frac_coords"], atol=1e-10)
    np.testing.assert_allclose(b["velocities_A_fs"], a["velocities_A_fs"], atol=1e-10)
    # 3 segments (8 + 12 + 12 steps) of 4 + 6 + 6 frames after their start: one job per
    # stored frame, the stopped ones kept as continuations in the store
    docs = list(store.query({"name": {"$regex": "^md 700K"}}, ["name", "index", "output"]))
    continued = [d for d in docs if d["output"]["kind"] == "md_segment_continued"]
    finished = [d for d in docs if d["output"]["kind"] == "md_segment"]
    assert len(finished) == 3
    assert len(continued) == (4 - 1) + (6 - 1) + (6 - 1)
    assert {d["output"]["stopped_at_step"] - d["output"]["started_at_step"] for d in continued} == {
        2
    }
    later = [d for d in continued if d["output"]["started_at_step"] >= 8]
    assert all(d["output"]["wall_s_per_step"] > 0 for d in later)
    last = max(finished, key=lambda d: d["output"]["last_step"])
    assert last["output"]["restart"]["wall_s_per_step"] > 0
    assert last["output"]["attempts"] == 6


def test_vasp_segments_sized_from_measured_time_continue_exactly(tmp_path, monkeypatch, shared_dir):
    """VASP (replaying a real Si MD run): the first segment, with nothing measured, runs
    its planned 4 steps; later ones, with the measured time per step and no time left
    before the queue job's end, run one step per queue job, continuing from the CONTCAR
    of the previous attempt. The frames are the reference run's, none twice."""
    from pymatgen.io.vasp import Vasprun
    from tests.engines.test_vasp_md import _maker as vasp_md_maker

    from ionflow.testing.vasp import VaspMDReplay

    run = shared_dir / "data/aimd/pmg_vasprun_md_si/vasprun.md.xml.gz"
    replay = VaspMDReplay(run)
    monkeypatch.setattr("ionflow.engines.vasp.segment.run_vasp", replay)
    maker = vasp_md_maker(tmp_path)  # the Si reference run's settings, 4-step segments
    monkeypatch.setenv(END_EPOCH_ENV, str(time.time() + 10))
    monkeypatch.setenv("IONFLOW_WALLTIME_MARGIN_S", "100")
    reset_settings()
    try:
        out = run_flow(maker.make(replay.structure(0)), memory_job_store(), tmp_path / "r")
    finally:
        reset_settings()
    assert [(c["first_step"], c["nsw"]) for c in replay.calls] == [
        (0, 4), (4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (9, 1)
    ]  # fmt: skip
    props = [p for t in out["trajectories"][0] for p in t.frame_properties]
    frac = np.concatenate([np.asarray(t.coords) for t in out["trajectories"][0]])
    np.testing.assert_array_equal([p["step"] for p in props], np.arange(11))
    vr = Vasprun(str(run), parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    ref = np.array(
        [s["structure"].frac_coords for s in vr.ionic_steps] + [vr.final_structure.frac_coords]
    )
    d = frac - ref
    assert np.abs(d - np.round(d)).max() < 1e-7
