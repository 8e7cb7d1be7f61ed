"""matplotlib for the report plots, imported only when a plot is drawn.

The ``plots_*`` modules call :func:`pyplot` inside their plotting functions, so importing
them (or any analysis code) never imports matplotlib, and plots are drawn with the
non-interactive Agg backend on machines without a display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pyplot", "save_figure", "subplots"]


def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` with the Agg backend (unless a backend is already set).

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def subplots(*grid: int, **kwargs: Any) -> tuple[Any, Any]:
    """Return a new figure and its axes (``pyplot().subplots``, Agg backend).

    Parameters
    ----------
    *grid
        Rows and columns of axes (none: one axes).
    **kwargs
        Passed to ``matplotlib.pyplot.subplots`` (``figsize``, ``dpi``, ``sharex``, ...).

    Returns
    -------
    tuple
        ``(figure, axes)``; save and close the figure with :func:`save_figure`.
    """
    return pyplot().subplots(*grid, **kwargs)


def save_figure(fig: Any, path: str | Path, dpi: float | None = None) -> Path:
    """Lay out, write (creating parent folders) and close a figure.

    Parameters
    ----------
    fig
        A matplotlib figure, e.g. from :func:`subplots`.
    path
        Output file (PNG).
    dpi
        Resolution of the file; None keeps the figure's own.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
