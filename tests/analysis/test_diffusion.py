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


def test_sigma_is_calibrated_on_many_walks(random_walk):
    """The stated sigma covers the true D about as often as it claims (68 % / 95 %)."""
    d_true, z = 1e-5, []
    for seed in range(150):
        traj = random_walk(
            n_frames=400, n_li=16, n_fw=4, diffusivity_cm2_s=d_true, vibration_A=0.1, seed=seed
        )
        r = analyze_diffusion(traj, "Li", 1000.0)
        z.append((r.diffusivity_cm2_s - d_true) / r.diffusivity_std_cm2_s)
    z = np.abs(np.array(z))
    # sampling error of a coverage fraction from 150 trials is ~4 %
    assert 0.56 < np.mean(z < 1) < 0.80
    assert 0.88 < np.mean(z < 2) <= 1.0


def test_sigma_with_few_ions_comes_from_the_gls_model(random_walk):
    """Two ions: no spread to speak of, σ from kinisi's covariance model, still calibrated."""
    d_true, z = 2e-5, []
    for seed in range(120):
        traj = random_walk(n_frames=600, n_li=2, n_fw=4, diffusivity_cm2_s=d_true, seed=seed)
        r = analyze_diffusion(traj, "Li", 1000.0)
        z.append((r.diffusivity_cm2_s - d_true) / r.diffusivity_std_cm2_s)
    assert r.n_samples == 2
    z = np.abs(np.array(z))
    assert 0.5 < np.mean(z < 1) < 0.85
    assert np.mean(z < 2) > 0.85


def test_haven_ratio_of_collective_motion_is_one_over_n(random_walk):
    """All Li take identical steps: D_charge = N D_tracer, so H_R = 1/N exactly."""
    walk = random_walk(n_frames=1500, n_li=1, n_fw=6, diffusivity_cm2_s=2e-5)
    n_li = 8
    offsets = np.random.default_rng(1).uniform(0, 1, (1, n_li, 3))
    li = walk.frac_coords[:, :1, :] + offsets
    frac = np.concatenate([li, walk.frac_coords[:, 1:, :]], axis=1) % 1.0
    traj = TrajectoryData(["Li"] * n_li + ["O"] * 6, frac, walk.lattices, walk.time_step_fs)
    r = analyze_diffusion(traj, "Li", 1000.0)
    assert r.charge_diffusivity_cm2_s == pytest.approx(n_li * r.diffusivity_cm2_s, rel=1e-9)
    assert r.haven_ratio == pytest.approx(1 / n_li, rel=1e-9)


def test_framework_drift_is_removed(random_walk):
    traj = random_walk(n_frames=1500, n_li=30, n_fw=20, diffusivity_cm2_s=1e-5, vibration_A=0.05)
    base = analyze_diffusion(traj, "Li", 1000.0)
    velocity = np.array([0.003, -0.002, 0.001])  # fractional per frame, all atoms
    shifted = (traj.frac_coords + velocity * np.arange(traj.n_frames)[:, None, None]) % 1.0
    drifting = TrajectoryData(traj.species, shifted, traj.lattices, traj.time_step_fs)
    fixed = analyze_diffusion(drifting, "Li", 1000.0, drift="framework")
    assert fixed.diffusivity_cm2_s == pytest.approx(base.diffusivity_cm2_s, rel=1e-6)
    raw = analyze_diffusion(drifting, "Li", 1000.0, drift="none")
    assert raw.diffusivity_cm2_s > 3 * base.diffusivity_cm2_s
    with pytest.raises(InputError, match="drift"):
        analyze_diffusion(traj, "Li", 1000.0, drift="sideways")


def test_two_dimensional_planes(random_walk):
    traj = random_walk(n_frames=2500, n_li=40, diffusivity_cm2_s=(2e-5, 2e-5, 0.0), vibration_A=0.1)
    r = analyze_diffusion(traj, "Li", 1000.0)
    assert r.dimensionality == 2
    assert abs(r.principal_axes[2][2]) == pytest.approx(1.0, abs=0.05)


