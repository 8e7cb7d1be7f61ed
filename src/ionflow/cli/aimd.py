"""``ionflow aimd``: list chained MD segments in the store, resume a killed local run."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION, command_group, echo, progress, settings_for

__all__ = ["register", "segment_rows"]


def segment_rows(store, study: str | None = None) -> list[dict]:
    """One row per stored MD segment (latest index), sorted by run, temperature, index."""
    criteria: dict = {"output.kind": "md_segment"}
    if study:
        criteria["metadata.ionflow.study"] = study
    props = [
        "uuid",
        "index",
        "name",
        "metadata.ionflow.run_id",
        "output.spec.temperature_K",
        "output.spec.phase",
        "output.spec.index",
        "output.first_stored_step",
        "output.last_step",
        "output.n_frames",
        "output.attempts",
        "output.resumed_from_step",
        "output.wall_time_s",
        "output.engine",
    ]
    latest: dict[str, dict] = {}
    for doc in store.query(criteria, properties=props):
        if doc["uuid"] not in latest or doc["index"] > latest[doc["uuid"]]["index"]:
            latest[doc["uuid"]] = doc
    rows = []
    for doc in latest.values():
        out = doc["output"]
        rows.append(
            {
                "run_id": ((doc.get("metadata") or {}).get("ionflow") or {}).get("run_id"),
                "name": doc.get("name"),
                "engine": out.get("engine"),
                "temperature_K": out["spec"]["temperature_K"],
                "phase": out["spec"]["phase"],
                "segment": out["spec"]["index"],
                "steps": [out["first_stored_step"], out["last_step"]],
                "frames": out["n_frames"],
                "attempts": out["attempts"],
                "resumed_from_step": out.get("resumed_from_step"),
                "wall_time_s": round(out["wall_time_s"], 2),
                "uuid": doc["uuid"],
            }
        )
    rows.sort(key=lambda r: (str(r["run_id"]), r["temperature_K"], r["segment"]))
    return rows


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow aimd segments`` and ``ionflow aimd resume``."""
    aimd = command_group(app, "aimd", "Chained (AI)MD runs: segments, resume.")

    @aimd.command("segments")
    def segments(
        study: str | None = typer.Option(None, "--study", help="Only this study."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """List the stored MD segments: steps, frames, attempts, resumes, wall time."""
        from ionflow.stores import open_job_store as open_store

        store = open_store(settings_for(work_dir), must_exist=True)
        rows = segment_rows(store, study)
        store.close()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            echo("no MD segments in the store")
            return
        for r in rows:
            resumed = f", resumed at step {r['resumed_from_step']}" if r["attempts"] > 1 else ""
            echo(
                f"{r['run_id'] or '-'}  {r['temperature_K']:6g} K  {r['phase']:13s} "
                f"{r['segment']:3d}  steps {r['steps'][0]}-{r['steps'][1]}  {r['frames']} frames  "
                f"{r['attempts']} attempt(s){resumed}  {r['wall_time_s']} s"
            )

    @aimd.command("resume")
    def resume(
        run_dir: Path = typer.Argument(
            ..., help="Run folder of the killed run (holds flow.json.gz), or the flow file."
        ),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """Run what a killed local run left undone; segments continue from their checkpoints."""
        from ionflow.makers.md_resume import completed_job_uuids, load_flow
        from ionflow.run.local import resume_run, update_run_state
        from ionflow.stores import open_job_store
        from ionflow.study.build import new_run_id

        settings = settings_for(work_dir)
        flow = load_flow(run_dir)
        store = open_job_store(settings)
        n_done = len(completed_job_uuids(flow, store))
        n_all = len(list(flow.iterflow()))
        folder = Path(run_dir).expanduser().resolve()
        folder = folder if folder.is_dir() else folder.parent
        # a random suffix: two resumes within one second must not share (or crash on) a folder
        root = folder / f"resume-{new_run_id()}"
        progress(f"{flow.name}: {n_done} of {n_all} jobs done; running the rest in {root}")
        progress(f"if killed again: ionflow aimd resume {folder} -w {settings.work_dir}")
        failures: list = []
        try:
            resume_run(flow, store, root, echo=progress, failures=failures)
        finally:
            left = n_all - len(completed_job_uuids(flow, store))
            store.close()
        update_run_state(folder, "COMPLETED" if left == 0 and not failures else "PARTIAL", failures)
        if left == 0 and not failures:
            echo("resume finished")
            return
        first = f"; first error: {failures[0].job}: {failures[0].error}" if failures else ""
        typer.secho(
            f"resume ended with {left} jobs not done{first}\nlog: {root / 'resume.log'}\n"
            f"run folder: {folder}\nresume again: ionflow aimd resume {folder} "
            f"-w {settings.work_dir}",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(1)
