"""``ionflow run STUDY.yaml``: run a study locally with jobflow."""

from __future__ import annotations

from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION, echo, settings_for

__all__ = ["register"]


def run_and_print(study_path: Path, work_dir: Path | None, study_file: str | None = None) -> None:
    """Load, run and summarise one study file."""
    from ionflow.config.study import load_study
    from ionflow.runner import run_study

    settings = settings_for(work_dir)
    config = load_study(study_path)
    doc = run_study(config, settings, echo=echo, study_file=study_file or str(study_path))
    if getattr(doc, "kind", None) == "design_study":  # defects/neb/window sections
        from ionflow.cli.study import print_design_summary

        print_design_summary(doc)
        return
    print_summary(doc)


def print_summary(doc) -> None:
    """Print the key numbers of a study document."""
    fit = doc.arrhenius
    echo("")
    for r in doc.diffusion:
        d = f"{r.diffusivity_cm2_s:.3g} cm2/s" if r.diffusivity_cm2_s is not None else "n/a"
        echo(f"  {r.temperature_K:6g} K  D = {d}  diffusing: {'yes' if r.diffusing else 'no'}")
    if fit is not None and fit.activation_energy_eV is not None:
        echo(
            f"  Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV or 0:.3f} eV, "
            f"sigma({fit.target_temperature_K:g} K) = {fit.conductivity_at_target_mS_cm:.3g} mS/cm"
        )
    else:
        echo("  no Arrhenius fit (fewer than two diffusing temperatures)")
    if doc.missing_temperatures_K:
        echo(f"  missing temperatures: {doc.missing_temperatures_K}")
    echo(f"report: {Path(doc.report_dir) / 'report.md' if doc.report_dir else 'not written'}")


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow run``."""

    @app.command("run")
    def run(
        study: Path = typer.Argument(..., help="Study YAML file (see configs/studies/)."),
        work_dir: Path | None = WORK_DIR_OPTION,
        quick: bool = typer.Option(
            False, "--quick", help="Design studies: the file's reduced-scale 'quick' settings."
        ),
    ) -> None:
        """Run a study locally (jobflow run_locally) and store its results."""
        from ionflow.config.design import is_design_file

        if is_design_file(study):  # configs/studies/*.yaml: several systems
            from ionflow.cli.study import run_design_and_print

            run_design_and_print(study, work_dir, quick=quick)
            return
        if quick:
            from ionflow.errors import ConfigError

            raise ConfigError(
                f"{study}: --quick applies to design studies (a 'systems:' mapping with a "
                "'quick:' block, see configs/studies/)"
            )
        run_and_print(study, work_dir)
