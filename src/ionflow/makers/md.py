"""Multi-temperature NVT MD: a chain of restartable segments per temperature, fanned out.

For every temperature the maker builds a sub-flow of segment jobs (heating ramp and
equilibration first, then production), each at most ``segment_steps`` long so it fits
in a queue walltime and each starting from the previous segment's positions, velocities
and thermostat state. With ``converge`` set, a check job after the production segments
analyses D and adds segments until its relative error reaches the target, the time cap
is hit, or the temperature turns out not to diffuse.

The flow's output is a dict:

- ``temperatures_K``: sorted temperatures;
- ``runs``: one :class:`~ionflow.schemas.study.MDRunDoc` per temperature;
- ``trajectories``: per temperature, the trajectory references of the segments built
  with the flow, in run order (they live in the JobStore's ``data`` store; equilibration
  first, covering ``equilibration_steps // traj_interval`` frames after the first);
- ``diffusion``: per temperature, the converged
  :class:`~ionflow.schemas.transport.DiffusionResult` (``converge`` mode), else None;
- ``convergence``: per temperature, the final
  :class:`~ionflow.schemas.md.MDConvergenceDoc` (``converge`` mode), else None.
"""

from __future__ import annotations

import logging
import math
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker
from pymatgen.core import Structure

from ionflow.errors import ConfigError
from ionflow.makers.convergence import md_converge_check, md_run_doc
from ionflow.makers.cost import set_cost
from ionflow.makers.md_segments import md_segment, segment_checkpoint_dir, timestep_warning
from ionflow.schemas.md import ConvergenceSettings, MDSegmentSpec
from ionflow.schemas.study import MDRunDoc
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from ionflow.config.study import AnalysisSection, MdSection
    from ionflow.engines.base import EngineAdapter

__all__ = ["MAX_TIME_STEP_FS", "MIN_TIME_STEP_FS", "MultiTemperatureMDMaker", "plan_segments"]

logger = logging.getLogger(__name__)

#: time steps outside this range (fs) are errors for any engine and mass
MIN_TIME_STEP_FS = 0.01
MAX_TIME_STEP_FS = 10.0


def plan_segments(
    equilibration_steps: int,
    production_steps: int,
    segment_steps: int | None,
    heating_steps: int = 0,
) -> list[tuple[str, int, bool]]:
    """Split one temperature's run into segments.

    Parameters
    ----------
    equilibration_steps
        Steps excluded from analysis (the heating ramp included).
    production_steps
        Steps analysed.
    segment_steps
        Maximum steps per segment; None puts each phase in one segment.
    heating_steps
        Leading equilibration steps that ramp the thermostat (one segment).

    Returns
    -------
    list of tuple
        ``(phase, n_steps, is_heating)`` per segment, in run order.
    """
    plan: list[tuple[str, int, bool]] = []

    def _split(phase: str, total: int) -> None:
        size = segment_steps or total
        done = 0
        while done < total:
            n = min(size, total - done)
            plan.append((phase, n, False))
            done += n

    if heating_steps:
        plan.append(("equilibration", heating_steps, True))
    _split("equilibration", equilibration_steps - heating_steps)
    _split("production", production_steps)
    return plan


