"""Multi-temperature NVT MD: one run per temperature, fanned out from one structure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker

from ionflow.errors import ConfigError
from ionflow.schemas.study import MDRunDoc

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.engines.base import EngineAdapter

__all__ = ["MultiTemperatureMDMaker"]


@dataclass
class MultiTemperatureMDMaker(Maker):
    """Run NVT MD at several temperatures from the same starting structure.

    The flow's output is a dict with ``temperatures_K`` (sorted), ``runs`` (one
    :class:`~ionflow.schemas.study.MDRunDoc` per temperature) and ``trajectories``
    (per temperature, the list of trajectory segments in run order; they live in the
    JobStore's ``data`` store). Equilibration is part of the first segment and is
    described by ``equilibration_steps`` so the analysis can drop it.

    Parameters
    ----------
    name
        Flow name.
    engine
        Engine adapter (``ionflow.engines.get_engine``).
    temperatures_K
        Thermostat temperatures (K), all > 0.
    time_step_fs
        Integration time step (fs).
    equilibration_steps
        Steps at the start excluded from analysis.
    production_steps
        Steps analysed.
    traj_interval
        Store every n-th step.
    thermostat
        NVT thermostat name understood by the engine.
    seed
        Seed for the initial Maxwell–Boltzmann velocities.
    overrides
        Engine-specific settings passed through to the engine's MD maker.
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

    def __post_init__(self) -> None:
        if self.engine is None:
            raise ConfigError("MultiTemperatureMDMaker needs an engine adapter")
        bad = [t for t in self.temperatures_K if not t > 0]
        if bad:
            raise ConfigError(f"temperatures must be > 0 K, got {bad}")
        if len(set(self.temperatures_K)) != len(self.temperatures_K):
            raise ConfigError(f"duplicate temperatures in {self.temperatures_K}")
        if self.production_steps < 2 * self.traj_interval:
            raise ConfigError("production_steps must cover at least two stored frames")

    def make(self, structure: Structure, prev_dir: str | None = None) -> Flow:
        """Build the fan-out flow (one MD job per temperature)."""
        jobs, runs, trajectories = [], [], []
        temps = sorted(float(t) for t in self.temperatures_K)
        for temperature in temps:
            maker = self.engine.md_maker(
                temperature_K=temperature,
                n_steps=self.equilibration_steps + self.production_steps,
                time_step_fs=self.time_step_fs,
                thermostat=self.thermostat,
                seed=self.seed,
                traj_interval=self.traj_interval,
                overrides=self.overrides,
            )
            md_job = maker.make(structure, prev_dir=prev_dir)
            md_job.name = f"md {temperature:g}K"
            jobs.append(md_job)
            trajectories.append([md_job.output.objects["trajectory"]])
            runs.append(
                MDRunDoc(
                    temperature_K=temperature,
                    time_step_fs=self.time_step_fs,
                    traj_interval=self.traj_interval,
                    equilibration_steps=self.equilibration_steps,
                    production_steps=self.production_steps,
                    engine=self.engine.name,
                )
            )
        output = {"temperatures_K": temps, "runs": runs, "trajectories": trajectories}
        return Flow(jobs, output=output, name=self.name)
