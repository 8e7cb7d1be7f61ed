"""Documents of a transport study: MD run metadata and the study summary."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ionflow.schemas.base import ThermostatK, TimeStepFs
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

__all__ = ["MDRunDoc", "StudyMeta", "TransportDoc"]

SCHEMA_VERSION = "1"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudyMeta(_Doc):
    """Identity of one run of one study; attached to every job as metadata."""

    study: str = Field(..., description="Study name from the study file.")
    run_id: str = Field(..., description="Unique id of this run of the study (timestamp + suffix).")
    host_formula: str = Field(..., description="Reduced formula of the host structure.")
    engine: str = Field(..., description="Engine name (mlip, vasp, cp2k).")
    engine_details: dict = Field(default_factory=dict, description="Engine model/settings.")
    defect_labels: list[str] = Field(default_factory=list, description="Defect labels in the cell.")
    temperatures_K: list[float] = Field(default_factory=list, description="MD temperatures (K).")
    work_dir: str = Field(..., description="ionflow work directory of the run.")
    study_file: str | None = Field(None, description="Study YAML the run came from.")


class MDRunDoc(_Doc):
    """Metadata of the MD at one temperature (the trajectory itself is in the data store)."""

    schema_version: str = SCHEMA_VERSION
    temperature_K: ThermostatK
    time_step_fs: TimeStepFs
    traj_interval: int = Field(..., gt=0, description="Steps between stored frames.")
    equilibration_steps: int = Field(..., ge=0, description="Steps excluded from analysis.")
    production_steps: int = Field(..., gt=0, description="Steps analysed.")
    segments: int = Field(1, ge=1, description="Chained MD segments making up the run.")
    engine: str = Field(..., description="Engine name.")
    segment_steps: int | None = Field(
        None, gt=0, description="MD steps per chained segment (None: one segment per phase)."
    )
    stop_reason: Literal["fixed_length", "converged", "max_time", "not_diffusing", "failed"] = (
        Field("fixed_length", description="Why production stopped (run-until-converged mode).")
    )
    segment_uuids: list[str] = Field(
        default_factory=list, description="Job uuids of all segments, equilibration first."
    )


class TransportDoc(_Doc):
    """Summary of one transport study run: per-temperature D, Arrhenius fit and report files."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["transport_study"] = "transport_study"
    meta: StudyMeta
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    n_atoms: int = Field(..., gt=0, description="Atoms in the simulated cell.")
    cell_formula: str = Field(..., description="Formula of the simulated (defect) cell.")
    volume_A3: float = Field(..., gt=0, description="Cell volume (Å^3).")
    relaxed_energy_eV: float | None = Field(None, description="Energy after relaxation (eV).")
    md_runs: list[MDRunDoc] = Field(default_factory=list)
    diffusion: list[DiffusionResult] = Field(default_factory=list, description="Per temperature.")
    missing_temperatures_K: list[float] = Field(
        default_factory=list, description="Temperatures whose MD or analysis failed."
    )
    arrhenius: ArrheniusResult | None = None
    hop_counts: list[HopCountResult] = Field(
        default_factory=list, description="Site-to-site hops per temperature."
    )
    hop_arrhenius: ArrheniusResult | None = Field(
        None,
        description=(
            "Arrhenius fit of the hop counts (Poisson likelihood over every temperature; "
            "D = rate·⟨d²⟩/6N, uncorrelated hops), with sigma(300 K) and its CI: the "
            "estimate that uses every hop."
        ),
    )
    report_dir: str | None = Field(None, description="Folder holding report.md and plots.")
    warnings: list[str] = Field(default_factory=list)