@dataclass
class MultiTemperatureMDMaker(Maker):
    """Run NVT MD at several temperatures, each as a chain of restartable segments.

    Parameters
    ----------
    name
        Flow name.
    engine
        Engine adapter (``ionflow.engines.get_engine``).
    temperatures_K
        Thermostat temperatures (K), all > 0 and distinct.
    time_step_fs
        Integration time step (fs).
    equilibration_steps
        Steps at the start excluded from analysis (includes ``heating_steps``).
    production_steps
        Steps analysed (the initial production in ``converge`` mode).
    traj_interval
        Store every n-th step; segment, equilibration and production lengths must be
        multiples of it.
    thermostat
        NVT thermostat: ``nose-hoover``, ``langevin``, ``berendsen`` (engine permitting).
    seed
        Seed for the initial Maxwell-Boltzmann velocities and thermostat noise.
    overrides
        Engine-specific settings passed through to the engine's MD maker.
    segment_steps
        Maximum MD steps per segment (pick it so a segment fits the queue walltime);
        None runs equilibration and production as one segment each.
    heating_steps
        Leading equilibration steps ramping the thermostat from ``heating_start_K``.
    heating_start_K
        Start of the heating ramp (K).
    converge
        Run-until-converged settings; None runs exactly ``production_steps``.
    checkpoint_dir
        Root folder of segment checkpoints (shared file system on a cluster); None uses
        ``<work_dir>/md_checkpoints``.
    checkpoint_every
        Stored frames between checkpoints of a running segment (MLIP engine).
    store_forces
        Keep forces in the stored frames (doubles the trajectory size).
    """

    name: str = "multi-temperature md"
    engine: EngineAdapter | None = None
    temperatures_K: list[float] = field(default_factory=lambda: [1000.0, 1200.0, 1400.0])
    time_step_fs: float = 2.0
    equilibration_steps: int = 100
    production_steps: int = 1000
    traj_interval: int = 1
    thermostat: str = "nose-hoover"
    seed: int | None = 42
    overrides: dict[str, Any] = field(default_factory=dict)
    segment_steps: int | None = None
    heating_steps: int = 0
    heating_start_K: float = 300.0
    converge: ConvergenceSettings | None = None
    checkpoint_dir: str | None = None
    checkpoint_every: int = 50
    store_forces: bool = False

    def __post_init__(self) -> None:
        if self.engine is None:
            raise ConfigError("MultiTemperatureMDMaker needs an engine adapter")
        temps = list(self.temperatures_K)
        if not temps:
            raise ConfigError("give at least one MD temperature")
        bad = [t for t in temps if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0)]
        if bad:
            raise ConfigError(f"temperatures must be finite and > 0 K, got {bad}")
        dup = sorted({t for t in temps if temps.count(t) > 1})
        if dup:
            raise ConfigError(f"duplicate temperatures {dup} in {temps}; list each once")
        dt = self.time_step_fs
        if not (math.isfinite(dt) and MIN_TIME_STEP_FS <= dt <= MAX_TIME_STEP_FS):
            raise ConfigError(
                f"time step {dt} fs is outside {MIN_TIME_STEP_FS}-{MAX_TIME_STEP_FS} fs; "
                "use 0.5-2 fs for Li conductors"
            )
        iv = self.traj_interval
        if iv < 1:
            raise ConfigError(f"traj_interval must be >= 1, got {iv}")
        for label, value in (
            ("equilibration_steps", self.equilibration_steps),
            ("production_steps", self.production_steps),
            ("heating_steps", self.heating_steps),
            ("segment_steps", self.segment_steps or iv),
        ):
            if value < 0 or value % iv:
                raise ConfigError(
                    f"{label} = {value} must be a non-negative multiple of traj_interval ({iv})"
                )
        if self.production_steps < 2 * iv:
            raise ConfigError("production_steps must cover at least two stored frames")
        if self.segment_steps is not None and self.segment_steps <= 0:
            raise ConfigError(f"segment_steps must be > 0, got {self.segment_steps}")
        if self.heating_steps > self.equilibration_steps:
            raise ConfigError("heating_steps is part of equilibration_steps and cannot exceed it")
        if self.segment_steps and self.heating_steps > self.segment_steps:
            raise ConfigError("heating_steps must fit in one segment (<= segment_steps)")
        if self.heating_steps and not self.heating_start_K > 0:
            raise ConfigError(f"heating_start_K must be > 0, got {self.heating_start_K}")
        if self.checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be >= 1 stored frame")
        if self.converge is not None:
            prod_ps = self.production_steps * dt / 1000.0
            if self.converge.max_time_ps < prod_ps:
                raise ConfigError(
                    f"converge.max_time_ps ({self.converge.max_time_ps:g} ps) is shorter than "
                    f"the initial production ({prod_ps:g} ps)"
                )

    @classmethod
    def from_config(
        cls,
        engine: EngineAdapter,
        md: MdSection,
        overrides: dict[str, Any] | None = None,
        analysis: AnalysisSection | None = None,
        **kwargs: Any,
    ) -> MultiTemperatureMDMaker:
        """Build the maker from a study file's ``md`` section.

        ``segments`` (production split into n pieces) is turned into ``segment_steps``
        unless ``segment_steps`` is given.

        Parameters
        ----------
        engine
            Engine adapter.
        md
            The validated ``md`` section.
        overrides
            Engine-specific overrides.
        analysis
            The study's analysis section: its specie, fit window and drift mode are used
            by ``converge`` unless the ``converge`` section sets them.
        **kwargs
            Further maker fields (e.g. ``checkpoint_dir``).

        Returns
        -------
        MultiTemperatureMDMaker
            The maker.
        """
        iv = md.sampling_interval
        segment_steps = md.segment_steps
        if segment_steps is None and md.segments > 1:
            per = -(-md.production_steps // md.segments)
            segment_steps = -(-per // iv) * iv
        converge = md.converge
        if converge is not None and analysis is not None:
            shared = {"specie", "min_time_ps", "drift"} - converge.model_fields_set
            converge = converge.model_copy(update={k: getattr(analysis, k) for k in shared})
        return cls(
            engine=engine,
            temperatures_K=list(md.temperatures_K),
            time_step_fs=md.time_step_fs,
            equilibration_steps=md.equilibration_steps,
            production_steps=md.production_steps,
            traj_interval=iv,
            thermostat=md.thermostat,
            seed=md.seed,
            overrides=dict(overrides or {}),
            segment_steps=segment_steps,
            heating_steps=md.heating_steps,
            heating_start_K=md.heating_start_K,
            converge=converge,
            checkpoint_every=md.checkpoint_every,
            **kwargs,
        )

    def make(
        self, structure: Structure | Any, prev_dir: str | None = None, n_atoms: int | None = None
    ) -> Flow:
        """Build the fan-out flow: one sub-flow of chained segments per temperature.

        Parameters
        ----------
        structure
            Starting cell (or a reference to one, e.g. a relaxation's output). A
            ``velocities`` site property (Å/fs) is used as the initial velocities.
        prev_dir
            Unused; keeps the common ``make(structure, prev_dir)`` signature.
        n_atoms
            Atoms in the cell, when ``structure`` is a reference: each segment's work
            estimate (:mod:`ionflow.makers.cost`) is atoms × steps. Without it (and without
            a structure) the segments carry no estimate.

        Returns
        -------
        Flow
            The flow; see the module docstring for its output.
        """
        formula = None
        if isinstance(structure, Structure):
            n_atoms = len(structure)
            formula = structure.composition.formula.replace(" ", "")
            species = {el.symbol for el in structure.composition.elements}
            message = timestep_warning(species, self.time_step_fs)
            if message:
                warnings.warn(message, UserWarning, stacklevel=2)
                logger.warning(message)
        root = self._checkpoint_root()
        plan = plan_segments(
            self.equilibration_steps, self.production_steps, self.segment_steps, self.heating_steps
        )
        n_equil = sum(1 for phase, _, _ in plan if phase == "equilibration")
        subflows, runs, trajectories, diffusion, convergence = [], [], [], [], []
        for temperature in sorted(float(t) for t in self.temperatures_K):
            sub, traj_refs, run, check = self._temperature_flow(
                structure, temperature, plan, root / f"{temperature:g}K", formula, n_equil, n_atoms
            )
            subflows.append(sub)
            trajectories.append(traj_refs)
            if check is None:
                runs.append(run)
                diffusion.append(None)
                convergence.append(None)
            else:
                runs.append(check.output["run"])
                diffusion.append(check.output["diffusion"])
                convergence.append(check.output["convergence"])
        output = {
            "temperatures_K": sorted(float(t) for t in self.temperatures_K),
            "runs": runs,
            "trajectories": trajectories,
            "diffusion": diffusion,
            "convergence": convergence,
        }
        return Flow(subflows, output=output, name=self.name)

    def _checkpoint_root(self) -> Path:
        if self.checkpoint_dir is not None:
            base = Path(self.checkpoint_dir)
        else:
            base = get_settings().work_dir / "md_checkpoints"
        # one folder per built flow: a rebuilt flow never picks up another run's state
        return base.expanduser().resolve() / uuid.uuid4().hex[:12]

    def _temperature_flow(
        self,
        structure: Any,
        temperature: float,
        plan: list[tuple[str, int, bool]],
        folder: Path,
        formula: str | None,
        n_equil: int,
        n_atoms: int | None,
    ) -> tuple[Flow, list[Any], MDRunDoc, Any]:
        maker = self.engine.md_maker(
            temperature_K=temperature,
            n_steps=plan[0][1],
            time_step_fs=self.time_step_fs,
            thermostat=self.thermostat,
            seed=self.seed,
            traj_interval=self.traj_interval,
            overrides=self.overrides,
        )
        jobs, traj_refs = [], []
        start: Any = structure
        step = 0
        spec = None
        for index, (phase, n_steps, heating) in enumerate(plan):
            spec = MDSegmentSpec(
                temperature_K=temperature,
                phase=phase,
                index=index,
                first_step=step,
                n_steps=n_steps,
                time_step_fs=self.time_step_fs,
                traj_interval=self.traj_interval,
                thermostat=self.thermostat,
                seed=self.seed,
                start_temperature_K=self.heating_start_K if heating else None,
                checkpoint_dir=segment_checkpoint_dir(folder, index),
                checkpoint_every=self.checkpoint_every,
                store_forces=self.store_forces,
                formula=formula,
            )
            seg = md_segment(maker, spec, start, self.engine.name)
            seg.name = spec.label
            if n_atoms:
                set_cost(seg, n_atoms, n_steps)
            jobs.append(seg)
            traj_refs.append(seg.output.trajectory)
            start = seg.output.restart
            step += n_steps
        segment_steps = self.segment_steps or self.production_steps
        run = md_run_doc(
            spec,
            self.engine.name,
            [j.uuid for j in jobs],
            equilibration_steps=self.equilibration_steps,
            production_steps=self.production_steps,
            segments=len(plan) - n_equil,
            segment_steps=self.segment_steps,
        )
        check = None
        if self.converge is not None:
            check = md_converge_check(
                list(traj_refs),
                maker,
                spec,
                self.engine.name,
                self.converge,
                [j.uuid for j in jobs],
                self.equilibration_steps,
                self.production_steps,
                segment_steps,
                n_equilibration_segments=n_equil,
            )
            check.name = f"md {temperature:g}K converge check 0"
            jobs.append(check)
        sub = Flow(jobs, name=f"md {temperature:g}K")
        return sub, traj_refs, run, check
