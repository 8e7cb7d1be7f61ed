"""Plain result types of the stability-window analysis (frozen dataclasses, no I/O).

:func:`ionflow.analysis.window.stability_window` returns a :class:`StabilityWindow`; the
stored document :class:`ionflow.schemas.window.WindowDoc` is built from it. They live here,
below ``analysis``, so the document module needs nothing from the analysis package.
"""

from dataclasses import dataclass

__all__ = [
    "LI_TOL",
    "STABLE_TOL_EV_ATOM",
    "Product",
    "ProfileSegment",
    "StabilityWindow",
    "reaction_term",
]

#: Li per formula unit below which a segment counts as exchanging no Li.
LI_TOL = 1e-6

#: Hull distance (eV/atom) below which the compound counts as on the hull.
STABLE_TOL_EV_ATOM = 1e-6


def reaction_term(amount: float, formula: str) -> str:
    """Return one term of a reaction, e.g. ``"2 Li2O"`` (no number when the amount is 1)."""
    text = f"{amount:.4g}"
    return formula if text == "1" else f"{text} {formula}"


@dataclass(frozen=True)
class Product:
    """One phase in an equilibrium, per formula unit of the analysed compound.

    Parameters
    ----------
    formula
        Reduced formula of the phase.
    amount
        Formula units of the phase per formula unit of the compound.
    entry_id
        Identifier of the entry that represents the phase.
    """

    formula: str
    amount: float
    entry_id: str


@dataclass(frozen=True)
class ProfileSegment:
    """A voltage range over which the phase equilibrium does not change.

    Parameters
    ----------
    v_low_V, v_high_V
        Voltage range vs Li/Li+ (V); ``v_high_V`` is None for the open-ended last segment.
    formula
        Reduced formula of the analysed compound.
    mobile
        The open element (``"Li"``).
    products
        Equilibrium phases per formula unit of the compound.
    li_per_fu
        Mobile atoms taken up per formula unit (> 0 reduction, < 0 oxidation).
    reaction_energy_0V_eV_fu
        Energy of ``compound + n Li(metal) -> products`` at 0 V (eV per formula unit).
    atoms_per_fu
        Atoms in one formula unit of the compound.
    """

    v_low_V: float
    v_high_V: float | None
    formula: str
    mobile: str
    products: tuple[Product, ...]
    li_per_fu: float
    reaction_energy_0V_eV_fu: float
    atoms_per_fu: float

    @property
    def phases(self) -> tuple[str, ...]:
        """Reduced formulas of the equilibrium phases."""
        return tuple(p.formula for p in self.products)

    @property
    def exchanges_li(self) -> bool:
        """Whether the compound takes up or gives off the mobile element here."""
        return abs(self.li_per_fu) > LI_TOL

    def reaction_energy_eV_atom(self, voltage_V: float) -> float:
        """Grand reaction energy to this segment's products at ``voltage_V`` (eV/atom).

        Parameters
        ----------
        voltage_V
            Voltage vs Li/Li+ (V).

        Returns
        -------
        float
            ``(dE(0 V) + n V) / atoms_per_fu``; negative means the products are favoured.
        """
        return (self.reaction_energy_0V_eV_fu + self.li_per_fu * voltage_V) / self.atoms_per_fu

    @property
    def reaction(self) -> str:
        """Balanced reaction, e.g. ``"Li5FeO4 -> LiFeO2 + 2 Li2O"``."""
        left = [self.formula]
        right = [reaction_term(p.amount, p.formula) for p in self.products]
        if self.li_per_fu > LI_TOL:
            left.append(reaction_term(self.li_per_fu, self.mobile))
        elif self.li_per_fu < -LI_TOL:
            right.append(reaction_term(-self.li_per_fu, self.mobile))
        return f"{' + '.join(left)} -> {' + '.join(right)}"


@dataclass(frozen=True)
class StabilityWindow:
    """Result of :func:`ionflow.analysis.window.stability_window` (V vs Li/Li+, eV/atom).

    ``oxidation_limit_V`` is None when no oxidation happens at any voltage (Li-free phase
    whose products never release Li). ``reduction`` / ``oxidation`` are the segments just
    outside the window (None when the window reaches 0 V or has no upper end).
    """

    formula: str
    mobile: str
    chemical_system: str
    compound_entry_id: str
    e_above_hull_eV_atom: float
    decomposition: tuple[Product, ...]
    mobile_reference_entry_id: str
    mobile_reference_eV_atom: float
    reduction_limit_V: float
    oxidation_limit_V: float | None
    reduction: ProfileSegment | None
    oxidation: ProfileSegment | None
    reduction_limit_own_energy_V: float | None
    oxidation_limit_own_energy_V: float | None
    profile: tuple[ProfileSegment, ...]
    warnings: tuple[str, ...]

    @property
    def is_stable(self) -> bool:
        """Whether the compound is on the convex hull."""
        return self.e_above_hull_eV_atom <= STABLE_TOL_EV_ATOM

    def decomposition_energy_eV_atom(self, voltage_V: float) -> float:
        """Grand-potential decomposition energy at ``voltage_V`` (eV/atom, ≤ 0).

        Parameters
        ----------
        voltage_V
            Voltage vs Li/Li+ (V), ≥ 0.

        Returns
        -------
        float
            Energy of the equilibrium products minus the compound, per atom of compound.
        """
        return min(seg.reaction_energy_eV_atom(voltage_V) for seg in self.profile)
