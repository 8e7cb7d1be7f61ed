from __future__ import annotations

import math

import numpy as np
import pytest

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.diffusion import analyze_diffusion
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError


def test_random_walk_recovers_known_d(random_walk):
    d_true = 2e-5
    traj = random_walk(n_frames=3000, n_li=60, diffusivity_cm2_s=d_true, vibration_A=0.1)
    r = analyze_diffusion(traj, "Li", 1000.0)
    assert r.diffusing
    assert r.dimensionality == 3
    assert abs(r.diffusivity_cm2_s - d_true) < 4 * r.diffusivity_std_cm2_s
    # sigma is a sensible fraction of D for 60 ions (neither 0 nor huge)
    assert 0.02 < r.diffusivity_std_cm2_s / d_true < 0.3
    for comp in r.diffusivity_components_cm2_s:
        assert comp == pytest.approx(d_true, rel=0.4)
    assert len(r.msd_time_ps) <= 200
    assert r.fit_end_ps > r.fit_start_ps


def test_frozen_lattice_is_not_diffusing(random_walk):
    traj = random_walk(n_frames=2000, n_li=30, diffusivity_cm2_s=0.0, vibration_A=0.15)
    r = analyze_diffusion(traj, "Li", 1500.0)
    assert not r.diffusing
    assert r.dimensionality == 0
    assert r.haven_ratio is None
    assert r.diffusivity_upper_bound_cm2_s is not None
    assert any("no diffusion" in w for w in r.warnings)


def test_one_dimensional_channel(random_walk):
    traj = random_walk(n_frames=3000, n_li=40, diffusivity_cm2_s=(0.0, 0.0, 3e-5), vibration_A=0.1)
    r = analyze_diffusion(traj, "Li", 1000.0)
    assert r.diffusing
    assert r.dimensionality == 1
    assert abs(r.principal_axes[0][2]) == pytest.approx(1.0, abs=0.05)


def test_conductivity_by_hand(random_walk):
    traj = random_walk(n_frames=1000, n_li=20, diffusivity_cm2_s=1e-5)
    r = analyze_diffusion(traj, "Li", 800.0)
    n_m3 = 20 / (12.0**3 * 1e-30)
    e, kb = 1.602176634e-19, 1.380649e-23
    sigma_s_m = n_m3 * e**2 * r.diffusivity_cm2_s * 1e-4 / (kb * 800.0)
    assert r.conductivity_mS_cm == pytest.approx(sigma_s_m * 10.0, rel=1e-9)
    assert r.conductivity_std_mS_cm == pytest.approx(
        r.conductivity_mS_cm * r.diffusivity_std_cm2_s / r.diffusivity_cm2_s, rel=1e-9
    )


def test_arrhenius_recovers_ea_and_tolerates_too_few(random_walk):
    ea, d0, kb = 0.3, 1e-3, 8.617333262e-5
    results = []
    for k, t in enumerate((700.0, 900.0, 1100.0, 1300.0)):
        d = d0 * math.exp(-ea / (kb * t))
        traj = random_walk(n_frames=1500, n_li=40, diffusivity_cm2_s=d, seed=k)
        results.append(analyze_diffusion(traj, "Li", t))
    fit = fit_arrhenius(results)
    assert abs(fit.activation_energy_eV - ea) < 4 * fit.activation_energy_std_eV
    lo, hi = fit.conductivity_at_target_ci_mS_cm
    assert lo < fit.conductivity_at_target_mS_cm < hi
    single = fit_arrhenius(results[:1])
    assert single.activation_energy_eV is None
    assert single.warnings
    empty = fit_arrhenius([])
    assert empty.activation_energy_eV is None


def test_bad_inputs(random_walk):
    traj = random_walk(n_frames=200, n_li=5)
    with pytest.raises(InputError, match="no Na atoms"):
        analyze_diffusion(traj, "Na", 1000.0)
    with pytest.raises(InputError, match="> 0 K"):
        analyze_diffusion(traj, "Li", 0.0)
    one = TrajectoryData(traj.species, traj.frac_coords[:1], traj.lattices, 10.0)
    with pytest.raises(InputError, match="single frame"):
        analyze_diffusion(one, "Li", 1000.0)
    with pytest.raises(InputError, match="time_step_fs"):
        TrajectoryData(traj.species, traj.frac_coords, traj.lattices, 0.0)
    bad = traj.frac_coords.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        TrajectoryData(traj.species, bad, traj.lattices, 10.0)
