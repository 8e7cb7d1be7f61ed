"""``ionflow query``: list stored studies or jobs with their state and key results."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION

__all__ = ["register"]


def _fmt(v: float | None, spec: str = ".3g") -> str:
    return "—" if v is None else format(v, spec)


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow query``."""

    @app.command("query")
    def query(
        what: str = typer.Argument("studies", help="'studies' or 'jobs'."),
        study: str | None = typer.Option(None, "--study", help="Only this study name."),
        run_id: str | None = typer.Option(None, "--run-id", help="Only this run (jobs)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """List stored study runs (Ea, sigma(300 K)) or their jobs."""
        from rich.console import Console
        from rich.table import Table

        from ionflow.cli.common import settings_for
        from ionflow.errors import ConfigError
        from ionflow.results import list_jobs, list_studies
        from ionflow.runner import open_store

        settings = settings_for(work_dir)
        if what not in ("studies", "jobs"):
            raise ConfigError(f"unknown query {what!r}; use 'studies' or 'jobs'")
        store = open_store(settings)
        try:
            rows = list_studies(store, study) if what == "studies" else list_jobs(store, study, run_id)
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        console = Console()
        if not rows:
            console.print(f"no {what} stored in {settings.work_dir}")
            return
        table = Table(title=f"ionflow {what} in {settings.work_dir}")
        if what == "studies":
            for col in ("study", "run id", "cell", "defects", "engine", "T (K)", "Ea (eV)",
                        "σ300 (mS/cm)", "state"):
                table.add_column(col)
            for r in rows:
                ea = r["activation_energy_eV"]
                ea_s = "—" if ea is None else f"{ea:.3f} ± {_fmt(r['activation_energy_std_eV'], '.3f')}"
                table.add_row(
                    r["study"], r["run_id"], r["cell_formula"], ", ".join(r["defects"]),
                    r["engine"], ", ".join(f"{t:g}" for t in r["temperatures_K"]), ea_s,
                    _fmt(r["conductivity_300K_mS_cm"]), r["state"],
                )
        else:
            for col in ("study", "run id", "job", "state", "completed"):
                table.add_column(col)
            for r in rows:
                table.add_row(r["study"], r["run_id"], r["job"], r["state"], r["completed_at"])
        console.print(table)
