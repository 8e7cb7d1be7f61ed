"""Documents for defect supercells and their formation / binding energies.

:class:`DefectConfig` describes one generated, labelled defect supercell (before any
calculation); :class:`DefectEnergyDoc` is the result of the formation-energy flow for one
configuration; :class:`DefectStudyDoc` collects a whole defect set with the chemical
potentials used.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ionflow.schemas.base import NotDeterminedReason, StoredDoc, StructureIn

__all__ = [
    "SCHEMA_VERSION",
    "CellPotentialDoc",
    "ChargeStateRow",
    "ChemicalPotentialSet",
    "DefectConfig",
    "DefectEnergyDoc",
    "DefectSite",
    "DefectStudyDoc",
    "DefectThermoDoc",
    "LiContentConfig",
    "PairBinding",
    "TransitionLevelDoc",
    "negative_neutral_reason",
]

SCHEMA_VERSION = "1"


class _Doc(StoredDoc):
    """Base of the defect documents (unknown keys refused, every float finite)."""


class DefectSite(_Doc):
    """One point defect of a configuration (a vacancy, interstitial or substitution)."""

    kind: Literal["vacancy", "interstitial", "substitution"] = Field(
        ..., description="Point-defect kind."
    )
    species: str = Field(
        ...,
        description="Element removed (vacancy), added (interstitial) or put on the site "
        "(substitution).",
    )
    host_species: str | None = Field(
        None,
        description="Element originally on the site (vacancy, substitution); None for "
        "an interstitial.",
    )
    frac_coords: list[float] = Field(
        ..., min_length=3, max_length=3, description="Fractional coordinates in the supercell."
    )
    token: str = Field(..., description="Point-defect symbol, e.g. 'V_Li', 'Li_i', 'O_Cl'.")
    index: int | None = Field(
        None,
        description="Index of the defect atom in the defect supercell (None for a vacancy).",
    )
    effective_charge: int = Field(
        ..., description="Nominal Kröger-Vink effective charge from the oxidation states (e)."
    )


class _DefectCell(_Doc):
    """The fields a generated defect cell and its formation-energy result share."""

    schema_version: str = Field(SCHEMA_VERSION, description="Document schema version.")
    label: str = Field(..., description="Unique label, e.g. 'V_Li+V_Cl_d2.76'.")
    kroger_vink: str = Field(..., description='Kröger-Vink notation, e.g. "V_Li\' + V_Cl^•".')
    defect_type: str = Field(..., description="Spec type that generated it (schottky, ...).")
    composition: str = Field(..., description="Formula of the defect supercell.")
    n_atoms: int = Field(..., ge=1, description="Number of atoms in the defect supercell.")
    charge: int = Field(0, description="Charge of the supercell (e); 0 is neutral.")
    separation_A: float | None = Field(
        None,
        description="Pair: distance between the two defects (Å); cluster: largest distance "
        "from the first defect to the others (Å); None for a single defect (unrelaxed).",
    )
    delta_n: dict[str, int] = Field(
        ...,
        description="Atoms added (+) or removed (-) per element relative to the host supercell "
        "(the n_i of the formation energy).",
    )
    multiplicity: int = Field(
        1, ge=1, description="Number of equivalent configurations in the supercell."
    )

    def cell_fields(self) -> dict[str, Any]:
        """Return the shared cell fields (label ... multiplicity), to start a result from."""
        return {name: getattr(self, name) for name in _DefectCell.model_fields} | {
            "schema_version": SCHEMA_VERSION  # the result's, not the cell's
        }


class DefectConfig(_DefectCell):
    """A labelled, generated defect supercell with its provenance.

    ``structure`` is charge-neutral for compensated clusters; for a single defect it carries
    ``charge`` as ``Structure.charge`` (0: neutral cell, electronic compensation).
    """

    structure: StructureIn = Field(..., description="The defect supercell.")
    host_formula: str = Field(..., description="Reduced formula of the host.")
    distances_A: list[float] = Field(
        default_factory=list,
        description="Distances from the first defect to each other defect, in order (Å).",
    )
    defect_sites: list[DefectSite] = Field(..., min_length=1, description="The point defects.")
    min_image_distance_A: float = Field(
        ..., gt=0, description="Smallest distance between periodic images of the supercell (Å)."
    )
    supercell_matrix: list[list[int]] | None = Field(
        None, description="Integer matrix building the supercell from the host cell."
    )

    def index_entry(self) -> dict[str, Any]:
        """Return the JSON index record (no structure) written by ``ionflow defects generate``.

        Returns
        -------
        dict
            label, kroger_vink, composition, n_atoms, charge, separation_A,
            min_image_distance_A and the rest of the provenance.
        """
        return self.model_dump(mode="json", exclude={"structure"})


class ChemicalPotentialSet(_Doc):
    """Atomic chemical potentials used in a formation energy."""

    condition: str = Field(..., description="Named condition, e.g. 'Li-rich' or 'Cl-poor'.")
    vertex: str = Field("", description="Vertex of the stability region (phases, '-'-joined).")
    mu_eV: dict[str, float] = Field(..., description="Absolute chemical potential (eV/atom).")
    mu_relative_eV: dict[str, float] = Field(
        default_factory=dict,
        description="Chemical potential relative to the element's reference phase (eV/atom).",
    )
    competing_phases: list[str] = Field(
        default_factory=list, description="Phases in equilibrium with the host at this limit."
    )
    source: str = Field("", description="Where the phase diagram came from (file, engine).")
    host_e_above_hull_eV_atom: float = Field(
        0.0,
        ge=0,
        description="Host distance above the hull (eV/atom); the host was placed on the hull "
        "to define its stability region.",
    )


#: the computed number behind a value that may not be a result (kept when it is not)
RawEnergy = Annotated[
    float, Field(description="The computed value, also when it is not a result (eV).")
]
#: whether the value is a result, and why not (a negative formation energy, neutral parts)
Determined = Annotated[bool, Field(description="The value is a result.")]


#: why a formation energy below 0 is not a result (the analysis layer's rule and reason)
NEGATIVE_FORMATION_CAUSE = (
    "the host would be unstable against forming this defect at this chemical-potential "
    "limit: either the limit lies outside the host's stability region or the engine's cell "
    "is not the intended defect (e.g. a neutral machine-learned-potential cell of a charged "
    "defect)"
)
#: below this (eV) a formation energy counts as negative (0 within total-energy noise is 0)
NEGATIVE_TOLERANCE_EV = 1e-3


def _fill_raw(data: Any, value: str, raw: str) -> Any:
    """Documents stored before ``raw``: the value was always a result, copy it over."""
    if isinstance(data, dict) and raw not in data and data.get(value) is not None:
        data = {**data, raw: data[value]}
    return data


def negative_neutral_reason(formation_energy_eV: float) -> str | None:
    """Why a neutral cell's formation energy is not a result (below 0), or None."""
    if formation_energy_eV < -NEGATIVE_TOLERANCE_EV:
        return (
            f"E_f = {formation_energy_eV:.3f} eV < 0 for the neutral cell: "
            f"{NEGATIVE_FORMATION_CAUSE}"
        )
    return None


