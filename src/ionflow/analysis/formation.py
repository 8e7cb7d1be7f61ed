"""Defect formation and binding energies, chemical potentials, screened point charges.

Pure functions (no jobflow, no store):

- :func:`formation_energy`: ``E_f = E_defect - E_host - Σ n_i μ_i + q (E_F + E_VBM) + E_corr``;
- :func:`binding_energy`: ``E_b = E_f(cluster) - Σ E_f(isolated parts)`` (negative = bound);
- :func:`formation_not_determined`: why a defect's formation energies at one
  chemical-potential limit are not a result (negative across the whole gap);
- :func:`screened_coulomb_energy`: ``Σ_{i<j} q_i q_j e² / (4π ε0 ε r_ij)`` for point charges;
- :func:`point_charge_correction`: first-order (Makov-Payne) image-charge correction of a
  charged cell, ``-q² alpha_M / (2 ε L)`` evaluated as the Ewald energy of one point charge in
  a neutralising background (engines without a LOCPOT; VASP cells get the Freysoldt
  correction of :mod:`ionflow.analysis.freysoldt`);
- :func:`chemical_potentials`: μ_i at one vertex of the host's stability region in a phase
  diagram ("Li-rich", "Cl-poor", or a vertex name), extrinsic dopants limited by their
  most stable phase with the host elements.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Composition, Element

from ionflow.errors import InputError
from ionflow.schemas.defects import (
    NEGATIVE_FORMATION_CAUSE,
    NEGATIVE_TOLERANCE_EV,
    ChemicalPotentialSet,
    negative_neutral_reason,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Lattice
    from pymatgen.entries import Entry

__all__ = [
    "COULOMB_EV_A",
    "binding_energy",
    "check_finite",
    "chemical_potentials",
    "formation_energy",
    "formation_not_determined",
    "lower_envelope_max",
    "point_charge_correction",
    "screened_coulomb_energy",
]

#: e² / (4π ε0) in eV·Å
COULOMB_EV_A = 14.399645

#: how far (eV/atom) an above-hull host is put below the hull to define its μ region
HULL_SHIFT_EV_ATOM = 1e-4


_CONDITION = re.compile(r"^([A-Z][a-z]?)[-_ ](rich|poor)$", re.IGNORECASE)


def check_finite(value: float, what: str) -> float:
    """Return ``value`` as a float, or raise an ``InputError`` naming it when NaN/inf."""
    if not math.isfinite(value):
        raise InputError(f"{what} is {value}; check the calculation that produced it")
    return float(value)


def formation_energy(
    energy_defect_eV: float,
    energy_host_eV: float,
    delta_n: Mapping[str, int],
    mu_eV: Mapping[str, float],
    charge: int = 0,
    fermi_level_eV: float = 0.0,
    vbm_eV: float | None = None,
    correction_eV: float = 0.0,
) -> float:
    """Return the formation energy of a defect supercell (eV).

    Parameters
    ----------
    energy_defect_eV, energy_host_eV
        Total energies of the defect and host supercells (eV).
    delta_n
        Atoms added (+) or removed (-) per element.
    mu_eV
        Absolute chemical potentials (eV/atom) of at least the elements in ``delta_n``.
    charge
        Supercell charge q (e).
    fermi_level_eV
        Fermi level relative to the VBM (eV); used when ``charge != 0``.
    vbm_eV
        Host valence-band maximum (eV); required when ``charge != 0``.
    correction_eV
        Finite-size correction added to the result (eV).

    Returns
    -------
    float
        ``E_defect - E_host - Σ n_i μ_i + q (E_F + E_VBM) + correction``.
    """
    check_finite(energy_defect_eV, "defect energy")
    check_finite(energy_host_eV, "host energy")
    missing = sorted(el for el, n in delta_n.items() if n and el not in mu_eV)
    if missing:
        raise InputError(
            f"missing chemical potential for {', '.join(missing)}; add entries (or competing "
            "phases) containing it"
        )
    e_f = energy_defect_eV - energy_host_eV - sum(n * mu_eV[el] for el, n in delta_n.items())
    if charge:
        if vbm_eV is None:
            raise InputError(f"a charged defect (q = {charge:+d}) needs the host VBM energy")
        e_f += charge * (fermi_level_eV + vbm_eV)
    return check_finite(e_f + correction_eV, "formation energy")


def lower_envelope_max(lines: Sequence[tuple[int, float]], band_gap_eV: float) -> float:
    """Highest value of ``min_q (E_q + q E_F)`` for E_F in ``[0, band_gap_eV]`` (eV).

    Parameters
    ----------
    lines
        ``(charge q, formation energy at E_F = VBM)`` of each charge state of one defect.
    band_gap_eV
        Band gap (eV, >= 0).

    Returns
    -------
    float
        The maximum of the lower envelope over the gap (it is concave and piecewise linear,
        so the maximum lies at 0, at the gap or where two lines cross).
    """
    if not lines:
        raise InputError("no formation energies given")
    gap = max(float(band_gap_eV), 0.0)
    points = {0.0, gap}
    for i, (q1, e1) in enumerate(lines):
        for q2, e2 in lines[i + 1 :]:
            if q1 != q2:
                x = (e2 - e1) / (q1 - q2)
                if 0.0 < x < gap:
                    points.add(x)
    return max(min(e + q * x for q, e in lines) for x in points)


def formation_not_determined(
    lines: Sequence[tuple[int, float]], band_gap_eV: float | None
) -> str | None:
    """Why the formation energies of one defect at one limit are not a result, or None.

    A formation energy below 0 (below -1 meV, :data:`NEGATIVE_TOLERANCE_EV`, so that zero
    within numerical noise stays a result) means the host would form the defect
    spontaneously: the limit is outside the host's stability region, or the cell is not the
    intended defect.
    That is unphysical only where no Fermi level in the gap makes the defect cost energy:
    a neutral state below 0 (its E_f does not depend on E_F), or a lower envelope of the
    charge states below 0 over the whole gap. A charged state below 0 at the VBM alone is
    legitimate (a donor at E_F = 0). Without a band gap only a neutral state is judged.

    Parameters
    ----------
    lines
        ``(charge q, formation energy at E_F = VBM (eV))`` of each computed charge state.
    band_gap_eV
        Band gap (eV); None when unknown.

    Returns
    -------
    str or None
        The reason (``"E_f = -0.681 eV < 0 ..."``), None when the values are results.
    """
    neutral = [e for q, e in lines if q == 0]
    if neutral and (reason := negative_neutral_reason(min(neutral))):
        return reason
    if band_gap_eV is None or not any(q for q, _ in lines):
        return None
    top = lower_envelope_max(lines, band_gap_eV)
    if top < -NEGATIVE_TOLERANCE_EV:
        return (
            f"E_f < 0 at every Fermi level in the {band_gap_eV:.3f} eV gap (at most "
            f"{top:.3f} eV): {NEGATIVE_FORMATION_CAUSE}"
        )
    return None


def binding_energy(cluster_formation_eV: float, part_formation_eV: Sequence[float]) -> float:
    """Return ``E_f(cluster) - Σ E_f(parts)`` (eV); negative means the cluster is bound.

    For a neutral cluster of charged parts the ``q (E_F + E_VBM)`` terms of the parts cancel,
    so the result does not depend on the Fermi level.
    """
    if not part_formation_eV:
        raise InputError("binding energy needs the formation energies of the isolated parts")
    return check_finite(cluster_formation_eV - float(np.sum(part_formation_eV)), "binding energy")


def screened_coulomb_energy(
    charges: Sequence[float],
    positions_A: Sequence[Sequence[float]] | np.ndarray,
    dielectric_constant: float,
    lattice: Lattice | None = None,
) -> float:
    """Screened point-charge interaction of a set of defects (eV).

    Parameters
    ----------
    charges
        Effective charges (e).
    positions_A
        Cartesian positions (Å); with ``lattice`` distances use the minimum image.
    dielectric_constant
        Static relative permittivity ε (> 0).
    lattice
        Supercell lattice for minimum-image distances (optional).

    Returns
    -------
    float
        ``Σ_{i<j} 14.3996 q_i q_j / (ε r_ij)`` in eV.
    """
    if not dielectric_constant or dielectric_constant <= 0:
        raise InputError(f"dielectric constant {dielectric_constant} must be > 0")
    pos = np.asarray(positions_A, dtype=float)
    if lattice is not None:
        frac = lattice.get_fractional_coords(pos)
        dist = lattice.get_all_distances(frac, frac)
    else:
        dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2)
    energy = 0.0
    for i in range(len(charges)):
        for j in range(i + 1, len(charges)):
            if dist[i, j] < 1e-8:
                raise InputError(f"defects {i} and {j} sit on the same point")
            energy += COULOMB_EV_A * charges[i] * charges[j] / (dielectric_constant * dist[i, j])
    return energy


def point_charge_correction(lattice: Lattice, charge: int, dielectric_constant: float) -> float:
    """First-order image-charge correction of a charged supercell (eV).

    The Ewald energy of one point charge in a uniform neutralising background is
    ``-q² alpha_M / (2 L)``; the correction adds it back screened by ε: ``+q² alpha_M / (2 ε L)``.

    Parameters
    ----------
    lattice
        Supercell lattice.
    charge
        Supercell charge q (e).
    dielectric_constant
        Static relative permittivity ε.

    Returns
    -------
    float
        Correction to add to the formation energy (eV); 0 for q = 0.
    """
    if charge == 0:
        return 0.0
    if dielectric_constant <= 0:
        raise InputError(f"dielectric constant {dielectric_constant} must be > 0")
    from pymatgen.analysis.ewald import EwaldSummation
    from pymatgen.core import Species, Structure

    cell = Structure(lattice, [Species("H", float(charge))], [[0, 0, 0]])
    energy = EwaldSummation(cell).total_energy  # includes the background term
    return check_finite(-energy / dielectric_constant, "point-charge correction")


def _condition_vertex(
    chempots: dict[str, dict[Element, float]], condition: str
) -> tuple[str, dict[Element, float]]:
    match = _CONDITION.match(condition.strip())
    if match:
        el, kind = Element(match.group(1).capitalize()), match.group(2).lower()
        if el not in next(iter(chempots.values())):
            raise InputError(f"condition {condition!r}: {el} is not an element of the host")
        sign = 1.0 if kind == "rich" else -1.0
        # most extreme μ for the element; ties broken by vertex name for determinism
        name = min(chempots, key=lambda k: (-sign * round(chempots[k][el], 6), k))
        return name, chempots[name]
    if condition in chempots:
        return condition, chempots[condition]
    raise InputError(
        f"unknown chemical-potential condition {condition!r}; use '<El>-rich', '<El>-poor' or "
        f"one of the vertices: {', '.join(sorted(chempots))}"
    )


def chemical_potentials(
    entries: Sequence[Entry],
    host: Composition | str,
    condition: str = "Li-rich",
    extrinsic: Sequence[str] = (),
    source: str = "",
) -> ChemicalPotentialSet:
    """Chemical potentials at one vertex of the host's stability region.

    Parameters
    ----------
    entries
        Computed entries of the host, its competing phases and the elements (one settings
        family; corrections already applied).
    host
        Host composition.
    condition
        ``"<El>-rich"`` / ``"<El>-poor"`` (vertex with the largest / smallest μ of that
        element) or a vertex name as pymatgen writes it (e.g. ``"Li2O-LiCl-Li"``).
    extrinsic
        Dopant elements not in the host (e.g. ``["S"]``): μ is the largest value at which
        none of their phases with the host elements forms.
    source
        Provenance text recorded in the result.

    Returns
    -------
    ChemicalPotentialSet
        Absolute μ (eV/atom), μ relative to the elemental phases, the phases fixing the
        vertex, and the host's distance above the hull (eV/atom) before it was placed on it.
    """
    from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram

    host = Composition(host).reduced_composition
    host_els = set(host.elements)
    extra_els = {Element(x) for x in extrinsic} - host_els
    by_els = [e for e in entries if set(e.composition.elements) <= host_els]
    refs = {}
    for el in host_els | extra_els:
        elemental = [e for e in entries if e.composition.elements == [el]]
        if not elemental:
            raise InputError(
                f"missing chemical potentials: no elemental {el} entry among the competing "
                "phases; add it to the entries file or the competing-phase structures"
            )
        refs[el] = min(e.energy_per_atom for e in elemental)
    hosts = [e for e in by_els if e.composition.reduced_composition == host]
    if not hosts:
        raise InputError(
            f"missing chemical potentials: no {host.reduced_formula} entry among the "
            "competing phases; add the relaxed host"
        )
    host_entry = min(hosts, key=lambda e: e.energy_per_atom)
    pd = PhaseDiagram([e for e in by_els if e not in hosts] + [host_entry])
    e_hull = float(pd.get_e_above_hull(host_entry, allow_negative=True))
    others = [e for e in by_els if e not in hosts]
    n_atoms = host_entry.composition.num_atoms
    if e_hull > 1e-8:
        # put the host just below the hull so its stability region exists
        target = pd.get_hull_energy_per_atom(host_entry.composition) - HULL_SHIFT_EV_ATOM
        host_entry = PDEntry(host_entry.composition, target * n_atoms, name=host.reduced_formula)
        pd = PhaseDiagram([*others, host_entry])
    chempots = {
        name: {el: float(mu) for el, mu in mus.items()}
        for name, mus in pd.get_all_chempots(host).items()
    }
    vertex, mu = _condition_vertex(chempots, condition)
    mu = dict(mu)
    phases = [p.strip() for p in vertex.split("-")]
    for el in sorted(extra_els, key=lambda e: e.symbol):
        limit, phase = refs[el], el.symbol
        for e in entries:
            comp = e.composition
            if el not in comp or not set(comp.elements) <= host_els | {el}:
                continue
            rest = sum(comp[x] * mu[x] for x in comp.elements if x != el)
            value = (e.energy - rest) / comp[el]
            if value < limit - 1e-9:
                limit, phase = value, comp.reduced_formula
        mu[el] = float(limit)
        phases.append(phase)
    return ChemicalPotentialSet(
        condition=condition,
        vertex=vertex,
        mu_eV={el.symbol: v for el, v in sorted(mu.items(), key=lambda kv: kv[0].symbol)},
        mu_relative_eV={
            el.symbol: v - refs[el] for el, v in sorted(mu.items(), key=lambda kv: kv[0].symbol)
        },
        competing_phases=phases,
        host_e_above_hull_eV_atom=max(e_hull, 0.0),
        source=source,
    )
