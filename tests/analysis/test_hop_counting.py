"""Hop counting on synthetic trajectories with a known number of hops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.hop_counting import count_hops, hop_diffusion_results
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.transport import DiffusionResult

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
    traj = _lattice_run(300, [], framework_jump=True, rattle_A=0.05)
    result = count_hops(traj, "Li")
    assert not result.framework_intact
    assert result.framework_max_displacement_A == pytest.approx(A, abs=0.3)
    assert any("not intact" in w for w in result.warnings)


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
    kb = 8.617333262e-5
    ea = 0.2
    temps = [800.0, 1000.0, 1200.0]
    d_hop = {t: 1e-3 * math.exp(-ea / (kb * t)) for t in temps}
    counts = [_counts(t, 100, d_hop[t]) for t in temps]
    tracer = [_tracer(t) for t in temps]
    assert fit_arrhenius(tracer).activation_energy_eV is None  # nothing "diffuses"
    hop = hop_diffusion_results(tracer, counts)
    assert [r.diffusivity_cm2_s for r in hop] == [d_hop[t] for t in temps]
    assert all(r.diffusivity_std_cm2_s == pytest.approx(0.1 * r.diffusivity_cm2_s) for r in hop)
    fit = fit_arrhenius(hop)
    assert fit.activation_energy_eV == pytest.approx(ea, abs=1e-9)
    # σ(Ea) of a weighted line with σ(ln D) = 1/√100 at each point, hand computed
    x = np.array([-1 / (kb * t) for t in temps])
    assert fit.activation_energy_std_eV == pytest.approx(
        0.1 / math.sqrt(np.sum((x - x.mean()) ** 2)), rel=1e-6
    )
    lo, hi = fit.conductivity_at_target_ci_mS_cm
    assert lo < fit.conductivity_at_target_mS_cm < hi
    # too few hops or a broken framework: that temperature is left out of the fit
    mixed = hop_diffusion_results(
        tracer,
        [
            _counts(800, 2, d_hop[800]),
            _counts(1000, 50, d_hop[1000]),
            _counts(1200, 90, 1e-4, False),
        ],
    )
    assert [r.diffusing for r in mixed] == [False, True, False]
    assert "fewer than 4" in mixed[0].warnings[0]
    assert "framework" in mixed[2].warnings[0]
    assert fit_arrhenius(mixed).activation_energy_eV is None
