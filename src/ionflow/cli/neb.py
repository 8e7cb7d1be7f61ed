"""``ionflow neb run STUDY.yaml``: migration barriers of a study's defect cell.

Builds the defect cell as ``ionflow run`` does (host → supercell → defects), enumerates the
hops of its mobile-species defects (or takes the ``neb.endpoints`` files), runs one CI-NEB
per hop with the study's engine (locally, jobflow ``run_locally``, results in the store),
prints one line per hop and the percolating path, and writes energy-profile PNGs under
``<work_dir>/reports/<study>/<run_id>/``. ``--dry-run`` only lists the hops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.cli.common import WORK_DIR_OPTION, echo, settings_for
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from ionflow.config.study import StudyConfig
    from ionflow.schemas.neb import NebStudyDoc
    from ionflow.settings import IonflowSettings

__all__ = ["register", "run_neb_study"]


def _engine(config: StudyConfig, settings: IonflowSettings, charge: int = 0) -> Any:
    from ionflow.config.engine import engine_for_study, engine_name_for_study
    from ionflow.engines.registry import adapter_class

    # engines that take the cell's charge as an adapter keyword (CP2K's CHARGE) get it
    extra = adapter_class(engine_name_for_study(config, settings)).charge_options(charge)
    return engine_for_study(config, settings, **extra)


def _cell(config: StudyConfig):
    from ionflow.runner import build_cell

    cell, _, _ = build_cell(config)
    return cell


def run_neb_study(
    config: StudyConfig, settings: IonflowSettings, dry_run: bool = False
) -> tuple[NebStudyDoc | None, Path | None, list[dict]]:
    """Build (and unless ``dry_run`` run) the NEB flow of a study.

    Returns
    -------
    tuple
        The summary document (None for a dry run), the report folder, and the hop table
        (label, kind, length, multiplicity) of the flow.
    """
    from jobflow import run_locally

    from ionflow.flows.neb import neb_flow_from_study
    from ionflow.runner import check_work_dir, flow_output, new_run_id, open_store
    from ionflow.schemas.neb import HopDoc, NebStudyDoc

    if config.neb is None:
        raise ConfigError(f"study {config.name!r} has no 'neb' section; nothing to run")
    cell = _cell(config)
    engine = _engine(config, settings, charge=round(cell.charge))
    flow = neb_flow_from_study(config, cell, engine)
    seen: dict[str, HopDoc] = {}
    for job, _ in flow.iterflow():
        hop = job.function_kwargs.get("hop")
        if isinstance(hop, HopDoc):
            seen.setdefault(hop.label, hop)
    hops = [
        {
            "label": hop.label,
            "kind": hop.kind,
            "length_A": round(hop.length_A, 3),
            "multiplicity": hop.multiplicity,
        }
        for hop in seen.values()
    ]
    if dry_run:
        return None, None, hops
    check_work_dir(settings.work_dir)
    store = open_store(settings)
    run_id = new_run_id()
    root = settings.runs_dir / config.name / run_id
    root.mkdir(parents=True, exist_ok=False)
    responses = run_locally(flow, store=store, create_folders=True, root_dir=root, log=False)
    label = f"NEB study {config.name} run {run_id}"
    out = flow_output(flow, responses, label, f"the job folders in {root}")
    doc = out if isinstance(out, NebStudyDoc) else NebStudyDoc.model_validate(out)
    report_dir = settings.reports_dir / config.name / run_id
    if doc.nebs:
        from ionflow.report.plots_neb import plot_neb_profile, plot_neb_profiles

        for neb in doc.nebs:
            name = neb.label.replace(" ", "_").replace("/", "-")
            plot_neb_profile(neb, report_dir / f"neb_{name}.png")
        plot_neb_profiles(doc.nebs, report_dir / "neb_profiles.png")
    store.close()
    return doc, report_dir, hops


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
    neb = typer.Typer(help="Migration barriers (CI-NEB) of a study's hops.", no_args_is_help=True)
    app.add_typer(neb, name="neb")

    @neb.command("run")
    def run(
        study: Path = typer.Argument(..., help="Study YAML with a 'neb' section."),
        work_dir: Path | None = WORK_DIR_OPTION,
        dry_run: bool = typer.Option(False, "--dry-run", help="List the hops, run nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Enumerate the hops of the study's defect cell and run one CI-NEB per hop."""
        from ionflow.config.study import load_study

        settings = settings_for(work_dir)
        config = load_study(study)
        doc, report_dir, hops = run_neb_study(config, settings, dry_run=dry_run)
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
