"""The result document of a study run: one :class:`StudyDoc` with one :class:`SystemDoc` each.

Every ``ionflow run STUDY.yaml`` (and every submitted study) ends in one
:class:`StudyDoc` (schema version 2): for every system a :class:`SystemDoc` with the
transport summary (the system's own :class:`~ionflow.schemas.study.TransportDoc`, also
stored on its own, which is what ``ionflow query`` lists), slim rows of the defect
formation energies, of the NEB barriers and of the electrochemical window. Structures,
images and trajectories stay in the sub-documents and the ``data`` store, so this document
stays small. Every float is finite or None.

Documents written by earlier releases load through :meth:`StudyDoc.from_stored`: a
version-1 transport summary (``kind: transport_study``, the output of a study with only
an ``md`` section) becomes a study of one system ``main``; a version-1 design summary
(``kind: design_study``) keeps its systems.
"""

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ionflow.schemas.md_neb import MdNebCheck
from ionflow.schemas.study import TransportDoc

__all__ = [
    "SCHEMA_VERSION",
    "STUDY_DOC_KINDS",
    "DefectRow",
    "HopRow",
    "StudyDoc",
    "StudyRunMeta",
    "SystemDoc",
    "WindowSummary",
    "as_model",
    "strip_monty_keys",
]

SCHEMA_VERSION = "2"

#: ``kind`` of every top-level study document ever stored, newest first
STUDY_DOC_KINDS = ("study", "design_study", "transport_study")


def _check_finite(model: BaseModel) -> None:
    for name, value in model:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} is {value}; NaN/inf are never stored")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _finite(self) -> "_Doc":
        _check_finite(self)
        return self


class DefectRow(_Doc):
    """Formation (and binding) energy of one defect configuration."""

    label: str = Field(..., description="Configuration label, e.g. 'S_Cl+Li_i_d4.43'.")
    kroger_vink: str = Field("", description="Kröger-Vink notation.")
    role: str = Field(
        "requested",
        description="'requested' (asked for); 'part'/'reference': computed for binding energies.",
    )
    charge: int = Field(0, description="Supercell charge (e).")
    formation_energy_eV: float | None = Field(
        ..., description="Formation energy (eV); None when not determined."
    )
    raw_formation_energy_eV: float | None = Field(
        None, description="The computed formation energy, also when it is not a result (eV)."
    )
    formation_energy_reason: str | None = Field(
        None, description="Why the formation energy is not determined (None when it is)."
    )
    binding_energy_eV: float | None = Field(None, description="Cluster binding energy (eV).")
    binding_energy_reason: str | None = Field(
        None, description="Why the binding energy is not determined (None when it is or none)."
    )
    separation_A: float | None = Field(None, description="Unrelaxed defect separation (Å).")
    relaxed_separation_A: float | None = Field(None, description="Relaxed separation (Å).")
    multiplicity: int = Field(1, ge=1, description="Equivalent configurations in the cell.")
    cell_volume_A3: float | None = Field(None, gt=0, description="Defect supercell volume (Å³).")


class HopRow(_Doc):
    """Barrier of one NEB hop (None when the band did not converge)."""

    label: str = Field(..., description="Hop label, e.g. 'Li_i hop 2'.")
    kind: str = Field(..., description="vacancy, interstitial, interstitialcy or explicit.")
    length_A: float | None = Field(None, description="Hop length (Å).")
    multiplicity: int = Field(1, ge=1, description="Equivalent hops in the cell.")
    cos_c: float | None = Field(
        None, ge=0, le=1, description="|cos| of the angle between the hop and the c axis."
    )
    converged: bool = Field(..., description="The band reached its force criterion.")
    barrier_forward_eV: float | None = Field(None, description="Forward barrier (eV).")
    barrier_backward_eV: float | None = Field(None, description="Backward barrier (eV).")
    max_force_eV_A: float | None = Field(None, description="Final max NEB force (eV/Å).")
    band_span_eV: float | None = Field(
        None, description="Highest minus lowest image energy of the band (eV)."
    )
    message: str = Field("", description="Why no barrier is reported, if so.")


class WindowSummary(_Doc):
    """Electrochemical window of the host (from the WindowDoc)."""

    formula: str = Field(..., description="Reduced formula analysed.")
    reduction_limit_V: float = Field(..., description="Lower window end vs Li/Li+ (V).")
    oxidation_limit_V: float | None = Field(None, description="Upper end (V); None: none.")
    reduction_products: list[str] = Field(default_factory=list)
    oxidation_products: list[str] = Field(default_factory=list)
    energy_above_hull_eV_atom: float = Field(..., ge=0, description="Hull distance (eV/atom).")
    is_stable: bool = Field(..., description="On the hull.")
    decomposition: list[str] = Field(default_factory=list, description="Hull phases.")
    warnings: list[str] = Field(default_factory=list)


