"""PNG plot of an electrochemical window: phase equilibria vs voltage, window shaded.

Top panel: Li taken up (> 0) or given off (< 0) per formula unit by the equilibrium
products, as a step function of the voltage, each step labelled with its phases. Bottom
panel: the grand-potential decomposition energy (meV/atom). The stability window is shaded
in both. matplotlib is imported only when drawing
(:mod:`ionflow.report.mpl`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.report.mpl import save_figure, subplots

if TYPE_CHECKING:
    from ionflow.schemas.window import WindowDoc

__all__ = ["plot_window"]


def _v_max(doc: WindowDoc) -> float:
    edges = [s.v_low_V for s in doc.profile] + [doc.reduction_limit_V]
    if doc.oxidation_limit_V is not None:
        edges.append(doc.oxidation_limit_V)
    return max(5.0, max(edges) + 0.75)


def plot_window(doc: WindowDoc, path: str | Path, v_max_V: float | None = None) -> Path:
    """Plot the phase-equilibrium profile of a window document.

    Parameters
    ----------
    doc
        The window document.
    path
        Output PNG file (parent folders are created).
    v_max_V
        Upper end of the voltage axis (V); default: 5 V or beyond the last transition.

    Returns
    -------
    Path
        The written file.
    """
    v_max = v_max_V if v_max_V is not None else _v_max(doc)
    n_atoms = _atoms_per_fu(doc.formula)
    fig, (ax_li, ax_e) = subplots(
        2, 1, figsize=(7.0, 6.0), dpi=120, sharex=True, height_ratios=[3, 2]
    )
    for k, seg in enumerate(doc.profile):
        lo = seg.v_low_V
        hi = v_max if seg.v_high_V is None else min(seg.v_high_V, v_max)
        if lo >= v_max:
            break
        n = seg.li_per_formula_unit
        color = "tab:green" if abs(n) < 1e-9 else ("tab:blue" if n > 0 else "tab:red")
        ax_li.hlines(n, lo, hi, color=color, lw=2.5)
        if k > 0:
            ax_li.vlines(lo, doc.profile[k - 1].li_per_formula_unit, n, color="0.6", lw=0.8)
        wide = hi - lo > 0.15 * v_max
        ax_li.annotate(
            " + ".join(seg.phases),
            xy=(0.5 * (lo + hi), n),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center" if wide else "left",
            va="bottom",
            fontsize=7,
            rotation=0 if wide else 50,
            rotation_mode="anchor",
        )
        e_lo = seg.reaction_energy_0V_eV_atom + n * lo / n_atoms
        e_hi = seg.reaction_energy_0V_eV_atom + n * hi / n_atoms
        ax_e.plot([lo, hi], [1000 * e_lo, 1000 * e_hi], color=color, lw=2)
    uptakes = [seg.li_per_formula_unit for seg in doc.profile]
    span = max(max(uptakes) - min(uptakes), 1.0)
    ax_li.set_ylim(min(uptakes) - 0.15 * span, max(uptakes) + 0.35 * span)
    top = doc.oxidation_limit_V if doc.oxidation_limit_V is not None else v_max
    for ax in (ax_li, ax_e):
        ax.axvspan(doc.reduction_limit_V, min(top, v_max), color="tab:green", alpha=0.15)
        ax.axhline(0.0, color="0.3", lw=0.6)
    ox = "∞" if doc.oxidation_limit_V is None else f"{doc.oxidation_limit_V:.2f}"
    title = f"{doc.formula}: window {doc.reduction_limit_V:.2f} to {ox} V vs {doc.mobile_element}"
    if not doc.is_stable:
        title += f" (E_hull {1000 * doc.energy_above_hull_eV_atom:.0f} meV/atom)"
    ax_li.set_title(title, fontsize=10)
    ax_li.set_ylabel(f"{doc.mobile_element} taken up per formula unit")
    ax_e.set_ylabel("decomposition energy (meV/atom)")
    ax_e.set_xlabel(f"voltage vs {doc.mobile_element}/{doc.mobile_element}+ (V)")
    ax_e.set_xlim(0.0, v_max)
    return save_figure(fig, path)


def _atoms_per_fu(formula: str) -> float:
    from pymatgen.core import Composition

    return Composition(formula).num_atoms
