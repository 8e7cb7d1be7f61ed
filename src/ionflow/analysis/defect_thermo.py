"""Defect thermodynamics through pymatgen-analysis-defects (pure: no file I/O).

From total energies of a bulk supercell and of defect supercells in several charge states,
competing-phase entries, the VBM and the band gap, :func:`defect_thermodynamics` builds one
``FormationEnergyDiagram`` per defect (pymatgen-analysis-defects) and returns

- the chemical-potential limits of the host's stability region (every vertex, named by
  the competing phases that fix it; Δμ relative to the elemental phases, eV);
- per defect, charge and limit the formation energy at the VBM (E_F = 0),
  ``E_f(q) = E_defect + E_corr - E_bulk - Σ n_i (μ_i^0 + Δμ_i) + q E_VBM``;
- the thermodynamic transition levels ε(q1/q2), the Fermi levels (above the VBM) where
  the lowest-energy charge state changes (the kinks of the lower envelope; they do not
  depend on the chemical potentials);
- the lower envelope per limit between the band edges (for the formation-energy diagram);
- per defect and limit, whether its formation energies are a result: not when they are
  negative across the whole gap (:func:`ionflow.analysis.formation.formation_not_determined`);
  the raw values stay in ``formation_at_vbm_eV``, the envelope is left out.

:func:`equilibrium_fermi_level` solves charge neutrality at a temperature with the host's
DOS: defect charges (Fermi-Dirac occupation of each charge state, pymatgen-analysis-defects'
``fermi_dirac``) plus free carriers (pymatgen ``FermiDos.get_e_h_concs``), and returns the
self-consistent Fermi level with defect and carrier concentrations (cm⁻³).

Multiplicities are per supercell (equivalent sites of the defect in the bulk supercell),
so concentrations are per supercell volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pymatgen.analysis.defects.core import NamedDefect
from pymatgen.analysis.defects.thermo import (
    DefectEntry,
    FormationEnergyDiagram,
    fermi_dirac,
    get_lower_envelope,
    get_transitions,
)
from pymatgen.core import Composition, Element, Structure
from pymatgen.electronic_structure.dos import FermiDos
from pymatgen.entries.computed_entries import ComputedEntry, ComputedStructureEntry
from scipy.optimize import brentq

from ionflow.analysis.formation import check_finite, formation_not_determined
from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.electronic_structure.dos import Dos
    from pymatgen.entries import Entry

__all__ = [
    "A3_TO_CM3",
    "ChargedDefect",
    "DefectThermo",
    "EquilibriumResult",
    "TransitionLevel",
    "as_json_dict",
    "check_chemical_system",
    "defect_concentrations_cm3",
    "defect_thermodynamics",
    "equilibrium_fermi_level",
    "equilibrium_not_determined",
    "limit_name",
    "plausible_charge_states",
]

#: Å³ → cm³
A3_TO_CM3 = 1e-24

#: a transition level this far (eV) outside the gap is still listed (flagged by its value)
_FAR_EV = 1e3


@dataclass(frozen=True)
class ChargedDefect:
    """One finished defect supercell calculation in one charge state.

    Attributes
    ----------
    name
        Defect name shared by all its charge states (``Mg_Ga``, ``V_Li``).
    charge
        Supercell charge q (e).
    energy_eV
        Total energy of the defect supercell, uncorrected (eV).
    element_changes
        Atoms added (+) / removed (-) per element relative to the bulk supercell.
    correction_eV
        Finite-size correction added to the energy (eV).
    correction_method
        ``freysoldt``, ``kumagai``, ``point_charge`` or ``none: <reason>``.
    correction_terms_eV
        The correction's parts (e.g. ``electrostatic``, ``alignment``), eV.
    multiplicity
        Equivalent defect sites per bulk supercell (for concentrations).
    structure
        The defect supercell (optional; provenance).
    """

    name: str
    charge: int
    energy_eV: float
    element_changes: Mapping[str, int]
    correction_eV: float = 0.0
    correction_method: str = "none"
    correction_terms_eV: Mapping[str, float] = field(default_factory=dict)
    multiplicity: int = 1
    structure: Structure | None = None


@dataclass(frozen=True)
class TransitionLevel:
    """Thermodynamic transition level ε(q1/q2) of one defect (E_F above the VBM, eV)."""

    name: str
    charges: tuple[int, int]
    fermi_level_eV: float


@dataclass
class DefectThermo:
    """Result of :func:`defect_thermodynamics`.

    Attributes
    ----------
    vbm_eV, band_gap_eV
        Band edges used (eV).
    chempot_limits
        ``{limit name: {element: Δμ (eV)}}``, Δμ relative to the elemental phases.
    formation_at_vbm_eV
        ``{(name, charge): {limit name: E_f at E_F = VBM (eV)}}``, also where it is not a
        result (see ``not_determined``).
    transition_levels
        ε(q1/q2) between adjacent charge states of the lower envelope, every defect.
    envelopes
        ``{limit: {name: [(E_F, E_f), ...]}}``: lower envelope from 0 to the gap.
    diagrams
        ``{name: FormationEnergyDiagram}`` (pymatgen-analysis-defects objects).
    defects
        The inputs.
    bulk_structure
        Bulk supercell (its volume sets the concentrations).
    not_determined
        ``{name: {limit: reason}}``: the defect's formation energies at that limit are not
        a result (negative across the gap).
    """

    vbm_eV: float
    band_gap_eV: float
    chempot_limits: dict[str, dict[str, float]]
    formation_at_vbm_eV: dict[tuple[str, int], dict[str, float]]
    transition_levels: list[TransitionLevel]
    envelopes: dict[str, dict[str, list[tuple[float, float]]]]
    diagrams: dict[str, FormationEnergyDiagram]
    defects: list[ChargedDefect]
    bulk_structure: Structure
    not_determined: dict[str, dict[str, str]] = field(default_factory=dict)

    def reason(self, name: str, limit: str) -> str | None:
        """Why the formation energies of ``name`` at ``limit`` are not a result, or None."""
        return self.not_determined.get(name, {}).get(limit)

    def value_at_vbm(self, name: str, charge: int, limit: str) -> float | None:
        """E_f at the VBM as a result: None where it is not determined."""
        if self.reason(name, limit):
            return None
        return self.formation_at_vbm_eV[(name, int(charge))][limit]

    def limit_chempots(self, limit: str) -> dict[Element, float]:
        """Δμ of one limit as pymatgen-analysis-defects takes them (``{Element: eV}``)."""
        if limit not in self.chempot_limits:
            raise InputError(
                f"unknown chemical-potential limit {limit!r}; choose one of "
                f"{', '.join(self.chempot_limits)}"
            )
        return {Element(el): v for el, v in self.chempot_limits[limit].items()}


def plausible_charge_states(nominal: int, padding: int = 1) -> list[int]:
    """Charge states worth computing for a defect of nominal effective charge ``nominal``.

    pymatgen-analysis-defects' rule (``Defect.get_charge_states``): from 0 to the nominal
    charge, ``padding`` more on either side (V_Li' → -2, -1, 0, +1).
    """
    nominal = int(nominal)
    if nominal >= 0:
        return list(range(-padding, nominal + padding + 1))
    return list(range(nominal - padding, padding + 1))


def limit_name(competing: Sequence[str], taken: set[str]) -> str:
    """Name of a chemical-potential limit: its competing phases, sorted and '-'-joined."""
    name = "-".join(sorted(competing)) or "limit"
    base, i = name, 2
    while name in taken:
        name, i = f"{base}#{i}", i + 1
    return name


def check_chemical_system(
    entries: Sequence[Entry], bulk: Composition, defect_elements: set[str]
) -> None:
    """Raise an ``InputError`` if the entries do not describe the host and its dopants.

    Parameters
    ----------
    entries
        Competing-phase entries.
    bulk
        Host composition.
    defect_elements
        Every element any defect adds or removes.
    """
    have = {el.symbol for e in entries for el in e.composition.elements}
    need = {el.symbol for el in bulk.elements} | set(defect_elements)
    lacking = sorted(need - have)
    if lacking:
        raise InputError(
            f"the entries are of the {'-'.join(sorted(have))} system; they lack "
            f"{', '.join(lacking)} of the {'-'.join(sorted(need))} defect system"
        )
    elemental = {e.composition.elements[0].symbol for e in entries if e.composition.is_element}
    if not need <= elemental:
        raise InputError(
            f"the entries have no elemental phase of {', '.join(sorted(need - elemental))}; "
            "the chemical-potential limits need every element's reference"
        )


def defect_thermodynamics(
    bulk_energy_eV: float,
    bulk_structure: Structure,
    defects: Sequence[ChargedDefect],
    entries: Sequence[Entry],
    vbm_eV: float,
    band_gap_eV: float,
    *,
    bulk_stability_eV_atom: float = 0.001,
    band_gap_known: bool = True,
) -> DefectThermo:
    """Compute formation energies vs E_F at every chemical-potential limit, transition levels.

    Parameters
    ----------
    bulk_energy_eV, bulk_structure
        Total energy (eV) and structure of the bulk supercell.
    defects
        Every defect calculation (several charge states share a ``name``).
    entries
        Competing-phase entries (host and elements included), one settings family.
    vbm_eV, band_gap_eV
        Host VBM (eV, same reference as the total energies) and band gap (eV).
    bulk_stability_eV_atom
        A host above the hull is put this far below it (pymatgen-analysis-defects).
    band_gap_known
        False when ``band_gap_eV`` is a stand-in (0): negative formation energies are then
        judged on the neutral state only.

    Returns
    -------
    DefectThermo
        Limits, formation energies at the VBM, transition levels, envelopes.
    """
    if not defects:
        raise InputError("no defect calculations given")
    check_finite(bulk_energy_eV, "bulk energy")
    check_finite(vbm_eV, "VBM")
    if not math.isfinite(band_gap_eV) or band_gap_eV < 0:
        raise InputError(f"band gap {band_gap_eV} eV: need a finite value >= 0")
    bulk_comp = bulk_structure.composition
    check_chemical_system(
        entries, bulk_comp, {el for d in defects for el, n in d.element_changes.items() if n}
    )
    bulk_entry = ComputedStructureEntry(bulk_structure, bulk_energy_eV, entry_id="bulk")
    formula = bulk_comp.reduced_formula
    groups: dict[str, list[DefectEntry]] = {}
    seen: set[tuple[str, int]] = set()
    for d in defects:
        key = (d.name, int(d.charge))
        if key in seen:
            raise InputError(f"defect {d.name} q={d.charge:+d} is given twice")
        seen.add(key)
        check_finite(d.energy_eV, f"energy of {d.name} q={d.charge:+d}")
        check_finite(d.correction_eV, f"correction of {d.name} q={d.charge:+d}")
        changes = {Element(el): int(n) for el, n in d.element_changes.items() if n}
        named = NamedDefect(name=d.name, bulk_formula=formula, element_changes=changes)
        # pymatgen-analysis-defects' concentration code reads defect.multiplicity and
        # defect.structure, which NamedDefect (defects computed outside its generators) lacks
        named.multiplicity = int(d.multiplicity)
        named.structure = bulk_structure
        sc_entry = (
            ComputedStructureEntry(d.structure, d.energy_eV)
            if d.structure is not None
            else ComputedEntry(bulk_comp, d.energy_eV)
        )
        method = d.correction_method.split(":")[0] or "none"
        corrections = {method: d.correction_eV} if d.correction_eV else {}
        groups.setdefault(d.name, []).append(
            DefectEntry(
                defect=named,
                charge_state=int(d.charge),
                sc_entry=sc_entry,
                corrections=corrections,
                bulk_entry=bulk_entry,
            )
        )
    diagrams = {}
    for name, group in groups.items():
        try:
            diagrams[name] = FormationEnergyDiagram(
                defect_entries=group,
                pd_entries=list(entries),
                vbm=vbm_eV,
                band_gap=band_gap_eV,
                bulk_entry=bulk_entry,
                inc_inf_values=False,
                bulk_stability=bulk_stability_eV_atom,
            )
        except (ValueError, KeyError, RuntimeError) as exc:  # RuntimeError: scipy's QhullError
            msg = f"{name}: no chemical-potential region for {formula} ({exc})"
            raise InputError(msg) from None
    first = next(iter(diagrams.values()))
    limits: dict[str, dict[str, float]] = {}
    raw: dict[str, dict[Element, float]] = {}
    for mus, phases in zip(first.chempot_limits, first.competing_phases, strict=True):
        name = limit_name(list(phases), set(limits))
        limits[name] = {el.symbol: float(v) for el, v in sorted(mus.items(), key=str)}
        raw[name] = dict(mus)
    if not limits:
        raise InputError(f"{formula} has no bounded stability region with these entries")
    formation: dict[tuple[str, int], dict[str, float]] = {}
    levels: list[TransitionLevel] = []
    envelopes: dict[str, dict[str, list[tuple[float, float]]]] = {lim: {} for lim in limits}
    not_determined: dict[str, dict[str, str]] = {}
    for name, fed in diagrams.items():
        for lim, mus in raw.items():
            lines = []
            for entry in fed.defect_entries:
                # the per-charge formation energy at the VBM: pymatgen-analysis-defects
                # has no public accessor; this is the function its lower envelope uses
                value = float(fed._vbm_formation_energy(entry, mus))
                formation.setdefault((name, entry.charge_state), {})[lim] = value
                lines.append((float(entry.charge_state), value))
            envelope = sorted(get_lower_envelope(lines), key=lambda mb: -mb[0])
            why = formation_not_determined(
                [(int(q), e) for q, e in lines], band_gap_eV if band_gap_known else None
            )
            if why:
                not_determined.setdefault(name, {})[lim] = why
            else:
                envelopes[lim][name] = [
                    (float(x), float(y)) for x, y in get_transitions(envelope, 0.0, band_gap_eV)
                ]
            if lim == next(iter(raw)):
                kinks = get_transitions(envelope, -_FAR_EV, _FAR_EV)[1:-1]
                pairs = zip(envelope[:-1], envelope[1:], kinks, strict=True)
                for (q1, _), (q2, _), (x, _) in pairs:
                    levels.append(TransitionLevel(name, (int(q1), int(q2)), float(x)))
    return DefectThermo(
        vbm_eV=float(vbm_eV),
        band_gap_eV=float(band_gap_eV),
        chempot_limits=limits,
        formation_at_vbm_eV=formation,
        transition_levels=levels,
        envelopes=envelopes,
        diagrams=diagrams,
        defects=list(defects),
        bulk_structure=bulk_structure,
        not_determined=not_determined,
    )


@dataclass(frozen=True)
class EquilibriumResult:
    """Self-consistent Fermi level and concentrations at one limit and temperature.

    Attributes
    ----------
    limit
        Chemical-potential limit.
    temperature_K
        Temperature (K).
    fermi_level_eV
        Fermi level above the VBM (eV).
    defect_concentrations_cm3
        ``{(name, charge): concentration (cm⁻³)}``.
    electrons_cm3, holes_cm3
        Free carriers (cm⁻³).
    """

    limit: str
    temperature_K: float
    fermi_level_eV: float
    defect_concentrations_cm3: dict[tuple[str, int], float]
    electrons_cm3: float
    holes_cm3: float

    def total_cm3(self, name: str) -> float:
        """Concentration of one defect summed over its charge states (cm⁻³)."""
        return sum(c for (n, _), c in self.defect_concentrations_cm3.items() if n == name)


def defect_concentrations_cm3(
    thermo: DefectThermo, limit: str, fermi_level_eV: float, temperature_K: float
) -> dict[tuple[str, int], float]:
    """Dilute-limit concentration of every defect charge state (cm⁻³).

    ``c = multiplicity · f_FD(E_f(q, E_F)) / V_supercell``, with pymatgen-analysis-defects'
    ``fermi_dirac``.
    """
    volume_cm3 = thermo.bulk_structure.volume * A3_TO_CM3
    mult = {(d.name, int(d.charge)): d.multiplicity for d in thermo.defects}
    out = {}
    for key, by_limit in thermo.formation_at_vbm_eV.items():
        e_f = by_limit[limit] + key[1] * fermi_level_eV
        out[key] = float(mult[key] * fermi_dirac(e_f, temperature_K) / volume_cm3)
    return out


def equilibrium_not_determined(thermo: DefectThermo, limit: str) -> str | None:
    """Why no equilibrium can be solved at ``limit`` (a defect's E_f is not a result), or None."""
    names = sorted(n for n, by in thermo.not_determined.items() if limit in by)
    if not names:
        return None
    why = thermo.reason(names[0], limit)
    return f"formation energy of {', '.join(names)} not determined ({why})"


def equilibrium_fermi_level(
    thermo: DefectThermo, limit: str, temperature_K: float, dos: Dos
) -> EquilibriumResult:
    """Fermi level where defect charges and free carriers balance (charge neutrality).

    Parameters
    ----------
    thermo
        Result of :func:`defect_thermodynamics`.
    limit
        Chemical-potential limit name.
    temperature_K
        Temperature (K).
    dos
        Host DOS (pymatgen ``Dos`` with a ``structure``, e.g. ``Vasprun.complete_dos``);
        its band edges are shifted to ``thermo.band_gap_eV`` (``FermiDos(bandgap=...)``).

    Returns
    -------
    EquilibriumResult
        E_F above the VBM and the concentrations.

    Notes
    -----
    pymatgen-analysis-defects' ``MultiFormationEnergyDiagram.solve_for_fermi_level`` adds
    defect charges per cell to ``FermiDos.get_doping`` in cm⁻³ (mixed units: the carriers
    then outweigh the defects by ~1e22 / V_cell); here both are in cm⁻³, with its
    ``fermi_dirac`` and pymatgen's ``FermiDos.get_e_h_concs``.
    """
    if temperature_K <= 0 or not math.isfinite(temperature_K):
        raise InputError(f"temperature {temperature_K} K must be > 0")
    thermo.limit_chempots(limit)
    why = equilibrium_not_determined(thermo, limit)
    if why:
        raise InputError(f"{limit}: no equilibrium Fermi level: {why}")
    fdos = FermiDos(dos, bandgap=thermo.band_gap_eV)
    _, dos_vbm = fdos.get_cbm_vbm()

    def carriers(ef: float) -> tuple[float, float]:
        e, h = fdos.get_e_h_concs(ef + dos_vbm, temperature_K)
        return float(e), float(h)

    def net_charge(ef: float) -> float:
        conc = defect_concentrations_cm3(thermo, limit, ef, temperature_K)
        e, h = carriers(ef)
        return sum(q * c for (_, q), c in conc.items()) + h - e

    lo, hi = -1.0, thermo.band_gap_eV + 1.0
    if net_charge(lo) * net_charge(hi) > 0:
        raise InputError(
            f"no charge-neutral Fermi level between {lo} and {hi} eV above the VBM at "
            f"{temperature_K} K ({limit})"
        )
    ef = float(brentq(net_charge, lo, hi, xtol=1e-6))
    e, h = carriers(ef)
    return EquilibriumResult(
        limit=limit,
        temperature_K=float(temperature_K),
        fermi_level_eV=ef,
        defect_concentrations_cm3=defect_concentrations_cm3(thermo, limit, ef, temperature_K),
        electrons_cm3=e,
        holes_cm3=h,
    )


def as_json_dict(thermo: DefectThermo) -> dict[str, Any]:
    """Return the result as plain JSON types (keys of ``ionflow analyze defects --json``).

    ``formation_energy_at_vbm_eV`` holds null where the value is not a result;
    ``raw_formation_energy_at_vbm_eV`` the computed values and ``not_determined`` the
    reason per limit.
    """
    return {
        "vbm_eV": thermo.vbm_eV,
        "band_gap_eV": thermo.band_gap_eV,
        "chempot_limits": thermo.chempot_limits,
        "defects": [
            {
                "name": d.name,
                "charge": int(d.charge),
                "correction_eV": d.correction_eV,
                "correction_method": d.correction_method,
                "correction_terms_eV": dict(d.correction_terms_eV),
                "multiplicity": d.multiplicity,
                "formation_energy_at_vbm_eV": {
                    lim: thermo.value_at_vbm(d.name, d.charge, lim) for lim in thermo.chempot_limits
                },
                "raw_formation_energy_at_vbm_eV": thermo.formation_at_vbm_eV[
                    (d.name, int(d.charge))
                ],
                "not_determined": dict(thermo.not_determined.get(d.name, {})),
            }
            for d in thermo.defects
        ],
        "transition_levels": [
            {"name": t.name, "charges": list(t.charges), "fermi_level_eV": t.fermi_level_eV}
            for t in thermo.transition_levels
        ],
        "envelopes": {
            lim: {name: [list(p) for p in pts] for name, pts in by.items()}
            for lim, by in thermo.envelopes.items()
        },
    }