def test_random_walk_has_no_linearity_warning_but_caged_motion_does(random_walk):
    for seed in range(3):
        r = analyze_diffusion(random_walk(n_frames=1500, n_li=40, seed=seed), "Li", 1000.0)
        assert not any("not linear" in w for w in r.warnings)
    # fast rattling in a cage (D_cage) plus slow long-range motion: MSD bends over
    walk = random_walk(n_frames=3000, n_li=40, diffusivity_cm2_s=2e-6, seed=4)
    rng = np.random.default_rng(9)
    cage = np.zeros((3000, 40, 3))
    for t in range(1, 3000):  # Ornstein-Uhlenbeck rattling, relaxation ~ 400 frames
        cage[t] = cage[t - 1] * (1 - 1 / 400) + rng.normal(0, 0.08, (40, 3))
    frac = walk.frac_coords.copy()
    frac[:, :40] = (frac[:, :40] + cage / 12.0) % 1.0
    caged = TrajectoryData(walk.species, frac, walk.lattices, walk.time_step_fs)
    r = analyze_diffusion(caged, "Li", 1000.0, min_time_ps=1.0, max_time_ps=20.0)
    assert any("not linear" in w for w in r.warnings)


def test_short_noisy_demo_like_run_behaves():
    """~38-atom cell, 0.6 ps at 2 fs/frame, one vacancy-like hopper: no crash, finite values."""
    rng = np.random.default_rng(0)
    n, n_li = 300, 23
    sites = rng.uniform(0, 1, (1, 38, 3))
    frac = np.repeat(sites, n, axis=0) + rng.normal(0, 0.1 / 7.7, (n, 38, 3))
    frac[150:, 0] += np.array([0.35, 0.0, 0.0])  # one hop of ~2.7 Å half-way
    traj = TrajectoryData(["Li"] * n_li + ["O"] * 5 + ["Cl"] * 10, frac % 1.0, np.eye(3) * 7.7, 2.0)
    r = analyze_diffusion(traj, "Li", 1200.0)
    data = r.model_dump()
    assert data["diffusivity_std_cm2_s"] is not None
    assert not r.diffusing or r.diffusivity_std_cm2_s > 0.3 * r.diffusivity_cm2_s
    assert r.fit_end_ps <= 0.6
    text = r.model_dump_json()
    assert "NaN" not in text
    assert "Infinity" not in text


def test_schema_rejects_nan(random_walk):
    r = analyze_diffusion(random_walk(n_frames=300, n_li=10), "Li", 1000.0)
    with pytest.raises(ValueError, match="not finite"):
        r.model_validate({**r.model_dump(), "diffusivity_cm2_s": float("nan")})
    with pytest.raises(ValueError, match="not finite"):
        r.model_validate({**r.model_dump(), "msd_A2": [float("inf")] * len(r.msd_A2)})


def test_temperature_mismatch_with_file_is_an_error(random_walk):
    traj = random_walk(n_frames=300, n_li=10)
    traj.temperature_K = 800.0
    with pytest.raises(InputError, match="file says 800 K"):
        analyze_diffusion(traj, "Li", 1200.0)
    assert analyze_diffusion(traj, "Li", 810.0).temperature_K == 810.0


