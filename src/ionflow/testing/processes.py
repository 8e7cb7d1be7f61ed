"""Worker processes for concurrency tests that fail instead of hanging.

Tests that need several processes (launchpad checkouts, store writers, a rocket killed
mid-run) start them through :func:`run_in_processes` or :func:`run_process`:

- each worker is a fresh interpreter (``spawn``): it inherits neither pytest's
  configuration (``--strict-markers``) nor the test process's imported modules, locks or
  monkeypatches, so what it does is what a separate ``ionflow``/``rlaunch`` process does;
- a worker that dies (killed, ``os._exit``, segfault) breaks the pool, and a worker that
  raises anything, ``BaseException`` included, returns that exception: either way the
  caller gets :class:`WorkerFailed` naming the worker and the cause, never a wait on a
  result that will not come;
- every wait has a timeout.

Worker functions must be importable by name (a module, not a test file run with
``--import-mode=importlib``): the ones the test suite uses live in
:mod:`ionflow.testing.workers`.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ionflow

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "WorkerFailed",
    "cli_json",
    "run_cli",
    "run_in_processes",
    "run_process",
    "spawn_context",
]


class WorkerFailed(RuntimeError):
    """A worker process died or raised; the message names the worker and the cause."""


def run_cli(
    args: Sequence[str], work_dir: Path | str, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``ionflow ARGS`` in a new process on ``work_dir``, as a second user session does.

    The child imports the same ionflow as this process (its source folder leads
    ``PYTHONPATH``), so a worktree's tests run the worktree's code, not an installed copy.

    Parameters
    ----------
    args
        Command line after ``ionflow`` (``["query", "--json"]``).
    work_dir
        ``IONFLOW_WORK_DIR`` of the child (where its store lives).
    timeout_s
        Longest the child may run.

    Returns
    -------
    subprocess.CompletedProcess
        The finished command (``stdout``, ``stderr`` as text).

    Raises
    ------
    AssertionError
        The command exited non-zero (the message holds its stderr).
    """
    src = str(Path(ionflow.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "IONFLOW_WORK_DIR": str(work_dir)}
    command = [sys.executable, "-m", "ionflow.cli.main", *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s)
    if out.returncode != 0:
        raise AssertionError(f"ionflow {' '.join(args)} exited {out.returncode}:\n{out.stderr}")
    return out


def cli_json(args: Sequence[str], work_dir: Path | str, timeout_s: float = 120) -> Any:
    """Run ``ionflow ARGS --json`` (see :func:`run_cli`); return the one JSON document."""
    return json.loads(run_cli([*args, "--json"], work_dir, timeout_s).stdout)


def spawn_context() -> mp.context.SpawnContext:
    """Return the ``spawn`` multiprocessing context (clean interpreter per worker)."""
    return mp.get_context("spawn")


def run_in_processes(
    fn: Callable[[Any], Any], args: Sequence[Any], timeout_s: float = 120.0
) -> list[Any]:
    """Run ``fn(arg)`` for every ``arg`` at once, one fresh process each; return the results.

    Parameters
    ----------
    fn
        An importable, module-level function of one argument.
    args
        One argument per worker (picklable).
    timeout_s
        Longest wait for all workers together (s).

    Returns
    -------
    list
        ``fn(arg)`` in the order of ``args``.

    Raises
    ------
    WorkerFailed
        A worker died, raised (any ``BaseException``) or did not finish in time.
    """
    results: list[Any] = []
    finished = False
    pool = ProcessPoolExecutor(max_workers=max(1, len(args)), mp_context=spawn_context())
    try:
        futures = [pool.submit(fn, arg) for arg in args]
        for i, future in enumerate(futures):
            try:
                results.append(future.result(timeout=timeout_s))
            except BrokenProcessPool as exc:
                raise WorkerFailed(
                    f"worker {i} of {len(args)} ({fn.__name__}) died without a result: {exc}"
                ) from None
            except FuturesTimeout:
                raise WorkerFailed(
                    f"worker {i} of {len(args)} ({fn.__name__}) gave no result in {timeout_s:g} s"
                ) from None
            except BaseException as exc:  # a worker's SystemExit or pytest Failed, too
                raise WorkerFailed(
                    f"worker {i} of {len(args)} ({fn.__name__}) raised {type(exc).__name__}: {exc}"
                ) from None
        finished = True
    finally:
        if not finished:  # never wait for a hung worker: kill what is still running
            # ProcessPoolExecutor has no public kill; its worker map is the narrow way in
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                if proc.is_alive():
                    proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def run_process(fn: Callable[..., Any], *args: Any, timeout_s: float = 120.0) -> int:
    """Run ``fn(*args)`` in one fresh process, wait for it and return its exit code.

    For workers whose point is how they end (``os._exit`` in the middle of a job).

    Raises
    ------
    WorkerFailed
        The process did not end within ``timeout_s`` (it is killed first).
    """
    proc = spawn_context().Process(target=fn, args=args)
    proc.start()
    proc.join(timeout_s)
    if proc.is_alive():
        proc.kill()
        proc.join(10)
        raise WorkerFailed(f"{fn.__name__} did not end within {timeout_s:g} s (killed)")
    return int(proc.exitcode if proc.exitcode is not None else -1)
