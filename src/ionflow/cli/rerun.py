"""``ionflow rerun``: list failed and lost work by error type, and rerun what you select."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION

__all__ = ["register"]

_STATES = {"fizzled": ("FIZZLED",), "lost": ("LOST",), "all": ("FIZZLED", "LOST")}


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow rerun``."""
    from ionflow.cli.submit import CLUSTER_OPTION

    @app.command("rerun")
    def rerun(
        cluster: str = CLUSTER_OPTION,
        state: str | None = typer.Option(
            None, "--state", help="fizzled, lost or all (default for listing: all)."
        ),
        error: str | None = typer.Option(
            None, "--error", help="Only error types containing this text (case-insensitive)."
        ),
        fw_ids: list[int] = typer.Option(
            [], "--id", help="Only this Firework id (repeat for more)."
        ),
        study: str | None = typer.Option(None, "--study", help="Only this study."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="List what would be rerun, grouped by error; change nothing."
        ),
        expiration_s: float = typer.Option(
            4 * 3600.0,
            "--expiration",
            help="Heartbeat age (s) after which a RUNNING launch outside a queue is lost.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """Find FIZZLED Fireworks and lost runs, group them by error, rerun the selected ones."""
        from ionflow.cli.common import settings_for
        from ionflow.errors import ConfigError
        from ionflow.hpc.config import load_cluster_config
        from ionflow.hpc.failures import find_failures, group_failures, rerun_failures
        from ionflow.hpc.launchpad import launchpad_session

        if state is not None and state.lower() not in _STATES:
            raise ConfigError(f"unknown --state {state!r}; use fizzled, lost or all")
        if not dry_run and state is None and error is None and not fw_ids:
            raise ConfigError(
                "choose what to rerun with --state, --error or --id (list it first with --dry-run)"
            )
        settings = settings_for(work_dir)
        cluster_cfg = load_cluster_config(cluster)
        states = _STATES[(state or "all").lower()]
        store = None
        if not dry_run:
            from ionflow.stores import open_job_store

            store = open_job_store(settings)
        try:
            with launchpad_session(cluster_cfg.launchpad, settings.work_dir) as lp:
                failures = find_failures(
                    lp, states=states, study=study, fw_ids=fw_ids or None, expiration_s=expiration_s
                )
                if error:
                    failures = [f for f in failures if error.lower() in f.error_type.lower()]
                records = [] if dry_run else rerun_failures(lp, failures, store=store)
        finally:
            if store is not None:
                store.close()
        groups = group_failures(failures)
        if as_json:
            out = {
                "dry_run": dry_run,
                "groups": {k: [r.as_row() for r in v] for k, v in groups.items()},
                "rerun": records,
            }
            typer.echo(json.dumps(out, indent=2, default=str))
            return
        _print_groups(groups, dry_run)
        if not failures:
            return
        if dry_run:
            typer.echo("dry run: nothing changed; rerun with --state/--error/--id")
        else:
            ids = ", ".join(str(r["fw_id"]) for r in records)
            typer.echo(f"set back to READY: Fireworks {ids} (earlier attempts kept)")
            typer.echo(f"next: ionflow launch --cluster {cluster}")


def _print_groups(groups: dict, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from ionflow.hpc.failures import format_changes

    console = Console()
    if not groups:
        console.print("no failed or lost Fireworks")
        return
    table = Table(title="failed work by error type" + (" (dry run)" if dry_run else ""))
    for col in ("error type", "n", "fw ids", "study", "state", "attempts", "example error"):
        table.add_column(col, overflow="fold")
    changes = Table(title="what the rerun changes, per job")
    for col in ("fw id", "job", "change"):
        changes.add_column(col, overflow="fold")
    for error_type, runs in groups.items():
        table.add_row(
            error_type,
            str(len(runs)),
            ", ".join(str(r.fw_id) for r in runs),
            ", ".join(sorted({r.study or "-" for r in runs})),
            ", ".join(sorted({r.state for r in runs})),
            str(max(r.attempts for r in runs)),
            runs[0].error[:160],
        )
        for run in runs:
            changes.add_row(str(run.fw_id), run.name, format_changes(run.changes))
    console.print(table)
    console.print(changes)
