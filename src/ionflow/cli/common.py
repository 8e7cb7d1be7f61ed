"""Helpers shared by CLI modules: settings from options, console output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.errors import IonflowError
from ionflow.settings import IonflowSettings, get_settings, reset_settings

if TYPE_CHECKING:
    from ionflow.config.study_file import Study
    from ionflow.run.local import StudyRun

__all__ = [
    "WORK_DIR_OPTION",
    "command_group",
    "echo",
    "exit_if_failed",
    "progress",
    "run_section",
    "settings_for",
]

WORK_DIR_OPTION = typer.Option(
    None,
    "--work-dir",
    "-w",
    help="ionflow work directory (runs, reports, logs, embedded store). "
    "Default: $IONFLOW_WORK_DIR or ./ionflow_work.",
)


def settings_for(work_dir: Path | None) -> IonflowSettings:
    """Return settings, with ``work_dir`` overriding the configured one when given."""
    reset_settings()
    if work_dir is not None:
        return get_settings(work_dir=Path(work_dir).expanduser().resolve())
    return get_settings()


def command_group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """Add the command group ``ionflow NAME`` to ``app`` and return it (help when bare)."""
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


_CONSOLE = None


def progress(message: str) -> None:
    """Print a progress or status line on stderr (stdout stays for results and --json)."""
    typer.echo(message, err=True)


def echo(message: str) -> None:
    """Print a progress or result line (rich console: colours on a terminal, plain in pipes)."""
    global _CONSOLE
    if _CONSOLE is None:
        from rich.console import Console

        _CONSOLE = Console(highlight=False, soft_wrap=True)
    _CONSOLE.print(message, markup=False)


def exit_if_failed(finished) -> None:
    """Exit with status 1 after a local run in which a job raised.

    The first error, the log, the run folder and the resume command go to stderr: a run
    with a failed job never ends with exit status 0.

    Parameters
    ----------
    finished
        The :class:`ionflow.run.local.StudyRun` returned by ``run_study``.
    """
    message = finished.failure_message()
    if message is None:
        return
    for line in message.splitlines():
        typer.secho(line, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def run_section(
    study: Study, settings: IonflowSettings, section: str, doc_type: Any, missing: str
) -> tuple[Any, StudyRun]:
    """Run one section of a study locally (``ionflow run --only SECTION``).

    A run whose section output did not come out at all exits 1 here with its first error
    (as ``ionflow run``); a document of a run with failed jobs is returned with the run,
    for the caller's :func:`exit_if_failed` after printing it.

    Parameters
    ----------
    study
        The loaded study.
    settings
        ionflow settings (work dir, store).
    section
        The section to run (``defects``, ``neb``, ...).
    doc_type
        The pydantic document class of the section's output.
    missing
        The start of the error when the output did not come out and no job raised
        (``; see <log file>`` is appended).

    Returns
    -------
    tuple
        The section's document (``doc_type``) and the finished run.
    """
    from ionflow.run.local import run_study

    finished = run_study(study, settings, echo=progress, only=[section])  # stdout: results
    output = finished.section(section)
    if output is None:
        exit_if_failed(finished)
        raise IonflowError(f"{missing}; see {finished.log_file}")
    if not isinstance(output, doc_type):
        output = doc_type.model_validate(output)
    return output, finished
