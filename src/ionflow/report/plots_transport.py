"""PNG plots of transport results: MSD curves and the Arrhenius fit.

Only these functions import matplotlib (Agg backend, :mod:`ionflow.report.mpl`), so the
analysis itself never pays for it. Each writes one PNG to ``path`` (parent folders are
created) and returns ``path``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ionflow.report.mpl import pyplot, save_figure, subplots

if TYPE_CHECKING:
    from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

__all__ = ["plot_arrhenius", "plot_msd"]

_KB_EV_K = 8.617333262e-5


def plot_msd(results: Sequence[DiffusionResult], path: str | Path) -> Path:
    """Plot the tracer MSD vs time for each temperature, with error band and fit.

    Parameters
    ----------
    results
        Diffusion results (one curve each).
    path
        Output PNG file.
    """
    fig, ax = subplots(figsize=(6.4, 4.6), dpi=120)
    cmap = pyplot().get_cmap("plasma")
    ordered = sorted(results, key=lambda r: r.temperature_K)
    for k, r in enumerate(ordered):
        color = cmap(0.1 + 0.75 * k / max(1, len(ordered) - 1))
        t = np.asarray(r.msd_time_ps)
        m = np.asarray(r.msd_A2)
        s = np.asarray(r.msd_std_A2)
        state = "" if r.diffusing else " (no diffusion)"
        ax.plot(t, m, color=color, lw=1.4, label=f"{r.temperature_K:g} K{state}")
        ax.fill_between(t, m - s, m + s, color=color, alpha=0.25, lw=0)
        inside = (t >= r.fit_start_ps) & (t <= r.fit_end_ps)
        if inside.sum() >= 2:
            slope = 6.0 * r.diffusivity_cm2_s / 1e-4  # cm²/s → Å²/ps
            offset = float(np.mean(m[inside] - slope * t[inside]))
            tt = np.array([r.fit_start_ps, r.fit_end_ps])
            ax.plot(tt, offset + slope * tt, color=color, ls="--", lw=1.2)
            ax.axvspan(r.fit_start_ps, r.fit_end_ps, color=color, alpha=0.06, lw=0)
    ax.set_xlabel("lag time t (ps)")
    ax.set_ylabel(f"MSD of {ordered[0].specie if ordered else ''} (Å$^2$)")
    ax.set_title("Tracer MSD: band = ±1 s.e. over ions, dashed = fit window")
    ax.title.set_fontsize(9)
    if ordered:
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    return save_figure(fig, path)


def plot_arrhenius(
    fit: ArrheniusResult, results: Sequence[DiffusionResult] | None, path: str | Path
) -> Path:
    """Plot D vs 1000/T with error bars, the weighted fit and its confidence band.

    Parameters
    ----------
    fit
        The Arrhenius fit (may have no parameters when fewer than 2 temperatures diffuse).
    results
        Per-temperature results to show (default: ``fit.results``).
    path
        Output PNG file.
    """
    results = list(results) if results is not None else list(fit.results)
    fig, ax = subplots(figsize=(6.4, 4.6), dpi=120)
    for r in results:
        x = 1000.0 / r.temperature_K
        if r.diffusing and r.diffusivity_cm2_s > 0:
            err = r.diffusivity_std_cm2_s or 0.0
            lo = min(err, 0.999 * r.diffusivity_cm2_s)
            ax.errorbar(x, r.diffusivity_cm2_s, yerr=[[lo], [err]], fmt="o", color="k", capsize=3)
        elif r.diffusivity_upper_bound_cm2_s:
            ax.errorbar(
                x,
                r.diffusivity_upper_bound_cm2_s,
                yerr=[[0.5 * r.diffusivity_upper_bound_cm2_s], [0.0]],
                uplims=True,
                fmt="v",
                color="0.5",
                mfc="none",
                capsize=3,
            )
    title = "Arrhenius fit"
    if fit.activation_energy_eV is not None and fit.covariance_lnD0_Ea is not None:
        cov = np.asarray(fit.covariance_lnD0_Ea)
        ln_d0 = math.log(fit.prefactor_cm2_s) if fit.prefactor_cm2_s else None
        if ln_d0 is not None:
            temps = [*fit.fitted_temperatures_K, fit.target_temperature_K]
            inv = np.linspace(1000.0 / max(temps), 1000.0 / min(temps), 200)
            xs = np.column_stack([np.ones_like(inv), -inv / 1000.0 / _KB_EV_K])
            ln_d = xs @ np.array([ln_d0, fit.activation_energy_eV])
            sd = np.sqrt(np.einsum("ij,jk,ik->i", xs, cov, xs))
            from scipy import stats

            zq = stats.norm.ppf(0.5 + fit.confidence_level / 2)
            ax.plot(inv, np.exp(ln_d), "C0-", lw=1.3)
            ax.fill_between(
                inv,
                np.exp(ln_d - zq * sd),
                np.exp(ln_d + zq * sd),
                color="C0",
                alpha=0.2,
                lw=0,
                label=f"{fit.confidence_level:.0%} CI",
            )
        if fit.diffusivity_at_target_cm2_s is not None and fit.diffusivity_at_target_ci_cm2_s:
            lo, hi = fit.diffusivity_at_target_ci_cm2_s
            d_t = fit.diffusivity_at_target_cm2_s
            ax.errorbar(
                1000.0 / fit.target_temperature_K,
                d_t,
                yerr=[[d_t - lo], [hi - d_t]],
                fmt="s",
                color="C3",
                capsize=3,
                label=f"{fit.target_temperature_K:g} K",
            )
        title = f"Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV or 0:.3f} eV"
        if fit.conductivity_at_target_mS_cm is not None:
            title += (
                f";  σ({fit.target_temperature_K:g} K) = "
                f"{fit.conductivity_at_target_mS_cm:.3g} mS/cm"
            )
    elif fit.not_determined:
        title = f"Ea not determined (fit gives {fit.raw_activation_energy_eV:.3g} eV ≤ 0)"
    else:
        title = "no Arrhenius fit (fewer than 2 temperatures diffuse)"
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel(f"D of {fit.specie} (cm$^2$/s)")
    ax.set_title(title, fontsize=9)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)
