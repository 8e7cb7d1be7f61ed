"""Document of an electrochemical stability window (Li grand-potential analysis)."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ionflow.schemas.window_result import Product, ProfileSegment, StabilityWindow

__all__ = ["EntryRecord", "ProductDoc", "WindowDoc", "WindowSegmentDoc"]

SCHEMA_VERSION = "1"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ProductDoc(_Doc):
    """One phase of an equilibrium, per formula unit of the analysed compound."""

    formula: str = Field(..., description="Reduced formula of the phase.")
    amount: float = Field(..., description="Formula units per formula unit of the compound.")
    entry_id: str = Field(..., description="Entry that represents the phase.")

    @classmethod
    def from_product(cls, product: Product) -> "ProductDoc":
        """Build from an analysis :class:`~ionflow.schemas.window_result.Product`."""
        return cls(formula=product.formula, amount=product.amount, entry_id=product.entry_id)


class WindowSegmentDoc(_Doc):
    """A voltage range with one phase equilibrium of the compound's composition."""

    v_low_V: float = Field(..., ge=0, description="Lower voltage vs Li/Li+ (V).")
    v_high_V: float | None = Field(
        None, description="Upper voltage vs Li/Li+ (V); None: no upper end."
    )
    phases: list[str] = Field(..., description="Reduced formulas of the equilibrium phases.")
    products: list[ProductDoc] = Field(..., description="Phases with amounts.")
    li_per_formula_unit: float = Field(
        ..., description="Mobile atoms taken up per formula unit (>0 reduced, <0 oxidised)."
    )
    reaction: str = Field(..., description="Balanced reaction from the compound.")
    reaction_energy_0V_eV_atom: float = Field(
        ...,
        description="Energy of the reaction with Li metal at 0 V (eV per atom of compound); "
        "at voltage V add li_per_formula_unit * V / atoms per formula unit.",
    )

    @classmethod
    def from_segment(cls, seg: ProfileSegment) -> "WindowSegmentDoc":
        """Build from an analysis :class:`~ionflow.schemas.window_result.ProfileSegment`."""
        return cls(
            v_low_V=seg.v_low_V,
            v_high_V=seg.v_high_V,
            phases=list(seg.phases),
            products=[ProductDoc.from_product(p) for p in seg.products],
            li_per_formula_unit=seg.li_per_fu,
            reaction=seg.reaction,
            reaction_energy_0V_eV_atom=seg.reaction_energy_eV_atom(0.0),
        )


class EntryRecord(_Doc):
    """One entry used in the phase diagram and where it came from."""

    entry_id: str = Field(..., description="Entry identifier (or name when it has none).")
    formula: str = Field(..., description="Reduced formula.")
    energy_eV: float = Field(..., description="Total energy including corrections (eV).")
    energy_per_atom_eV: float = Field(..., description="Energy per atom incl. corrections (eV).")
    correction_eV: float = Field(0.0, description="Energy correction included above (eV).")
    settings: str = Field(..., description="Calculation settings label (e.g. mlip:CHGNet).")
    source: str = Field(..., description="File, job or database the entry came from.")


