"""Run a study's Flow on this machine (jobs side by side on worker processes, or in one).

:func:`run_study` builds the study (:func:`ionflow.study.build.build_study`), saves the
flow for ``ionflow aimd resume``, runs it into the configured JobStore with a log file and
progress lines, and returns the stored :class:`~ionflow.schemas.study_doc.StudyDoc` with
the outputs of every section. :func:`resume_run` runs what a killed run left undone.
Cluster submission builds the same Flow and gives it to FireWorks instead
(:mod:`ionflow.hpc.submit`). Earlier runs are never overwritten (new run id, new folders).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.config.bounds import MAX_MD_STEPS, check_md_memory
from ionflow.engines.registry import has_capability
from ionflow.errors import ConfigError, IonflowError
from ionflow.io.run_marker import new_marker, now_iso, read_marker, write_marker
from ionflow.makers.md_resume import pending_flow, save_flow
from ionflow.run.jobs import auto_workers, execute
from ionflow.schemas.study_doc import StudyDoc, strip_monty_keys
from ionflow.secrets import MaskingFormatter, mask
from ionflow.stores import open_job_store
from ionflow.study.build import BuiltStudy, build_study, new_run_id

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jobflow import Flow, JobStore

    from ionflow.config.study_file import Study
    from ionflow.settings import IonflowSettings

__all__ = [
    "JobFailure",
    "StudyRun",
    "check_study_bounds",
    "check_work_dir",
    "flow_output",
    "local_workers",
    "log_hint",
    "prepare_run_dirs",
    "resume_run",
    "run_flow_logged",
    "run_state",
    "run_study",
    "update_run_state",
]

logger = logging.getLogger(__name__)


def check_work_dir(work_dir: Path) -> Path:
    """Create the work directory if needed and check it is writable."""
    work_dir = Path(work_dir).expanduser().resolve()
    if work_dir.exists() and not work_dir.is_dir():
        raise ConfigError(f"work directory {work_dir} exists and is not a directory")
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        probe = work_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"work directory {work_dir} is not writable ({exc.strerror})") from None
    return work_dir


@dataclass(frozen=True)
class JobFailure:
    """A job that raised during a local run: its name and the exception's last line."""

    job: str
    error: str


_FAILED = " failed with exception:\n"


def _failure_of(message: str) -> JobFailure | None:
    """Parse jobflow's "<job> failed with exception" log record (None for other records)."""
    if _FAILED not in message:
        return None
    name, _, trace = message.partition(_FAILED)
    lines = [line.strip() for line in trace.splitlines() if line.strip()]
    return JobFailure(job=name, error=mask(lines[-1] if lines else "unknown error"))


class _ProgressHandler(logging.Handler):
    """Turn jobflow's "Starting/Finished job" log lines into a progress display.

    It also collects the jobs that raised (jobflow logs them at INFO and carries on).
    """

    def __init__(self, total: int, echo: Any, failures: list[JobFailure] | None = None) -> None:
        super().__init__(level=logging.INFO)
        self.total, self.done, self.echo = total, 0, echo
        self.failures = failures if failures is not None else []
        self.t0 = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("Starting job - "):
            name = msg.removeprefix("Starting job - ").rsplit(" (", 1)[0]
            elapsed = time.monotonic() - self.t0
            self.echo(f"[{self.done}/{self.total} done, {elapsed:5.0f} s] running {name} ...")
        elif msg.startswith("Finished job - "):
            self.done += 1
        elif (failure := _failure_of(msg)) is not None:
            self.failures.append(failure)
            self.echo(f"  FAILED {failure.job}: {failure.error}")


def prepare_run_dirs(settings: IonflowSettings, name: str, run_id: str) -> tuple[Path, Path]:
    """Create a new run folder and return it with the run's log file path.

    Parameters
    ----------
    settings
        ionflow settings (``runs_dir``, ``work_dir``).
    name
        Study name.
    run_id
        New run id; its folder must not exist yet (earlier runs are never reused).

    Returns
    -------
    tuple of Path
        ``<runs_dir>/<name>/<run_id>`` and ``<work_dir>/logs/<name>-<run_id>.log``.
    """
    run_dir = settings.runs_dir / name / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    log_dir = settings.work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return run_dir, log_dir / f"{name}-{run_id}.log"


