"""Fault test: SIGKILL a running MD segment, resume the flow, lose and duplicate nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.md_resume import load_flow, save_flow
from ionflow.run.local import resume_run
from ionflow.testing.md import (
    LJ_DEFAULTS,
    LennardJonesEngine,
    concatenate_frames,
    li3ocl_vacancy_cell,
    memory_job_store,
    run_flow,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DRIVER = """
import sys
from jobflow import run_locally
from ionflow.makers.md_resume import load_flow
from ionflow.settings import get_settings
from ionflow.stores import get_job_store

flow = load_flow(sys.argv[1])
store = get_job_store(get_settings())
run_locally(flow, store=store, create_folders=True, root_dir=sys.argv[2], log=False)
"""


def _maker(checkpoint_dir, delay_s=0.0):
    return MultiTemperatureMDMaker(
        engine=LennardJonesEngine(calculator_kwargs={**LJ_DEFAULTS, "delay_s": delay_s}),
        temperatures_K=[800.0],
        time_step_fs=1.0,
        equilibration_steps=8,
        production_steps=48,
        traj_interval=2,
        segment_steps=16,
        thermostat="langevin",
        checkpoint_every=2,
        checkpoint_dir=str(checkpoint_dir),
    )


def _wait_for_checkpoint(state_file: Path, min_step: int, proc, timeout_s: float = 120.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            pytest.fail(f"driver exited early with {proc.returncode}")
        if state_file.exists():
            try:
                step = json.loads(state_file.read_text())["step"]
            except ValueError:  # being replaced right now
                continue
            if step >= min_step:
                return step
        time.sleep(0.02)
    pytest.fail(f"no checkpoint past step {min_step} in {timeout_s} s")


def test_sigkill_mid_segment_then_resume(tmp_path, monkeypatch):
    work = tmp_path / "work"
    monkeypatch.setenv("IONFLOW_WORK_DIR", str(work))
    from ionflow.settings import reset_settings

    reset_settings()
    cell = li3ocl_vacancy_cell()
    flow = _maker(tmp_path / "ckpt", delay_s=0.01).make(cell)
    flow_file = save_flow(flow, tmp_path)
    # segments: 0 = equilibration (steps 0-8), 1-3 = production (8-24, 24-40, 40-56)
    seg2 = next(j for j, _ in flow.iterflow() if j.name == "md 800K production 2")
    state_file = Path(seg2.function_args[1].checkpoint_dir) / "state.json"

    env = {**os.environ, "OMP_NUM_THREADS": "1", "IONFLOW_WORK_DIR": str(work)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(flow_file), str(tmp_path / "run1")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed_at = _wait_for_checkpoint(state_file, 28, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert killed_at < 40  # the segment was running, not finished

    from ionflow.settings import get_settings
    from ionflow.stores import get_job_store

    store = get_job_store(get_settings())
    resume_run(load_flow(flow_file), store, tmp_path / "run2", echo=lambda m: None)

    docs = {
        d["name"]: d
        for d in store.query({"name": {"$regex": "^md 800K"}}, properties=["name", "output"])
    }
    assert docs["md 800K production 2"]["output"]["attempts"] == 2
    resumed_from = docs["md 800K production 2"]["output"]["resumed_from_step"]
    assert 28 <= resumed_from < 40
    assert docs["md 800K production 1"]["output"]["attempts"] == 1
    store.connect()
    trajs = [
        store.get_output(seg.uuid, load=True)["trajectory"]
        for seg, _ in flow.iterflow()
        if seg.name.startswith("md 800K")
    ]
    from pymatgen.core.trajectory import Trajectory

    got = concatenate_frames([Trajectory.from_dict(t) for t in trajs])

    # uninterrupted reference with the same seed
    ref_out = run_flow(_maker(tmp_path / "ref").make(cell), memory_job_store(), tmp_path / "ref")
    ref = concatenate_frames(ref_out["trajectories"][0])
    np.testing.assert_array_equal(got["steps"], np.arange(0, 57, 2))
    np.testing.assert_array_equal(got["steps"], ref["steps"])
    np.testing.assert_array_equal(got["frac_coords"], ref["frac_coords"])
    np.testing.assert_array_equal(got["velocities_A_fs"], ref["velocities_A_fs"])
