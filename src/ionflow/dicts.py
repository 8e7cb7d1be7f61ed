"""Plain-dict helpers shared by every layer (configs, engines)."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["deep_merge"]


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` into ``base``: mappings recursively, anything else replaced.

    Parameters
    ----------
    base, override
        Parsed YAML values.

    Returns
    -------
    Any
        A new merged value (inputs are not modified).
    """
    if isinstance(base, dict) and isinstance(override, dict):
        out = copy.deepcopy(base)
        for key, value in override.items():
            out[key] = deep_merge(out[key], value) if key in out else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)
