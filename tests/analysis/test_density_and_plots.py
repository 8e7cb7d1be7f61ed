from __future__ import annotations

import numpy as np
import pytest

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.density import density_chgcar, mobile_ion_density
from ionflow.analysis.diffusion import analyze_diffusion
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.report.plots_transport import plot_arrhenius, plot_msd


def test_static_ions_fill_their_voxels():
    sites = np.array([[0.1, 0.1, 0.1], [0.55, 0.3, 0.8], [0.5, 0.5, 0.5]])
    frac = np.repeat(sites[None], 5, axis=0)
    traj = TrajectoryData(["Li", "Li", "O"], frac, np.eye(3) * 4.0, 1.0)
    data, structure = mobile_ion_density(traj, "Li", grid_spacing_A=0.5, smearing_A=0.0)
    assert data.shape == (8, 8, 8)
    assert data.mean() == pytest.approx(2.0)  # CHGCAR convention: grid mean = ions per cell
    assert data[0, 0, 0] == pytest.approx(data.size)
    assert data[4, 2, 6] == pytest.approx(data.size)
    assert np.count_nonzero(data) == 2
    assert len(structure) == 3
    smooth = density_chgcar(traj, "Li", grid_spacing_A=0.5, smearing_A=0.4)
    assert smooth.data["total"].mean() == pytest.approx(2.0)
    with pytest.raises(InputError, match="no Na"):
        mobile_ion_density(traj, "Na")


def test_plots_are_written(tmp_path, random_walk):
    results = [
        analyze_diffusion(random_walk(n_frames=600, n_li=20, diffusivity_cm2_s=d, seed=k), "Li", t)
        for k, (t, d) in enumerate(((800.0, 2e-6), (1000.0, 6e-6), (1200.0, 1.2e-5)))
    ]
    frozen = analyze_diffusion(
        random_walk(n_frames=600, n_li=20, diffusivity_cm2_s=0.0, vibration_A=0.1), "Li", 600.0
    )
    fit = fit_arrhenius([*results, frozen])
    assert plot_msd([*results, frozen], tmp_path / "a" / "msd.png").stat().st_size > 10_000
    assert plot_arrhenius(fit, None, tmp_path / "arr.png").stat().st_size > 10_000
    none = fit_arrhenius([frozen])
    assert plot_arrhenius(none, [frozen], tmp_path / "none.png").stat().st_size > 5_000
