"""Tracer diffusivity with an honest uncertainty from one MD trajectory.

Estimator (``method="ionflow"``)
--------------------------------
1. Unwrap positions, remove the drift of the framework (or of all atoms).
2. For every mobile ion compute its time-origin-averaged MSD by FFT for six projections
   (x, y, z and the three diagonals), which gives the full MSD tensor.
3. In the fit window [t0, t1] fit a straight line (with intercept, so the vibrational
   plateau drops out) to each ion's MSD: D_i = slope_i / (2·d). Because the least-squares
   slope is linear in the data, the mean of the D_i equals the slope of the averaged MSD.
4. σ(D) = std(D_i) / √N: the ions are the independent observations. This includes the
   time correlation of the MSD points (each D_i is a full-run estimate) and the
   heterogeneity between ions (few ions hopping gives a large σ). With fewer than
   :data:`MIN_SAMPLES` ions the run is also cut into time blocks to get more estimates.
5. "Diffusing" needs D ≥ 2σ and at least one effective hop (N·6Dt/a² ≥ 1, a the
   Li–Li nearest-neighbour distance); otherwise the result says ``diffusing: false`` and
   gives an upper bound instead of fitting noise.

The collective (charge) MSD of the summed displacement gives the Haven ratio; the
principal values of the diffusion tensor give the dimensionality.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy.fft import next_fast_len

from ionflow.analysis.conductivity import (
    A2_PS_TO_CM2_S,
    conductivity_from_diffusivity,
    default_charge,
)
from ionflow.analysis.displacements import framework_drift, hop_length_A
from ionflow.analysis.fit_window import (
    MIN_FIT_LAGS,
    auto_fit_windows,
    fit_window_lags,
    slope_change,
)
from ionflow.analysis.msd import (
    LagBank,
    LagFunctional,
    block_tensor_slopes,
    ion_window_stats,
    msd_fft,
    ols_slope_weights,
    tensor_from_pairs,
)
from ionflow.analysis.trajectory import CHUNK_BYTES
from ionflow.errors import InputError
from ionflow.schemas.transport import DiffusionResult

if TYPE_CHECKING:
    from ionflow.analysis.trajectory import TrajectoryData

__all__ = ["analyze_diffusion", "fit_window_lags", "hop_length_A"]  # re-exported helpers

#: Fewest independent estimates wanted for σ (ions, or ions × time blocks).
MIN_SAMPLES = 8
#: D must exceed this many σ to count as diffusion.
SIGNIFICANCE = 2.0
#: ... and correspond to at least this many effective hops.
MIN_EFFECTIVE_HOPS = 1.0
#: A principal direction counts for the dimensionality if its D ≥ this × the largest.
DIMENSION_RATIO = 0.1
#: Points kept in the stored MSD curve, and the fraction of the run it spans.
MAX_CURVE_POINTS = 200
CURVE_FRACTION = 0.75
#: Warn when a framework atom moves further than this (Å) after drift removal.
FRAMEWORK_WARN_A = 2.0
#: Warn when the file's temperature differs by more than this fraction; error above.
TEMPERATURE_MISMATCH = 0.05

DriftMode = Literal["framework", "all", "none"]


def analyze_diffusion(
    traj: TrajectoryData,
    specie: str = "Li",
    temperature_K: float = 1200.0,
    min_time_ps: float | None = None,
    drift: DriftMode = "framework",
    *,
    max_time_ps: float | None = None,
    charge: float | None = None,
    haven_ratio: float | None = None,
) -> DiffusionResult:
    """Tracer diffusivity, conductivity, Haven ratio and dimensionality of one species.

    Parameters
    ----------
    traj
        The run (use :meth:`TrajectoryData.concatenate` for restarted segments).
    specie
        Element symbol of the mobile ion.
    temperature_K
        MD temperature (K).
    min_time_ps
        Start of the MSD fit window (ps); None picks it automatically.
    drift
        Remove the mean displacement of the ``framework`` (non-mobile atoms), of ``all``
        atoms, or ``none``.
    max_time_ps
        End of the fit window (ps); None uses half the run.
    charge
        Ion charge (e); default: the element's most common oxidation state.
    haven_ratio
        Divide the Nernst–Einstein conductivity by this Haven ratio (default: do not).

    Returns
    -------
    DiffusionResult
        The result document.
    """
    if not (isinstance(temperature_K, (int, float)) and math.isfinite(temperature_K)):
        raise InputError(f"temperature must be a number in K, got {temperature_K!r}")
    if temperature_K <= 0:
        raise InputError(f"temperature must be > 0 K, got {temperature_K:g}")
    if haven_ratio is not None and not (math.isfinite(haven_ratio) and haven_ratio > 0):
        raise InputError(f"Haven ratio must be > 0, got {haven_ratio}")
    label = traj.source or "trajectory"
    mobile = traj.indices_of(specie)
    if mobile.size == 0:
        present = ", ".join(sorted(set(traj.species)))
        raise InputError(f"{label}: no {specie} atoms (species present: {present}); set the specie")
    if traj.n_frames < 2:
        raise InputError(f"{label}: a single frame; diffusion needs an MD trajectory")
    warnings = list(traj.warnings)
    if traj.temperature_K is not None:
        rel = abs(traj.temperature_K - temperature_K) / temperature_K
        if rel > TEMPERATURE_MISMATCH:
            raise InputError(
                f"{label}: the file says {traj.temperature_K:g} K but {temperature_K:g} K was "
                "given; pass the temperature the run was made at"
            )
    z = default_charge(specie) if charge is None else float(charge)
    n, n_mob = traj.n_frames, int(mobile.size)
    dt_ps = traj.time_step_fs / 1000.0
    if min_time_ps is None and max_time_ps is None:
        windows = auto_fit_windows(n, traj.time_step_fs)
    else:
        windows = [fit_window_lags(n, traj.time_step_fs, min_time_ps, max_time_ps)]
    drift_vec, fw_max = framework_drift(traj, mobile, drift, warnings)

    # stored curve: up to 3/4 of the run (the last lags have too few time origins to show)
    curve_end = max(max(e for _, e in windows), int(CURVE_FRACTION * (n - 1)))
    curve_lags = np.unique(np.linspace(0, curve_end, MAX_CURVE_POINTS).round().astype(int))
    n_fft = next_fast_len(2 * n, real=True)
    # per candidate window: the full window, its first half and its second half
    functionals = []
    for start, end in windows:
        mid = (start + end) // 2
        for lo, hi in ((start, end), (start, mid), (mid, end)):
            lags = np.arange(lo, hi + 1)
            functionals.append(LagFunctional(n, lags, ols_slope_weights(lags * dt_ps), n_fft))
    functionals = LagBank(functionals)
    slopes_w = np.empty((len(windows), n_mob, 6))
    halves_w = np.empty((len(windows), n_mob, 2))
    msd_sum = np.zeros(curve_lags.size)
    msd_sq = np.zeros(curve_lags.size)
    collective = np.zeros((n, 3))
    pos = 0
    # ~24 doubles per ion and frame live at once (displacements, products, spectra)
    for _, disp in traj.iter_unwrapped(mobile, chunk_bytes=CHUNK_BYTES // 3):
        disp -= drift_vec[:, None, :]
        collective += disp.sum(axis=1)
        c = disp.shape[1]
        values, curve = ion_window_stats(disp, functionals, curve_lags, n_fft)
        for k in range(len(windows)):
            slopes_w[k, pos : pos + c] = values[3 * k]
            halves_w[k, pos : pos + c, 0] = values[3 * k + 1][:, :3].sum(axis=-1)
            halves_w[k, pos : pos + c, 1] = values[3 * k + 2][:, :3].sum(axis=-1)
        msd_sum += curve.sum(axis=1)
        msd_sq += (curve**2).sum(axis=1)
        pos += c
    # earliest candidate window in which the MSD is linear (else the latest one); a
    # run without significant motion in the first window keeps it (nothing to linearise)
    first = slopes_w[0][:, :3].sum(axis=-1)
    moving = n_mob >= 2 and first.mean() > SIGNIFICANCE * first.std(ddof=1) / math.sqrt(n_mob)
    chosen = len(windows) - 1 if moving else 0
    for k in range(len(windows) if moving else 0):
        if not slope_change(halves_w[k])[1]:
            chosen = k
            break
    start, end = windows[chosen]
    slopes, halves = slopes_w[chosen], halves_w[chosen]
    if chosen > 0:
        warnings.append(
            f"MSD not linear from {windows[0][0] * dt_ps:.3g} ps: fit window moved to "
            f"{start * dt_ps:.3g}–{end * dt_ps:.3g} ps"
        )
    n_blocks = 1 if n_mob >= MIN_SAMPLES else math.ceil(MIN_SAMPLES / n_mob)
    block_slopes: list[np.ndarray] = []
    if n_blocks > 1:  # few ions: more samples of the per-ion spread from time blocks
        disp = traj.unwrapped_displacements(mobile) - drift_vec[:, None, :]
        while n_blocks > 1:
            bs = block_tensor_slopes(disp, start, end, dt_ps, n_blocks, MIN_FIT_LAGS)
            if bs is not None:
                block_slopes.append(bs)
                break
            n_blocks -= 1
    # ---- tracer D, tensor and σ from the per-sample estimates
    to_d = A2_PS_TO_CM2_S / 2.0  # slope of a 1D MSD (Å²/ps) → D (cm²/s)
    tensor_i = tensor_from_pairs(slopes) * to_d
    tensor = tensor_i.mean(axis=0)
    samples = tensor_from_pairs(block_slopes[0]) * to_d if block_slopes else tensor_i
    n_samples = samples.shape[0]
    iso = np.trace(samples, axis1=1, axis2=2) / 3.0
    d_tr = float(np.trace(tensor) / 3.0)
    # σ of a mean over the n_mob full-run ion estimates. Time blocks only sample the
    # per-ion spread better: with the window scaled to the block, a block estimate has
    # the same relative variance as a full-run one (Brownian scale invariance), so the
    # divisor stays √n_mob (conservative when hops are rare within a block).
    root_n = math.sqrt(n_mob)
    if n_samples >= 2:
        d_std = float(iso.std(ddof=1) / root_n)
        comp_std = [float(samples[:, a, a].std(ddof=1) / root_n) for a in range(3)]
    else:
        d_std, comp_std = None, None
        warnings.append("one mobile ion and a run too short for time blocks: no σ for D")
    if n_blocks > 1 and block_slopes:
        warnings.append(
            f"only {n_mob} mobile ion(s): σ(D) from {n_samples} ion × time-block estimates"
        )
    # ---- principal directions and dimensionality
    evals, evecs = np.linalg.eigh(tensor)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    proj = np.einsum("ak,sab,bk->sk", evecs, samples, evecs)
    ev_std = proj.std(axis=0, ddof=1) / root_n if n_samples >= 2 else None
    # ---- diffusing?
    hop_a = hop_length_A(traj, mobile)
    total_ps = (n - 1) * dt_ps
    hops = n_mob * 6.0 * max(d_tr, 0.0) / A2_PS_TO_CM2_S * total_ps / hop_a**2
    significant = d_tr > 0 and (d_std is None or d_tr >= SIGNIFICANCE * d_std)
    diffusing = bool(significant and hops >= MIN_EFFECTIVE_HOPS)
    if not diffusing:
        why = (
            f"D is within {SIGNIFICANCE:g}σ of zero"
            if not significant
            else f"only {hops:.2g} effective hops in {total_ps:.3g} ps"
        )
        warnings.append(f"no diffusion detected ({why}); D is an upper bound, not a fit")
    rel_change, nonlinear = slope_change(halves)
    if diffusing and nonlinear:
        warnings.append(
            f"MSD is not linear in the fit window: the slope changes by {100 * rel_change:+.0f}% "
            "from the first to the second half (sub-/super-diffusive regime); try a later "
            "--min-time or a longer run"
        )
    dim = 0
    if diffusing:
        lam_max = evals[0]
        for k in range(3):
            ok = evals[k] >= DIMENSION_RATIO * lam_max
            if ev_std is not None:
                ok = ok and evals[k] >= SIGNIFICANCE * ev_std[k]
            dim += int(ok)
        dim = max(dim, 1)
    # ---- collective MSD and Haven ratio
    mscd_full = msd_fft(collective).sum(axis=1) / n_mob
    fit = functionals[3 * chosen]
    d_chg = float(fit.weights @ mscd_full[start : end + 1] / 6.0 * A2_PS_TO_CM2_S)
    d_chg_std = haven = haven_std = None
    if d_std is not None and d_tr > 0:
        rel_single = d_std * root_n / d_tr  # relative error of one walker
        d_chg_std = abs(d_chg) * rel_single if d_chg > 0 else None
    if diffusing and d_chg > 0 and d_chg_std is not None:
        if d_chg < SIGNIFICANCE * d_chg_std:
            warnings.append("collective (charge) MSD too noisy for a Haven ratio: not given")
        else:
            haven = d_tr / d_chg
            haven_std = haven * math.hypot(d_std / d_tr, d_chg_std / d_chg)
    elif diffusing:
        warnings.append("collective (charge) MSD has no positive slope: Haven ratio not given")
    # ---- conductivity
    volume = float(np.mean(traj.volumes_A3))
    density = n_mob / volume
    hr = 1.0 if haven_ratio is None else haven_ratio
    sigma = conductivity_from_diffusivity(d_tr, density, temperature_K, z) / hr
    sigma_std = (
        None
        if d_std is None
        else conductivity_from_diffusivity(d_std, density, temperature_K, z) / hr
    )
    if fw_max is not None and fw_max > FRAMEWORK_WARN_A:
        warnings.append(
            f"a non-{specie} atom moved {fw_max:.2f} Å after drift removal (framework melting "
            "or another mobile species?)"
        )
    if total_ps < 5.0:
        warnings.append(f"short run ({total_ps:.3g} ps): D and σ are rough estimates")
    msd = msd_sum / n_mob
    var = (msd_sq / n_mob - msd**2) * n_mob / max(n_mob - 1, 1)
    msd_std = np.sqrt(np.clip(var, 0, None) / n_mob)
    return DiffusionResult(
        method="ionflow",
        specie=specie,
        charge=z,
        temperature_K=float(temperature_K),
        n_frames=n,
        n_atoms=traj.n_atoms,
        n_mobile=n_mob,
        time_step_fs=traj.time_step_fs,
        md_time_step_fs=traj.md_time_step_fs,
        md_step_skip=traj.md_step_skip,
        duration_ps=total_ps,
        volume_A3=volume,
        drift=drift,
        diffusivity_cm2_s=d_tr,
        diffusivity_std_cm2_s=d_std,
        diffusivity_upper_bound_cm2_s=(
            None if diffusing else max(d_tr, 0.0) + SIGNIFICANCE * (d_std or 0.0)
        ),
        diffusivity_components_cm2_s=[float(tensor[a, a]) for a in range(3)],
        diffusivity_components_std_cm2_s=comp_std,
        diffusion_tensor_cm2_s=tensor.tolist(),
        diffusivity_principal_cm2_s=[float(x) for x in evals],
        principal_axes=evecs.T.tolist(),
        dimensionality=dim,
        diffusing=diffusing,
        n_effective_hops=float(hops),
        hop_length_A=hop_a,
        conductivity_mS_cm=float(sigma),
        conductivity_std_mS_cm=None if sigma_std is None else float(sigma_std),
        haven_ratio_applied=haven_ratio,
        charge_diffusivity_cm2_s=d_chg,
        charge_diffusivity_std_cm2_s=d_chg_std,
        haven_ratio=haven,
        haven_ratio_std=haven_std,
        fit_start_ps=start * dt_ps,
        fit_end_ps=end * dt_ps,
        n_samples=n_samples,
        max_framework_displacement_A=fw_max,
        msd_time_ps=(curve_lags * dt_ps).tolist(),
        msd_A2=msd.tolist(),
        msd_std_A2=msd_std.tolist(),
        mscd_A2=mscd_full[curve_lags].tolist(),
        source=traj.source,
        warnings=warnings,
    )
