"""A cluster probe job: where and how a rocket runs, with optional checkpointed busy time.

Submit it to check a new cluster config end to end (queue script, environment, launchpad,
store) before sending real studies: it records host, queue job, Python, the engine
commands the worker exports and the work directory. With ``work_s`` it stays busy that long
and records its progress in ``checkpoint`` (a JSON file written atomically every second);
a rerun of a probe killed by the queue resumes from the recorded progress, the way MD
segments resume from their checkpoints.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobflow import job

__all__ = ["probe", "probe_result"]

_ENV_KEYS = (
    "IONFLOW_WORK_DIR",
    "IONFLOW_VASP__CMD",
    "IONFLOW_CP2K__CMD",
    "IONFLOW_MPI",
    "IONFLOW_SCRATCH_DIR",
    "OMP_NUM_THREADS",
    "SLURM_JOB_ID",
    "PBS_JOBID",
)


def _read_progress(path: Path) -> float:
    try:
        return float(json.loads(path.read_text())["done_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _write_progress(path: Path, done_s: float) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"done_s": done_s}))
    os.replace(tmp, path)


def probe_result(work_s: float = 0.0, checkpoint: str | None = None) -> dict[str, Any]:
    """Stay busy for ``work_s`` seconds (resuming from ``checkpoint``) and describe the node.

    Parameters
    ----------
    work_s
        Busy time to accumulate across attempts (s).
    checkpoint
        JSON file recording the busy time done so far; None: no resume.

    Returns
    -------
    dict
        Host, pid, queue job, Python, exported ionflow variables, busy time done (s) and
        the progress this attempt resumed from (s).
    """
    started = datetime.now(UTC).isoformat()
    ckpt = Path(checkpoint) if checkpoint else None
    done = _read_progress(ckpt) if ckpt else 0.0
    resumed_from = done
    while done < work_s:
        step = min(1.0, work_s - done)
        time.sleep(step)
        done += step
        if ckpt:
            _write_progress(ckpt, done)
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.executable,
        "cwd": os.getcwd(),
        "env": {k: os.environ[k] for k in _ENV_KEYS if k in os.environ},
        "work_s": float(work_s),
        "done_s": float(done),
        "resumed_from_s": float(resumed_from),
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(),
    }


@job(name="cluster probe")
def probe(work_s: float = 0.0, checkpoint: str | None = None) -> dict[str, Any]:
    """Job wrapper of :func:`probe_result`."""
    return probe_result(work_s, checkpoint)
