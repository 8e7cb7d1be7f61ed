"""Tracer diffusivity with an honest uncertainty from one MD trajectory.

Estimator (``method="ionflow"``)
--------------------------------
1. Unwrap positions, remove the drift of the framework (or of all atoms).
2. For every mobile ion compute its time-origin-averaged MSD tensor by FFT at a grid of
   lags, and the variance and non-Gaussian parameter of the squared displacements.
3. Fit window by a stated rule (:func:`ionflow.analysis.fit_window.auto_window`): from
   the end of the ballistic/cage regime (non-Gaussian parameter peak, at least the
   vibrational time) to the longest lag that still has enough independent displacements.
4. Slope by generalised least squares with kinisi's MSD covariance between lags
   (:mod:`ionflow.analysis.msd_gls`), intercept free so the vibrational plateau drops
   out. The GLS slope is linear in the data, so it is applied to every ion: D is the mean
   of the per-ion D_i and the tensor comes with it.
5. σ(D): the larger of the GLS (kinisi) standard error and std(D_i)/√N (the ions as
   independent samples, which also sees heterogeneity between ions), combined in
   quadrature with the spread of D over neighbouring windows (start halved/doubled, end
   halved), so the window dependence is in the stated uncertainty.
6. "Diffusing" needs D ≥ 2σ and at least one effective hop (N·6Dt/a² ≥ 1, a the
   Li–Li nearest-neighbour distance); otherwise the result says ``diffusing: false`` and
   gives an upper bound (from the positive side of the interval) instead of fitting
   noise. A non-positive D is never turned into a conductivity.

The collective (charge) MSD of the summed displacement, fitted the same way, gives the
Haven ratio (not determined outside 0.05–5 or with a relative error above 100 %); the
principal values of the diffusion tensor give the dimensionality.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy.fft import next_fast_len

from ionflow.analysis.conductivity import (
    A2_PS_TO_CM2_S,
    checked_haven_ratio,
    conductivity_from_diffusivity,
    default_charge,
    upper_bound,
)
from ionflow.analysis.displacements import framework_drift, hop_length_A
from ionflow.analysis.fit_window import (
    MIN_FIT_LAGS,
    auto_window,
    fit_window_lags,
    slope_change,
)
from ionflow.analysis.msd import msd_fft, tensor_from_pairs
from ionflow.analysis.msd_gls import (
    cross_msd_at_lags,
    displacement_moments,
    gls_line,
    kinisi_covariance,
    lag_grid,
)
from ionflow.analysis.trajectory import CHUNK_BYTES
from ionflow.errors import InputError
from ionflow.schemas.transport import DiffusionResult

if TYPE_CHECKING:
    from ionflow.analysis.trajectory import TrajectoryData

__all__ = ["analyze_diffusion", "fit_window_lags", "hop_length_A"]  # re-exported helpers

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

#: With at least this many mobile ions σ(D) comes from their spread, else from the model.
MIN_SAMPLES = 8

DriftMode = Literal["framework", "all", "none"]


def _user_window(
    grid: np.ndarray,
    n_frames: int,
    time_step_fs: float,
    min_time_ps: float | None,
    max_time_ps: float | None,
) -> tuple[int, int, str]:
    """Grid indices of a window given by --min-time/--max-time (the other end automatic)."""
    start, end = fit_window_lags(n_frames, time_step_fs, min_time_ps, max_time_ps)
    i0 = int(np.searchsorted(grid, start))
    i1 = int(np.searchsorted(grid, end, side="right")) - 1
    if i1 - i0 + 1 < MIN_FIT_LAGS:
        raise InputError(
            f"fit window {start * time_step_fs / 1000:.3g}–{end * time_step_fs / 1000:.3g} ps "
            f"holds fewer than {MIN_FIT_LAGS} MSD points; widen it"
        )
    return i0, i1, "given by the user (--min-time/--max-time); GLS fit with kinisi's covariance"


def _linear_start(
    grid: np.ndarray,
    i0: int,
    i1: int,
    gls: Callable[[int, int], tuple[np.ndarray, float]],
    iso: np.ndarray,
    warnings: list[str],
    dt_ps: float,
) -> int:
    """Move the window start later (doubling, up to a quarter of the end) while the MSD bends.

    Per-ion GLS slopes of the first and second half of the window are compared
    (:func:`~ionflow.analysis.fit_window.slope_change`); a significant change means the
    window still holds the sub-diffusive (cage, correlated back-hop) regime.
    """
    first = i0
    while iso.shape[0] >= 2:
        mid = (i0 + i1) // 2
        if mid - i0 + 1 < MIN_FIT_LAGS or i1 - mid + 1 < MIN_FIT_LAGS:
            break
        halves = np.column_stack(
            [iso[:, i0 : mid + 1] @ gls(i0, mid)[0], iso[:, mid : i1 + 1] @ gls(mid, i1)[0]]
        )
        if not slope_change(halves)[1]:
            break
        nxt = int(np.searchsorted(grid, 2 * grid[i0]))
        if nxt >= i1 or grid[nxt] > grid[i1] / 4:
            break
        i0 = nxt
    if i0 != first:
        warnings.append(
            f"MSD not linear from {grid[first] * dt_ps:.3g} ps: fit window moved to start at "
            f"{grid[i0] * dt_ps:.3g} ps"
        )
    return i0


def _neighbour_windows(grid: np.ndarray, i0: int, i1: int) -> list[tuple[int, int]]:
    """Windows for the sensitivity term: start halved, start doubled, end halved."""
    out = []
    for lo_lag, hi_lag in (
        (grid[i0] / 2, grid[i1]),
        (grid[i0] * 2, grid[i1]),
        (grid[i0], grid[i1] / 2),
    ):
        lo = int(np.searchsorted(grid, max(lo_lag, 1)))
        hi = int(np.searchsorted(grid, hi_lag, side="right")) - 1
        if hi - lo + 1 >= MIN_FIT_LAGS and (lo, hi) != (i0, i1):
            out.append((lo, hi))
    return out


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
    mobile = traj.mobile_indices(specie)
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
    total_ps = (n - 1) * dt_ps
    grid = lag_grid(n)
    drift_vec, fw_max = framework_drift(traj, mobile, drift, warnings)
    n_fft = next_fast_len(2 * n, real=True)
    cmsd = np.empty((n_mob, 6, grid.size))
    mom = np.zeros((3, grid.size))
    collective = np.zeros((n, 3))
    pos = 0
    # ~24 doubles per ion and frame live at once (displacements, spectra, products)
    for _, disp in traj.iter_unwrapped(mobile, chunk_bytes=CHUNK_BYTES // 3):
        disp -= drift_vec[:, None, :]
        collective += disp.sum(axis=1)
        c = disp.shape[1]
        cmsd[pos : pos + c] = cross_msd_at_lags(disp, grid, n_fft)
        mom += np.array(displacement_moments(disp, grid))
        pos += c
    iso = cmsd[:, :3].sum(axis=1)  # (ion, lag) isotropic MSD of every ion (Å²)
    mean_s = mom[0] / mom[2]
    var_s = np.clip(mom[1] / mom[2] - mean_s**2, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        ngp = np.where(mean_s > 0, 0.6 * (mom[1] / mom[2]) / mean_s**2 - 1.0, 0.0)
    n_indep = n_mob * (n - 1) / grid
    to_d = A2_PS_TO_CM2_S / 2.0  # slope of a 1D MSD (Å²/ps) → D (cm²/s)

    def gls(lo: int, hi: int) -> tuple[np.ndarray, float]:
        # kinisi's covariance with the variance modelled as Brownian, v(t) ∝ t²/N(t)
        # (the measured one is noisy and makes it indefinite); the GLS weights need
        # only its shape, the variance scale κ is taken from the data below
        t = grid[lo : hi + 1] * dt_ps
        return gls_line(t, kinisi_covariance(t**2 / n_indep[lo : hi + 1], n_indep[lo : hi + 1]))

    # ---- fit window: stated rule (start moved later while the MSD bends), or the user's
    if min_time_ps is None and max_time_ps is None:
        i0, i1, rule = auto_window(grid, dt_ps, n, n_mob, ngp)
        i0 = _linear_start(grid, i0, i1, gls, iso, warnings, dt_ps)
    else:
        i0, i1, rule = _user_window(grid, n, traj.time_step_fs, min_time_ps, max_time_ps)
    w, var_unit = gls(i0, i1)
    tensor_i = tensor_from_pairs(cmsd[:, :, i0 : i1 + 1] @ w) * to_d  # per ion
    tensor = tensor_i.mean(axis=0)
    d_i = np.trace(tensor_i, axis1=1, axis2=2) / 3.0
    d_tr = float(np.trace(tensor) / 3.0)
    root_n = math.sqrt(n_mob)
    slope = 3.0 * d_tr / to_d  # isotropic MSD slope (Å²/ps) = 6 D
    t_win = grid[i0 : i1 + 1] * dt_ps
    d_model = 0.0
    if slope > 0:  # scale of the modelled variance from the measured one
        kappa = float(np.median(var_s[i0 : i1 + 1] / (slope * t_win) ** 2))
        d_model = math.sqrt(kappa * var_unit) * slope * to_d / 3.0
    d_ions = float(d_i.std(ddof=1) / root_n) if n_mob >= 2 else 0.0
    # the ions as independent samples when there are enough of them, else the GLS model
    d_stat = d_ions if n_mob >= MIN_SAMPLES else max(d_model, d_ions)
    # ---- window sensitivity: start halved / doubled, end halved (if still a window).
    # Only the change beyond its own statistical noise (from the per-ion differences)
    # is added, so a straight MSD adds nothing and a bending one adds its bend.
    excess = []
    for lo, hi in _neighbour_windows(grid, i0, i1):
        d_alt_i = iso[:, lo : hi + 1] @ gls(lo, hi)[0] * to_d / 3.0
        delta = float(d_alt_i.mean()) - d_tr
        noise = float((d_alt_i - d_i).var(ddof=1) / n_mob) if n_mob >= 2 else 0.0
        excess.append(max(0.0, delta**2 - noise))
    d_win = math.sqrt(float(np.mean(excess))) if excess else 0.0
    d_std = math.hypot(d_stat, d_win)
    comp_std = (
        [float(tensor_i[:, a, a].std(ddof=1) / root_n) for a in range(3)] if n_mob >= 2 else None
    )
    if d_win > d_stat:
        warnings.append(
            f"D depends on the fit window: ±{d_win:.2g} cm²/s over neighbouring windows "
            f"beyond noise (statistical ±{d_stat:.2g}); both are in σ"
        )
    # ---- principal directions and dimensionality
    evals, evecs = np.linalg.eigh(tensor)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    proj = np.einsum("ak,sab,bk->sk", evecs, tensor_i, evecs)
    ev_std = proj.std(axis=0, ddof=1) / root_n if n_mob >= 2 else None
    # ---- diffusing?
    hop_a = hop_length_A(traj, mobile)
    hops = n_mob * 6.0 * max(d_tr, 0.0) / A2_PS_TO_CM2_S * total_ps / hop_a**2
    significant = d_tr > 0 and d_tr >= SIGNIFICANCE * d_std
    diffusing = bool(significant and hops >= MIN_EFFECTIVE_HOPS)
    if not diffusing:
        why = (
            f"D is within {SIGNIFICANCE:g}σ of zero"
            if not significant
            else f"only {hops:.2g} effective hops in {total_ps:.3g} ps"
        )
        warnings.append(f"no diffusion detected ({why}); D is an upper bound, not a fit")
    mid = (i0 + i1) // 2
    if diffusing and mid - i0 + 1 >= MIN_FIT_LAGS and i1 - mid + 1 >= MIN_FIT_LAGS:
        w_a, _ = gls(i0, mid)
        w_b, _ = gls(mid, i1)
        halves = np.column_stack([iso[:, i0 : mid + 1] @ w_a, iso[:, mid : i1 + 1] @ w_b])
        rel_change, nonlinear = slope_change(halves)
        if nonlinear:
            warnings.append(
                f"MSD is not linear in the fit window: the slope changes by "
                f"{100 * rel_change:+.0f}% from the first to the second half (sub-/super-"
                "diffusive regime); try a later --min-time or a longer run"
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
    # ---- collective MSD (one "particle": the summed displacement) and Haven ratio
    mscd_full = msd_fft(collective).sum(axis=1) / n_mob
    c1, c2, cn = displacement_moments(collective[:, None, :], grid[i0 : i1 + 1])
    c_var = np.clip(c2 / cn - (c1 / cn) ** 2, 0.0, None) / n_mob**2
    c_indep = (n - 1) / grid[i0 : i1 + 1]
    w_c, var_c = gls_line(t_win, kinisi_covariance(t_win**2 / c_indep, c_indep))
    c_slope = float(w_c @ mscd_full[grid[i0 : i1 + 1]])
    d_chg = c_slope * to_d / 3.0
    d_chg_std = None
    if c_slope > 0:
        c_kappa = float(np.median(c_var / (c_slope * t_win) ** 2))
        d_chg_std = math.sqrt(c_kappa * var_c) * c_slope * to_d / 3.0
    h_std = None
    if d_tr > 0 and d_chg > 0 and d_chg_std is not None:
        h_std = (d_tr / d_chg) * math.hypot(d_std / d_tr, d_chg_std / d_chg)
    haven, haven_std, haven_why = checked_haven_ratio(d_tr, d_chg, h_std, diffusing)
    if haven_why and diffusing:
        warnings.append(f"Haven ratio not determined: {haven_why}")
    # ---- conductivity (never from a non-positive D)
    volume = float(np.mean(traj.volumes_A3))
    density = n_mob / volume
    hr = 1.0 if haven_ratio is None else haven_ratio

    def to_sigma(d: float) -> float:
        return conductivity_from_diffusivity(d, density, temperature_K, z) / hr

    d_upper = None if diffusing else upper_bound(d_tr, d_std, SIGNIFICANCE)
    sigma = to_sigma(d_tr) if d_tr > 0 else None
    sigma_std = to_sigma(d_std) if sigma is not None else None
    if fw_max is not None and fw_max > FRAMEWORK_WARN_A:
        warnings.append(
            f"a non-{specie} atom moved {fw_max:.2f} Å after drift removal (framework melting "
            "or another mobile species?)"
        )
    if total_ps < 5.0:
        warnings.append(f"short run ({total_ps:.3g} ps): D and σ are rough estimates")
    # ---- stored curve: up to 3/4 of the run (the last lags have few time origins)
    keep = grid <= max(grid[i1], CURVE_FRACTION * (n - 1))
    pick = np.unique(np.linspace(0, int(keep.sum()) - 1, MAX_CURVE_POINTS - 1).round().astype(int))
    curve_lags = np.concatenate([[0], grid[pick]])
    msd = np.concatenate([[0.0], iso[:, pick].mean(axis=0)])
    msd_std = np.concatenate([[0.0], iso[:, pick].std(axis=0, ddof=1) / root_n])
    if n_mob < 2:
        msd_std[:] = 0.0
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
        diffusivity_upper_bound_cm2_s=d_upper,
        diffusivity_window_std_cm2_s=d_win,
        diffusivity_components_cm2_s=[float(tensor[a, a]) for a in range(3)],
        diffusivity_components_std_cm2_s=comp_std,
        diffusion_tensor_cm2_s=tensor.tolist(),
        diffusivity_principal_cm2_s=[float(x) for x in evals],
        principal_axes=evecs.T.tolist(),
        dimensionality=dim,
        diffusing=diffusing,
        n_effective_hops=float(hops),
        hop_length_A=hop_a,
        conductivity_mS_cm=None if sigma is None else float(sigma),
        conductivity_std_mS_cm=None if sigma_std is None else float(sigma_std),
        conductivity_upper_bound_mS_cm=None if d_upper is None else float(to_sigma(d_upper)),
        haven_ratio_applied=haven_ratio,
        charge_diffusivity_cm2_s=d_chg,
        charge_diffusivity_std_cm2_s=d_chg_std,
        haven_ratio=haven,
        haven_ratio_std=haven_std,
        haven_ratio_not_determined=haven_why,
        fit_start_ps=float(grid[i0] * dt_ps),
        fit_end_ps=float(grid[i1] * dt_ps),
        fit_window_rule=rule,
        n_samples=n_mob,
        max_framework_displacement_A=fw_max,
        msd_time_ps=(curve_lags * dt_ps).tolist(),
        msd_A2=msd.tolist(),
        msd_std_A2=msd_std.tolist(),
        mscd_A2=mscd_full[curve_lags].tolist(),
        source=traj.source,
        warnings=warnings,
    )
