"""Run a study locally with jobflow: build the cell, the flow, run it, read the result back.

This is what ``ionflow run`` and ``ionflow demo`` call. Cluster submission goes through
FireWorks instead (``ionflow submit``) but builds the flow with the same
:func:`build_study_flow`.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError, InputError, IonflowError

if TYPE_CHECKING:
    from jobflow import Flow, JobStore
    from pymatgen.core import Structure

    from ionflow.config.study import StudyConfig
    from ionflow.schemas.study import StudyDoc, StudyMeta
    from ionflow.settings import IonflowSettings

__all__ = [
    "build_cell",
    "build_study_flow",
    "check_work_dir",
    "flow_output",
    "log_hint",
    "new_run_id",
    "open_store",
    "prepare_run_dirs",
    "read_host",
    "run_flow_logged",
    "run_study",
]

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    """Return a unique, sortable run id such as ``20261126-071500-3fa2``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def read_host(config: StudyConfig) -> Structure:
    """Read or build the host structure of a study, with a clear error on failure."""
    from ionflow.io.structures import read_structure
    from ionflow.structures.prototypes import build_prototype

    section = config.structure
    if section.builtin is not None:
        return build_prototype(section.builtin, section.lattice_parameter_A, **section.parameters)
    return read_structure(section.file)


def build_cell(config: StudyConfig) -> tuple[Structure, list[str], dict[str, Any]]:
    """Build the simulation cell: host → supercell → defects.

    Returns
    -------
    tuple
        The cell, its defect labels and a provenance dict (supercell matrix, minimum
        image distance, Kröger–Vink labels, separations).
    """
    from ionflow.structures.defects import generate_defects
    from ionflow.structures.supercell import choose_supercell

    host = read_host(config)
    elements = {el.symbol for el in host.composition.elements}
    if config.analysis.specie not in elements and config.md is not None:
        raise InputError(
            f"mobile species {config.analysis.specie!r} is not in the structure "
            f"({', '.join(sorted(elements))}); set analysis.specie"
        )
    sc = config.supercell
    choice = choose_supercell(
        host, min_image_distance_A=sc.min_image_distance_A, max_atoms=sc.max_atoms, matrix=sc.matrix
    )
    cell = choice.structure
    labels: list[str] = []
    provenance: dict[str, Any] = {
        "host_formula": host.composition.reduced_formula,
        "supercell_matrix": [list(map(int, row)) for row in choice.matrix],
        "min_image_distance_A": float(choice.min_image_distance_A),
        "defects": [],
    }
    for spec in config.defects:
        configs = generate_defects(cell, spec)
        if not configs:
            raise InputError(
                f"defect {spec.model_dump(exclude_none=True)} produced no configuration"
            )
        chosen = configs[0]
        cell = chosen.structure
        labels.append(chosen.label)
        provenance["defects"].append(
            {
                "label": chosen.label,
                "kroger_vink": chosen.kroger_vink,
                "separation_A": chosen.separation_A,
                "charge": chosen.charge,
            }
        )
    return cell, labels, provenance


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


def open_store(settings: IonflowSettings) -> JobStore:
    """Build, connect and check the JobStore (see :func:`ionflow.stores.open_job_store`)."""
    from ionflow.stores import open_job_store

    return open_job_store(settings)


