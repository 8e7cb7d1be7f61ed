"""Queue resources per job kind: which kind a job is, its FireWorks category, checks.

A cluster file's ``resources:`` section sizes four kinds of job separately:

- ``md``: MD segments and the convergence check that may add segments (its additions
  inherit its resources through jobflow's ``pass_manager_config``);
- ``neb``: the band of a NEB (any maker whose class name holds ``Neb``);
- ``relax``: relaxations and static calculations (makers named ``*Relax*``/``*Static*``);
- ``analysis``: everything else (path preparation, analysis, summaries, the window).

:func:`assign_resources` writes the kind into each job's ``manager_config`` as the
FireWorks ``_category`` and the kind's queue keys as ``_queueadapter`` (the standard
FireWorks per-Firework override, read by ``qlaunch`` in reservation mode), so
``flow_to_workflow`` puts them in the Firework spec. :func:`check_resources` refuses a
NEB whose MPI ranks do not split evenly over its images and warns when a job asks for
more cores than its cell can use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobflow import Flow

from ionflow.engines.registry import get_engine
from ionflow.hpc.queue import resource_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jobflow import Job

    from ionflow.hpc.config import ClusterConfig

__all__ = [
    "MD_FUNCTIONS",
    "assign_resources",
    "check_resources",
    "iter_jobs",
    "job_kind",
]

#: plain @job functions that run MD (or add MD segments)
MD_FUNCTIONS = frozenset({"md_segment", "md_converge_check"})
#: atoms per MPI rank below which plane-wave DFT stops scaling (rule of thumb, VASP/CP2K)
MIN_ATOMS_PER_RANK = 1


def iter_jobs(flow: Flow | Job) -> Iterator[Job]:
    """Yield every job of a (nested) flow."""
    if isinstance(flow, Flow):
        for item in flow.jobs:
            yield from iter_jobs(item)
    else:
        yield flow


def job_kind(job: Job) -> str:
    """Return the resource kind of a job: ``md``, ``neb``, ``relax`` or ``analysis``."""
    function = job.function
    owner = getattr(function, "__self__", None)
    if owner is not None:
        cls = type(owner).__name__
        if "Neb" in cls or "NEB" in cls:
            return "neb"
        if "Relax" in cls or "Static" in cls:
            return "relax"
        if "MD" in cls or "Md" in cls:
            return "md"
        return "analysis"
    name = getattr(function, "__name__", "")
    return "md" if name in MD_FUNCTIONS else "analysis"


def assign_resources(flow: Flow | Job, cluster: ClusterConfig) -> dict[str, str]:
    """Put each job's kind and queue keys in its ``manager_config``.

    Returns
    -------
    dict
        Job uuid → kind (empty when the cluster has no ``resources``).
    """
    if not cluster.resources:
        return {}
    kinds: dict[str, str] = {}
    for job in iter_jobs(flow):
        kind = job_kind(job)
        kinds[job.uuid] = kind
        queue = cluster.queue_for(kind)
        config = {"_category": kind, "_queueadapter": resource_keys(queue)}
        job.update_config({"manager_config": config}, dynamic=False)
    return kinds


def check_resources(
    cluster: ClusterConfig,
    engine: str,
    cells: list[tuple[str, int | None, int | None]],
) -> tuple[list[str], list[str]]:
    """Check the queue resources against the study's cells; return warnings.

    Parameters
    ----------
    cluster
        The cluster config.
    engine
        Engine name of the study.
    cells
        Per system: (key, atoms in its cell or None, NEB images or None).

    Returns
    -------
    tuple of list of str
        Warnings (cores the cell cannot use) and errors: NEB MPI ranks that do not divide
        evenly over the images (VASP splits the ranks into IMAGES groups and stops
        otherwise); ``submit`` refuses a plan with errors, ``--dry-run`` shows them.
    """
    warnings: list[str] = []
    errors: list[str] = []
    adapter = get_engine(engine)
    uses_mpi = "dft" in adapter.capabilities
    for kind in ("relax", "md", "neb"):
        queue = cluster.queue_for(kind)
        ranks, cores = queue.total_tasks, queue.total_cores
        for key, n_atoms, n_images in cells:
            if kind == "neb" and n_images is None:
                continue
            if not uses_mpi:
                if ranks > 1:
                    warnings.append(
                        f"{kind} jobs ask for {ranks} MPI tasks but engine {engine} runs one "
                        f"process per job; set resources.{kind}.ntasks: 1 (cpus_per_task "
                        "gives it threads)"
                    )
                continue
            if kind == "neb" and ranks % n_images:
                errors.append(
                    f"resources.neb: {ranks} MPI ranks do not divide over the {n_images} "
                    f"images of system {key!r}; use a multiple of {n_images}"
                )
                continue
            per_calc = ranks // n_images if kind == "neb" and n_images else ranks
            if n_atoms and per_calc > n_atoms // MIN_ATOMS_PER_RANK:
                warnings.append(
                    f"{kind} jobs of system {key!r}: {per_calc} MPI ranks per calculation for "
                    f"a {n_atoms}-atom cell ({cores} cores in all); {engine} rarely scales "
                    "past about one rank per atom, so most cores would idle"
                )
    return sorted(set(warnings), key=warnings.index), errors
