"""Plots of a design study: D(T) of every system, computed vs published values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ionflow.report.mpl import save_figure, subplots

if TYPE_CHECKING:
    from ionflow.report.compare import Comparison
    from ionflow.schemas.study_doc import StudyDoc

__all__ = ["plot_arrhenius_systems", "plot_compare_published"]

_KB_EV_K = 8.617333262e-5


def plot_arrhenius_systems(doc: StudyDoc, path: str | Path) -> Path | None:
    """D vs 1000/T of every system with MD (open markers: no diffusion, upper bound).

    Returns
    -------
    Path or None
        The file, or None when no system ran MD.
    """
    systems = [s for s in doc.systems if s.transport is not None and s.transport.diffusion]
    if not systems:
        return None
    fig, ax = subplots(figsize=(6.4, 4.6), dpi=120)
    for k, s in enumerate(systems):
        color = f"C{k % 10}"
        res = sorted(s.transport.diffusion, key=lambda r: r.temperature_K)
        on = [r for r in res if r.diffusing and r.diffusivity_cm2_s > 0]
        if on:
            x = [1000.0 / r.temperature_K for r in on]
            y = [r.diffusivity_cm2_s for r in on]
            err = [min(r.diffusivity_std_cm2_s or 0.0, 0.999 * r.diffusivity_cm2_s) for r in on]
            ax.errorbar(x, y, yerr=err, fmt="o", color=color, capsize=3, label=s.key)
        off = [r for r in res if not r.diffusing and r.diffusivity_upper_bound_cm2_s]
        if off:
            ax.plot(
                [1000.0 / r.temperature_K for r in off],
                [r.diffusivity_upper_bound_cm2_s for r in off],
                "v",
                color=color,
                mfc="none",
                label=None if on else f"{s.key} (no diffusion, bound)",
            )
        fit = s.transport.arrhenius
        if fit is not None and fit.activation_energy_eV is not None and fit.prefactor_cm2_s:
            temps = np.array(fit.fitted_temperatures_K)
            inv = np.linspace(1000.0 / temps.max(), 1000.0 / temps.min(), 50)
            d = fit.prefactor_cm2_s * np.exp(-fit.activation_energy_eV * inv / 1000.0 / _KB_EV_K)
            ax.plot(inv, d, "-", color=color, lw=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("D (cm$^2$/s)")
    ax.set_title(f"{doc.meta.study}: Li diffusivity per system (lines: Arrhenius fits)")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)


def plot_compare_published(comparisons: list[Comparison], path: str | Path) -> Path | None:
    """Plot computed vs published: σ(300 K) on log axes, energies and voltages linear.

    Returns
    -------
    Path or None
        The file, or None when no published number has a computed counterpart.
    """
    pairs = [
        c
        for c in comparisons
        if c.computed.value is not None
        and math.isfinite(c.computed.value)
        and c.published.method != "experiment"
    ]
    sigma = [c for c in pairs if c.published.quantity == "conductivity_300K_mS_cm"]
    energy = [c for c in pairs if c.published.quantity.endswith(("_eV", "_V"))]
    if not sigma and not energy:
        return None
    fig, axes = subplots(1, 2, figsize=(10, 4.4), dpi=120)
    for ax, group, log, unit in (
        (axes[0], sigma, True, "σ(300 K) (mS/cm)"),
        (axes[1], energy, False, "energy (eV) / voltage (V)"),
    ):
        if not group:
            ax.text(0.5, 0.5, "nothing to compare", ha="center", va="center")
            ax.set_axis_off()
            continue
        xs = [c.published.value for c in group]
        ys = [c.computed.value for c in group]
        if log:
            keep = [i for i, y in enumerate(ys) if y > 0]
            xs, ys, group = [xs[i] for i in keep], [ys[i] for i in keep], [group[i] for i in keep]
            if not xs:
                ax.set_axis_off()
                continue
        lo, hi = min(xs + ys), max(xs + ys)
        span = (
            (lo / 3, hi * 3)
            if log
            else (lo - 0.1 * abs(hi - lo) - 0.05, hi + 0.1 * abs(hi - lo) + 0.05)
        )
        ax.plot(span, span, "k--", lw=0.8)
        for k, (x, y, c) in enumerate(zip(xs, ys, group, strict=True)):
            ax.plot(x, y, "o", color=f"C{k % 10}")
            tag = c.published.system + (f" {c.published.selector}" if c.published.selector else "")
            ax.annotate(tag, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlim(span)
        ax.set_ylim(span)
        ax.set_xlabel(f"published (DFT) {unit}")
        ax.set_ylabel(f"computed (ionflow) {unit}")
    fig.suptitle("ionflow vs published DFT (dashed: equal)", fontsize=9)
    return save_figure(fig, path)
