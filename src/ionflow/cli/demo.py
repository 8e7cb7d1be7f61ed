"""``ionflow demo``: the embedded-default study (CHGNet + on-disk store), no cluster needed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION

__all__ = ["demo_study_path", "register"]


def demo_study_path(full: bool = False) -> Path:
    """Return the packaged demo study file (quick or full settings)."""
    name = "demo_li3ocl_full.yaml" if full else "demo_li3ocl.yaml"
    return Path(str(resources.files("ionflow.data").joinpath(name)))


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow demo``."""

    @app.command("demo")
    def demo(
        full: bool = typer.Option(
            False, "--full", help="Publication-like settings (hours; use a cluster node)."
        ),
        show: bool = typer.Option(False, "--show", help="Print the demo study file and exit."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """Li3OCl + Schottky pair: CHGNet relax, MD at 3 temperatures, Arrhenius, report."""
        from ionflow.cli.run import run_study_file
        from ionflow.cli.study import print_study_summary

        path = demo_study_path(full)
        if show:
            typer.echo(path.read_text())
            return
        print_study_summary(run_study_file(path, work_dir).doc)
