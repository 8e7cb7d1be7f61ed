"""Execute a Flow's jobs on this machine: the only place ionflow calls jobflow's ``run_locally``.

jobflow's ``run_locally`` runs a flow's jobs one after another. The jobs of a study are
mostly independent of each other (one MD run per temperature, one NEB per hop, one cell
per system), and a machine-learned potential runs two jobs side by side, one core each,
faster than one after the other on both cores: on the 2-core machine, CHGNet MD of the
50-atom LGPS cell takes 0.12 s per step on two threads, and 0.145 s per step in each of
two workers running at once (1.66 times the steps per second; the demo: 7 min 29 s in one
process, 4 min 45 s on two workers).

:func:`execute` therefore has two modes:

- ``workers=1``: ``run_locally`` on the whole flow in this process (jobflow's own order).
- ``workers>1``: a pool of worker processes (``spawn``), each with ``cpu_count // workers``
  threads. Every job whose parents have finished goes to a free worker, which runs it with
  ``run_locally`` against the same store, so replace/detour/addition responses run in that
  worker as they would in one process, and children read their inputs from the store.
  A job travels as its JSON document (as it does to FireWorks). jobflow's rules are kept:
  a child of a job that raised is skipped when it must resolve that job's output
  (``on_missing_references="error"``), a child of a ``stop_children`` job is skipped, and
  ``stop_jobflow`` starts nothing new. Log records of the workers reach this process's
  handlers (log file, progress lines) through a queue.

Which ready job starts first: the one with the most work left on its longest path to the
end of the flow (longest-remaining-path first, HLFET list scheduling;
:func:`ionflow.makers.cost.critical_path_priorities`). A job's work is the estimate its
maker put in its metadata (``ionflow_cost``: atoms × force evaluations of an MD segment,
a CI-NEB band or a relaxation); other jobs count 0, and ties keep the flow's order (with
no estimate anywhere the order is exactly the flow's). Without it the flow's order
started a study's MD production runs after its short NEB bands and relaxations, so one
production run (4 min in the quick Li3OCl study) ran alone at the end while the other
worker idled; now the MD chains, which the run waits on longest, start first and the
short jobs fill in beside them. Replaying the job times of a quick Li3OCl run on 2
workers (``benchmarks/schedule_replay.py``): 1121 s in the flow's order (its jobs took
1120 s from the first start to the last end), 1049 s longest-first, against a lower bound
of 1040 s (the sum of the job times over 2). A job jobflow skips takes no worker.

Worker processes need a store that every process can open (montydb on disk, MongoDB);
an in-memory store runs with one worker.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import JobStore, Response, run_locally
from jobflow.core.flow import get_flow
from jobflow.core.reference import OnMissing
from monty.json import MontyDecoder, MontyEncoder, jsanitize

from ionflow.makers.cost import critical_path_priorities
from ionflow.stores import connect_job_store, is_shared_store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Flow, Job

__all__ = ["THREAD_VARIABLES", "auto_workers", "execute", "usable_cpus"]

logger = logging.getLogger(__name__)

#: environment variables that set the thread count of the numerical libraries (torch,
#: numpy's BLAS); a worker sets each to its share of the cores before it imports them
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

#: most workers chosen automatically (more jobs than this are rarely ready at once)
MAX_AUTO_WORKERS = 4

#: loggers whose records a worker sends to the main process
_FORWARDED_LOGGERS = ("jobflow", "ionflow", "py.warnings")

# the store of this worker process (set by _init_worker)
_WORKER_STATE: dict[str, Any] = {}


def usable_cpus() -> int:
    """Return the cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):  # Linux; not macOS
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def auto_workers(in_process_engine: bool, store: JobStore, cpus: int | None = None) -> int:
    """Return the number of worker processes a local run uses when none is configured.

    Parameters
    ----------
    in_process_engine
        The engine computes in this Python process (a machine-learned potential). A DFT
        code starts its own MPI/OpenMP processes on every core: one job at a time.
    store
        The run's store; an in-memory store cannot be shared between processes.
    cpus
        Cores to plan for (default: those this process may use).

    Returns
    -------
    int
        1, or up to one worker per core (at most :data:`MAX_AUTO_WORKERS`).
    """
    cpus = cpus or usable_cpus()
    if not in_process_engine or not is_shared_store(store):
        return 1
    return max(1, min(cpus, MAX_AUTO_WORKERS))


