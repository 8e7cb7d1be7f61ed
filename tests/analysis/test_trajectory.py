from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.core.trajectory import Trajectory

from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError


def _straight_line(n=50, step=0.07):
    """One Li moving +step (fractional) per frame along a, crossing the boundary; O fixed."""
    frac = np.zeros((n, 2, 3))
    frac[:, 0, 0] = (0.9 + step * np.arange(n)) % 1.0
    frac[:, 1] = 0.5
    return TrajectoryData(["Li", "O"], frac, np.diag([4.0, 5.0, 6.0]), 2.0)


def test_unwrap_across_boundaries_fixed_and_variable_cell():
    traj = _straight_line()
    disp = traj.unwrapped_displacements([0])
    assert disp[-1, 0, 0] == pytest.approx(0.07 * 49 * 4.0)
    assert np.allclose(disp[:, 0, 1:], 0.0)
    # variable cell: a grows linearly, the atom keeps its fractional velocity
    lat = np.array([np.diag([4.0 + 0.01 * i, 5.0, 6.0]) for i in range(traj.n_frames)])
    var = TrajectoryData(traj.species, traj.frac_coords, lat, 2.0)
    assert not var.constant_lattice
    expected = sum(0.07 * (4.0 + 0.01 * i) for i in range(1, traj.n_frames))
    assert var.unwrapped_displacements([0])[-1, 0, 0] == pytest.approx(expected)


def test_from_pymatgen_positions_and_displacements():
    lat = Lattice.cubic(5.0)
    rng = np.random.default_rng(0)
    frames = [Structure(lat, ["Li", "Li", "O"], rng.uniform(0, 1, (3, 3))) for _ in range(6)]
    traj = Trajectory.from_structures(frames, constant_lattice=True)
    data = TrajectoryData.from_pymatgen(traj, time_step_fs=2.0)
    assert data.species == ["Li", "Li", "O"]
    assert np.allclose(data.frac_coords, [s.frac_coords for s in frames])
    traj.to_displacements()
    data2 = TrajectoryData.from_pymatgen(traj, time_step_fs=2.0)
    assert np.allclose(data2.frac_coords % 1.0, data.frac_coords % 1.0)
    with pytest.raises(InputError, match="time_step"):
        TrajectoryData.from_pymatgen(Trajectory.from_structures(frames))


def test_concatenate_drops_duplicate_and_checks_segments():
    traj = _straight_line(20)
    first = TrajectoryData(traj.species, traj.frac_coords[:10], traj.lattices, 2.0)
    second = TrajectoryData(traj.species, traj.frac_coords[9:], traj.lattices, 2.0)
    joined = TrajectoryData.concatenate([first, second])
    assert joined.n_frames == 20
    assert np.allclose(joined.frac_coords, traj.frac_coords)
    assert any("duplicate" in w for w in joined.warnings)
    other = TrajectoryData(["Na", "O"], traj.frac_coords[10:], traj.lattices, 2.0)
    with pytest.raises(InputError, match="different atoms"):
        TrajectoryData.concatenate([first, other])
    slower = TrajectoryData(traj.species, traj.frac_coords[10:], traj.lattices, 4.0)
    with pytest.raises(InputError, match="same sampling"):
        TrajectoryData.concatenate([first, slower])


def test_subsample_and_shape_errors():
    traj = _straight_line(21)
    sub = traj.subsample(5)
    assert sub.n_frames == 5
    assert sub.time_step_fs == 10.0
    with pytest.raises(InputError):
        traj.subsample(0)
    with pytest.raises(InputError, match="species"):
        TrajectoryData(["Li"], traj.frac_coords, traj.lattices, 2.0)
    with pytest.raises(InputError, match="zero volume"):
        TrajectoryData(traj.species, traj.frac_coords, np.zeros((3, 3)), 2.0)


def test_concatenate_rejects_segments_at_different_temperatures():
    traj = _straight_line(20)
    hot = TrajectoryData(traj.species, traj.frac_coords[:10], traj.lattices, 2.0, temperature_K=900)
    cold = TrajectoryData(
        traj.species, traj.frac_coords[10:], traj.lattices, 2.0, temperature_K=600
    )
    with pytest.raises(InputError, match="different temperatures"):
        TrajectoryData.concatenate([hot, cold])
