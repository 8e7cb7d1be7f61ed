"""The state file of a local run (``<run folder>/run.json``): who runs it, how it ended.

``ionflow run`` writes it before the first job starts (state RUNNING, the process id and
host) and rewrites it when the run ends: COMPLETED, PARTIAL (some jobs failed), FAILED
(nothing computed) or INTERRUPTED (Ctrl-C). A run killed by SIGKILL or the kernel's OOM
killer cannot rewrite it; :func:`effective_state` then reports it INTERRUPTED because the
process id is no longer alive. ``ionflow query`` lists these runs with the command that
resumes them, so a killed run is never invisible.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "MARKER_FILE",
    "RUN_STATES",
    "effective_state",
    "find_run_markers",
    "new_marker",
    "now_iso",
    "read_marker",
    "resume_command",
    "write_marker",
]

MARKER_FILE = "run.json"
RUN_STATES = ("RUNNING", "COMPLETED", "PARTIAL", "FAILED", "INTERRUPTED")


def now_iso() -> str:
    """Return the current UTC time as ISO 8601 (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def resume_command(run_dir: str | Path, work_dir: str | Path) -> str:
    """Return the command that resumes a local run (finished jobs are read from the store)."""
    return f"ionflow aimd resume {run_dir} -w {work_dir}"


def new_marker(run_dir: Path, work_dir: Path, log_file: Path, **fields: Any) -> dict[str, Any]:
    """Return the RUNNING state of a run that starts now in this process.

    Parameters
    ----------
    run_dir, work_dir, log_file
        The run's folder, work directory and log file.
    **fields
        Identity of the run (study, run_id, engine, host_formula, temperatures_K, ...).
    """
    return {
        **fields,
        "state": "RUNNING",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": now_iso(),
        "ended_at": None,
        "run_dir": str(run_dir),
        "work_dir": str(work_dir),
        "log_file": str(log_file),
        "resume_command": resume_command(run_dir, work_dir),
        "failures": [],
    }


def write_marker(run_dir: Path, marker: dict[str, Any]) -> Path:
    """Write (atomically replace) the state file of a run."""
    path = Path(run_dir) / MARKER_FILE
    tmp = path.with_name(f".{MARKER_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(marker, indent=2, default=str))
    os.replace(tmp, path)
    return path


def read_marker(run_dir: Path) -> dict[str, Any] | None:
    """Return the state file of a run folder (None if absent or unreadable)."""
    try:
        data = json.loads((Path(run_dir) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("state") in RUN_STATES else None


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def effective_state(marker: dict[str, Any]) -> str:
    """Return the state to show: a RUNNING run whose process died here is INTERRUPTED."""
    state = marker.get("state", "RUNNING")
    if state != "RUNNING":
        return state
    if marker.get("host") == socket.gethostname() and not _pid_alive(marker.get("pid")):
        return "INTERRUPTED"
    return "RUNNING"


def find_run_markers(runs_dir: Path) -> list[dict[str, Any]]:
    """Every run state file under ``<runs_dir>/<study>/<run_id>/`` (none if no such folder)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for path in sorted(runs_dir.glob(f"*/*/{MARKER_FILE}")):
        marker = read_marker(path.parent)
        if marker is not None:
            found.append(marker)
    return found
