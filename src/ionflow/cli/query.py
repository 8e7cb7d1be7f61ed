"""``ionflow query``: stored studies, jobs or key results, filtered; table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import typer

from ionflow.cli.common import WORK_DIR_OPTION

__all__ = ["register", "rows_to_csv"]

WHAT = ("studies", "jobs", "results")


def _fmt(v: float | None, spec: str = ".3g") -> str:
    return "—" if v is None else format(v, spec)


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(
            json.dumps(v, default=str, sort_keys=True) if isinstance(v, dict) else str(v)
            for v in value
        )
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    return "" if value is None else value


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """Return rows as CSV (lists joined with ';', nested dicts as JSON)."""
    if not rows:
        return ""
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_value(r.get(k)) for k in fields})
    return buf.getvalue()


def _launchpad_rows(
    cluster: str, work_dir: Path, study: str | None, what: str
) -> list[dict[str, Any]]:
    from ionflow.hpc.config import load_cluster_config
    from ionflow.hpc.launchpad import launchpad_session
    from ionflow.hpc.submit import list_fireworks, list_workflows

    cfg = load_cluster_config(cluster)
    with launchpad_session(cfg.launchpad, work_dir) as lp:
        return list_workflows(lp, study) if what == "studies" else list_fireworks(lp, study)


def _table(what: str, rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    if what == "studies":
        cols = ("study", "run id", "cell", "defects", "engine", "T (K)", "Ea (eV)", "σ300 (mS/cm)")
        for col in (*cols, "state"):
            table.add_column(col)
        for r in rows:
            ea = r["activation_energy_eV"]
            ea_s = "—" if ea is None else f"{ea:.3f} ± {_fmt(r['activation_energy_std_eV'], '.3f')}"
            table.add_row(
                r["study"], r["run_id"], r["cell_formula"], ", ".join(r["defects"]),
                r["engine"], ", ".join(f"{t:g}" for t in r["temperatures_K"]), ea_s,
                _fmt(r["conductivity_300K_mS_cm"]), r["state"],
            )  # fmt: skip
    elif what == "jobs":
        for col in ("study", "run id", "job", "T (K)", "fw", "state", "completed"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["study"], r["run_id"], r["job"], _fmt(r["temperature_K"], "g"),
                "—" if r.get("fw_id") is None else str(r["fw_id"]), r["state"],
                str(r["completed_at"] or "—"),
            )  # fmt: skip
    else:
        cols = ("study", "run id", "host", "Ea (eV)", "σ300 (mS/cm) [CI]", "barriers")
        for col in (*cols, "E_f (eV)"):
            table.add_column(col, overflow="fold")
        for r in rows:
            ea = r["activation_energy_eV"]
            ea_s = "—" if ea is None else f"{ea:.3f} ± {_fmt(r['activation_energy_std_eV'], '.3f')}"
            sigma = r["conductivity_300K_mS_cm"]
            lo, hi = r["conductivity_300K_ci_low_mS_cm"], r["conductivity_300K_ci_high_mS_cm"]
            sig_s = "—" if sigma is None else f"{sigma:.3g} [{_fmt(lo)}, {_fmt(hi)}]"
            barriers = ", ".join(f"{b['label']}: {b['value_eV']:.3f}" for b in r["barriers"])
            ef = ", ".join(
                f"{e['label']}: "
                + (
                    "not determined"
                    if e["formation_energy_eV"] is None
                    else f"{e['formation_energy_eV']:.3f}"
                )
                for e in r["formation_energies"]
            )
            table.add_row(
                r["study"], r["run_id"], r["host_formula"], ea_s, sig_s, barriers or "—", ef or "—"
            )
    return table


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow query``."""

    @app.command("query")
    def query(
        what: str = typer.Argument("studies", help="'studies', 'jobs' or 'results'."),
        study: str | None = typer.Option(None, "--study", help="Only this study name."),
        run_id: str | None = typer.Option(None, "--run-id", help="Only this run (jobs)."),
        formula: str | None = typer.Option(None, "--formula", help="Host formula (Li3OCl)."),
        defect: str | None = typer.Option(None, "--defect", help="Defect label (or part)."),
        engine: str | None = typer.Option(None, "--engine", help="mlip, vasp or cp2k."),
        t_min: float | None = typer.Option(None, "--t-min", help="Lowest temperature (K)."),
        t_max: float | None = typer.Option(None, "--t-max", help="Highest temperature (K)."),
        state: str | None = typer.Option(
            None, "--state", help="COMPLETED, READY, RUNNING, FIZZLED, ... (with --cluster)."
        ),
        cluster: str | None = typer.Option(
            None,
            "--cluster",
            "-c",
            help="Also show FireWorks states (studies, jobs) from this cluster.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """List stored study runs (Ea, sigma(300 K)), their jobs, or key results per study."""
        from rich.console import Console

        from ionflow.cli.common import settings_for
        from ionflow.errors import ConfigError, StoreMissingError
        from ionflow.results import (
            Filters,
            collect_results,
            list_jobs,
            list_studies,
            merge_launchpad_jobs,
            merge_launchpad_studies,
            merge_run_markers,
        )
        from ionflow.stores import describe_store, get_store_config, open_job_store

        if what not in WHAT:
            raise ConfigError(f"unknown query {what!r}; use {', '.join(WHAT)}")
        if as_json and as_csv:
            raise ConfigError("choose one of --json and --csv")
        filters = Filters(
            study=study, formula=formula, defect=defect, engine=engine,
            t_min_K=t_min, t_max_K=t_max, state=state,
        )  # fmt: skip
        settings = settings_for(work_dir)
        # The launchpad is read first: with --cluster it is the primary source, and a study
        # submitted but not yet finished has no result store to open.
        lp_rows = None
        if what != "results" and cluster is not None:
            lp_rows = _launchpad_rows(cluster, settings.work_dir, study, what)
            if run_id:
                lp_rows = [f for f in lp_rows if f.get("run_id") == run_id]
        no_state = Filters(**{**filters.__dict__, "state": None})
        store_filters = filters if cluster is None else no_state
        try:
            store = open_job_store(settings, create_indexes=False, must_exist=True)
        except StoreMissingError:
            if lp_rows is None or not Path(settings.work_dir).is_dir():
                raise
            store = None  # nothing has finished yet: the launchpad rows are all there is
        rows: list[dict[str, Any]] = []
        if store is not None:
            try:
                if what == "studies":
                    # local runs that stored no summary (killed, running) are listed too
                    rows = merge_run_markers(
                        list_studies(store, study, no_state), settings.runs_dir, store_filters
                    )
                elif what == "results":
                    rows = collect_results(store, filters)
                else:
                    rows = list_jobs(store, study, run_id, store_filters)
            finally:
                store.close()
        if lp_rows is not None:
            merge = merge_launchpad_studies if what == "studies" else merge_launchpad_jobs
            rows = merge(rows, lp_rows, filters)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, default=str))
            return
        if as_csv:
            typer.echo(rows_to_csv(rows), nl=False)
            return
        console = Console()
        where = describe_store(get_store_config(settings), settings.work_dir)
        if not rows:
            console.print(f"no {what} match in {where}")
            return
        console.print(_table(what, rows, f"ionflow {what} — {where}"))
        for r in rows if what == "studies" else []:
            if r.get("resume_command") and r["state"] != "COMPLETED":
                # one unwrapped line: the command must survive copy and paste
                console.print(
                    f"{r['study']} {r['run_id']} {r['state']}: {r['resume_command']}",
                    soft_wrap=True,
                    markup=False,
                    highlight=False,
                )
