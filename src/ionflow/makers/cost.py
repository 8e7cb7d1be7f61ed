"""Work estimates of jobs, and the longest-remaining-work-first order they give.

A maker that builds a heavy job (an MD segment, a CI-NEB band, a relaxation) puts a
unitless work estimate in the job's metadata under :data:`COST_KEY`: atoms × force
evaluations, counted at most (an MD segment: atoms × steps; a band: atoms × intermediate
images × optimiser steps; a relaxation: atoms × optimiser steps). One force evaluation of
a machine-learned potential costs about the same per atom whatever the job, so these
numbers compare jobs of one run (CHGNet, 41-atom Li3OCl cell: ~0.24 s per force
evaluation in an MD step, a relaxation step or per image of a band step). Jobs without a
hint (analysis, summaries, path preparation: seconds) cost 0.

The hint is plain metadata: it travels with the job's JSON document (to a worker process,
to FireWorks, where jobflow copies a job's metadata into its Firework spec) and is stored
with the job's output.

:func:`critical_path_priorities` turns the hints into a priority per job: its own cost plus
the largest priority among its children, i.e. the work left on the longest path from the
job to the end of the flow. Starting the ready job with the highest priority first is the
classic HLFET list scheduling ("highest level first, estimated times"; Adam, Chandy &
Dickson, Commun. ACM 17, 685 (1974)): the job that the rest of the run waits on longest
never starts last while other workers idle. With no hint anywhere every priority is 0,
and the order is the flow's own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from jobflow import Flow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jobflow import Job

__all__ = ["COST_KEY", "critical_path_priorities", "job_cost", "set_cost"]

#: metadata key of a job's work estimate (atoms × force evaluations, unitless)
COST_KEY = "ionflow_cost"


def set_cost(job_or_flow: Job | Flow, n_atoms: int, force_evaluations: int) -> None:
    """Put the work estimate ``n_atoms × force_evaluations`` in a job's metadata.

    A flow (an engine whose band or relaxation is several jobs) shares the estimate
    evenly between its jobs, so a chain of them still adds up to it.

    Parameters
    ----------
    job_or_flow
        The job (or flow) the estimate belongs to.
    n_atoms
        Atoms in the cell.
    force_evaluations
        Force evaluations the job makes at most (steps; images × steps for a band).
    """
    jobs = (
        [j for j, _ in job_or_flow.iterflow()] if isinstance(job_or_flow, Flow) else [job_or_flow]
    )
    work = float(max(n_atoms, 0) * max(force_evaluations, 0)) / max(len(jobs), 1)
    for one in jobs:
        one.metadata[COST_KEY] = work


def job_cost(job: Job) -> float:
    """Return a job's work estimate (0 without a hint, or with one that is not a number >= 0)."""
    value: Any = (job.metadata or {}).get(COST_KEY, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0


def critical_path_priorities(jobs: Iterable[tuple[Job, Sequence[str]]]) -> dict[str, float]:
    """Return each job's priority: its cost plus the largest priority of its children.

    Parameters
    ----------
    jobs
        ``(job, parent uuids)`` in an order where parents come before their children
        (``Flow.iterflow()``). Parents that are not in ``jobs`` are ignored.

    Returns
    -------
    dict
        uuid -> priority (the estimated work on the longest path from the job to the end).
    """
    items = list(jobs)
    children: dict[str, list[str]] = {job.uuid: [] for job, _ in items}
    for job, parents in items:
        for parent in parents:
            if parent in children:
                children[parent].append(job.uuid)
    priority: dict[str, float] = {}
    for job, _ in reversed(items):  # children first
        below = [priority[c] for c in children[job.uuid] if c in priority]
        priority[job.uuid] = job_cost(job) + max(below, default=0.0)
    return priority
