"""The one study builder: a :class:`~ionflow.config.study_file.Study` → one jobflow Flow.

For every system the cell is built once (:func:`ionflow.study.cell.build_cell`) and each
section it asks for becomes a sub-flow:

- ``defects`` (the ``formation`` section): :func:`ionflow.flows.defects.defects_flow_from_study`;
- ``neb``: :func:`ionflow.flows.neb.neb_flow_from_study` on the defect cell;
- ``md``: :class:`ionflow.flows.transport.TransportStudyMaker` on the defect cell (it also
  stores the system's :class:`~ionflow.schemas.study.TransportDoc`, which ``query`` lists);
- ``window``: :func:`ionflow.flows.window.window_flow_from_study` on the host.

The collector ``summarize study <name>`` runs even when some sections failed and outputs
the one result document, :class:`~ionflow.schemas.study_doc.StudyDoc`. ``ionflow run``
runs the flow locally (:mod:`ionflow.run.local`), ``ionflow submit`` sends the same flow
to FireWorks (:mod:`ionflow.hpc.submit`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobflow import Flow, OnMissing

from ionflow.config.engine import engine_for_study, engine_name_for_study
from ionflow.engines.registry import adapter_class
from ionflow.errors import ConfigError
from ionflow.flows.defects import defects_flow_from_study
from ionflow.flows.neb import neb_flow_from_study
from ionflow.flows.transport import TransportStudyMaker
from ionflow.flows.window import window_flow_from_study
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.study import summarize_study_run
from ionflow.schemas.study import StudyMeta
from ionflow.schemas.study_doc import StudyRunMeta
from ionflow.study.cell import SystemCell, build_cell, read_host

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Job

    from ionflow.config.study import StudyConfig
    from ionflow.config.study_file import Study, StudySystem
    from ionflow.settings import IonflowSettings

__all__ = ["BuiltStudy", "SystemPlan", "build_study", "engine_for_system", "new_run_id"]


def new_run_id() -> str:
    """Return a unique, sortable run id such as ``20261126-071500-3fa2``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class SystemPlan:
    """What the builder made of one system (for progress lines, dry runs and CLIs)."""

    key: str
    sections: list[str]
    meta: StudyMeta
    cell: SystemCell | None = None
    section_flows: dict[str, Flow | Job] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The system's study name (its metadata's ``study``)."""
        return self.meta.study

    @property
    def host_formula(self) -> str:
        """Reduced formula of the host (as in the metadata)."""
        return self.meta.host_formula

    @property
    def n_atoms(self) -> int | None:
        """Atoms in the simulation cell (None when no section uses one)."""
        return len(self.cell.cell) if self.cell is not None else None

    @property
    def cell_formula(self) -> str | None:
        """Formula of the simulation cell (None when no section uses one)."""
        return self.cell.cell_formula if self.cell is not None else None


@dataclass
class BuiltStudy:
    """The flow of one study run, its identity and the plan of every system."""

    flow: Flow
    meta: StudyRunMeta
    systems: list[SystemPlan]

    @property
    def n_jobs(self) -> int:
        """Jobs in the flow (before any dynamic replacement)."""
        return len(list(self.flow.iterflow()))

    def system(self, key: str) -> SystemPlan:
        """Return the plan of the system with this key."""
        return next(s for s in self.systems if s.key == key)


def engine_for_system(
    config: StudyConfig, settings: IonflowSettings, cell: SystemCell | None = None
) -> Any:
    """Return the system's engine (an engine that takes the cell's charge gets it)."""
    extra: dict[str, Any] = {}
    if cell is not None:  # CP2K's CHARGE; engines that read it from the structure: none
        name = engine_name_for_study(config, settings)
        extra = adapter_class(name).charge_options(round(cell.cell.charge))
    return engine_for_study(config, settings, **extra)


def _system_meta(
    config: StudyConfig,
    settings: IonflowSettings,
    run_id: str,
    host_formula: str,
    labels: list,
    study_file: str | None,
    engine: Any,
) -> StudyMeta:
    return StudyMeta(
        study=config.name,
        run_id=run_id,
        host_formula=host_formula,
        engine=engine_name_for_study(config, settings),
        engine_details=engine.describe(),
        defect_labels=list(labels),
        temperatures_K=list(config.md.temperatures_K) if config.md else [],
        work_dir=str(settings.work_dir),
        study_file=study_file,
    )


def _transport_flow(
    config: StudyConfig,
    settings: IonflowSettings,
    cell: SystemCell,
    meta: StudyMeta,
    engine: Any,
    subfolder: str = "",
) -> Flow:
    """Build the ``md`` section: relaxation, MD per temperature, D, Arrhenius, report.

    ``subfolder``: the transport report's folder below the run's (a one-system study with
    more sections than ``md`` writes its study report into the run's folder itself).
    """
    md_maker = MultiTemperatureMDMaker.from_config(
        engine,
        config.md,
        overrides=dict(config.engine_overrides),  # engine file's overrides merged under them
        analysis=config.analysis,
        checkpoint_dir=str(settings.work_dir / "md_checkpoints"),
    )
    maker = TransportStudyMaker(
        engine=engine,
        md_maker=md_maker,
        analysis=config.analysis,
        relax=config.relax.enabled,
        relax_fmax_eV_A=config.relax.fmax_eV_A,
        relax_max_steps=config.relax.max_steps,
        relax_cell=config.relax.relax_cell,
        engine_overrides=dict(config.engine_overrides),  # as for the MD
        report_dir=str(settings.reports_dir / config.name / meta.run_id / subfolder),
        extra_metadata={"ionflow_provenance": cell.provenance},
    )
    return maker.make(cell.cell, meta)


def _system(
    system: StudySystem,
    settings: IonflowSettings,
    run_id: str,
    only: Sequence[str] | None,
    unique_names: bool,
    study_file: str | None,
) -> tuple[SystemPlan, list[Flow | Job], dict[str, Any]]:
    """Build the sections of one system; return its plan, sub-flows and collector input."""
    config = system.study
    sections = [s for s in system.sections if only is None or s in only]
    engine = engine_for_system(config, settings)  # the adapter of every section but neb
    cell = build_cell(config) if {"md", "neb"} & set(sections) else None
    host = cell.host if cell is not None else read_host(config)
    host_formula = host.composition.reduced_formula
    labels = cell.labels if cell is not None else []
    meta = _system_meta(config, settings, run_id, host_formula, labels, study_file, engine)
    plan = SystemPlan(key=system.key, sections=sections, meta=meta, cell=cell)
    info: dict[str, Any] = {
        "key": system.key,
        "study": config.name,
        "notes": system.notes,
        "host_formula": host_formula,
        "cell_formula": plan.cell_formula,
        "n_atoms": plan.n_atoms,
        "defect_labels": list(labels),
        "sections": [],
    }
    jobs: list[Flow | Job] = []
    for section in sections:
        if section == "defects":
            sub = defects_flow_from_study(config, engine, host)
        elif section == "neb":  # the band runs on the defect cell: its charge, if it has one
            charged = engine_for_system(config, settings, cell)
            sub = neb_flow_from_study(config, cell.cell, charged, cell.supercell)
        elif section == "md":
            shared = not unique_names and sections != ["md"]  # same folder as the study report
            sub = _transport_flow(config, settings, cell, meta, engine, "md" if shared else "")
        else:
            sub = window_flow_from_study(config, host, engine)
        if unique_names:
            sub.append_name(f" [{system.key}]")
        sub.update_metadata({"ionflow": meta.model_dump(mode="json")})
        jobs.append(sub)
        plan.section_flows[section] = sub
        info[section] = sub.output
        info["sections"].append(section)
    return plan, jobs, info


def build_study(
    study: Study,
    settings: IonflowSettings,
    run_id: str | None = None,
    only: Sequence[str] | None = None,
) -> BuiltStudy:
    """Build the one Flow of a study run.

    Parameters
    ----------
    study
        The loaded study (:func:`ionflow.config.study_file.load_study`, quick applied or not).
    settings
        ionflow settings (engine default, work dir, reports dir).
    run_id
        Run id shared by every system (default: a new one).
    only
        Build only these sections (``defects``, ``neb``, ``md``, ``window``); None: all.

    Returns
    -------
    BuiltStudy
        The flow (output: :class:`~ionflow.schemas.study_doc.StudyDoc`), its metadata and
        the plan of every system.
    """
    run_id = run_id or new_run_id()
    if only is not None:
        asked = study.sections()
        unknown = sorted(set(only) - set(asked))
        if unknown or not only:
            raise ConfigError(
                f"study {study.name!r} has no section {', '.join(unknown) or '(none given)'} "
                f"to run with --only (its sections: {', '.join(asked) or 'none'})"
            )
    if not study.sections():
        raise ConfigError(
            f"study {study.name!r} has nothing to compute; add md, neb, formation or window"
        )
    jobs: list[Flow | Job] = []
    infos, plans = [], []
    for system in study.systems:
        if only is not None and not set(only) & set(system.sections):
            continue  # --only: this system has none of the asked sections
        # systems of a file with `systems:` tag their job names ("relax cell [vacancy]")
        tagged = system.key != "main"
        plan, sub_jobs, info = _system(system, settings, run_id, only, tagged, study.source_file)
        jobs += sub_jobs
        infos.append(info)
        plans.append(plan)
    first = plans[0].meta
    meta = StudyRunMeta(
        study=study.name,
        run_id=run_id,
        design=study.design,
        quick=study.quick,
        engine=first.engine,
        engine_details=dict(first.engine_details),
        host_formula="/".join(sorted({p.host_formula for p in plans})),
        systems=[p.key for p in plans],
        skipped=dict(study.skipped),
        work_dir=str(settings.work_dir),
        study_file=study.source_file,
        only=list(only) if only is not None else None,
    )
    # a one-system study with only `md` has the transport report as its report
    transport_only = len(plans) == 1 and plans[0].sections == ["md"]
    report_dir = None if transport_only else str(settings.reports_dir / study.name / run_id)
    summary = summarize_study_run(meta, infos, report_dir=report_dir)
    summary.name = f"summarize study {study.name}"
    summary.config.on_missing_references = OnMissing.NONE
    summary.update_metadata({"ionflow": {"study": study.name, "run_id": run_id}})
    flow = Flow([*jobs, summary], output=summary.output, name=f"study {study.name}")
    return BuiltStudy(flow=flow, meta=meta, systems=plans)