def run_flow_logged(
    flow: Flow,
    store: JobStore,
    run_dir: Path,
    log_file: Path,
    echo: Callable[[str], Any],
    allow_external_references: bool = False,
    failures: list[JobFailure] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run a flow (:func:`ionflow.run.jobs.execute`), logging to ``log_file`` and echoing progress.

    jobflow's and ionflow's log records go to ``log_file``; each job start is echoed as
    ``[done/total done, elapsed s] running <job> ...``. Handlers and jobflow's log level
    are restored afterwards, also when the run raises.

    Parameters
    ----------
    flow
        The flow to run.
    store
        Open JobStore.
    run_dir
        Root folder of the job folders.
    log_file
        Log file (appended to).
    echo
        Callable for progress lines.
    allow_external_references
        Resolve references to jobs outside ``flow`` from the store (a resumed run).
    failures
        List to which every job that raised is appended (name, last line of the error).
    workers
        Worker processes (jobs side by side); 1 runs every job in this process.

    Returns
    -------
    dict
        jobflow's responses (uuid -> index -> Response).
    """
    jf_logger = logging.getLogger("jobflow")
    warn_logger = logging.getLogger("py.warnings")
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    progress = _ProgressHandler(len(list(flow.iterflow())), echo, failures)
    old_level, old_propagate = jf_logger.level, jf_logger.propagate
    old_warn_propagate = warn_logger.propagate
    # the terminal gets the progress lines; jobflow's INFO records and library warnings
    # (jobflow's cd deprecation, torch/CHGNet user warnings) go to the log file only,
    # unless the root logger was set to show them (--debug)
    quiet = logging.getLogger().getEffectiveLevel() > logging.INFO
    jf_logger.setLevel(logging.INFO)
    jf_logger.propagate = not quiet
    for handler in (file_handler, progress):
        jf_logger.addHandler(handler)
    logging.getLogger("ionflow").addHandler(file_handler)
    logging.captureWarnings(True)
    warn_logger.addHandler(file_handler)
    warn_logger.propagate = not quiet
    try:
        return execute(
            flow,
            store,
            run_dir,
            allow_external_references=allow_external_references,
            workers=workers,
            handlers=(file_handler, progress),
        )
    finally:
        for handler in (file_handler, progress):
            jf_logger.removeHandler(handler)
        logging.getLogger("ionflow").removeHandler(file_handler)
        warn_logger.removeHandler(file_handler)
        warn_logger.propagate = old_warn_propagate
        logging.captureWarnings(False)
        jf_logger.setLevel(old_level)
        jf_logger.propagate = old_propagate
        file_handler.close()


def flow_output(flow: Flow | Any, responses: dict[str, Any], label: str, see: str) -> Any:
    """Return the output of a flow's (or job's) output job, or say that it did not finish.

    Parameters
    ----------
    flow
        The flow (or job) that ran.
    responses
        What ``run_locally`` returned.
    label
        Run description for the error (``study X run Y``).
    see
        Where to look when it did not finish (the log file, the job folders).

    Returns
    -------
    Any
        The output of the job behind ``flow.output`` (its last response).
    """
    if flow.output.uuid not in responses:
        raise IonflowError(f"{label} did not finish; see {see}")
    return _output_of(flow, responses)


def _output_of(flow: Flow | Any, responses: dict[str, Any]) -> Any:
    """Return the last response's output of the job behind ``flow.output`` (None: not run)."""
    runs = responses.get(flow.output.uuid)
    return runs[max(runs)].output if runs else None


def log_hint(log_file: Path) -> str:
    """Return where to look after an unfinished local run (for :func:`flow_output`)."""
    return f"{log_file} (results of the jobs that did run are in the store)"


@dataclass
class StudyRun:
    """A finished local study run: its document and the raw output of every section."""

    doc: StudyDoc
    built: BuiltStudy
    run_dir: Path
    log_file: Path
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[JobFailure] = field(default_factory=list)
    #: the command that re-runs the jobs without a result (:func:`resume_run`)
    resume_command: str = ""

    @property
    def state(self) -> str:
        """COMPLETED (no job raised), PARTIAL (some did) or FAILED (no section has a result)."""
        return run_state(self.failures, self.doc)

    def failure_message(self) -> str | None:
        """One paragraph for a run with failed jobs (None when every job finished)."""
        if not self.failures:
            return None
        first = self.failures[0]
        return (
            f"study {self.doc.meta.study} run {self.doc.meta.run_id}: {self.state}, "
            f"{len(self.failures)} job(s) failed; first: {first.job}: {first.error}\n"
            f"log: {self.log_file}\nrun folder: {self.run_dir}\n"
            f"re-run the failed jobs: {self.resume_command}"
        )

    def section(self, section: str, key: str | None = None) -> Any:
        """Return the output of one section of one system (None if it failed).

        Parameters
        ----------
        section
            ``defects``, ``neb``, ``md`` or ``window``.
        key
            System key (default: the only system that ran the section).
        """
        keys = [k for k, outputs in self.sections.items() if section in outputs]
        if key is None:
            if len(keys) != 1:
                raise IonflowError(f"{len(keys)} systems ran {section}; name one ({keys})")
            key = keys[0]
        return self.sections.get(key, {}).get(section)


