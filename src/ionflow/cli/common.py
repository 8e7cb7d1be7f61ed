"""Helpers shared by CLI modules: settings from options, console output."""

from __future__ import annotations

from pathlib import Path

import typer

from ionflow.settings import IonflowSettings, get_settings, reset_settings

__all__ = ["WORK_DIR_OPTION", "echo", "exit_if_failed", "progress", "settings_for"]

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