def build_study_flow(
    config: StudyConfig, settings: IonflowSettings, run_id: str | None = None
) -> tuple[Flow, StudyMeta, Structure]:
    """Build the jobflow Flow of a study (used by ``run`` and ``submit``).

    Returns
    -------
    tuple
        The flow, its metadata and the simulation cell.
    """
    from ionflow.engines.study_engine import engine_for_study, engine_name_for_study
    from ionflow.flows.study import build_composite_flow, needs_composite
    from ionflow.flows.transport import TransportStudyMaker
    from ionflow.makers.md import MultiTemperatureMDMaker
    from ionflow.schemas.study import StudyMeta

    if needs_composite(config):
        # defects / neb / window sections: one composite flow (output: DesignStudyDoc)
        return build_composite_flow(config, settings, run_id or new_run_id())
    if config.md is None:
        raise ConfigError(f"study {config.name!r} has no 'md' section; nothing to run")
    run_id = run_id or new_run_id()
    cell, labels, provenance = build_cell(config)
    engine_name = engine_name_for_study(config, settings)
    engine = engine_for_study(config, settings)
    md = config.md
    meta = StudyMeta(
        study=config.name,
        run_id=run_id,
        host_formula=provenance["host_formula"],
        engine=engine_name,
        engine_details=engine.describe(),
        defect_labels=labels,
        temperatures_K=list(md.temperatures_K),
        work_dir=str(settings.work_dir),
        study_file=None,
    )
    md_maker = MultiTemperatureMDMaker.from_config(
        engine,
        md,
        overrides=dict(config.engine_overrides),  # engine file's overrides merged under them
        analysis=config.analysis,
        checkpoint_dir=str(settings.work_dir / "md_checkpoints"),
    )
    report_dir = settings.reports_dir / config.name / run_id
    maker = TransportStudyMaker(
        engine=engine,
        md_maker=md_maker,
        analysis=config.analysis,
        relax=config.relax.enabled,
        relax_fmax_eV_A=config.relax.fmax_eV_A,
        relax_max_steps=config.relax.max_steps,
        relax_cell=config.relax.relax_cell,
        engine_overrides=dict(config.engine_overrides),  # as for the MD
        report_dir=str(report_dir),
        extra_metadata={"ionflow_provenance": provenance},
    )
    return maker.make(cell, meta), meta, cell


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
        Study (or design study) name.
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
    flow: Flow, store: JobStore, run_dir: Path, log_file: Path, echo: Any
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

    Returns
    -------
    dict
        jobflow's responses (uuid -> index -> Response).
    """
    from jobflow import run_locally

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
        return run_locally(flow, store=store, create_folders=True, root_dir=run_dir, log=False)
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


def flow_output(flow: Flow, responses: dict[str, Any], label: str, see: str) -> Any:
    """Return the output of a flow's last (output) job, or say that the run did not finish.

    Parameters
    ----------
    flow
        The flow that ran.
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
    uuid = flow.output.uuid
    if uuid not in responses:
        raise IonflowError(f"{label} did not finish; see {see}")
    return responses[uuid][max(responses[uuid])].output


def log_hint(log_file: Path) -> str:
    """Return where to look after an unfinished local run (for :func:`flow_output`)."""
    return f"{log_file} (results of the jobs that did run are in the store)"


def run_study(
    config: StudyConfig,
    settings: IonflowSettings,
    echo: Any = print,
    study_file: str | None = None,
) -> StudyDoc:
    """Run a study locally and return its summary document from the store.

    Parameters
    ----------
    config
        The validated study.
    settings
        ionflow settings (work dir, store, engines).
    echo
        Callable used for progress lines.
    study_file
        Path of the study YAML, recorded in the metadata.

    Returns
    -------
    StudyDoc
        The summary, as stored.
    """
    from ionflow.makers.md_resume import save_flow
    from ionflow.schemas.study import StudyDoc

    check_work_dir(settings.work_dir)
    store = open_store(settings)
    try:
        run_id = new_run_id()
        flow, meta, cell = build_study_flow(config, settings, run_id=run_id)
        if study_file:
            meta.study_file = study_file
            flow.update_metadata({"ionflow": meta.model_dump(mode="json")})
        run_dir, log_file = prepare_run_dirs(settings, config.name, run_id)
        save_flow(flow, run_dir)  # lets `ionflow aimd resume <run_dir>` continue a killed run
        n_jobs = len(list(flow.iterflow()))
        echo(
            f"study {config.name} run {run_id}: {len(cell)}-atom cell "
            f"{cell.composition.reduced_formula}"
            f" ({', '.join(meta.defect_labels) or 'no defects'}), engine {meta.engine}, "
            f"{n_jobs} jobs"
        )
        echo(f"log: {log_file}")
        responses = run_flow_logged(flow, store, run_dir, log_file, echo)
    finally:
        store.close()
    output = flow_output(flow, responses, f"study {config.name} run {run_id}", log_hint(log_file))
    if getattr(output, "kind", None) == "design_study":
        return output  # composite study: a DesignStudyDoc (ionflow.flows.study)
    return output if isinstance(output, StudyDoc) else StudyDoc.model_validate(output)
