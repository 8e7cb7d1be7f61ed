"""matplotlib for the report plots, imported only when a plot is drawn.

The ``plots_*`` modules call :func:`pyplot` inside their plotting functions, so importing
them (or any analysis code) never imports matplotlib, and plots are drawn with the
non-interactive Agg backend on machines without a display.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot"]


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