def execute(
    flow: Flow | Job | list[Job],
    store: JobStore,
    root_dir: Path,
    allow_external_references: bool = False,
    workers: int = 1,
    handlers: Sequence[logging.Handler] = (),
) -> dict[str, dict[int, Response]]:
    """Run a flow's jobs with ``run_locally``, in this process or on worker processes.

    Parameters
    ----------
    flow
        The flow (or job) to run.
    store
        Connected JobStore; with ``workers > 1`` it must be one every process can open.
    root_dir
        Folder in which every job gets its own folder.
    allow_external_references
        Resolve references to jobs outside ``flow`` from the store (a resumed run).
    workers
        Worker processes; 1 runs everything in this process.
    handlers
        Logging handlers that receive the workers' log records (the caller attaches them
        to this process's loggers itself).

    Returns
    -------
    dict
        jobflow's responses (uuid -> index -> Response). From workers, each response
        keeps its output, ``job_dir`` and stop flags (the jobs it added have run).
    """
    if workers <= 1:
        return _run_locally(flow, store, root_dir, allow_external_references)
    if not is_shared_store(store):
        raise ValueError("worker processes need a store every process can open (not in-memory)")
    return _Scheduler(flow, store, root_dir, workers, allow_external_references).run(handlers)


def _run_locally(
    flow: Flow | Job | list[Job], store: JobStore, root_dir: Path, allow_external: bool
) -> dict[str, dict[int, Response]]:
    return run_locally(
        flow,
        store=store,
        create_folders=True,
        root_dir=root_dir,
        log=False,
        allow_external_references=allow_external,
    )


