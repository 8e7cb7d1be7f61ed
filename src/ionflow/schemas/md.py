"""Documents of chained MD: one per segment, the restart state between segments, convergence.

A production run at one temperature is a chain of segments. Each segment job stores a
:class:`MDSegmentDoc`; its trajectory goes to the JobStore's ``data`` store (jobflow
moves every pymatgen ``Trajectory`` there), so the main document holds only metadata
and the one-frame :class:`MDRestartState` the next segment starts from.

Frame convention (the same for every engine): the first segment of a temperature
stores the frames at global steps ``0, i, 2i, ..., n`` (``i`` = sampling interval);
every later segment starts at the previous one's last step ``s`` and stores
``s + i, ..., s + n`` only, so the concatenated segments have no duplicated and no
missing frame and a uniform time axis ``time_fs = step * time_step_fs``.
"""

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pymatgen.core import Structure

from ionflow.schemas.base import ThermostatK, TimeStepFs

__all__ = [
    "SCHEMA_VERSION",
    "ConvergenceSettings",
    "MDConvergenceDoc",
    "MDRestartState",
    "MDSegmentContinuation",
    "MDSegmentDoc",
    "MDSegmentSpec",
]

SCHEMA_VERSION = "1"

Phase = Literal["equilibration", "production"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class _VersionedDoc(_Doc):
    """Base of the stored MD documents: the layout version comes first."""

    schema_version: str = Field(SCHEMA_VERSION, description="Version of this document layout.")


class MDSegmentSpec(_Doc):
    """What one segment must run (fixed when the flow is built, or when it is extended)."""

    temperature_K: ThermostatK
    phase: Phase = Field(..., description="'equilibration' (not analysed) or 'production'.")
    index: int = Field(..., ge=0, description="Position of the segment in the chain (0-based).")
    first_step: int = Field(..., ge=0, description="Global MD step the segment starts from.")
    n_steps: int = Field(..., gt=0, description="MD steps to integrate in this segment.")
    time_step_fs: TimeStepFs
    traj_interval: int = Field(..., gt=0, description="MD steps between stored frames.")
    thermostat: str = Field(..., description="ionflow thermostat name.")
    seed: int | None = Field(None, description="Seed of the initial velocities / thermostat RNG.")
    start_temperature_K: float | None = Field(
        None, gt=0, description="Heating ramp: thermostat temperature at the segment start (K)."
    )
    checkpoint_dir: str = Field(..., description="Folder holding this segment's checkpoints.")
    checkpoint_every: int = Field(
        50, gt=0, description="Stored frames between checkpoints (MLIP engine)."
    )
    store_forces: bool = Field(False, description="Keep forces in the stored frames.")
    formula: str | None = Field(
        None, description="Formula of the simulated cell, checked against restart states."
    )

    @property
    def last_step(self) -> int:
        """Global MD step the segment ends at."""
        return self.first_step + self.n_steps

    @property
    def label(self) -> str:
        """Deterministic human-readable name, e.g. ``md 900K production 3``."""
        return f"md {self.temperature_K:g}K {self.phase} {self.index}"


class MDRestartState(_VersionedDoc):
    """Everything the next segment needs to continue the run (one frame, small).

    ``structure`` carries the velocities as the site property ``velocities`` in Å/fs,
    so any engine can start from it. ``engine_state`` holds what only the engine that
    wrote it understands, for an exact continuation: the thermostat variables and RNG
    state of the ASE integrators, or the text of CP2K's ``.restart`` file.
    """

    engine: str = Field(..., description="Engine that wrote the state.")
    step: int = Field(..., ge=0, description="Global MD step of the state.")
    time_fs: float = Field(..., ge=0, description="Simulated time of the state (fs).")
    temperature_K: ThermostatK
    structure: Structure = Field(
        ..., description="Positions and cell; site property 'velocities' in Å/fs."
    )
    engine_state: dict[str, Any] = Field(
        default_factory=dict,
        description="Engine-specific exact state (thermostat variables, RNG, restart files).",
    )
    wall_s_per_step: float | None = Field(
        None,
        ge=0,
        description="Measured wall time per MD step of the run that wrote the state (s); "
        "sizes the next segment to the queue job's remaining walltime.",
    )

    @field_validator("structure")
    @classmethod
    def _has_velocities(cls, structure: Structure) -> Structure:
        vel = structure.site_properties.get("velocities")
        if vel is None:
            raise ValueError("restart structure must carry 'velocities' (Å/fs)")
        for v in vel:
            if not all(math.isfinite(float(x)) for x in v):
                raise ValueError("restart velocities contain NaN/inf")
        return structure


class MDSegmentContinuation(_Doc):
    """Output of a segment job that stopped for the queue walltime (the rest follows).

    The job is replaced by a job running the same segment, which resumes from the
    checkpoint in a new queue job; its output (the whole segment) replaces this one.
    """

    kind: Literal["md_segment_continued"] = "md_segment_continued"
    label: str = Field(..., description="Segment label.")
    stopped_at_step: int = Field(..., ge=0, description="Global step checkpointed at the stop.")
    started_at_step: int = Field(..., ge=0, description="Global step the stopped attempt began.")
    wall_time_s: float = Field(..., ge=0, description="Wall time of the stopped attempt (s).")
    wall_s_per_step: float | None = Field(
        None, ge=0, description="Measured wall time per MD step of the attempt (s)."
    )


class MDSegmentDoc(_VersionedDoc):
    """Output of one MD segment: metadata, trajectory (data store) and restart state."""

    kind: Literal["md_segment"] = "md_segment"
    engine: str = Field(..., description="Engine name (mlip, vasp, cp2k).")
    spec: MDSegmentSpec = Field(..., description="What the segment was asked to run.")
    first_stored_step: int = Field(..., ge=0, description="Global step of the first stored frame.")
    last_step: int = Field(..., ge=0, description="Global step of the last stored frame.")
    n_frames: int = Field(..., ge=1, description="Frames stored for this segment.")
    start_time_fs: float = Field(..., ge=0, description="Time of the first stored frame (fs).")
    end_time_fs: float = Field(..., ge=0, description="Time of the last stored frame (fs).")
    mean_temperature_K: float | None = Field(
        None, description="Mean instantaneous temperature over the stored frames (K)."
    )
    wall_time_s: float = Field(..., ge=0, description="Wall time of this attempt (s).")
    attempts: int = Field(1, ge=1, description="Attempts it took (>1 after a resume).")
    resumed_from_step: int | None = Field(
        None, description="Global step the last attempt resumed from (None: fresh run)."
    )
    dir_name: str = Field(..., description="Folder the (last attempt of the) segment ran in.")
    trajectory: Any = Field(
        ..., description="pymatgen Trajectory of the stored frames (lives in the data store)."
    )
    restart: MDRestartState = Field(..., description="State at the last step.")
    warnings: list[str] = Field(default_factory=list, description="Caveats of this segment.")

    @model_validator(mode="after")
    def _check_frames(self) -> "MDSegmentDoc":
        if self.last_step < self.first_stored_step:
            raise ValueError("last_step must not precede first_stored_step")
        for name in ("start_time_fs", "end_time_fs", "wall_time_s", "mean_temperature_K"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} is not finite; NaN/inf are never stored")
        return self


class ConvergenceSettings(_Doc):
    """Run-until-converged: add production segments until D is known well enough."""

    target_rel_err: float = Field(
        0.2, gt=0, lt=1, description="Stop when the standard error of D / D is below this."
    )
    max_time_ps: float = Field(
        ..., gt=0, description="Stop when production reaches this simulated time (ps)."
    )
    extend_segments: int = Field(
        1, ge=1, description="Production segments added each time D is not converged."
    )
    not_diffusing_checks: int = Field(
        1,
        ge=1,
        description="Stop a temperature after this many consecutive checks found no diffusion.",
    )
    specie: str = Field("Li", description="Mobile species whose D is converged.")
    min_time_ps: float | None = Field(
        None, ge=0, description="Start of the MSD fit window (ps); None chooses automatically."
    )
    drift: Literal["framework", "all", "none"] = Field(
        "framework", description="Drift removal mode of the analysis."
    )


class MDConvergenceDoc(_VersionedDoc):
    """Decision of a run-until-converged check at one temperature."""

    temperature_K: float = Field(..., gt=0, description="Temperature (K).")
    status: Literal["converged", "max_time", "not_diffusing", "extend", "failed"] = Field(
        ..., description="Why the chain stopped (or 'extend' while it continues)."
    )
    round: int = Field(..., ge=0, description="Check number (0 = after the initial segments).")
    production_time_ps: float = Field(..., ge=0, description="Production time analysed (ps).")
    diffusivity_cm2_s: float | None = Field(None, description="D at this check (cm^2/s).")
    diffusivity_rel_err: float | None = Field(
        None, ge=0, description="Relative standard error sigma_D / D at this check."
    )
    target_rel_err: float = Field(..., gt=0, description="Target sigma_D / D.")
    max_time_ps: float = Field(..., gt=0, description="Production time cap (ps).")
    segment_uuids: list[str] = Field(
        default_factory=list, description="Job uuids of all segments of this temperature."
    )
    message: str = Field("", description="Human-readable summary of the decision.")
