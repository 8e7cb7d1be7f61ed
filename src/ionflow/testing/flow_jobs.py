"""Small jobs for the tests of local runs on worker processes (importable, so ``spawn`` can).

See :mod:`ionflow.run.jobs`. Each job records where and when it ran, so a test can tell
that two jobs ran side by side in different processes.
"""

from __future__ import annotations

import os
import time

from jobflow import Flow, Response, job

__all__ = ["add", "fail", "grow", "stamp", "stop_below"]


@job
def stamp(value: int, seconds: float = 0.0) -> dict[str, float]:
    """Return the value with this process's id and the job's start and end times."""
    start = time.time()
    time.sleep(seconds)
    return {"value": value, "pid": os.getpid(), "start": start, "end": time.time()}


@job
def add(a: float, b: float) -> float:
    """Return a + b."""
    return a + b


@job
def fail(message: str) -> None:
    """Raise ``RuntimeError(message)``."""
    raise RuntimeError(message)


@job
def grow(value: int, until: int) -> Response:
    """Double ``value`` until it reaches ``until``, replacing itself (a dynamic flow)."""
    if value >= until:
        return Response(output=value)
    again = grow(2 * value, until)
    return Response(replace=Flow([again], output=again.output))


@job
def stop_below(value: float, limit: float) -> Response:
    """Return the value; stop the children when it is below ``limit``."""
    return Response(output=value, stop_children=value < limit)
