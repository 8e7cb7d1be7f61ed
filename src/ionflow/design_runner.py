"""Run a design study (``configs/studies/*.yaml``) locally and read its summary back.

The counterpart of :func:`ionflow.runner.run_study` for design files: one jobflow Flow
with every system's sections (:func:`ionflow.flows.study.design_flow`), run with
``run_locally`` into the configured store, with progress lines and a log file. Earlier
runs are never overwritten (new run id, new folders).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    from ionflow.flows.study import design_flow
    from ionflow.makers.study import _as_model
    from ionflow.runner import (
        check_work_dir,
        flow_output,
        log_hint,
        new_run_id,
        open_store,
        prepare_run_dirs,
        run_flow_logged,
    )
    from ionflow.schemas.study_composite import DesignStudyDoc

    check_work_dir(settings.work_dir)
    store = open_store(settings)
    try:
        run_id = new_run_id()
        flow, meta = design_flow(design, settings, run_id)
        run_dir, log_file = prepare_run_dirs(settings, design.name, run_id)
        n_jobs = len(list(flow.iterflow()))
        mode = "--quick" if design.quick else "full settings"
        echo(
            f"design study {design.name} run {run_id} ({mode}): systems "
            f"{', '.join(meta.systems)}; engine {meta.engine}; {n_jobs} jobs"
        )
        for key, reason in meta.skipped.items():
            echo(f"  not run: {key} ({reason})")
        echo(f"log: {log_file}")
        responses = run_flow_logged(flow, store, run_dir, log_file, echo)
    finally:
        store.close()
    label = f"design study {design.name} run {run_id}"
    output = flow_output(flow, responses, label, log_hint(log_file))
    return _as_model(output, DesignStudyDoc)
