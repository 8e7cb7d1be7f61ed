"""Run a design study (``configs/studies/*.yaml``) locally and read its summary back.

The counterpart of :func:`ionflow.runner.run_study` for design files: one jobflow Flow
with every system's sections (:func:`ionflow.flows.study.design_flow`), run with
``run_locally`` into the configured store, with progress lines and a log file. Earlier
runs are never overwritten (new run id, new folders).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ionflow.errors import IonflowError

if TYPE_CHECKING:
    from ionflow.config.design import DesignStudy
    from ionflow.schemas.study_composite import DesignStudyDoc
    from ionflow.settings import IonflowSettings

__all__ = ["run_design"]


def run_design(design: DesignStudy, settings: IonflowSettings, echo: Any = print) -> DesignStudyDoc:
    """Run every system of a design study and return the stored summary.

    Parameters
    ----------
    design
        The loaded design (``ionflow.config.design.load_design``, quick applied or not).
    settings
        ionflow settings (work dir, store, engines).
    echo
        Callable for progress lines.

    Returns
    -------
    DesignStudyDoc
        The design summary (its report is in ``report_dir``).
    """
    from jobflow import run_locally

    from ionflow.flows.study import design_flow
    from ionflow.makers.study import _as_model
    from ionflow.runner import _ProgressHandler, check_work_dir, new_run_id, open_store
    from ionflow.schemas.study_composite import DesignStudyDoc

    check_work_dir(settings.work_dir)
    store = open_store(settings)
    run_id = new_run_id()
    flow, meta = design_flow(design, settings, run_id)
    run_dir = settings.runs_dir / design.name / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    log_dir = settings.work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{design.name}-{run_id}.log"
    n_jobs = len(list(flow.iterflow()))
    mode = "--quick" if design.quick else "full settings"
    echo(
        f"design study {design.name} run {run_id} ({mode}): systems "
        f"{', '.join(meta.systems)}; engine {meta.engine}; {n_jobs} jobs"
    )
    for key, reason in meta.skipped.items():
        echo(f"  not run: {key} ({reason})")
    echo(f"log: {log_file}")
    jf_logger = logging.getLogger("jobflow")
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    progress = _ProgressHandler(n_jobs, echo)
    old_level = jf_logger.level
    jf_logger.setLevel(logging.INFO)
    for h in (handler, progress):
        jf_logger.addHandler(h)
    logging.getLogger("ionflow").addHandler(handler)
    try:
        responses = run_locally(flow, store=store, create_folders=True, root_dir=run_dir, log=False)
    finally:
        for h in (handler, progress):
            jf_logger.removeHandler(h)
        logging.getLogger("ionflow").removeHandler(handler)
        jf_logger.setLevel(old_level)
        handler.close()
        store.close()
    uuid = flow.output.uuid
    if uuid not in responses:
        raise IonflowError(
            f"design study {design.name} run {run_id} did not finish; see {log_file} "
            "(results of the jobs that did run are in the store)"
        )
    output = responses[uuid][max(responses[uuid])].output
    return _as_model(output, DesignStudyDoc)
