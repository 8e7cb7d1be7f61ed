"""PNG energy profile of an NEB band: images and the spline through them.

The spline uses the tangential forces as slopes when the document has them (Henkelman's
nebbarrier), otherwise a clamped cubic spline. matplotlib is imported only when drawing
(:mod:`ionflow.report.mpl`). Each function writes one PNG to ``path`` and returns it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.analysis.neb import spline_profile
from ionflow.report.mpl import save_figure, subplots

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ionflow.schemas.neb import NebDoc

__all__ = ["plot_neb_profile", "plot_neb_profiles"]


def _draw(ax, doc: NebDoc, color: str | None = None, show_label: bool = False) -> None:
    r = doc.reaction_coordinate_A
    e = doc.relative_energies_eV
    xs, ys = spline_profile(r, e, doc.tangential_forces_eV_A)
    status = "" if doc.converged else " (unconverged)"
    label = f"{doc.label}{status}" if show_label else None
    line = ax.plot(xs, ys, "-", color=color, label=label)[0]
    ax.plot(r, e, "o", color=line.get_color(), mfc="white" if not doc.converged else None)
    if doc.climbing_image is not None and doc.method == "CI-NEB":
        ci = doc.climbing_image
        ax.plot([r[ci]], [e[ci]], "*", ms=12, color=line.get_color())


def _label_axes(ax) -> None:
    ax.set_xlabel("reaction coordinate (Å)")
    ax.set_ylabel("energy relative to image 0 (eV)")
    ax.axhline(0.0, color="0.7", lw=0.8)


def plot_neb_profile(doc: NebDoc, path: str | Path) -> Path:
    """Plot one band's energy profile to the PNG file ``path`` and return ``path``.

    Parameters
    ----------
    doc
        The analysed band.
    path
        Output PNG.
    """
    fig, ax = subplots(figsize=(5.5, 4.0))
    _draw(ax, doc)
    if doc.converged:
        title = (
            f"{doc.label}: {doc.barrier_forward_eV:.3f} eV forward, "
            f"{doc.barrier_backward_eV:.3f} eV backward"
        )
    else:
        force = f"{doc.max_force_eV_A:.3f} eV/Å" if doc.max_force_eV_A is not None else "?"
        title = f"{doc.label}: UNCONVERGED (max force {force}), no barrier"
    ax.set_title(title, fontsize=9)
    _label_axes(ax)
    return save_figure(fig, path, dpi=120)


def plot_neb_profiles(docs: Sequence[NebDoc], path: str | Path) -> Path:
    """Plot several bands (e.g. all hops of a defect) on one figure (PNG ``path``, returned).

    Parameters
    ----------
    docs
        Analysed bands.
    path
        Output PNG.
    """
    fig, ax = subplots(figsize=(6.5, 4.5))
    for doc in docs:
        _draw(ax, doc, show_label=True)
    _label_axes(ax)
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)
