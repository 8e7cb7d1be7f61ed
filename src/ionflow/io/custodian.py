"""custodian's run log (``custodian.json``): the corrections its handlers made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_custodian_log"]


def read_custodian_log(launch_dir: str | Path | None) -> list[dict[str, Any]]:
    """Return custodian's corrections in a launch folder (empty if it has no custodian.json)."""
    if not launch_dir:
        return []
    path = Path(launch_dir) / "custodian.json"
    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())
    except (OSError, ValueError):
        return [{"handler": "?", "errors": ["custodian.json unreadable"], "actions": []}]
    out = []
    for run in runs if isinstance(runs, list) else []:
        for corr in run.get("corrections", []):
            handler = corr.get("handler")
            name = handler.get("@class", str(handler)) if isinstance(handler, dict) else handler
            out.append(
                {
                    "handler": name,
                    "errors": [str(e) for e in corr.get("errors", [])],
                    "actions": corr.get("actions") or [],
                }
            )
        for flag in ("max_errors", "max_errors_per_job", "nonzero_return_code"):
            if run.get(flag):
                out.append({"handler": "custodian", "errors": [flag], "actions": []})
    return out