class SystemDoc(_Doc):
    """Results of one system (one StudyConfig) of a design study."""

    key: str = Field(..., description="System key in the design file.")
    study: str = Field(..., description="Study name of the system ('<design>-<key>').")
    notes: str = Field("", description="What the system stands for.")
    host_formula: str = Field(..., description="Reduced formula of the host.")
    cell_formula: str | None = Field(None, description="Formula of the MD/NEB cell.")
    n_atoms: int | None = Field(None, description="Atoms in the MD/NEB cell.")
    defect_labels: list[str] = Field(default_factory=list, description="Defects in the cell.")
    sections: list[str] = Field(default_factory=list, description="Sections requested.")
    transport: TransportDoc | None = Field(None, description="Transport summary (md section).")
    defects: list[DefectRow] = Field(default_factory=list, description="Formation energies.")
    defect_condition: str | None = Field(None, description="Chemical-potential vertex used.")
    defects_missing: list[str] = Field(default_factory=list)
    hops: list[HopRow] = Field(default_factory=list, description="NEB barriers.")
    hops_missing: list[str] = Field(default_factory=list)
    percolation_barrier_eV: float | None = Field(
        None, description="Lowest barrier of a percolating hop network (eV)."
    )
    percolation_dimensionality: int | None = Field(None, description="Dimensions it spans.")
    window: WindowSummary | None = Field(None, description="Electrochemical window.")
    md_neb: MdNebCheck | None = Field(
        None, description="MD activation energy against the NEB barrier (md + neb systems)."
    )
    missing_sections: list[str] = Field(
        default_factory=list, description="Sections whose flow failed (no result)."
    )
    warnings: list[str] = Field(default_factory=list)


class StudyRunMeta(_Doc):
    """Identity of one run of a study (all systems); attached to every job as metadata."""

    study: str = Field(..., description="Study name.")
    run_id: str = Field(..., description="Unique run id.")
    design: str | None = Field(None, description="Published-data key compared against.")
    quick: bool = Field(False, description="Run with the --quick settings.")
    engine: str = Field(..., description="Engine name.")
    engine_details: dict[str, Any] = Field(default_factory=dict)
    host_formula: str = Field("", description="Host formula(s), '/'-joined.")
    systems: list[str] = Field(default_factory=list, description="System keys that run.")
    skipped: dict[str, str] = Field(default_factory=dict, description="Systems not run, why.")
    work_dir: str = Field("", description="ionflow work directory.")
    study_file: str | None = Field(None, description="The study YAML.")
    only: list[str] | None = Field(
        None, description="Sections this run was restricted to (`--only`); None: all."
    )


class StudyDoc(_Doc):
    """Summary of one run of a study (all systems)."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["study"] = "study"
    meta: StudyRunMeta
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    systems: list[SystemDoc] = Field(default_factory=list)
    report_dir: str | None = Field(None, description="Folder of report.md and plots.")
    warnings: list[str] = Field(default_factory=list)

    def system(self, key: str) -> SystemDoc | None:
        """Return the system with this key, or None."""
        return next((s for s in self.systems if s.key == key), None)

    @property
    def transport_only(self) -> TransportDoc | None:
        """The transport summary of a one-system study whose only section is ``md``."""
        if len(self.systems) == 1 and self.systems[0].sections == ["md"]:
            return self.systems[0].transport
        return None

    @classmethod
    def from_stored(cls, raw: dict[str, Any]) -> "StudyDoc":
        """Read a stored top-level study document of any released version.

        Parameters
        ----------
        raw
            The stored ``output`` (monty ``@module``/``@class`` keys are ignored).

        Returns
        -------
        StudyDoc
            The document in the current schema.
        """
        raw = strip_monty_keys(raw)
        kind = raw.get("kind")
        if kind == "study":
            return cls.model_validate(raw)
        if kind == "design_study":  # version 1 of this document
            return cls.model_validate({**raw, "kind": "study", "schema_version": SCHEMA_VERSION})
        if kind == "transport_study":  # version 1 output of a study with only `md`
            transport = TransportDoc.model_validate(raw)
            # the version-1 run identity carries over into every field of the same name
            meta = transport.meta.model_dump()
            system = SystemDoc(
                key="main",
                **{k: v for k, v in meta.items() if k in SystemDoc.model_fields},
                cell_formula=transport.cell_formula,
                n_atoms=transport.n_atoms,
                sections=["md"],
                transport=transport,
            )
            run = StudyRunMeta(
                **{k: v for k, v in meta.items() if k in StudyRunMeta.model_fields},
                systems=["main"],
            )
            return cls(
                meta=run,
                created_at=transport.created_at,
                systems=[system],
                report_dir=transport.report_dir,
            )
        raise ValueError(f"not a stored study document (kind {kind!r})")


def as_model(obj: Any, cls: type[BaseModel]) -> Any:
    """Accept a model instance or its (jobflow-serialised) dict; None stays None."""
    if obj is None or isinstance(obj, cls):
        return obj
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump()
    return cls.model_validate(strip_monty_keys(obj))


def strip_monty_keys(obj: Any) -> Any:
    """Drop monty's ``@module/@class/@version`` keys (jobflow-serialised documents)."""
    if isinstance(obj, dict):
        return {k: strip_monty_keys(v) for k, v in obj.items() if not k.startswith("@")}
    if isinstance(obj, list):
        return [strip_monty_keys(v) for v in obj]
    return obj
