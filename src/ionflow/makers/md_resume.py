"""Resume a locally run MD flow after the process was killed (walltime, node failure, ^C).

jobflow's ``run_locally`` keeps no state besides the JobStore, so a killed run is resumed
by running the same (saved) flow again: jobs whose output is already in the store are
skipped, MD segments that finished but were not stored are recovered from their
checkpoint folder, and the segment that was running continues from its last checkpoint.
Run-until-converged checks that had replaced themselves with more segments are run
again; they rebuild the same segments (same checkpoint folders) and pick them up.

On FireWorks the same happens per job: rerun the fizzled firework and its segment
resumes from ``checkpoint_dir``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
from jobflow import Flow
from monty.serialization import dumpfn, loadfn

from ionflow.errors import InputError

if TYPE_CHECKING:
    from jobflow import JobStore

__all__ = ["FLOW_FILE", "completed_job_uuids", "load_flow", "pending_flow", "save_flow"]

logger = logging.getLogger(__name__)

FLOW_FILE = "flow.json.gz"


def save_flow(flow: Flow, folder: str | Path) -> Path:
    """Write the flow (with its job uuids and checkpoint folders) for a later resume."""
    path = Path(folder) / FLOW_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    dumpfn(flow, path)
    return path


def load_flow(path: str | Path) -> Flow:
    """Read a flow written by :func:`save_flow`.

    Raises
    ------
    InputError
        If the file is missing or does not hold a flow.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FLOW_FILE
    try:
        flow = loadfn(path)
    except FileNotFoundError:
        raise InputError(f"no saved flow at {path}; resume needs the run folder") from None
    except Exception as exc:  # truncated or foreign file
        raise InputError(f"cannot read the saved flow {path}: {exc}") from None
    if not isinstance(flow, Flow):
        raise InputError(f"{path} does not hold a jobflow Flow")
    return flow


def completed_job_uuids(flow: Flow, store: JobStore) -> set[str]:
    """Uuids of the flow's jobs whose final output is in the store.

    A run-until-converged check whose stored decision is ``extend`` is not complete: its
    replacement segments may not have finished.
    """
    uuids = [job.uuid for job, _ in flow.iterflow()]
    latest: dict[str, dict[str, Any]] = {}
    for doc in store.query({"uuid": {"$in": uuids}}, properties=["uuid", "index", "output"]):
        if doc["uuid"] not in latest or doc["index"] > latest[doc["uuid"]]["index"]:
            latest[doc["uuid"]] = doc
    done = set()
    for uuid, doc in latest.items():
        output = doc.get("output")
        status = None
        if isinstance(output, dict) and isinstance(output.get("convergence"), dict):
            status = output["convergence"].get("status")
        if status != "extend":
            done.add(uuid)
    return done


def pending_flow(flow: Flow, store: JobStore) -> Flow | None:
    """Return the jobs of ``flow`` without a final output in ``store``, as a new Flow.

    Parameters
    ----------
    flow
        The same flow that was running (as saved by :func:`save_flow`).
    store
        The JobStore the first run wrote to.

    Returns
    -------
    Flow or None
        The jobs to run (references to finished jobs are read from the store when it
        runs: ``allow_external_references``), or None when every job has finished.
    """
    store.connect()
    done = completed_job_uuids(flow, store)
    # a job that failed left its children (collectors, summaries) with missing inputs:
    # they ran without it, so they run again once it has a result
    graph = flow.graph
    stale = set()
    for uuid in {job.uuid for job, _ in flow.iterflow()} - done:
        if uuid in graph:
            stale |= nx.descendants(graph, uuid)
    done -= stale
    todo = []
    for job, _ in flow.iterflow():
        if job.uuid not in done:
            job = copy.deepcopy(job)
            job.hosts = []  # detach from the saved flow so it can join the resume flow
            todo.append(job)
    logger.info("resuming %s: %d jobs done, %d to run", flow.name, len(done), len(todo))
    if not todo:
        return None
    return Flow(todo, name=f"{flow.name} (resumed)")