def run_state(failures: Sequence[JobFailure], doc: StudyDoc | None) -> str:
    """Return the state of a finished run: COMPLETED, PARTIAL (some jobs failed) or FAILED.

    FAILED when jobs failed and no system has a result of any requested section (or
    there is no document at all).
    """
    if not failures:
        return "COMPLETED" if doc is not None else "FAILED"
    if doc is None:
        return "FAILED"
    for system in doc.systems:
        done = set(system.sections) - set(system.missing_sections)
        if system.transport is not None and not system.transport.diffusion:
            done.discard("md")  # the summary ran, but no temperature produced frames
        if done:
            return "PARTIAL"
    return "FAILED"


def check_study_bounds(study: Study, built: BuiltStudy) -> None:
    """Refuse MD whose stored frames cannot fit in the available memory (before any job).

    Run-until-converged MD is sized by its longest allowed production (``max_time_ps``).
    """
    for plan in built.systems:
        md = study.system(plan.key).study.md
        if md is None or "md" not in plan.sections or not plan.n_atoms:
            continue
        steps = md.production_steps
        if md.converge is not None:
            steps = max(steps, int(md.converge.max_time_ps * 1000.0 / md.time_step_fs))
        label = f"{study.source_file or study.name}: {plan.key}.md"
        if steps > MAX_MD_STEPS:
            raise ConfigError(
                f"{label}: converge.max_time_ps asks for {steps:,} steps > {MAX_MD_STEPS:,}"
            )
        check_md_memory(label, steps, md.equilibration_steps, md.sampling_interval, plan.n_atoms)


def local_workers(settings: IonflowSettings, engine: str, store: JobStore) -> int:
    """Return the worker processes of a local run: the ``local_workers`` setting, else auto.

    Parameters
    ----------
    settings
        ionflow settings (``local_workers``; ``IONFLOW_LOCAL_WORKERS``).
    engine
        The study's engine; a DFT engine runs one job at a time.
    store
        The run's store (an in-memory one cannot be shared).

    Returns
    -------
    int
        At least 1.
    """
    if settings.local_workers is not None:
        return settings.local_workers
    return auto_workers(not has_capability(engine, "dft"), store)