def _judge_stored_neutral(data: Any) -> Any:
    """Documents stored before the rule: a neutral cell's E_f below 0 is not a result."""
    if not (isinstance(data, dict) and "formation_energy_determined" not in data):
        return data
    value = data.get("formation_energy_eV")
    reason = negative_neutral_reason(value) if value is not None else None
    if data.get("charge", 0) == 0 and reason:
        data = {
            **data,
            "formation_energy_eV": None,
            "formation_energy_determined": False,
            "formation_energy_reason": reason,
        }
    return data


class PairBinding(_Doc):
    """Binding of a defect cluster against its isolated parts."""

    parts: list[str] = Field(..., description="Labels of the isolated parts.")
    binding_energy_eV: float | None = Field(
        ...,
        description="E_f(cluster) - sum E_f(isolated parts) (eV); negative = bound; None "
        "when not determined (see reason).",
    )
    raw_binding_energy_eV: RawEnergy
    determined: Determined = True
    reason: NotDeterminedReason = None
    coulomb_energy_eV: float | None = Field(
        None,
        description="Screened point-charge interaction of the parts at the relaxed separation "
        "(eV).",
    )
    relaxed_separation_A: float | None = Field(
        None, description="Separation of the defects after relaxation (Å)."
    )
    dielectric_constant: float | None = Field(
        None, gt=0, description="Static dielectric constant used to screen the interaction."
    )
    farthest_label: str | None = Field(
        None, description="Farthest-separated configuration of the same cluster in the cell."
    )
    binding_vs_farthest_eV: float | None = Field(
        None,
        description="E_f(this) - E_f(farthest configuration) (eV): the pair interaction "
        "within the supercell, free of the isolated parts' charge states.",
    )

    @model_validator(mode="before")
    @classmethod
    def _stored_before_raw(cls, data: Any) -> Any:
        return _fill_raw(data, "binding_energy_eV", "raw_binding_energy_eV")


