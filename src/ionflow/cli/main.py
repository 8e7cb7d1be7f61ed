"""Entry point of the ``ionflow`` command.

Each feature keeps its commands in its own module ``ionflow.cli.<feature>`` with a
``register(app, analyze)`` function; ``app`` is the top-level typer app and ``analyze``
the ``ionflow analyze`` group. Modules listed in :data:`FEATURE_MODULES` that do not
exist yet are skipped, so a command is either real or absent, never a pretend one.

User-caused errors (:class:`ionflow.errors.IonflowError`) print one line and exit with
status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from ionflow import __version__
from ionflow.errors import IonflowError
from ionflow.secrets import MaskingFormatter, mask

try:  # typer >= 0.20 vendors click: its usage errors derive from typer.TyperException
    from typer import TyperException as _ClickError
except ImportError:  # older typer raises click's own exceptions
    from click import ClickException as _ClickError

__all__ = ["FEATURE_MODULES", "app", "main"]

FEATURE_MODULES = (
    "demo",
    "run",
    "query",
    "report",
    "analyze_diffusion",
    "analyze_neb",
    "analyze_defects",
    "analyze_window",
    "defects",
    "neb",
    "aimd",
    "submit",
    "rerun",
    "study",
)

app = typer.Typer(
    name="ionflow",
    help="Defect, NEB and MD transport studies of solid-state Li-ion electrolytes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
analyze = typer.Typer(
    help="Analyse existing outputs (trajectories, NEB folders, phase diagrams).",
    no_args_is_help=True,
)
app.add_typer(analyze, name="analyze")

_STATE = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ionflow {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logging."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Defect, NEB and MD transport studies of solid-state Li-ion electrolytes."""
    _STATE["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:  # warnings and --debug lines: no secrets
        if not isinstance(handler.formatter, MaskingFormatter):
            handler.setFormatter(MaskingFormatter(inner=handler.formatter or logging.Formatter()))


def _register_features() -> None:
    for name in FEATURE_MODULES:
        module_name = f"ionflow.cli.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app, analyze)


_register_features()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map user errors to a one-line message.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Process exit status.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # with standalone_mode=False click returns (not raises) the code of typer.Exit(n)
        status = app(args, prog_name="ionflow", standalone_mode=False)
    except IonflowError as exc:
        if debug:
            raise
        _error_line(f"error: {exc}")
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        # click usage errors (unknown option, missing argument, `-T abc`) are user errors:
        # typer >= 0.20 vendors click, so both click's and typer's exception bases are checked
        if isinstance(exc, _ClickError) and hasattr(exc, "format_message"):
            _error_line(f"error: {_usage_line(exc)}")
            return 2 if getattr(exc, "exit_code", 2) in (None, 2) else exc.exit_code
        if debug:
            raise
        _error_line(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        )
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return status if isinstance(status, int) else 0


def _usage_line(exc: Exception) -> str:
    """One line for a click usage error: the problem and where to find the usage."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "ionflow"
    return f"{message} (see `{command} --help`)"


def _error_line(message: str) -> None:
    """Print an error message on stderr with credentials masked."""
    typer.secho(mask(message), err=True, fg=typer.colors.RED)


if __name__ == "__main__":
    sys.exit(main())
