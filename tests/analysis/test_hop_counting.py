"""Hop counting on synthetic trajectories with a known number of hops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.hop_counting import count_hops, fit_hop_arrhenius, hop_diffusion_results
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.transport import DiffusionResult

KB = 8.617333262e-5  # eV/K
A = 3.0  # simple cubic Li sublattice spacing (Å)
DT_FS = 10.0


def _lattice_run(
    n_frames: int,
    hops: list[tuple[int, int, np.ndarray]],
    vacancy: bool = True,
    rattle_A: float = 0.15,
    framework_jump: bool = False,
    seed: int = 0,
) -> TrajectoryData:
    """3x3x3 simple cubic Li sites (one empty if ``vacancy``) plus a rigid Cl framework.

    ``hops``: (ion, frame, displacement in Å); each hop takes 10 frames (100 fs) along a
    straight line. Every atom rattles with Gaussian noise of ``rattle_A``.
    """
    rng = np.random.default_rng(seed)
    n_cell = 3
    sites = np.array(
        [(i, j, k) for i in range(n_cell) for j in range(n_cell) for k in range(n_cell)], float
    )
    li = sites[1:] if vacancy else sites  # site 0 is the vacancy
    cl = sites + 0.5
    length = n_cell * A
    lattice = np.eye(3) * length
    base = np.concatenate([li, cl]) * A
    n_li = len(li)
    pos = np.repeat(base[None], n_frames, axis=0)
    for ion, frame, vec in hops:
        ramp = np.clip((np.arange(n_frames) - frame) / 10.0, 0.0, 1.0)
        pos[:, ion] += ramp[:, None] * vec[None, :]
    if framework_jump:
        ramp = np.clip((np.arange(n_frames) - n_frames // 2) / 10.0, 0.0, 1.0)
        pos[:, n_li] += ramp[:, None] * np.array([A, 0.0, 0.0])
    pos = pos + rng.normal(0.0, rattle_A, pos.shape)
    species = ["Li"] * n_li + ["Cl"] * len(cl)
    return TrajectoryData(species, pos / length, lattice, DT_FS, temperature_K=900.0)


def test_vacancy_hops_are_counted_once_each():
    # ion 0 at (0,0,1) hops into the empty site (0,0,0); ion 8 at (1,0,0) hops by -y to
    # (1,2,0) (periodic); ion 0 hops on from (0,0,0) into (1,0,0), the site ion 8 left
    x = np.array([A, 0.0, 0.0])
    traj = _lattice_run(
        600,
        [
            (0, 100, np.array([0.0, 0.0, -A])),  # ion 0 at (0,0,1) -> vacancy (0,0,0)
            (8, 250, np.array([0.0, -A, 0.0])),  # ion 8 at (0,1,1)... into (0,0,1)
            (0, 400, x),  # ion 0 from (0,0,0) to (1,0,0)? occupied in reality: fine here
        ],
    )
    result = count_hops(traj, "Li")
    assert result.n_hops == 3
    assert result.n_ions_hopped == 2
    assert result.hops_per_ion[0] == 2
    assert result.hops_per_ion[8] == 1
    assert result.mean_hop_distance_A == pytest.approx(A, abs=0.2)
    duration = 599 * DT_FS / 1000
    assert result.hop_rate_per_ps == pytest.approx(3 / duration)
    assert result.hop_rate_std_per_ps == pytest.approx(math.sqrt(3) / duration)
    # uncorrelated estimate: 3 hops of length A among 26 ions
    expected = 3 * A**2 / (6 * 26 * duration) * 1e-4
    assert result.hop_diffusivity_cm2_s == pytest.approx(expected, rel=0.15)
    assert result.framework_intact
    assert set(result.framework_msd_A2) == {"Cl"}


def test_rattling_and_an_excursion_are_no_hop():
    # ion 3 moves 40 % of the way to a neighbour and comes back: no hop
    vec = np.array([0.4 * A, 0.0, 0.0])
    traj = _lattice_run(400, [(3, 100, vec), (3, 200, -vec)], rattle_A=0.2)
    result = count_hops(traj, "Li")
    assert result.n_hops == 0
    assert result.hop_rate_std_per_ps is None
    assert any("no Li hop" in w for w in result.warnings)


def test_interstitial_site_is_discovered():
    # ion 5 moves to a body-centre-like position 0.5 A off the lattice, far from every site
    vec = np.array([0.5 * A, 0.5 * A, 0.0])
    traj = _lattice_run(300, [(5, 100, vec)], vacancy=False, rattle_A=0.05)
    result = count_hops(traj, "Li")
    assert result.n_hops == 1
    assert result.n_sites == 28
    assert result.mean_hop_distance_A == pytest.approx(math.hypot(0.5 * A, 0.5 * A), abs=0.2)


def test_framework_hop_flags_a_broken_framework():
    # a Cl moves one lattice spacing, onto the site of another Cl: matched one atom per
    # site, one of the two is a lattice spacing from every free Cl site
    traj = _lattice_run(300, [], framework_jump=True, rattle_A=0.05)
    result = count_hops(traj, "Li")
    assert not result.framework_intact
    assert result.framework_max_displacement_A == pytest.approx(A, abs=0.3)
    assert result.framework_max_site_distance_A == pytest.approx(A, abs=0.3)
    assert any("not intact" in w for w in result.warnings)


def _swapped(traj: TrajectoryData, i: int, j: int, start: int, frames: int) -> TrajectoryData:
    """The run with framework atoms ``i`` and ``j`` trading places from ``start`` on.

    They pass each other on a half circle (as two S of a tetrahedron that turns).
    """
    frac = traj.frac_coords.copy()
    pi, pj = frac[0, i].copy(), frac[0, j].copy()
    centre, half = (pi + pj) / 2, (pj - pi) / 2
    side = np.cross(half, [0.0, 0.0, 1.0])
    for t in range(start, traj.n_frames):
        phase = min((t - start) / frames, 1.0) * np.pi
        turn = -np.cos(phase) * half + np.sin(phase) * side
        frac[t, i] += centre + turn - pi
        frac[t, j] += centre - turn - pj
    return TrajectoryData(
        traj.species, frac, traj.lattice(0), DT_FS, temperature_K=traj.temperature_K
    )


def test_framework_atoms_that_trade_sites_leave_it_intact():
    base = _lattice_run(300, [], rattle_A=0.05)
    n_li = base.species.count("Li")
    turned = count_hops(_swapped(base, n_li, n_li + 9, 100, 50), "Li")  # neighbours along x
    assert turned.framework_intact
    assert turned.framework_max_displacement_A == pytest.approx(A, abs=0.3)
    assert turned.framework_max_site_distance_A < 0.3
    assert any(
        "of starting sites of their element, one atom per site" in w for w in turned.warnings
    )
    # stopped half way (a quarter turn each): both sit between sites at the end
    half = count_hops(_swapped(base, n_li, n_li + 9, 200, 200), "Li")
    assert not half.framework_intact
    assert half.framework_max_site_distance_A > 0.6 * A


def _counts(temperature_K: float, n: int, d_hop: float, intact: bool = True) -> HopCountResult:
    return HopCountResult(
        specie="Li",
        temperature_K=temperature_K,
        duration_ps=2.0,
        n_mobile=10,
        n_hops=n,
        n_ions_hopped=min(n, 10),
        hop_rate_per_ps=n / 2.0,
        hop_length_A=2.8,
        n_sites=11,
        capture_radius_A=0.84,
        hop_diffusivity_cm2_s=d_hop if n else None,
        framework_intact=intact,
    )


def _tracer(temperature_K: float) -> DiffusionResult:
    """A tracer result that did not pass the diffusion test (few hops, large σ)."""
    return DiffusionResult(
        method="ionflow",
        specie="Li",
        charge=1.0,
        temperature_K=temperature_K,
        n_frames=500,
        n_atoms=20,
        n_mobile=10,
        time_step_fs=4.0,
        duration_ps=2.0,
        volume_A3=500.0,
        drift="framework",
        diffusivity_cm2_s=1e-6,
        diffusivity_std_cm2_s=1e-6,
        diffusivity_components_cm2_s=[1e-6] * 3,
        diffusion_tensor_cm2_s=np.diag([1e-6] * 3).tolist(),
        diffusivity_principal_cm2_s=[1e-6] * 3,
        principal_axes=np.eye(3).tolist(),
        dimensionality=0,
        msd_time_ps=[0.0, 1.0],
        msd_A2=[0.0, 0.1],
        msd_std_A2=[0.0, 0.1],
        diffusing=False,
        n_effective_hops=0.5,
        hop_length_A=2.8,
        conductivity_mS_cm=1.0,
        fit_start_ps=0.2,
        fit_end_ps=1.0,
        n_samples=10,
    )


def test_hop_estimate_gives_the_arrhenius_fit_the_tracer_cannot():
    ea = 0.2
    temps = [800.0, 1000.0, 1200.0]
    rate = {t: 50.0 * math.exp(-ea / (KB * t)) for t in temps}  # hops per ps
    d_hop = {t: 1e-3 * math.exp(-ea / (KB * t)) for t in temps}
    counts = [_counts(t, round(2.0 * rate[t]), d_hop[t]) for t in temps]
    tracer = [_tracer(t) for t in temps]
    assert fit_arrhenius(tracer).activation_energy_eV is None  # nothing "diffuses"
    hop = hop_diffusion_results(tracer, counts)
    assert [r.diffusivity_cm2_s for r in hop] == [d_hop[t] for t in temps]
    for r, c in zip(hop, counts, strict=True):
        assert r.diffusivity_std_cm2_s == pytest.approx(r.diffusivity_cm2_s / math.sqrt(c.n_hops))
    fit = fit_hop_arrhenius(tracer, counts)
    # the Poisson likelihood's maximum, checked against statsmodels' Poisson GLM (log
    # link, offset ln t) on the same counts
    n = np.array([c.n_hops for c in counts], float)
    x = -1.0 / (KB * np.array(temps))
    glm = sm.GLM(n, sm.add_constant(x), family=sm.families.Poisson(), offset=np.log([2.0] * 3))
    ref = glm.fit()
    assert fit.activation_energy_eV == pytest.approx(ref.params[1], rel=1e-8)
    assert fit.activation_energy_eV == pytest.approx(ea, abs=0.03)  # counts are rounded
    inflate = max(1.0, fit.reduced_chi2)
    assert fit.activation_energy_std_eV == pytest.approx(ref.bse[1] * math.sqrt(inflate), rel=1e-6)
    lo, hi = fit.conductivity_at_target_ci_mS_cm
    assert lo < fit.conductivity_at_target_mS_cm < hi
    assert fit.fitted_temperatures_K == temps


def test_two_temperatures_give_the_closed_form_rate_ratio():
    """Two runs: Ea = k ln(r2/r1) / (1/T1 − 1/T2), σ²(Ea) = (1/n1 + 1/n2) (k / Δ(1/T))²."""
    t1, t2, n1, n2 = 900.0, 1300.0, 6, 27
    tracer = [_tracer(t1), _tracer(t2)]
    # D_hop = n d²/(6 N t) with d = 2.8 Å, N = 10, t = 2 ps (Å²/ps → cm²/s: 1e-4)
    d_of = {n1: n1 * 2.8**2 / (6 * 10 * 2.0) * 1e-4, n2: n2 * 2.8**2 / (6 * 10 * 2.0) * 1e-4}
    counts = [_counts(t1, n1, d_of[n1]), _counts(t2, n2, d_of[n2])]
    fit = fit_hop_arrhenius(tracer, counts)
    span = 1.0 / t1 - 1.0 / t2
    ea = KB * math.log(n2 / n1) / span
    assert fit.activation_energy_eV == pytest.approx(ea, rel=1e-9)
    assert fit.activation_energy_std_eV == pytest.approx(
        math.sqrt(1 / n1 + 1 / n2) * KB / span, rel=1e-9
    )
    # D at 300 K: the rate at 300 K times d²/(6N); the rate line passes through both runs
    rate_300 = n2 / 2.0 * math.exp(-ea / KB * (1 / 300.0 - 1 / t2))
    d_300 = rate_300 * 2.8**2 / (6 * 10) * 1e-4
    assert fit.diffusivity_at_target_cm2_s == pytest.approx(d_300, rel=1e-8)


def test_every_temperature_counts_zero_hops_included():
    temps = [800.0, 1000.0, 1200.0]
    tracer = [_tracer(t) for t in temps]
    with_zero = [_counts(800.0, 0, 0.0), _counts(1000.0, 4, 4e-5), _counts(1200.0, 12, 1.2e-4)]
    fit = fit_hop_arrhenius(tracer, with_zero)
    assert fit.fitted_temperatures_K == temps
    # the empty run pulls Ea up: without it, the two runs alone give k ln 3 / Δ(1/T)
    two = fit_hop_arrhenius(tracer[1:], with_zero[1:])
    assert two.activation_energy_eV == pytest.approx(KB * math.log(3) / (1 / 1000 - 1 / 1200))
    assert fit.activation_energy_eV > two.activation_energy_eV
    points = fit.results
    assert not points[0].diffusing
    # its point is the 97.5 % Poisson bound: −ln 0.025 hops of the Li-Li length
    bound = -math.log(0.025) * 2.8**2 / (6 * 10 * 2.0) * 1e-4
    assert points[0].diffusivity_upper_bound_cm2_s == pytest.approx(bound)
    assert [p.diffusing for p in points] == [False, True, True]


def test_hops_at_one_temperature_or_a_broken_framework_give_no_fit():
    tracer = [_tracer(t) for t in (800.0, 1000.0, 1200.0)]
    one = fit_hop_arrhenius(
        tracer, [_counts(800.0, 0, 0.0), _counts(1000.0, 0, 0.0), _counts(1200.0, 9, 1e-4)]
    )
    assert one.activation_energy_eV is None
    assert "hops at 1 temperature(s)" in one.warnings[-1]
    assert "9 at 1200 K" in one.warnings[-1]
    broken = fit_hop_arrhenius(
        tracer,
        [_counts(800.0, 3, 3e-5), _counts(1000.0, 50, 5e-4), _counts(1200.0, 90, 9e-4, False)],
    )
    assert broken.excluded_temperatures_K == [1200.0]
    assert broken.fitted_temperatures_K == [800.0, 1000.0]
    assert "framework not intact" in broken.warnings[0]
    assert broken.results[2].warnings == ["hop estimate: framework not intact"]
    assert broken.activation_energy_eV == pytest.approx(
        KB * math.log(50 / 3) / (1 / 800 - 1 / 1000)
    )


def test_hop_counts_that_fall_with_temperature_are_not_a_result():
    """The li3ocl --quick vacancy cell: 3, 2 and 1 hops in 2 ps at 1100, 1300, 1500 K."""
    temps = [1100.0, 1300.0, 1500.0]
    counts = [_counts(t, n, n * 1.3e-5) for t, n in zip(temps, (3, 2, 1), strict=True)]
    fit = fit_hop_arrhenius([_tracer(t) for t in temps], counts)
    assert fit.activation_energy_eV is None
    assert fit.conductivity_at_target_mS_cm is None
    assert fit.raw_activation_energy_eV == pytest.approx(-0.355, abs=0.001)
    assert "≤ 0" in fit.not_determined


def test_hop_fit_checks_its_inputs_as_the_fit_of_d_does():
    tracer = [_tracer(t) for t in (800.0, 1000.0)]
    counts = [_counts(800.0, 5, 5e-5), _counts(1000.0, 9, 9e-5)]
    with pytest.raises(InputError, match="target temperature must be > 0 K"):
        fit_hop_arrhenius(tracer, counts, target_temperature_K=-300.0)
    with pytest.raises(InputError, match=r"confidence level must be in \(0, 1\)"):
        fit_hop_arrhenius(tracer, counts, confidence_level=95.0)
