"""``ionflow neb run STUDY.yaml``: migration barriers of a study's defect cell.

The same as ``ionflow run STUDY.yaml --only neb`` (one builder, one local runner), with a
hop table: the defect cell is built as for every section (host → supercell → defects), the
hops of its mobile-species defects are enumerated (or the ``neb.endpoints`` files taken),
one CI-NEB runs per hop with the study's engine (results in the store), and it
prints one line per hop and the percolating path, and writes energy-profile PNGs under
``<work_dir>/reports/<study>/<run_id>/``. ``--dry-run`` only lists the hops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.cli.common import (
    WORK_DIR_OPTION,
    command_group,
    echo,
    exit_if_failed,
    run_section,
    settings_for,
)
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from ionflow.config.study_file import Study
    from ionflow.run.local import StudyRun
    from ionflow.schemas.neb import NebStudyDoc
    from ionflow.settings import IonflowSettings

__all__ = ["register", "run_neb_study"]


def _hops_of(flow: Any) -> list[dict]:
    """Return the hop table (label, kind, length, multiplicity) of a flow's NEB jobs."""
    from ionflow.schemas.neb import HopDoc

    seen: dict[str, HopDoc] = {}
    for job, _ in flow.iterflow():
        hop = job.function_kwargs.get("hop")
        if isinstance(hop, HopDoc):
            seen.setdefault(hop.label, hop)
    return [
        {
            "label": hop.label,
            "kind": hop.kind,
            "length_A": round(hop.length_A, 3),
            "multiplicity": hop.multiplicity,
        }
        for hop in seen.values()
    ]


def run_neb_study(
    study: Study, settings: IonflowSettings, dry_run: bool = False
) -> tuple[NebStudyDoc | None, Path | None, list[dict], StudyRun | None]:
    """Build (and unless ``dry_run`` run) the ``neb`` section of a study: ``run --only neb``.

    A run whose NEB summary did not come out at all exits 1 here (with its first error,
    as ``ionflow run``); a summary of a run with failed jobs is returned with the run, for
    the caller's :func:`~ionflow.cli.common.exit_if_failed` after printing it.

    Returns
    -------
    tuple
        The NEB summary document (None for a dry run), the report folder, the hop
        table (label, kind, length, multiplicity) of the flow and the finished run (None
        for a dry run).
    """
    from ionflow.report.plots_neb import plot_neb_profile, plot_neb_profiles
    from ionflow.schemas.neb import NebStudyDoc
    from ionflow.study.build import build_study

    if "neb" not in study.sections():
        raise ConfigError(f"study {study.name!r} has no 'neb' section; nothing to run")
    if dry_run:
        return None, None, _hops_of(build_study(study, settings, only=["neb"]).flow), None
    missing = f"the NEB section of {study.name} did not finish"
    doc, finished = run_section(study, settings, "neb", NebStudyDoc, missing)
    hops = _hops_of(finished.built.flow)
    report_dir = Path(finished.doc.report_dir)  # the study report's folder
    if doc.nebs:
        for neb in doc.nebs:
            name = neb.label.replace(" ", "_").replace("/", "-")
            plot_neb_profile(neb, report_dir / f"neb_{name}.png")
        plot_neb_profiles(doc.nebs, report_dir / "neb_profiles.png")
    return doc, report_dir, hops, finished


def _print(doc: NebStudyDoc, report_dir: Path) -> None:
    echo(f"NEB study {doc.label}: {len(doc.nebs)} band(s)")
    for neb in doc.nebs:
        hop = neb.hop
        geo = f"{hop.kind}, {hop.length_A:.2f} Å, x{hop.multiplicity}" if hop else "explicit"
        if neb.converged:
            echo(
                f"  {neb.label} ({geo}): forward {neb.barrier_forward_eV:.3f} eV, "
                f"backward {neb.barrier_backward_eV:.3f} eV"
            )
        else:
            echo(f"  {neb.label} ({geo}): {neb.message}")
    for label in doc.missing:
        echo(f"  {label}: FAILED (no band; see the job folder)")
    perc = doc.percolation
    if perc is not None and perc.percolating:
        echo(
            f"  percolating {perc.dimensionality}D network from {perc.barrier_eV:.3f} eV "
            f"(hops: {', '.join(perc.hops)})"
        )
    elif perc is not None:
        echo(f"  no percolating network: {perc.message}")
    echo(f"plots: {report_dir}")


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register the ``ionflow neb`` group (``ionflow neb run``)."""
    neb = command_group(app, "neb", "Migration barriers (CI-NEB) of a study's hops.")

    @neb.command("run")
    def run(
        study: Path = typer.Argument(..., help="Study YAML with a 'neb' section."),
        work_dir: Path | None = WORK_DIR_OPTION,
        dry_run: bool = typer.Option(False, "--dry-run", help="List the hops, run nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Enumerate the hops of the study's defect cell and run one CI-NEB per hop."""
        from ionflow.config.study_file import load_study

        settings = settings_for(work_dir)
        loaded = load_study(study)
        doc, report_dir, hops, finished = run_neb_study(loaded, settings, dry_run=dry_run)
        if doc is None:
            if as_json:
                echo(json.dumps(hops, indent=2))
            else:
                for h in hops:
                    echo(
                        f"  {h['label']}: {h['kind']}, {h['length_A']:.3f} Å, "
                        f"multiplicity {h['multiplicity']}"
                    )
            return
        if as_json:
            skip = {"nebs": {"__all__": {"hop": {"initial", "final"}}}}
            echo(doc.model_dump_json(indent=2, exclude=skip))
        else:
            _print(doc, report_dir)
        exit_if_failed(finished)
