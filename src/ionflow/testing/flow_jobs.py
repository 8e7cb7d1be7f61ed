"""Small jobs for the tests of local runs on worker processes (importable, so ``spawn`` can).

See :mod:`ionflow.run.jobs`. Each job records where and when it ran, so a test can tell
that two jobs ran side by side in different processes.
"""

from __future__ import annotations

import os
import time

from jobflow import Flow, Response, job
from monty.json import MSONable

__all__ = ["Hooked", "add", "fail", "grow", "hooked", "stamp", "stop_below"]


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


class Hooked(MSONable):
    """A value with a live hook that does not pickle (as an ASE calculator on a structure).

    Its stored form has no hook, as a stored structure has no calculator.
    """

    def __init__(self, value: float, live: bool = True) -> None:
        self.value = value
        self.live = live
        self._hook = (lambda: value) if live else None

    def as_dict(self) -> dict:
        """Return the stored form (without the hook)."""
        return {
            "@module": type(self).__module__,
            "@class": "Hooked",
            "value": self.value,
            "live": False,
        }


@job
def hooked(value: float) -> Hooked:
    """Return ``Hooked(value)``."""
    return Hooked(value)
