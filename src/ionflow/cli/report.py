"""``ionflow report STUDY``: render a study's report from the store alone."""

from __future__ import annotations

from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION
from ionflow.errors import StoreError
from ionflow.io.run_marker import effective_state, find_run_markers

__all__ = ["register"]


def _unfinished_hint(runs_dir: Path, study: str, run_id: str | None) -> str:
    """Name the local runs of ``study`` that stored no result yet, with their resume command."""
    runs = [
        m
        for m in find_run_markers(runs_dir)
        if m.get("study") == study and (run_id is None or m.get("run_id") == run_id)
    ]
    hints = [
        f"run {m['run_id']} is {effective_state(m)} (resume: {m['resume_command']})"
        for m in runs
        if effective_state(m) != "COMPLETED"
    ]
    return f"; {'; '.join(hints)}" if hints else ""


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow report``."""

    @app.command("report")
    def report(
        study: str = typer.Argument(..., help="Study name (see `ionflow query`)."),
        run_id: str | None = typer.Option(None, "--run-id", help="Run id (default: newest)."),
        out: Path | None = typer.Option(
            None, "--out", help="Output folder (default: <work_dir>/reports/<study>/<run_id>)."
        ),
        work_dir: Path | None = WORK_DIR_OPTION,
        compare_published: bool = typer.Option(
            False,
            "--compare-published",
            help="Design study: computed vs published DFT numbers, plots, which trends hold.",
        ),
    ) -> None:
        """Write report.md, summary.json and plots for a stored study run."""
        from ionflow.cli.common import settings_for
        from ionflow.report.design import write_design_report
        from ionflow.report.transport import write_transport_report
        from ionflow.results import load_study_doc
        from ionflow.stores import open_job_store

        settings = settings_for(work_dir)
        store = open_job_store(settings, must_exist=True)
        try:
            doc = load_study_doc(store, study, run_id)
        except StoreError as exc:
            raise StoreError(f"{exc}{_unfinished_hint(settings.runs_dir, study, run_id)}") from None
        finally:
            store.close()
        target = out or settings.reports_dir / doc.meta.study / doc.meta.run_id
        transport = doc.transport_only
        if transport is not None and not compare_published:
            folder = write_transport_report(transport, target)
        else:  # several systems or sections; --compare-published: computed vs published
            folder = write_design_report(doc, target)
        typer.echo(f"report: {folder / 'report.md'}")
