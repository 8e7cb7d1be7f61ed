"""``ionflow run STUDY.yaml [--quick] [--only SECTION]``: run a study locally with jobflow."""

from __future__ import annotations

from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION, exit_if_failed, progress, settings_for

__all__ = ["ONLY_OPTION", "QUICK_OPTION", "WORKERS_OPTION", "register", "run_study_file"]

QUICK_OPTION = typer.Option(
    False, "--quick", help="The file's reduced-scale 'quick:' settings (MLIP, small cells)."
)
ONLY_OPTION = typer.Option(
    None,
    "--only",
    help="Run only this section: defects, neb, md or window (repeat for several).",
)
WORKERS_OPTION = typer.Option(
    None,
    "--workers",
    min=1,
    help="Worker processes: jobs whose inputs are ready run side by side, each on "
    "cores/N threads. Default: $IONFLOW_LOCAL_WORKERS, else one per core (at most 4) for a "
    "machine-learned potential and 1 for a DFT engine.",
)


def run_study_file(
    study_path: Path,
    work_dir: Path | None,
    quick: bool = False,
    only: list[str] | None = None,
    workers: int | None = None,
):
    """Load any study file, run it locally and return the finished run.

    Returns
    -------
    ionflow.run.local.StudyRun
        The stored study document and every section's output.
    """
    from ionflow.config.study_file import load_study
    from ionflow.run.local import run_study

    settings = settings_for(work_dir)
    if workers is not None:
        settings = settings.model_copy(update={"local_workers": workers})
    study = load_study(study_path, quick=quick)
    # progress, the run folder and the resume command go to stderr; results to stdout
    return run_study(study, settings, echo=progress, only=only or None)


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow run``."""

    @app.command("run")
    def run(
        study: Path = typer.Argument(..., help="Study YAML file (see configs/studies/)."),
        work_dir: Path | None = WORK_DIR_OPTION,
        quick: bool = QUICK_OPTION,
        only: list[str] | None = ONLY_OPTION,
        workers: int | None = WORKERS_OPTION,
    ) -> None:
        """Run a study locally (jobflow run_locally) and store its results.

        Exit status 1 when a job failed (the summary of what did finish is printed first).
        """
        from ionflow.cli.study import print_study_summary

        finished = run_study_file(study, work_dir, quick=quick, only=only, workers=workers)
        print_study_summary(finished.doc)
        exit_if_failed(finished)
