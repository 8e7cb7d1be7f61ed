"""CHGNet MD on a Li3OCl Schottky cell: chained segments equal one unchained run exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.testing.md import concatenate_frames, memory_job_store, run_flow

pytestmark = [pytest.mark.mlff, pytest.mark.slow, pytest.mark.filterwarnings("ignore")]


@pytest.fixture(scope="module")
def schottky_cell():
    """2x2x2 Li3OCl with one Li and its nearest Cl removed (38 atoms, neutral)."""
    from ionflow.structures.prototypes import build_prototype

    cell = build_prototype("Li3OCl")
    cell.make_supercell([2, 2, 2])
    li = next(i for i, s in enumerate(cell) if s.specie.symbol == "Li")
    cl = min(
        (i for i, s in enumerate(cell) if s.specie.symbol == "Cl"),
        key=lambda i: cell.get_distance(li, i),
    )
    cell.remove_sites([li, cl])
    return cell


def _maker(tmp_path, name, segment_steps):
    import torch

    from ionflow.engines.mlip import MlipEngine

    torch.set_num_threads(1)
    return MultiTemperatureMDMaker(
        engine=MlipEngine(calculator_kwargs={"device": "cpu"}),
        temperatures_K=[900.0, 1200.0, 1500.0],
        time_step_fs=2.0,
        equilibration_steps=6,
        production_steps=18,
        traj_interval=2,
        segment_steps=segment_steps,
        checkpoint_dir=str(tmp_path / name),
    )


def test_chained_chgnet_equals_unchained(tmp_path, schottky_cell):
    chained = run_flow(
        _maker(tmp_path, "c", 6).make(schottky_cell), memory_job_store(), tmp_path / "c"
    )
    single = run_flow(
        _maker(tmp_path, "s", None).make(schottky_cell), memory_job_store(), tmp_path / "s"
    )
    assert chained["temperatures_K"] == [900.0, 1200.0, 1500.0]
    for t_idx, run in enumerate(chained["runs"]):
        assert run.segments == 3  # production: 3 segments of 6 steps (+ 1 equilibration)
        a = concatenate_frames(chained["trajectories"][t_idx])
        b = concatenate_frames(single["trajectories"][t_idx])
        np.testing.assert_array_equal(a["steps"], np.arange(0, 25, 2))
        np.testing.assert_array_equal(a["steps"], b["steps"])
        np.testing.assert_array_equal(a["frac_coords"], b["frac_coords"])
        np.testing.assert_array_equal(a["velocities_A_fs"], b["velocities_A_fs"])
