"""``ionflow demo``: the embedded-default study (CHGNet + on-disk store), no cluster needed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION
from ionflow.cli.run import WORKERS_OPTION

__all__ = ["demo_study_path", "register"]


#: (material, full) -> packaged study file
_DEMO_FILES = {
    ("lgps", False): "demo_lgps.yaml",
    ("lgps", True): "demo_lgps_full.yaml",
    ("li3ocl", False): "demo_li3ocl.yaml",
    ("li3ocl", True): "demo_li3ocl_full.yaml",
}


def demo_study_path(full: bool = False, li3ocl: bool = False) -> Path:
    """Return a packaged demo study file.

    Parameters
    ----------
    full
        The publication-like settings instead of the laptop-sized ones.
    li3ocl
        The Li3OCl Schottky-pair cell instead of the default LGPS cell.

    Returns
    -------
    Path
        The YAML study file inside the installed package.
    """
    name = _DEMO_FILES["li3ocl" if li3ocl else "lgps", full]
    return Path(str(resources.files("ionflow.data").joinpath(name)))


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow demo``."""

    @app.command("demo")
    def demo(
        full: bool = typer.Option(
            False, "--full", help="Publication-like settings (hours; use a cluster node)."
        ),
        li3ocl: bool = typer.Option(
            False,
            "--li3ocl",
            help="The Li3OCl Schottky-pair cell (hops too rarely for an Ea in the quick run).",
        ),
        show: bool = typer.Option(False, "--show", help="Print the demo study file and exit."),
        work_dir: Path | None = WORK_DIR_OPTION,
        workers: int | None = WORKERS_OPTION,
    ) -> None:
        """LGPS: CHGNet relax, CI-NEB, MD at 4 temperatures, Arrhenius, MD vs NEB, report."""
        from ionflow.cli.run import run_study_file
        from ionflow.cli.study import print_study_summary

        path = demo_study_path(full, li3ocl)
        if show:
            typer.echo(path.read_text())
            return
        print_study_summary(run_study_file(path, work_dir, workers=workers).doc)
