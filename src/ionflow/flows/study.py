"""Composite studies: every section of a study (or of each system of a design study) in one Flow.

A study file may hold any of the sections ``formation`` (defect formation energies of
the ``defects`` list), ``neb`` (barriers of the hops in the defect cell), ``md``
(multi-temperature transport of the defect cell) and ``window`` (electrochemical
window of the host). :func:`system_flow` builds each section with the flow of the
engineer who owns it:

- ``formation``: :func:`ionflow.flows.defects.defects_flow_from_study` — every defect
  spec is its own configuration;
- ``neb``: :mod:`ionflow.flows.neb` (on the defect cell, i.e. the host supercell with all
  ``defects`` in it, as the MD uses);
- ``md``: the transport study of :func:`ionflow.runner.build_study_flow`, which also
  stores the system's own StudyDoc;
- ``window``: :func:`ionflow.flows.window.window_flow_from_study`.

:func:`design_flow` puts all systems of a design study side by side and adds the
``summarize design <name>`` collector (runs even when some sections failed), whose output
is the :class:`~ionflow.schemas.study_composite.DesignStudyDoc`. A plain study file with
more than an ``md`` section is a design of one system (:func:`build_composite_flow`).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from jobflow import Flow, OnMissing

from ionflow.config.design import DesignStudy, DesignSystem
from ionflow.errors import ConfigError
from ionflow.makers.study import summarize_design
from ionflow.schemas.study import StudyMeta
from ionflow.schemas.study_composite import DesignMeta

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

    from ionflow.config.study import StudyConfig
    from ionflow.settings import IonflowSettings

__all__ = [
    "SECTIONS",
    "build_composite_flow",
    "design_flow",
    "neb_available",
    "needs_composite",
    "study_sections",
    "system_flow",
]

logger = logging.getLogger(__name__)

#: result sections of a study, in the order their flows are added
SECTIONS = ("defects", "neb", "md", "window")


def study_sections(config: StudyConfig) -> list[str]:
    """Return the result sections a study asks for (``defects`` = formation energies)."""
    present = {
        "defects": config.formation is not None,
        "neb": config.neb is not None,
        "md": config.md is not None,
        "window": config.window is not None,
    }
    return [s for s in SECTIONS if present[s]]


def needs_composite(config: StudyConfig) -> bool:
    """Return True when a study has sections other than ``md``."""
    sections = study_sections(config)
    return bool(sections) and sections != ["md"]


def neb_available() -> bool:
    """Return True when the NEB study flow (:mod:`ionflow.flows.neb`) is installed."""
    return importlib.util.find_spec("ionflow.flows.neb") is not None


def _engine(config: StudyConfig, settings: IonflowSettings) -> Any:
    from ionflow.engines.study_engine import engine_for_study

    return engine_for_study(config, settings)


def _system_meta(
    config: StudyConfig, settings: IonflowSettings, run_id: str, host: Structure, labels: list
) -> StudyMeta:
    engine_name = config.engine or settings.engine
    return StudyMeta(
        study=config.name,
        run_id=run_id,
        host_formula=host.composition.reduced_formula,
        engine=engine_name,
        engine_details=_engine(config, settings).describe(),
        defect_labels=list(labels),
        temperatures_K=list(config.md.temperatures_K) if config.md else [],
        work_dir=str(settings.work_dir),
    )


def _neb_flow(config: StudyConfig, cell: Structure, settings: IonflowSettings) -> Flow | Job:
    """Build the NEB section on the defect cell through :mod:`ionflow.flows.neb`."""
    from ionflow.flows import neb as neb_flows

    builder = getattr(neb_flows, "neb_flow_from_study", None)
    if builder is None:
        raise ConfigError(
            "ionflow.flows.neb has no neb_flow_from_study(config, structure, engine); "
            "the neb section cannot be built"
        )
    return builder(config, cell, _engine(config, settings))


def system_flow(
    config: StudyConfig,
    settings: IonflowSettings,
    run_id: str,
    key: str = "main",
    notes: str = "",
) -> tuple[list[Flow | Job], dict[str, Any]]:
    """Build the sub-flows of one system and the references the collector needs.

    Parameters
    ----------
    config
        The system's study.
    settings
        ionflow settings (engine default, work dir).
    run_id
        Run id shared by the whole design run.
    key
        System key within the design.
    notes
        What the system stands for.

    Returns
    -------
    jobs, info
        The sub-flows, and the collector's input for this system (section outputs are
        output references).
    """
    from ionflow.runner import build_cell, build_study_flow, read_host

    sections = study_sections(config)
    if not sections:
        raise ConfigError(
            f"study {config.name!r} has nothing to compute; add md, neb, formation or window"
        )
    host = read_host(config)
    info: dict[str, Any] = {
        "key": key,
        "study": config.name,
        "notes": notes,
        "host_formula": host.composition.reduced_formula,
        "cell_formula": None,
        "n_atoms": None,
        "defect_labels": [],
        "sections": [],
    }
    subs: dict[str, Flow | Job] = {}
    cell = None
    if "md" in sections:  # the transport flow builds the defect cell; reuse it
        md_only = config.model_copy(update={"formation": None, "neb": None, "window": None})
        subs["md"], md_meta, cell = build_study_flow(md_only, settings, run_id=run_id)
        labels = md_meta.defect_labels
    elif "neb" in sections:
        cell, labels, _ = build_cell(config)
    if cell is not None:
        info.update(
            cell_formula=cell.composition.formula.replace(" ", ""),
            n_atoms=len(cell),
            defect_labels=list(labels),
        )
    meta = _system_meta(config, settings, run_id, host, info["defect_labels"])
    jobs: list[Flow | Job] = []
    for section in sections:
        if section == "neb" and not neb_available():
            logger.warning("%s: the neb section is skipped (ionflow.flows.neb missing)", key)
            info.setdefault("unavailable", {})["neb"] = "ionflow.flows.neb is not installed"
            continue
        if section == "defects":
            from ionflow.flows.defects import defects_flow_from_study

            sub = defects_flow_from_study(config, settings)
        elif section == "neb":
            sub = _neb_flow(config, cell, settings)
        elif section == "md":
            sub = subs["md"]
        else:
            from ionflow.flows.window import window_flow_from_study

            sub = window_flow_from_study(config, host, _engine(config, settings))
        if key != "main":  # unique job names across systems ("relax cell [vacancy]")
            sub.append_name(f" [{key}]")
        sub.update_metadata({"ionflow": meta.model_dump(mode="json")})
        jobs.append(sub)
        info[section] = sub.output
        info["sections"].append(section)
    return jobs, info


def design_flow(
    design: DesignStudy, settings: IonflowSettings, run_id: str, engine_name: str | None = None
) -> tuple[Flow, DesignMeta]:
    """Build the flow of a whole design study.

    Parameters
    ----------
    design
        The loaded design (``ionflow.config.design.load_design``).
    settings
        ionflow settings.
    run_id
        Run id of this run (shared by all systems).
    engine_name
        Engine recorded in the metadata (default: the first system's).

    Returns
    -------
    flow, meta
        The flow (output: DesignStudyDoc) and its metadata.
    """
    jobs: list[Flow | Job] = []
    infos = []
    for system in design.systems:
        sub_jobs, info = system_flow(
            system.study, settings, run_id, key=system.key, notes=system.notes
        )
        jobs += sub_jobs
        infos.append(info)
    first = design.systems[0].study
    engine = engine_name or first.engine or settings.engine
    hosts = sorted({i["host_formula"] for i in infos})
    skipped = dict(design.skipped)
    for info in infos:
        for section, reason in info.pop("unavailable", {}).items():
            skipped[f"{info['key']}.{section}"] = reason
    meta = DesignMeta(
        study=design.name,
        run_id=run_id,
        design=design.design,
        quick=design.quick,
        engine=engine,
        engine_details=_engine(first, settings).describe(),
        host_formula="/".join(hosts),
        systems=[s.key for s in design.systems],
        skipped=skipped,
        work_dir=str(settings.work_dir),
        study_file=design.source_file,
    )
    report_dir = settings.reports_dir / design.name / run_id
    summary = summarize_design(meta, infos, report_dir=str(report_dir))
    summary.name = f"summarize design {design.name}"
    summary.config.on_missing_references = OnMissing.NONE
    summary.update_metadata({"ionflow": {"study": design.name, "run_id": run_id}})
    flow = Flow([*jobs, summary], output=summary.output, name=f"design study {design.name}")
    return flow, meta


def build_composite_flow(
    config: StudyConfig, settings: IonflowSettings, run_id: str
) -> tuple[Flow, StudyMeta, Structure]:
    """Flow of one study file with more than an ``md`` section (a design of one system).

    Returns
    -------
    tuple
        The flow (output: DesignStudyDoc), a StudyMeta for submission tags and the cell
        (the defect cell when md/neb run, else the host).
    """
    from ionflow.runner import build_cell, read_host

    design = DesignStudy(
        name=config.name,
        description=config.description,
        systems=[DesignSystem(key="main", study=config, notes=config.description)],
    )
    flow, dmeta = design_flow(design, settings, run_id)
    if config.md is not None or config.neb is not None:
        cell, labels, _ = build_cell(config)
    else:
        cell, labels = read_host(config), []
    meta = StudyMeta(
        study=config.name,
        run_id=run_id,
        host_formula=dmeta.host_formula,
        engine=dmeta.engine,
        engine_details=dmeta.engine_details,
        defect_labels=labels,
        temperatures_K=list(config.md.temperatures_K) if config.md else [],
        work_dir=str(settings.work_dir),
    )
    return flow, meta, cell