def test_window_rule_is_recorded_and_sigma_shrinks_with_run_length(random_walk):
    rel = []
    for n in (1000, 16000):
        traj = random_walk(
            n_frames=n, n_li=20, n_fw=4, diffusivity_cm2_s=1e-5, time_step_fs=20.0, seed=n
        )
        r = analyze_diffusion(traj, "Li", 1000.0)
        rel.append(r.diffusivity_std_cm2_s / r.diffusivity_cm2_s)
        assert "non-Gaussian parameter" in r.fit_window_rule
        assert "GLS" in r.fit_window_rule
        # 20 ions: the window ends where 30 independent displacements remain (2/3 of the run)
        assert r.fit_end_ps == pytest.approx(20 * (n - 1) // 30 * 0.02, rel=0.01)
        assert r.fit_start_ps == pytest.approx(0.5, abs=0.3)
    assert rel[1] < 0.6 * rel[0]


def test_window_moves_later_when_msd_is_not_linear(aimd_dir):
    from ionflow.io.trajectories import read_run

    files = [aimd_dir / f"li6ps5cl_500K_0p/run{i}/XDATCAR.gz" for i in (1, 2)]
    r = analyze_diffusion(read_run(files, time_step_fs=2.0, step_skip=50), "Li", 500.0)
    assert r.fit_start_ps > 2.0
    assert any("fit window moved" in w for w in r.warnings)


def test_sigma_of_d_by_hand(random_walk):
    """D and σ(D) by plain numpy: per-ion MSD, GLS with kinisi's covariance, std/√N."""
    traj = random_walk(n_frames=240, n_li=12, n_fw=5, diffusivity_cm2_s=2e-5, vibration_A=0.1)
    r = analyze_diffusion(traj, "Li", 1000.0)
    disp = traj.unwrapped_displacements(np.arange(traj.n_atoms))
    disp = disp[:, :12] - disp[:, 12:].mean(axis=1, keepdims=True)  # framework drift
    dt_ps = traj.time_step_fs / 1000
    lags = np.arange(round(r.fit_start_ps / dt_ps), round(r.fit_end_ps / dt_ps) + 1)
    t = lags * dt_ps
    n_obs = 12 * 239 / lags  # kinisi: N_ions · t_run / t
    var = t**2 / n_obs  # Brownian shape of the MSD variance
    cov = np.array(
        [
            [var[min(i, j)] * n_obs[min(i, j)] / n_obs[max(i, j)] for j in range(len(t))]
            for i in range(len(t))
        ]
    )
    x = np.column_stack([t, np.ones_like(t)])
    inv = np.linalg.inv(cov)
    w = np.linalg.solve(x.T @ inv @ x, x.T @ inv)[0]
    d_i = []
    for i in range(12):
        msd = [np.mean(np.sum((disp[m:, i] - disp[:-m, i]) ** 2, axis=1)) for m in lags]
        d_i.append(w @ msd / 6 * 1e-4)  # Å²/ps → cm²/s
    assert r.diffusivity_cm2_s == pytest.approx(np.mean(d_i), rel=1e-7)
    stat = np.std(d_i, ddof=1) / np.sqrt(12)
    assert r.diffusivity_std_cm2_s == pytest.approx(
        np.hypot(stat, r.diffusivity_window_std_cm2_s), rel=1e-7
    )


def test_non_positive_d_is_never_a_sigma_and_prints_as_not_determined(random_walk, capsys):
    """A frozen lattice can give D ≤ 0: no σ from it, an upper bound from the + side."""
    from ionflow.cli.analyze_diffusion import _print_diffusion
    from ionflow.report.transport import diffusion_text, haven_text

    for seed in range(20):
        r = analyze_diffusion(
            random_walk(n_frames=300, n_li=12, diffusivity_cm2_s=0.0, vibration_A=0.1, seed=seed),
            "Li",
            900.0,
        )
        if r.diffusivity_cm2_s <= 0:
            break
    assert r.diffusivity_cm2_s <= 0
    assert r.conductivity_mS_cm is None
    assert r.conductivity_std_mS_cm is None
    assert r.diffusivity_upper_bound_cm2_s == pytest.approx(2 * r.diffusivity_std_cm2_s)
    assert r.conductivity_upper_bound_mS_cm > 0
    d_txt, s_txt = diffusion_text(r)
    assert d_txt.startswith("not determined (no diffusion, D ≤ 0)")
    assert s_txt.startswith("not determined; σ < ")
    assert haven_text(r).startswith("not determined: ")
    _print_diffusion(r)
    out = capsys.readouterr().out
    assert "D = not determined" in out
    assert "σ = not determined" in out
    assert "-" not in out.split("σ = ")[1].split("\n")[0]  # no negative number printed
