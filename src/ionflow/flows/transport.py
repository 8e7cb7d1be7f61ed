"""The transport study: defect cell → relaxation → MD per temperature → D → Arrhenius → report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OnMissing

from ionflow.config.study import AnalysisSection
from ionflow.makers.cost import set_cost
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.makers.transport import analyze_md, count_md_hops, summarize_study

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.engines.base import EngineAdapter
    from ionflow.schemas.study import StudyMeta

__all__ = ["TransportStudyMaker"]


@dataclass
class TransportStudyMaker(Maker):
    """Relax a cell, run MD at several temperatures and summarise the transport.

    Parameters
    ----------
    name
        Flow name.
    engine
        Engine adapter used for the relaxation and the MD.
    md_maker
        The multi-temperature MD maker (its ``engine`` should be the same adapter).
    analysis
        Analysis options (mobile species, fit window, drift, target temperature).
    relax
        Run a relaxation first.
    relax_fmax_eV_A
        Force convergence of the relaxation (eV/Å).
    relax_max_steps
        Maximum relaxation steps.
    relax_cell
        Also relax the cell vectors (off for defect cells, whose host lattice is fixed).
    engine_overrides
        The study's engine overrides for the relaxation, as for the MD (INCAR keys for
        VASP, ``user_input_settings`` for CP2K; for mlip the engine keeps the keys
        atomate2's ForceFieldRelaxMaker has).
    report_dir
        Folder of the Markdown/PNG report; None: no files.
    extra_metadata
        Extra metadata of the summary job.
    """

    name: str = "transport study"
    engine: EngineAdapter | None = None
    md_maker: MultiTemperatureMDMaker | None = None
    analysis: AnalysisSection | None = None
    relax: bool = True
    relax_fmax_eV_A: float = 0.05
    relax_max_steps: int = 300
    relax_cell: bool = False
    engine_overrides: dict[str, Any] = field(default_factory=dict)
    report_dir: str | None = None
    extra_metadata: dict = field(default_factory=dict)

    def make(self, structure: Structure, meta: StudyMeta) -> Flow:
        """Build the study flow for one (defect) cell.

        Parameters
        ----------
        structure
            The simulation cell (already containing its defects).
        meta
            Study identity; attached to every job's metadata under ``ionflow``.

        Returns
        -------
        Flow
            The flow; its output is the :class:`~ionflow.schemas.study.TransportDoc`.
        """
        analysis = self.analysis or AnalysisSection()
        jobs = []
        cell = structure
        energy = None
        if self.relax:
            relax_job = self.engine.relax_maker(
                fmax_eV_A=self.relax_fmax_eV_A,
                max_steps=self.relax_max_steps,
                relax_cell=self.relax_cell,
                overrides=dict(self.engine_overrides),
            ).make(structure)
            relax_job.name = "relax cell"
            set_cost(relax_job, len(structure), self.relax_max_steps)
            jobs.append(relax_job)
            cell = relax_job.output.structure
            energy = relax_job.output.output.energy

        md_flow = self.md_maker.make(cell, n_atoms=len(structure))
        jobs.append(md_flow)
        md = self.md_maker
        skip = md.equilibration_steps // md.traj_interval
        results, hop_counts = [], []
        for i, temperature in enumerate(sorted(md.temperatures_K)):
            if md.converge is not None:
                # run-until-converged: the MD flow's last check already analysed all segments
                results.append(md_flow.output["diffusion"][i])
                continue
            run = {
                "temperature_K": float(temperature),
                "time_step_fs": md.time_step_fs,
                "traj_interval": md.traj_interval,
                "skip_frames": skip,
                "specie": analysis.specie,
                "drift": analysis.drift,
            }
            trajectories = md_flow.output["trajectories"][i]
            hops_job = count_md_hops(trajectories, **run)
            hops_job.name = f"count hops {float(temperature):g}K"
            jobs.append(hops_job)
            hop_counts.append(hops_job.output)
            analysis_job = analyze_md(trajectories, min_time_ps=analysis.min_time_ps, **run)
            analysis_job.name = f"analyze {float(temperature):g}K"
            jobs.append(analysis_job)
            results.append(analysis_job.output)

        summary = summarize_study(
            meta,
            cell,
            energy,
            md_flow.output["runs"],
            results,
            target_temperature_K=analysis.target_temperature_K,
            report_dir=self.report_dir,
            hop_counts=hop_counts,
        )
        summary.name = "summarize study"
        # one failed temperature must not discard the Arrhenius fit of the others
        summary.config.on_missing_references = OnMissing.NONE
        jobs.append(summary)
        flow = Flow(jobs, output=summary.output, name=f"{self.name} {meta.study}")
        flow.update_metadata({"ionflow": meta.model_dump(mode="json"), **self.extra_metadata})
        return flow
