"""Electrochemical stability window from the Li grand potential (pure functions).

The compound is put in contact with a Li reservoir at chemical potential
``mu_Li = mu_Li(metal) - e V`` and the phase equilibrium of its composition is followed in
the grand potential ``phi = E - mu_Li N_Li`` (pymatgen's GrandPotentialPhaseDiagram).
Between two consecutive transition chemical potentials of the phase diagram the set of
stable phases is constant, so the voltage axis splits into segments, each with one set of
products, one Li uptake ``n`` per formula unit (``n > 0``: reduction, Li taken up) and a
grand reaction energy that is linear in ``V``::

    dPhi(V) = dE(0 V) + n * V          (eV per formula unit)

The window is the voltage range in which the equilibrium products exchange no Li (``n = 0``).
For a compound on the hull these products are the compound itself and the limits are where
it starts to take up or give off Li. For a compound above the hull they are its Li-conserving
decomposition products, and the window is theirs (the result says so). The limits the
compound would have if its own reactions with Li were the only ones possible ("own-energy
limits", narrower for a metastable compound) are given too.

No I/O and no workflow imports here; see ``ionflow.makers.window`` for jobs.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from pymatgen.analysis.phase_diagram import GrandPotentialPhaseDiagram, PhaseDiagram
from pymatgen.core import Composition, Element

from ionflow.analysis.window_entries import (
    chemical_space_entries,
    entry_label,
    find_compound_entry,
    mobile_reference,
    parse_formula,
)
from ionflow.errors import InputError
from ionflow.schemas.window_result import (
    LI_TOL,
    STABLE_TOL_EV_ATOM,
    Product,
    ProfileSegment,
    StabilityWindow,
    reaction_term,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.entries import Entry

# Product, ProfileSegment and StabilityWindow are defined in ionflow.schemas.window_result
# (the document module builds from them) and re-exported here.
__all__ = [
    "DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM",
    "Product",
    "ProfileSegment",
    "StabilityWindow",
    "WindowWarning",
    "phase_profile",
    "stability_window",
]

#: Above this hull distance (eV/atom) the compound itself is not expected to survive and the
#: window describes its decomposition products only; a warning says so.
DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM = 0.05

#: Transition chemical potentials closer than this (eV) are merged.
MERGE_TOL_EV = 1e-6

#: How far beyond the last transition (V) the open-ended segment is probed.
_PROBE_BEYOND_V = 1.0


class WindowWarning(UserWarning):
    """The window was computed but should be read with care (e.g. compound above hull)."""


def _products_per_fu(
    decomposition: dict[Entry, float], atoms_per_fu: float
) -> tuple[tuple[Product, ...], float]:
    """Convert pymatgen's atom-fraction decomposition to amounts per formula unit.

    ``decomposition`` maps entries (or grand-potential entries, whose compositions leave
    out the open element) to the fraction of the compound's atoms they hold, counted the
    same way; ``atoms_per_fu`` is that atom count per formula unit of the compound.
    Returns the products and their total energy (eV per formula unit of the compound).
    """
    products = []
    energy = 0.0
    for entry, fraction in decomposition.items():
        if fraction < 1e-9:
            continue
        original = getattr(entry, "original_entry", entry)
        cells = fraction * atoms_per_fu / entry.composition.num_atoms  # entry's own cells
        energy += cells * original.energy
        formula = original.composition.reduced_formula
        amount = cells * original.composition.num_atoms / Composition(formula).num_atoms
        products.append(Product(formula, amount, entry_label(original)))
    products.sort(key=lambda p: p.formula)
    return tuple(products), energy


def phase_profile(
    phase_diagram: PhaseDiagram,
    composition: Composition,
    compound_energy_eV_fu: float,
    mobile: str = "Li",
) -> list[ProfileSegment]:
    """Phase equilibria of a composition open to the mobile element, vs voltage.

    Parameters
    ----------
    phase_diagram
        Closed phase diagram containing the compound's chemical system and the mobile
        element's metal entry.
    composition
        Composition of one formula unit of the compound.
    compound_energy_eV_fu
        Energy of one formula unit of the compound (eV).
    mobile
        Open element.

    Returns
    -------
    list of ProfileSegment
        Segments in order of increasing voltage, from 0 V up to an open-ended last one;
        neighbours always differ in their products.
    """
    element = Element(mobile)
    mu0 = phase_diagram.el_refs[element].energy_per_atom
    non_mobile = Composition({el: amt for el, amt in composition.items() if el != element})
    if non_mobile.num_atoms <= 0:
        raise InputError(f"{composition.reduced_formula} contains only {mobile}: no window")
    n_mobile_c = composition[element]
    atoms_fu = composition.num_atoms

    voltages: list[float] = []
    for mu in phase_diagram.get_transition_chempots(element):
        v = max(mu0 - mu, 0.0)
        if not voltages or abs(v - voltages[-1]) > MERGE_TOL_EV:
            voltages.append(v)
    if voltages[0] > MERGE_TOL_EV:
        voltages.insert(0, 0.0)
    voltages[0] = 0.0
    bounds: list[tuple[float, float | None]] = list(
        zip(voltages, [*voltages[1:], None], strict=True)
    )

    stable = list(phase_diagram.stable_entries)
    segments: list[ProfileSegment] = []
    for v_low, v_high in bounds:
        v_probe = v_low + _PROBE_BEYOND_V if v_high is None else 0.5 * (v_low + v_high)
        gppd = GrandPotentialPhaseDiagram(stable, {element: mu0 - v_probe})
        decomp = gppd.get_decomposition(non_mobile)
        products, energy_p = _products_per_fu(decomp, non_mobile.num_atoms)
        n_mobile_p = sum(p.amount * Composition(p.formula)[element] for p in products)
        n_up = n_mobile_p - n_mobile_c
        d_e0 = energy_p - compound_energy_eV_fu - n_up * mu0
        seg = ProfileSegment(
            v_low_V=v_low,
            v_high_V=v_high,
            formula=composition.reduced_formula,
            mobile=mobile,
            products=products,
            li_per_fu=0.0 if abs(n_up) <= LI_TOL else n_up,
            reaction_energy_0V_eV_fu=d_e0,
            atoms_per_fu=atoms_fu,
        )
        if segments and _same_products(segments[-1], seg):
            prev = segments[-1]
            segments[-1] = ProfileSegment(**{**prev.__dict__, "v_high_V": v_high})
        else:
            segments.append(seg)
    return segments


def _same_products(a: ProfileSegment, b: ProfileSegment) -> bool:
    if a.phases != b.phases or abs(a.li_per_fu - b.li_per_fu) > LI_TOL:
        return False
    return all(
        abs(p.amount - q.amount) <= LI_TOL for p, q in zip(a.products, b.products, strict=True)
    )


def _window_from_profile(
    profile: Sequence[ProfileSegment],
) -> tuple[float, float | None, ProfileSegment | None, ProfileSegment | None]:
    neutral = [i for i, seg in enumerate(profile) if not seg.exchanges_li]
    if neutral:
        first, last = neutral[0], neutral[-1]
        reduction = profile[first - 1] if first > 0 else None
        oxidation = profile[last + 1] if last + 1 < len(profile) else None
        return profile[first].v_low_V, profile[last].v_high_V, reduction, oxidation
    # Li uptake falls with voltage; with no neutral segment the window shrinks to the
    # voltage where it changes sign.
    for i, seg in enumerate(profile[:-1]):
        if seg.li_per_fu > 0 > profile[i + 1].li_per_fu:
            return seg.v_high_V, seg.v_high_V, seg, profile[i + 1]
    if profile[0].li_per_fu < 0:  # oxidised at any voltage ≥ 0
        return 0.0, 0.0, None, profile[0]
    last = profile[-1]
    return last.v_low_V, last.v_low_V, last, None  # pragma: no cover - needs V → ∞ uptake


def _own_energy_limits(profile: Sequence[ProfileSegment]) -> tuple[float, float | None]:
    """Limits from the compound's own reactions with Li, ignoring its Li-free decomposition."""
    red = [-s.reaction_energy_0V_eV_fu / s.li_per_fu for s in profile if s.li_per_fu > LI_TOL]
    ox = [-s.reaction_energy_0V_eV_fu / s.li_per_fu for s in profile if s.li_per_fu < -LI_TOL]
    v_red = max([0.0, *red])
    v_ox = min(ox) if ox else None
    return v_red, v_ox