def _init_worker(store_doc: str, log_queue: Any, threads: int, levels: dict[str, int]) -> None:
    """Start a worker: thread counts, log forwarding, the store (once per process)."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    handler = QueueHandler(log_queue)
    for name in _FORWARDED_LOGGERS:
        worker_logger = logging.getLogger(name)
        worker_logger.addHandler(handler)
        worker_logger.setLevel(levels.get(name, logging.INFO))
        worker_logger.propagate = False
    logging.captureWarnings(True)
    store = MontyDecoder().process_decoded(json.loads(store_doc))
    connect_job_store(store)
    _WORKER_STATE["store"] = store


def _run_in_worker(job_doc: str, root_dir: str) -> dict[str, dict[int, Response]]:
    """Run one job (and what its response adds) in a worker; return portable responses."""
    job = json.loads(job_doc, cls=MontyDecoder)
    job.hosts = []  # it travels alone: run_locally puts it in a flow of its own
    responses = _run_locally(job, _WORKER_STATE["store"], Path(root_dir), True)
    # Responses that replace or add jobs hold Flows, whose functions do not pickle; the
    # main process needs only the outputs and the stop flags
    return {
        uuid: {
            index: Response(
                output=_portable(r.output),
                stop_children=r.stop_children,
                stop_jobflow=r.stop_jobflow,
                job_dir=r.job_dir,
            )
            for index, r in by_index.items()
        }
        for uuid, by_index in responses.items()
    }


def _portable(output: Any) -> Any:
    """Return the output if it pickles, else its stored form (as jobflow stores it).

    An output may hold a live object that does not pickle, e.g. structures with their ASE
    calculator attached.
    """
    try:
        pickle.dumps(output)
    except Exception:  # pickling raises many types (PicklingError, TypeError, ...)
        stored = jsanitize(output, strict=True, enum_values=True, allow_bson=True)
        return MontyDecoder().process_decoded(stored)
    return output


@dataclass
class _Scheduler:
    """Hand every job whose parents have finished to a free worker (jobflow's rules).

    Ready jobs start in order of :attr:`priority` (highest first; ties in flow order).
    """

    flow: Any
    store: JobStore
    root_dir: Path
    workers: int
    allow_external: bool
    responses: dict[str, dict[int, Response]] = field(default_factory=dict)
    #: uuid of every finished job -> "ok", "errored" or "stopped" (stop_children)
    ended: dict[str, str] = field(default_factory=dict)
    stop_all: bool = False
    #: uuid -> estimated work on the longest path from the job to the end of the flow
    priority: dict[str, float] = field(default_factory=dict)

    def run(self, handlers: Sequence[logging.Handler]) -> dict[str, dict[int, Response]]:
        flow = get_flow(self.flow, allow_external_references=self.allow_external)
        order = list(flow.iterflow())
        in_flow = {job.uuid for job, _ in order}
        pending = [(job, [p for p in parents if p in in_flow]) for job, parents in order]
        self.priority = critical_path_priorities(pending)
        ctx = multiprocessing.get_context("spawn")
        log_queue = ctx.Queue()
        listener = QueueListener(log_queue, *handlers, respect_handler_level=True)
        threads = max(1, usable_cpus() // self.workers)
        levels = {name: logging.getLogger(name).getEffectiveLevel() for name in _FORWARDED_LOGGERS}
        levels["jobflow"] = logging.INFO  # its Starting/Finished lines drive the progress
        store_doc = json.dumps(self.store.as_dict(), cls=MontyEncoder)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(store_doc, log_queue, threads, levels),
        )
        listener.start()
        logger.info("running jobs on %d worker processes, %d threads each", self.workers, threads)
        try:
            self._loop(pool, pending)
        except BaseException:
            # Ctrl-C or a kill: stop the workers now (their jobs resume with the run);
            # Python 3.11's executor has no public way to end running workers
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            listener.stop()  # handles every record the workers sent before they exited
        return self.responses

    def _loop(self, pool: ProcessPoolExecutor, pending: list[tuple[Job, list[str]]]) -> None:
        running: dict[Any, Job] = {}
        while pending or running:
            progressed = self._dispatch(pool, pending, running)
            if not running:
                if pending and not progressed:
                    names = ", ".join(job.name for job, _ in pending[:3])
                    raise RuntimeError(f"jobs wait for parents that never run: {names}")
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                self._collect(running.pop(future), future)

    def _dispatch(self, pool: ProcessPoolExecutor, pending: list, running: dict) -> bool:
        """Skip every ready job jobflow would skip, then start ready jobs on free workers.

        Started first: the ready job with the highest priority (ties: flow order, as
        ``pending`` is in flow order and the sort is stable). Return whether any job was
        skipped or started.
        """
        if self.stop_all:  # stop_jobflow: nothing more starts
            progressed = bool(pending)
            pending.clear()
            return progressed
        progressed = self._skip_ready(pending)
        ready = sorted(self._ready(pending), key=lambda item: -self.priority[item[0].uuid])
        for item in ready[: max(self.workers - len(running), 0)]:
            job = item[0]
            pending.remove(item)
            progressed = True
            doc = json.dumps(job, cls=MontyEncoder)
            running[pool.submit(_run_in_worker, doc, str(self.root_dir))] = job
        return progressed

    def _ready(self, pending: list) -> list:
        """Return the pending jobs whose parents have all finished (in flow order)."""
        return [item for item in pending if all(p in self.ended for p in item[1])]

    def _skip_ready(self, pending: list) -> bool:
        """End, without running, every ready job jobflow would skip; return whether any.

        Skipping takes no worker and may make further jobs ready (or skippable): repeated
        until none is left.
        """
        skipped_any = False
        while True:
            skips = [(item, self._skip_state(*item)) for item in self._ready(pending)]
            skips = [(item, state) for item, state in skips if state is not None]
            if not skips:
                return skipped_any
            for item, state in skips:
                pending.remove(item)
                self.ended[item[0].uuid] = state
            skipped_any = True

    def _skip_state(self, job: Job, parents: list[str]) -> str | None:
        """Return the state a ready job ends in without running (None: it runs)."""
        states = {self.ended[p] for p in parents}
        if "stopped" in states:
            logger.info("%s is a child of a job with stop_children=True, skipping...", job.name)
            return "stopped"
        if "errored" in states and job.config.on_missing_references == OnMissing.ERROR:
            return "errored"
        return None

    def _collect(self, job: Job, future: Any) -> None:
        try:
            got = future.result()
        except Exception as exc:  # the worker died, or the job did not travel
            trace = "".join(traceback.format_exception(exc))
            logging.getLogger("jobflow").info(f"{job.name} failed with exception:\n{trace}")
            self.ended[job.uuid] = "errored"
            return
        for uuid, by_index in got.items():
            self.responses.setdefault(uuid, {}).update(by_index)
        response = got.get(job.uuid, {}).get(job.index)
        if response is None:  # the job raised (the worker logged it)
            self.ended[job.uuid] = "errored"
            return
        self.ended[job.uuid] = "stopped" if response.stop_children else "ok"
        self.stop_all = self.stop_all or response.stop_jobflow