class WindowDoc(_Doc):
    """Electrochemical stability window of one compound vs Li/Li+.

    ``reduction_limit_V`` and ``oxidation_limit_V`` bound the voltage range in which the
    equilibrium products of the compound's composition exchange no Li with the reservoir.
    For a compound above the hull (see ``energy_above_hull_eV_atom`` and ``warnings``) these
    products are its decomposition products; ``*_own_energy_V`` then give the narrower
    limits of the compound's own reactions with Li.
    """

    schema_version: str = SCHEMA_VERSION
    kind: Literal["electrochemical_window"] = "electrochemical_window"
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    formula: str = Field(..., description="Reduced formula of the compound.")
    mobile_element: str = Field("Li", description="Open (mobile) element.")
    chemical_system: str = Field(..., description="Elements of the phase diagram, e.g. Cl-Li-O.")
    compound_entry_id: str = Field(..., description="Entry of the compound that was analysed.")
    energy_above_hull_eV_atom: float = Field(
        ..., ge=0, description="Distance from the closed convex hull (eV/atom)."
    )
    is_stable: bool = Field(..., description="On the convex hull (within 1 µeV/atom).")
    decomposition: list[ProductDoc] = Field(
        ..., description="Closed-system hull phases of the composition (the compound if stable)."
    )
    reduction_limit_V: float = Field(..., ge=0, description="Lower window end vs Li/Li+ (V).")
    oxidation_limit_V: float | None = Field(
        None, description="Upper window end vs Li/Li+ (V); None: never oxidised."
    )
    reduction_products: list[str] = Field(
        default_factory=list, description="Phases formed below the window; empty: stable to Li."
    )
    oxidation_products: list[str] = Field(
        default_factory=list, description="Phases formed above the window (without Li)."
    )
    reduction_reaction: str | None = Field(None, description="Reaction just below the window.")
    oxidation_reaction: str | None = Field(None, description="Reaction just above the window.")
    reduction_li_per_formula_unit: float | None = Field(
        None, description="Li taken up per formula unit in the reduction reaction."
    )
    oxidation_li_per_formula_unit: float | None = Field(
        None, description="Li given off per formula unit in the oxidation reaction (> 0)."
    )
    reduction_limit_own_energy_V: float | None = Field(
        None, description="Reduction limit of the compound's own reactions with Li (V)."
    )
    oxidation_limit_own_energy_V: float | None = Field(
        None, description="Oxidation limit of the compound's own reactions with Li (V)."
    )
    decomposition_energy_0V_eV_atom: float = Field(
        ..., le=1e-9, description="Grand-potential decomposition energy at 0 V (eV/atom, ≤ 0)."
    )
    mobile_reference_entry_id: str = Field(..., description="Li metal entry used as 0 V.")
    mobile_reference_eV_atom: float = Field(..., description="Li metal energy (eV/atom).")
    profile: list[WindowSegmentDoc] = Field(
        ..., description="Phase equilibria vs voltage, in order of increasing voltage."
    )
    compatibility: str = Field(..., description="Energy correction scheme applied (MP2020/none).")
    settings: list[str] = Field(..., description="Calculation settings labels of the entries.")
    engine: dict = Field(default_factory=dict, description="Engine that computed the entries.")
    source: str = Field(..., description="Entries file or flow the entries came from.")
    entries: list[EntryRecord] = Field(..., description="Entries of the phase diagram.")
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def from_window(
        cls,
        window: StabilityWindow,
        *,
        entries: list[EntryRecord],
        compatibility: str,
        source: str,
        engine: dict | None = None,
        warnings: list[str] | None = None,
    ) -> "WindowDoc":
        """Build the document from an analysis result and the entry records.

        Parameters
        ----------
        window
            Result of :func:`ionflow.analysis.window.stability_window`.
        entries
            Records of the entries in the phase diagram.
        compatibility
            Correction scheme applied to the entries.
        source
            Where the entries came from.
        engine
            Engine description when ionflow computed the entries.
        warnings
            Warnings from reading/checking the entries (the analysis adds its own).

        Returns
        -------
        WindowDoc
            The document.
        """
        red, ox = window.reduction, window.oxidation
        return cls(
            formula=window.formula,
            mobile_element=window.mobile,
            chemical_system=window.chemical_system,
            compound_entry_id=window.compound_entry_id,
            energy_above_hull_eV_atom=max(window.e_above_hull_eV_atom, 0.0),
            is_stable=window.is_stable,
            decomposition=[ProductDoc.from_product(p) for p in window.decomposition],
            reduction_limit_V=window.reduction_limit_V,
            oxidation_limit_V=window.oxidation_limit_V,
            reduction_products=list(red.phases) if red else [],
            oxidation_products=list(ox.phases) if ox else [],
            reduction_reaction=red.reaction if red else None,
            oxidation_reaction=ox.reaction if ox else None,
            reduction_li_per_formula_unit=red.li_per_fu if red else None,
            oxidation_li_per_formula_unit=-ox.li_per_fu if ox else None,
            reduction_limit_own_energy_V=window.reduction_limit_own_energy_V,
            oxidation_limit_own_energy_V=window.oxidation_limit_own_energy_V,
            decomposition_energy_0V_eV_atom=window.decomposition_energy_eV_atom(0.0),
            mobile_reference_entry_id=window.mobile_reference_entry_id,
            mobile_reference_eV_atom=window.mobile_reference_eV_atom,
            profile=[WindowSegmentDoc.from_segment(s) for s in window.profile],
            compatibility=compatibility,
            settings=sorted({r.settings for r in entries}),
            engine=engine or {},
            source=source,
            entries=entries,
            warnings=[*(warnings or []), *window.warnings],
        )