class DefectEnergyDoc(_DefectCell):
    """Formation energy of one defect configuration."""

    relaxed_separation_A: float | None = Field(
        None, description="Defect separation after relaxation (Å)."
    )
    energy_defect_eV: float = Field(..., description="Total energy of the defect cell (eV).")
    energy_host_eV: float = Field(..., description="Total energy of the host supercell (eV).")
    chemical_potentials: ChemicalPotentialSet = Field(..., description="μ set used.")
    fermi_level_eV: float = Field(0.0, description="E_F relative to the VBM (eV), charged only.")
    vbm_eV: float | None = Field(None, description="Host VBM (eV), charged defects only.")
    correction_eV: float = Field(0.0, description="Finite-size correction added (eV).")
    correction_method: Literal["freysoldt", "kumagai", "point_charge", "none"] = Field(
        "none",
        description="Charged-cell correction applied: 'freysoldt' (VASP LOCPOT planar "
        "averages), 'kumagai' (eFNV: OUTCAR site potentials), 'point_charge' (first-order "
        "Makov-Payne) or 'none' (neutral cell, no ε, or not requested).",
    )
    correction_electrostatic_eV: float | None = Field(
        None, description="Freysoldt lattice (image-charge) term (eV); None unless freysoldt."
    )
    correction_point_charge_eV: float | None = Field(
        None,
        description="Kumagai point-charge term -q² E_Madelung(ε) (eV); None unless kumagai.",
    )
    correction_alignment_eV: float | None = Field(
        None,
        description="Potential-alignment term (eV): Freysoldt q·C, or Kumagai -q <ΔV - V_pc> "
        "over the sites outside the defect region; None for the other methods.",
    )
    formation_energy_eV: float | None = Field(
        ...,
        description="Defect formation energy (eV); None when not determined (negative: see "
        "formation_energy_reason).",
    )
    raw_formation_energy_eV: RawEnergy
    formation_energy_determined: Determined = True
    formation_energy_reason: NotDeterminedReason = None
    binding: PairBinding | None = Field(None, description="Binding energy of a cluster.")
    engine: dict[str, Any] = Field(default_factory=dict, description="Engine name and settings.")
    relaxed_structure: StructureIn | None = Field(None, description="Relaxed defect supercell.")
    role: Literal["requested", "part", "reference"] = Field(
        "requested",
        description="'part': an isolated defect of a cluster; 'reference': the farthest "
        "placement of a cluster (both computed for binding energies).",
    )
    defect_sites: list[DefectSite] = Field(default_factory=list, description="Point defects.")

    @model_validator(mode="before")
    @classmethod
    def _stored_before_raw(cls, data: Any) -> Any:
        return _judge_stored_neutral(
            _fill_raw(data, "formation_energy_eV", "raw_formation_energy_eV")
        )


class ChargeStateRow(_Doc):
    """One defect in one charge state on the formation-energy diagram."""

    name: str = Field(..., description="Defect name shared by its charge states (e.g. 'V_Li').")
    label: str = Field(..., description="Configuration label of this charge state.")
    charge: int = Field(..., description="Supercell charge (e).")
    correction_method: str = Field(..., description="Finite-size correction applied (or none).")
    formation_energy_at_vbm_eV: dict[str, float | None] = Field(
        ...,
        description="Chemical-potential limit -> formation energy at E_F = VBM (eV); None "
        "where not determined (see not_determined).",
    )
    raw_formation_energy_at_vbm_eV: dict[str, float] = Field(
        default_factory=dict,
        description="Chemical-potential limit -> the computed value, also where it is not "
        "a result (eV).",
    )
    not_determined: dict[str, str] = Field(
        default_factory=dict,
        description="Chemical-potential limit -> why the formation energy there is not "
        "determined (E_f < 0 across the gap).",
    )

    @model_validator(mode="before")
    @classmethod
    def _stored_before_rule(cls, data: Any) -> Any:
        """Rows stored before the rule: a neutral state's negative E_f is not a result."""
        if not isinstance(data, dict) or "not_determined" in data or data.get("charge") != 0:
            return data
        values = dict(data.get("formation_energy_at_vbm_eV") or {})
        raw = {k: v for k, v in values.items() if v is not None}
        reasons = {
            limit: reason for limit, v in raw.items() if (reason := negative_neutral_reason(v))
        }
        values.update(dict.fromkeys(reasons))
        return {
            **data,
            "formation_energy_at_vbm_eV": values,
            "raw_formation_energy_at_vbm_eV": data.get("raw_formation_energy_at_vbm_eV", raw),
            "not_determined": reasons,
        }


class TransitionLevelDoc(_Doc):
    """Thermodynamic transition level ε(q1/q2) of one defect."""

    name: str = Field(..., description="Defect name.")
    charges: list[int] = Field(..., min_length=2, max_length=2, description="[q1, q2].")
    fermi_level_eV: float = Field(
        ..., description="E_F above the VBM where q1 and q2 cost the same (eV)."
    )


