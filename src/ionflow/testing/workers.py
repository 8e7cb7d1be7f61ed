"""Worker functions of the concurrency tests (importable, so ``spawn`` can start them).

See :mod:`ionflow.testing.processes`. Each function does what one separate ionflow or
FireWorks process would do against a shared launchpad or store.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

    from ionflow.hpc.config import ClusterConfig

__all__ = [
    "add_workflows",
    "checkout_all",
    "checkout_and_die",
    "die_mid_task",
    "hold_lock",
    "raise_base_exception",
    "square",
    "write_store_docs",
]


def _file_launchpad() -> Any:
    from ionflow.hpc.config import LaunchpadConfig

    return LaunchpadConfig(type="mongomock_file", path="{work_dir}/lp/launchpad.json")


def script_workflow(n: int, name: str = "t") -> Any:
    """Return a workflow of ``n`` independent one-task Fireworks (``ScriptTask('true')``)."""
    from fireworks import Firework, ScriptTask, Workflow

    return Workflow([Firework(ScriptTask.from_str("true"), name=f"{name}{i}") for i in range(n)])


def checkout_all(args: tuple[str, str]) -> list[int]:
    """Check Fireworks out, one locked session each, until none is left; return their ids."""
    from fireworks import FWorker

    from ionflow.hpc.launchpad import SessionLaunchPad

    work_dir, launch_dir = args
    lp = SessionLaunchPad(_file_launchpad(), Path(work_dir))
    got = []
    while True:
        fw, _ = lp.checkout_fw(FWorker(), launch_dir)
        if fw is None:
            return got
        got.append(fw.fw_id)


def add_workflows(work_dir: str) -> list[int]:
    """Add five two-Firework workflows, one session each; return the new Firework ids."""
    from ionflow.hpc.launchpad import launchpad_session

    ids: list[int] = []
    for _ in range(5):
        with launchpad_session(_file_launchpad(), Path(work_dir)) as lp:
            ids += list(lp.add_wf(script_workflow(2)).values())
    return ids


def hold_lock(lock: str, ready: Event, release: Event) -> None:
    """Hold an exclusive fcntl lock on ``lock`` from ``ready`` until ``release`` (≤ 30 s)."""
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        ready.set()
        release.wait(30)


def checkout_and_die(cluster: ClusterConfig, work_dir: Path, launch_dir: str) -> None:
    """Check a Firework out as a rocket would, then die before running it."""
    from fireworks import FWorker

    from ionflow.hpc.launchpad import SessionLaunchPad
    from ionflow.hpc.rocket import record_launch

    lp = SessionLaunchPad(cluster.launchpad, work_dir, on_checkout=record_launch)
    fw, _ = lp.checkout_fw(FWorker(), str(launch_dir))
    if fw is None:
        os._exit(3)  # nothing to check out: the parent's assertions say so
    os._exit(0)


def write_store_docs(args: tuple[str, int, int]) -> None:
    """Write ``n`` output documents and data blobs of one worker into the embedded store."""
    from ionflow.settings import get_settings
    from ionflow.stores import open_job_store

    work_dir, worker, n = args
    store = open_job_store(get_settings(work_dir=Path(work_dir)))
    try:
        for i in range(n):
            uuid = f"w{worker}-{i}"
            store.docs_store.update(
                {"uuid": uuid, "index": 1, "output": {"worker": worker, "i": i}},
                key=["uuid", "index"],
            )
            store.additional_stores["data"].update(
                {"job_uuid": uuid, "job_index": 1, "blob_uuid": f"b-{uuid}", "data": [i] * 200},
                key=["blob_uuid"],
            )
    finally:
        store.close()


def square(x: int) -> int:
    """Return ``x * x`` (a worker that works)."""
    return x * x


def die_mid_task(code: int) -> int:
    """Die in the middle of the task (no result, no exception)."""
    os._exit(code)


class WorkerAbort(BaseException):
    """A BaseException that is not an Exception (like pytest's ``Failed``)."""


def raise_base_exception(message: str) -> None:
    """Die by a BaseException, as an import under --strict-markers does."""
    raise WorkerAbort(message)