def run_study(
    study: Study,
    settings: IonflowSettings,
    echo: Callable[[str], Any] = print,
    only: Sequence[str] | None = None,
) -> StudyRun:
    """Run a study locally and return its summary document and section outputs.

    Parameters
    ----------
    study
        The loaded study (quick applied or not).
    settings
        ionflow settings (work dir, store, engines).
    echo
        Callable used for progress lines.
    only
        Run only these sections (``ionflow run --only``); None: all.

    Returns
    -------
    StudyRun
        The stored :class:`StudyDoc` and the outputs of every section.
    """
    check_work_dir(settings.work_dir)
    store = open_job_store(settings)
    failures: list[JobFailure] = []
    try:
        built = build_study(study, settings, run_id=new_run_id(), only=only)
        check_study_bounds(study, built)
        meta = built.meta
        run_dir, log_file = prepare_run_dirs(settings, study.name, meta.run_id)
        save_flow(built.flow, run_dir)  # lets `ionflow aimd resume <run_dir>` continue a kill
        marker = new_marker(
            run_dir,
            settings.work_dir,
            log_file,
            study=study.name,
            run_id=meta.run_id,
            engine=meta.engine,
            host_formula=meta.host_formula,
            cell_formula=next((p.cell_formula for p in built.systems if p.cell_formula), None),
            defects=sorted({d for p in built.systems for d in p.meta.defect_labels}),
            temperatures_K=sorted({t for p in built.systems for t in p.meta.temperatures_K}),
        )
        write_marker(run_dir, marker)
        mode = " (--quick)" if study.quick else ""
        echo(
            f"study {study.name} run {meta.run_id}{mode}: engine {meta.engine}, {built.n_jobs} jobs"
        )
        for plan in built.systems:
            cell = (
                f"{plan.n_atoms}-atom cell {plan.cell.cell.composition.reduced_formula} "
                f"({', '.join(plan.cell.labels) or 'no defects'})"
                if plan.cell is not None
                else f"host {plan.host_formula}"
            )
            echo(f"  {plan.key}: {cell}; {', '.join(plan.sections)}")
        for key, reason in meta.skipped.items():
            echo(f"  not run: {key} ({reason})")
        workers = local_workers(settings, meta.engine, store)
        if workers > 1:
            echo(f"{workers} worker processes: jobs whose inputs are ready run side by side")
        echo(f"log: {log_file}")
        echo(f"run folder: {run_dir}")
        echo(f"resume after a kill: {marker['resume_command']}")
        try:
            responses = run_flow_logged(
                built.flow, store, run_dir, log_file, echo, failures=failures, workers=workers
            )
        except BaseException as exc:  # Ctrl-C, or a bug in jobflow itself
            _end_marker(run_dir, marker, "INTERRUPTED", failures, repr(exc))
            echo(f"run interrupted; resume it with: {marker['resume_command']}")
            raise
    finally:
        store.close()
    label = f"study {study.name} run {meta.run_id}"
    try:
        output = flow_output(built.flow, responses, label, log_hint(log_file))
    except IonflowError:
        _end_marker(run_dir, marker, "FAILED", failures)
        first = f"; first error: {failures[0].job}: {failures[0].error}" if failures else ""
        raise IonflowError(
            f"{label} did not finish{first}; log: {log_file}; re-run the failed jobs: "
            f"{marker['resume_command']}"
        ) from None
    doc = output if isinstance(output, StudyDoc) else StudyDoc.from_stored(output)
    sections = {
        plan.key: {name: _last_output(sub, responses) for name, sub in plan.section_flows.items()}
        for plan in built.systems
    }
    run = StudyRun(
        doc=doc,
        built=built,
        run_dir=run_dir,
        log_file=log_file,
        sections=sections,
        failures=failures,
        resume_command=marker["resume_command"],
    )
    _end_marker(run_dir, marker, run.state, failures)
    return run


def _end_marker(
    run_dir: Path,
    marker: dict[str, Any],
    state: str,
    failures: Sequence[JobFailure],
    error: str | None = None,
) -> None:
    """Record how a run ended in its state file (see :mod:`ionflow.io.run_marker`)."""
    marker.update(
        state=state,
        ended_at=now_iso(),
        failures=[{"job": f.job, "error": f.error} for f in failures],
    )
    if error:
        marker["error"] = mask(error)
    try:
        write_marker(run_dir, marker)
    except OSError as exc:  # the run's result is in the store; the state file is a courtesy
        logger.warning("could not update %s: %s", run_dir, exc)


def update_run_state(run_dir: Path, state: str, failures: Sequence[JobFailure] = ()) -> None:
    """Set the state of an earlier run after ``ionflow aimd resume`` (if it has a state file).

    Parameters
    ----------
    run_dir
        The run folder.
    state
        COMPLETED, PARTIAL or FAILED.
    failures
        The jobs that failed in the resume.
    """
    marker = read_marker(run_dir)
    if marker is not None:
        _end_marker(run_dir, marker, state, failures)


def _last_output(sub: Any, responses: dict[str, Any]) -> Any:
    output = _output_of(sub, responses)
    return strip_monty_keys(output) if isinstance(output, dict) else output


def resume_run(
    flow: Flow,
    store: JobStore,
    root_dir: Path,
    echo: Callable[[str], Any] = print,
    failures: list[JobFailure] | None = None,
) -> dict[str, Any]:
    """Run the jobs of a saved ``flow`` that have no final output in ``store`` yet.

    Parameters
    ----------
    flow
        The flow that was running (``ionflow.makers.md_resume.load_flow``).
    store
        The JobStore the first run wrote to.
    root_dir
        New folder for the job folders of this resume (its log file goes beside them).
    echo
        Callable for progress lines.
    failures
        List to which every job that raised is appended.

    Returns
    -------
    dict
        ``run_locally``'s responses of the jobs that ran (empty if nothing was left).
    """
    todo = pending_flow(flow, store)
    if todo is None:
        return {}
    root_dir.mkdir(parents=True, exist_ok=False)
    log_file = root_dir / "resume.log"
    # finished jobs are read from the store
    return run_flow_logged(
        todo, store, root_dir, log_file, echo, allow_external_references=True, failures=failures
    )
