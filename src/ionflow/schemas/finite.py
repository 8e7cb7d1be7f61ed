"""The NaN/inf check shared by ionflow's result documents (nothing non-finite is stored)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["find_nonfinite"]


def find_nonfinite(value: Any, path: str) -> str | None:
    """Return the path of the first NaN/inf float inside ``value``, or None.

    Parameters
    ----------
    value
        A field value: float, list/tuple or dict of them (nested), anything else is skipped.
    path
        Name of the value, extended with ``[i]`` and ``.key`` while descending.

    Returns
    -------
    str or None
        E.g. ``"msd_A2[3]"`` or ``"fit.slope"``; None when everything is finite.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            bad = find_nonfinite(v, f"{path}[{i}]")
            if bad:
                return bad
    if isinstance(value, dict):
        for k, v in value.items():
            bad = find_nonfinite(v, f"{path}.{k}")
            if bad:
                return bad
    return None
