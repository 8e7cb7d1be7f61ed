"""Run a study's Flow on this machine: the only place ionflow calls jobflow's ``run_locally``.

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

from jobflow import run_locally

from ionflow.errors import ConfigError, IonflowError
from ionflow.makers.md_resume import pending_flow, save_flow
from ionflow.schemas.study_doc import StudyDoc, strip_monty_keys
from ionflow.stores import open_job_store
from ionflow.study.build import BuiltStudy, build_study, new_run_id

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jobflow import Flow, JobStore

    from ionflow.config.study_file import Study
    from ionflow.settings import IonflowSettings

__all__ = [
    "StudyRun",
    "check_work_dir",
    "flow_output",
    "log_hint",
    "prepare_run_dirs",
    "resume_run",
    "run_flow_logged",
    "run_study",
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


class _ProgressHandler(logging.Handler):
    """Turn jobflow's "Starting/Finished job" log lines into a progress display."""

    def __init__(self, total: int, echo: Any) -> None:
        super().__init__(level=logging.INFO)
        self.total, self.done, self.echo = total, 0, echo
        self.t0 = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("Starting job - "):
            name = msg.removeprefix("Starting job - ").rsplit(" (", 1)[0]
            elapsed = time.monotonic() - self.t0
            self.echo(f"[{self.done}/{self.total} done, {elapsed:5.0f} s] running {name} ...")
        elif msg.startswith("Finished job - "):
            self.done += 1


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
) -> dict[str, Any]:
    """Run a flow with ``run_locally``, logging to ``log_file`` and echoing progress lines.

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

    Returns
    -------
    dict
        jobflow's responses (uuid -> index -> Response).
    """
    jf_logger = logging.getLogger("jobflow")
    warn_logger = logging.getLogger("py.warnings")
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    progress = _ProgressHandler(len(list(flow.iterflow())), echo)
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
        return run_locally(
            flow,
            store=store,
            create_folders=True,
            root_dir=run_dir,
            log=False,
            allow_external_references=allow_external_references,
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
    try:
        built = build_study(study, settings, run_id=new_run_id(), only=only)
        meta = built.meta
        run_dir, log_file = prepare_run_dirs(settings, study.name, meta.run_id)
        save_flow(built.flow, run_dir)  # lets `ionflow aimd resume <run_dir>` continue a kill
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
        echo(f"log: {log_file}")
        responses = run_flow_logged(built.flow, store, run_dir, log_file, echo)
    finally:
        store.close()
    label = f"study {study.name} run {meta.run_id}"
    output = flow_output(built.flow, responses, label, log_hint(log_file))
    doc = output if isinstance(output, StudyDoc) else StudyDoc.from_stored(output)
    sections = {
        plan.key: {name: _last_output(sub, responses) for name, sub in plan.section_flows.items()}
        for plan in built.systems
    }
    return StudyRun(doc=doc, built=built, run_dir=run_dir, log_file=log_file, sections=sections)


def _last_output(sub: Any, responses: dict[str, Any]) -> Any:
    output = _output_of(sub, responses)
    return strip_monty_keys(output) if isinstance(output, dict) else output


def resume_run(
    flow: Flow, store: JobStore, root_dir: Path, echo: Callable[[str], Any] = print
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
    return run_flow_logged(todo, store, root_dir, log_file, echo, allow_external_references=True)