def stability_window(
    entries: Sequence[Entry],
    formula: str,
    mobile: str = "Li",
    max_e_above_hull_eV_atom: float = DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM,
) -> StabilityWindow:
    """Electrochemical stability window of a compound against a mobile-ion reservoir.

    Parameters
    ----------
    entries
        Computed entries of one consistent calculation set: the compound, its competing
        phases and the mobile element's metal (corrections already applied).
    formula
        Compound to analyse (its lowest-energy entry is used).
    mobile
        Open element, ``"Li"`` by default.
    max_e_above_hull_eV_atom
        Hull distance (eV/atom) above which a warning says the window is not the compound's.

    Returns
    -------
    StabilityWindow
        Limits (V vs Li/Li+), products and reactions at each limit, the phase-equilibrium
        profile vs voltage, hull distance and warnings.
    """
    if not entries:
        raise InputError("no entries given: the window needs the compound and its competing phases")
    try:
        Element(mobile)
    except ValueError:
        raise InputError(f"mobile element {mobile!r} is not an element symbol") from None
    composition = parse_formula(formula)
    if Element(mobile) not in composition.elements:
        note = f"{composition.reduced_formula} contains no {mobile}"
    else:
        note = ""
    subset = chemical_space_entries(entries, composition, mobile)
    reference = mobile_reference(subset, mobile)
    compound = find_compound_entry(subset, composition)
    try:
        pd = PhaseDiagram(subset)
    except ValueError as exc:
        raise InputError(
            f"cannot build the phase diagram of {'-'.join(sorted(_symbols(subset)))}: {exc}; "
            "every element needs an elemental entry"
        ) from None

    decomp, e_hull = pd.get_decomp_and_e_above_hull(compound, allow_negative=True)
    decomposition, _ = _products_per_fu(decomp, composition.num_atoms)
    compound_energy = compound.energy_per_atom * composition.num_atoms
    profile = phase_profile(pd, composition, compound_energy, mobile)
    v_red, v_ox, reduction, oxidation = _window_from_profile(profile)
    own_red, own_ox = _own_energy_limits(profile)
    if own_ox is not None and own_red > own_ox:
        own_red, own_ox = None, None

    messages = []
    if note:
        messages.append(note + "; the window is where it neither takes up nor gives off " + mobile)
    if e_hull > STABLE_TOL_EV_ATOM:
        products = " + ".join(reaction_term(p.amount, p.formula) for p in decomposition)
        text = (
            f"{composition.reduced_formula} is {1000 * e_hull:.1f} meV/atom above the hull "
            f"(decomposes to {products}); the window is that of its decomposition products"
        )
        if e_hull > max_e_above_hull_eV_atom:
            text += (
                f" and is meaningless for the compound itself (hull distance above "
                f"{1000 * max_e_above_hull_eV_atom:.0f} meV/atom)"
            )
        messages.append(text)
    if v_ox is not None and v_ox - v_red <= MERGE_TOL_EV:
        messages.append(
            f"{composition.reduced_formula}: zero-width window at {v_red:.3f} V (its "
            "equilibrium products exchange Li at every voltage)"
        )
    for text in messages:
        warnings.warn(text, WindowWarning, stacklevel=2)

    return StabilityWindow(
        formula=composition.reduced_formula,
        mobile=mobile,
        chemical_system="-".join(sorted(_symbols(subset))),
        compound_entry_id=entry_label(compound),
        e_above_hull_eV_atom=float(e_hull),
        decomposition=decomposition,
        mobile_reference_entry_id=entry_label(reference),
        mobile_reference_eV_atom=float(reference.energy_per_atom),
        reduction_limit_V=float(v_red),
        oxidation_limit_V=None if v_ox is None else float(v_ox),
        reduction=reduction,
        oxidation=oxidation,
        reduction_limit_own_energy_V=own_red,
        oxidation_limit_own_energy_V=own_ox,
        profile=tuple(profile),
        warnings=tuple(messages),
    )


def _symbols(entries: Sequence[Entry]) -> set[str]:
    return {el.symbol for e in entries for el in e.composition.elements}
