"""PNG formation-energy diagram: E_f against the Fermi level, one panel per μ limit.

Each defect is drawn as the lower envelope of its charge states between the VBM (0) and
the CBM (the gap) as :func:`ionflow.analysis.defect_thermo.defect_thermodynamics` returned
it (pymatgen-analysis-defects' ``get_transitions``); kinks are the transition levels,
marked and labelled with their charges; a defect not determined at a limit (E_f < 0 across
the gap) is not drawn there. matplotlib is imported only when drawing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.errors import InputError
from ionflow.report.mpl import save_figure, subplots

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["plot_formation_energy_diagram"]


def plot_formation_energy_diagram(
    envelopes: Mapping[str, Mapping[str, Sequence[Sequence[float]]]],
    band_gap_eV: float,
    path: str | Path,
    limits: list[str] | None = None,
) -> Path:
    """Draw the formation-energy diagram of every defect at each chemical-potential limit.

    Parameters
    ----------
    envelopes
        ``{limit: {defect: [(E_F, E_f), ...]}}`` from the VBM (0) to the CBM (the gap), as
        ``DefectThermo.envelopes`` / ``DefectThermoDoc.envelopes`` hold them.
    band_gap_eV
        Band gap (eV), > 0.
    path
        Output PNG file (parent folders are created).
    limits
        Limits to draw (default: all).

    Returns
    -------
    Path
        The written file.
    """
    if not band_gap_eV or band_gap_eV <= 0:
        raise InputError("the formation-energy diagram needs the band gap (formation.band_gap_eV)")
    limits = limits or list(envelopes)
    fig, axes = subplots(1, len(limits), figsize=(4.2 * len(limits), 4.0), squeeze=False)
    for ax, limit in zip(axes[0], limits, strict=True):
        for name, points in envelopes[limit].items():
            x = [p[0] for p in points]
            y = [p[1] for p in points]
            (line,) = ax.plot(x, y, lw=2, label=name)
            ax.plot(x[1:-1], y[1:-1], "o", color=line.get_color(), ms=5)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.axvline(band_gap_eV, color="k", lw=0.8)
        ax.axhline(0.0, color="0.6", lw=0.6, ls=":")
        ax.set_xlim(-0.1, band_gap_eV + 0.1)
        ax.set_xlabel("Fermi level above the VBM (eV)")
        ax.set_title(limit, fontsize=9)
        if not envelopes[limit]:
            # every defect here is not determined (E_f < 0 across the gap)
            ax.text(0.5, 0.5, "not determined", ha="center", transform=ax.transAxes)
    axes[0][0].set_ylabel("formation energy (eV)")
    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend(fontsize=8)
    return save_figure(fig, path, dpi=120)