class DefectThermoDoc(_Doc):
    """Formation energy against the Fermi level at every chemical-potential limit."""

    vbm_eV: float = Field(..., description="VBM of the host (eV); 0 when every cell is neutral.")
    band_gap_eV: float | None = Field(None, description="Band gap used for the diagram (eV).")
    chempot_limits: dict[str, dict[str, float]] = Field(
        ..., description="Limit (its competing phases) -> element -> Δμ vs the element (eV)."
    )
    defects: list[ChargeStateRow] = Field(default_factory=list, description="Per charge state.")
    transition_levels: list[TransitionLevelDoc] = Field(
        default_factory=list, description="Kinks of each defect's lower envelope."
    )
    envelopes: dict[str, dict[str, list[list[float]]]] = Field(
        default_factory=dict,
        description="Limit -> defect -> [[E_F, E_f], ...] lower envelope from VBM to CBM "
        "(eV); a defect not determined at a limit is left out there.",
    )
    corrections: str = Field("", description="Which finite-size correction the cells got, and why.")


class DefectStudyDoc(_Doc):
    """All formation energies of one defect study, with the shared settings."""

    schema_version: str = Field(SCHEMA_VERSION, description="Document schema version.")
    host_formula: str = Field(..., description="Reduced formula of the host.")
    energy_host_eV: float = Field(..., description="Total energy of the host supercell (eV).")
    n_atoms_host: int = Field(..., ge=1, description="Atoms in the host supercell.")
    chemical_potentials: ChemicalPotentialSet = Field(..., description="μ set used.")
    defects: list[DefectEnergyDoc] = Field(default_factory=list, description="Per defect.")
    missing: list[str] = Field(
        default_factory=list, description="Labels whose calculation failed or is missing."
    )
    engine: dict[str, Any] = Field(default_factory=dict, description="Engine name and settings.")
    supercell_matrix: list[list[int]] | None = Field(None, description="Host -> supercell matrix.")
    min_image_distance_A: float | None = Field(
        None, description="Smallest periodic-image distance of the supercell (Å)."
    )
    dielectric_constant: float | None = Field(
        None, description="Static dielectric constant used for corrections / Coulomb terms."
    )
    vbm_eV: float | None = Field(None, description="Host VBM used for charged cells (eV).")
    vbm_source: str = Field(
        "", description="Where the VBM came from: 'user', 'host run (vasprun ...)' or ''."
    )
    warnings: list[str] = Field(default_factory=list, description="Things the user should know.")
    thermodynamics: DefectThermoDoc | None = Field(
        None,
        description="Formation energies at every chemical-potential limit against E_F and "
        "transition levels (pymatgen-analysis-defects), of the requested defects.",
    )


class CellPotentialDoc(_Doc):
    """Electrostatic potentials (and VBM) read from one VASP run folder.

    The planar-averaged LOCPOT (Freysoldt) and/or the OUTCAR site potentials (Kumagai),
    as the correction asked for; at least one of them.
    """

    dir_name: str = Field(..., description="Run folder the potentials were read from.")
    planar_avg_eV: Annotated[list[list[float]], Field(min_length=3, max_length=3)] | None = Field(
        None,
        description="LOCPOT averaged over planes normal to lattice axes 0, 1, 2 (eV); None: "
        "not read or no LOCPOT (see locpot_missing).",
    )
    locpot_missing: str = Field(
        "", description="Why there is no planar average where one was looked for ('' if none)."
    )
    core_potentials_eV: list[float] | None = Field(
        None,
        description="OUTCAR 'average (electrostatic) potential at core' per atom, last ionic "
        "step (eV); None: not read or none in the OUTCAR.",
    )
    vbm_eV: float | None = Field(None, description="Valence-band maximum of this run (eV).")
    vbm_source: str = Field("", description="How vbm_eV was obtained (band edges, E_Fermi).")


class LiContentConfig(_Doc):
    """One ordering of a Li-content series, ranked by its Ewald energy."""

    label: str = Field(..., description="Label, e.g. 'Li12_r1' (count, rank).")
    n_li: int = Field(..., ge=0, description="Li atoms in the supercell.")
    x: float = Field(..., ge=0, description="Li per formula unit of the host.")
    structure: StructureIn = Field(..., description="The ordered supercell.")
    composition: str = Field(..., description="Formula of the supercell.")
    ewald_energy_eV: float = Field(..., description="Ewald energy of the point charges (eV).")
    ewald_above_min_eV: float = Field(
        ..., ge=0, description="Ewald energy above the best ordering of this Li count (eV)."
    )
    rank: int = Field(..., ge=1, description="1 = lowest Ewald energy for this Li count.")
    compensation: str = Field(..., description="'electronic' or 'counter'.")
    charges: dict[str, float] = Field(..., description="Point charges used per element (e).")
