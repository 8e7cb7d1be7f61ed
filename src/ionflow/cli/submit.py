"""``ionflow submit`` and ``ionflow launch``: put a study on a launchpad, send queue jobs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION
from ionflow.cli.run import ONLY_OPTION, QUICK_OPTION

__all__ = ["register"]

CLUSTER_OPTION = typer.Option(
    ...,
    "--cluster",
    "-c",
    help="Cluster YAML, or a name in $IONFLOW_CLUSTERS_DIR, ~/.ionflow/clusters, configs/clusters.",
)


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow submit`` and ``ionflow launch``."""

    @app.command("submit")
    def submit(
        study: Path = typer.Argument(..., help="Study YAML file."),
        cluster: str = CLUSTER_OPTION,
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Print the jobs and queue script; touch nothing."
        ),
        write_inputs: Path | None = typer.Option(
            None,
            "--write-inputs",
            help="With --dry-run: write each job's engine inputs (INCAR, KPOINTS, POSCAR, "
            "POTCAR.spec; cp2k.inp; MLIP settings JSON) into this folder.",
        ),
        allow_duplicate: bool = typer.Option(
            False, "--allow-duplicate", help="Submit even if a run of this study is active."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        quick: bool = QUICK_OPTION,
        only: list[str] | None = ONLY_OPTION,
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """Add a study's workflow to the cluster's launchpad and print its workflow id."""
        from ionflow.cli.common import settings_for
        from ionflow.config.study_file import load_study
        from ionflow.errors import ConfigError
        from ionflow.hpc.config import load_cluster_config
        from ionflow.hpc.submit import plan_submission, submit_plan

        if write_inputs is not None and not dry_run:
            raise ConfigError("--write-inputs needs --dry-run (it writes inputs, submits nothing)")
        settings = settings_for(work_dir)
        loaded = load_study(study, quick=quick)
        cluster_cfg = load_cluster_config(cluster)
        plan = plan_submission(loaded, settings, cluster_cfg, only=only or None)
        for warning in plan.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if dry_run:
            for error in plan.errors:
                typer.echo(f"warning: submit would refuse this: {error}", err=True)
        inputs = []
        if write_inputs is not None:
            from ionflow.hpc.inputs import write_job_inputs

            inputs = write_job_inputs(plan.flow, write_inputs)
        if not dry_run:
            submit_plan(plan, cluster_cfg, settings, allow_duplicate=allow_duplicate)
        if as_json:
            out = {
                "dry_run": dry_run,
                "workflow_id": plan.workflow_id,
                "fw_ids": plan.fw_ids,
                "launchpad": plan.launchpad,
                "metadata": plan.metadata,
                "jobs": plan.jobs,
            }
            if dry_run:
                out["queue_script"] = plan.queue_script
                out["queue_scripts"] = plan.queue_scripts
                out["inputs"] = inputs
            out["warnings"] = plan.warnings
            out["errors"] = plan.errors
            typer.echo(json.dumps(out, indent=2, default=str))
            return
        meta = plan.metadata
        mode = " (--quick)" if meta["quick"] else ""
        typer.echo(f"study {meta['study']} run {meta['run_id']}{mode}: engine {meta['engine']}")
        for system in meta["system_cells"]:
            cell = (
                f"{system['n_atoms']}-atom {system['cell_formula']} "
                f"({', '.join(system['defect_labels']) or 'no defects'})"
                if system["n_atoms"] is not None
                else f"host {system['host_formula']}"
            )
            typer.echo(f"  {system['key']}: {cell}; {', '.join(system['sections'])}")
        for key, reason in meta["skipped"].items():
            typer.echo(f"  not run: {key} ({reason})")
        if meta["temperatures_K"]:
            typer.echo(f"MD temperatures: {', '.join(f'{t:g}' for t in meta['temperatures_K'])} K")
        typer.echo(f"launchpad: {plan.launchpad}")
        typer.echo(f"{len(plan.jobs)} jobs:")
        for job in plan.jobs:
            after = f"  (after {', '.join(job['parents'])})" if job["parents"] else ""
            kind = f"  [{job['kind']}]" if "kind" in job else ""
            typer.echo(f"  - {job['name']}{kind}{after}")
        if dry_run:
            if plan.queue_scripts:
                for kind, script in plan.queue_scripts.items():
                    typer.echo(f"queue script of {kind} jobs:")
                    typer.echo(script)
            else:
                typer.echo("queue script (one per queue job):")
                typer.echo(plan.queue_script)
            if inputs:
                typer.echo(f"engine inputs of {len(inputs)} jobs written to {write_inputs}")
            typer.echo("dry run: nothing was added to the launchpad")
            return
        typer.echo(
            f"workflow id: {plan.workflow_id} (Fireworks {plan.fw_ids[0]}-{plan.fw_ids[-1]})"
        )
        typer.echo(f"next: ionflow launch --cluster {cluster}")

    @app.command("launch")
    def launch(
        cluster: str = CLUSTER_OPTION,
        jobs: int = typer.Option(1, "--jobs", "-n", min=1, help="Most queue jobs to submit now."),
        fws_per_job: int = typer.Option(
            1, "--fws-per-job", min=0, help="Fireworks per queue job (0: until none is ready)."
        ),
        wait: int | None = typer.Option(
            None, "--wait", help="Keep jobs queued until this workflow id has finished."
        ),
        timeout_s: float = typer.Option(3600.0, "--timeout", help="Give up waiting after (s)."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """Send rockets to the queue for READY Fireworks (skips ones already pending)."""
        from ionflow.cli.common import settings_for
        from ionflow.hpc.config import load_cluster_config
        from ionflow.hpc.submit import launch_jobs, wait_for_workflow

        settings = settings_for(work_dir)
        cluster_cfg = load_cluster_config(cluster)
        if wait is not None:
            counts = wait_for_workflow(
                cluster_cfg, settings, wait, timeout_s, max_fws_per_job=fws_per_job, echo=typer.echo
            )
            typer.echo(f"workflow {wait}: {counts}")
            if set(counts) - {"COMPLETED"}:
                raise typer.Exit(1)
            return
        result = launch_jobs(cluster_cfg, settings, max_jobs=jobs, max_fws_per_job=fws_per_job)
        if not result.job_ids:
            typer.echo(
                f"nothing to launch: {result.ready} READY Firework(s), "
                f"{result.pending} queue job(s) already queued for them"
            )
            return
        for jid, folder, kind in zip(result.job_ids, result.launch_dirs, result.kinds, strict=True):
            typer.echo(f"queue job {jid}: {folder}" + (f" ({kind})" if kind else ""))
