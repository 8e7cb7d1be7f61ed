"""From a bulk supercell and a defect supercell to one :class:`ChargedDefect` (pure).

- :func:`check_defect_cell`: the defect cell must be the bulk supercell with a few atoms
  added, removed or swapped (same lattice);
- :func:`defect_position`: fractional position of the defect in the cell (impurities:
  pymatgen-analysis-defects' weighted average of the impurity atoms; native defects: the
  site without a same-species partner in the other cell, a light stand-in for its
  SOAP-based finder, which needs dscribe);
- :func:`charged_defect_from_cells`: name and element changes (pymatgen-analysis-defects'
  ``NamedDefect.from_structures``), multiplicity, and the finite-size correction
  (:func:`choose_correction`): Freysoldt (planar-averaged LOCPOTs of both cells), Kumagai
  (eFNV: OUTCAR site potentials of both cells), or ``none: <reason>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pymatgen.analysis.defects.core import NamedDefect
from pymatgen.analysis.defects.finder import get_weighted_average_position

from ionflow.analysis.defect_thermo import ChargedDefect
from ionflow.analysis.freysoldt import freysoldt_correction
from ionflow.analysis.kumagai import kumagai_correction, pydefect_missing
from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = [
    "CORRECTIONS",
    "MAX_CHANGED_ATOMS",
    "charged_defect_from_cells",
    "check_correction",
    "check_defect_cell",
    "choose_correction",
    "defect_position",
]

#: a "defect" cell differing from the bulk by more atoms than this is another cell
MAX_CHANGED_ATOMS = 8

#: relative tolerance on the lattice parameters of defect and bulk supercells
LATTICE_RTOL = 0.02

#: finite-size corrections one can ask for; ``auto``: Freysoldt where both cells have a
#: LOCPOT, else Kumagai (eFNV) where both have OUTCAR site potentials, else none
CORRECTIONS = ("auto", "freysoldt", "kumagai", "none")


def check_defect_cell(bulk: Structure, defect: Structure, what: str) -> dict[str, int]:
    """Raise an ``InputError`` unless ``defect`` is a defect cell of ``bulk``.

    Returns
    -------
    dict
        Atoms added (+) / removed (-) per element.
    """
    a, b = np.array(bulk.lattice.abc), np.array(defect.lattice.abc)
    angles = np.array(bulk.lattice.angles), np.array(defect.lattice.angles)
    if not (np.allclose(a, b, rtol=LATTICE_RTOL) and np.allclose(*angles, atol=1.0)):
        raise InputError(
            f"{what}: its cell {np.round(b, 3).tolist()} Å does not match the bulk supercell "
            f"{np.round(a, 3).tolist()} Å; the defect must be in the same supercell"
        )
    bulk_comp, defect_comp = bulk.composition, defect.composition
    changes = {
        el.symbol: round(defect_comp[el] - bulk_comp[el])
        for el in set(bulk_comp.elements) | set(defect_comp.elements)
    }
    changes = {el: n for el, n in sorted(changes.items()) if n}
    if not changes:
        raise InputError(f"{what}: same composition as the bulk supercell; no defect found")
    if sum(abs(n) for n in changes.values()) > MAX_CHANGED_ATOMS:
        raise InputError(
            f"{what}: composition {defect_comp.formula} differs from the bulk supercell "
            f"{bulk_comp.formula} by more than {MAX_CHANGED_ATOMS} atoms; not a defect cell "
            "of this bulk"
        )
    return changes


def _unmatched(cell: Structure, other: Structure) -> tuple[float, np.ndarray]:
    """Largest distance from a site of ``cell`` to the nearest same-species site of ``other``."""
    best, where = -1.0, cell[0].frac_coords
    for el in {s.specie for s in cell}:
        mine = np.array([s.frac_coords for s in cell if s.specie == el])
        theirs = np.array([s.frac_coords for s in other if s.specie == el])
        if not len(theirs):
            return np.inf, mine[0]
        dist = cell.lattice.get_all_distances(mine, theirs).min(axis=1)
        i = int(dist.argmax())
        if dist[i] > best:
            best, where = float(dist[i]), mine[i]
    return best, where


def defect_position(bulk: Structure, defect: Structure) -> np.ndarray:
    """Fractional coordinates of the defect in the defect cell.

    Impurities (species absent from the bulk): the periodic average of the impurity atoms
    (pymatgen-analysis-defects' ``get_weighted_average_position``). Native defects: the
    site of either cell farthest from any same-species site of the other cell (a vacancy
    is a bulk site, an interstitial or antisite a defect-cell site).
    """
    host = {s.species_string for s in bulk}
    impurities = [s.frac_coords for s in defect if s.species_string not in host]
    if impurities:
        return np.asarray(get_weighted_average_position(defect.lattice, impurities)) % 1.0
    d_bulk, at_bulk = _unmatched(bulk, defect)
    d_defect, at_defect = _unmatched(defect, bulk)
    return np.asarray(at_bulk if d_bulk >= d_defect else at_defect) % 1.0


def check_correction(requested: str) -> str:
    """Return ``requested`` if it is one of :data:`CORRECTIONS`, else raise an InputError."""
    if requested not in CORRECTIONS:
        raise InputError(f"correction {requested!r}: choose one of {', '.join(CORRECTIONS)}")
    return requested


def choose_correction(
    requested: str,
    charge: int,
    *,
    has_locpot: tuple[bool, bool],
    has_site_potentials: tuple[bool, bool],
    dielectric_known: bool,
) -> str:
    """Pick the correction of one cell: ``freysoldt``, ``kumagai`` or ``none: <reason>``.

    Parameters
    ----------
    requested
        One of :data:`CORRECTIONS`.
    charge
        Supercell charge (neutral cells get ``none: neutral``).
    has_locpot, has_site_potentials
        Whether the (defect, bulk) cells have a LOCPOT / OUTCAR site potentials.
    dielectric_known
        Whether ε was given.
    """
    check_correction(requested)

    def missing(what: str, have: tuple[bool, bool]) -> str:
        return f"none: no {what}" + (" of the bulk" if have[0] else "")

    if charge == 0:
        return "none: neutral"
    if requested == "none":
        return "none: not requested"
    if requested == "freysoldt" or (requested == "auto" and all(has_locpot)):
        method = "freysoldt" if all(has_locpot) else missing("LOCPOT", has_locpot)
    elif requested == "kumagai":
        method = (
            "kumagai"
            if all(has_site_potentials)
            else missing("OUTCAR site potentials", has_site_potentials)
        )
    elif not all(has_site_potentials):  # auto, neither
        return "none: no LOCPOT or OUTCAR site potentials" + (
            " of the bulk" if has_locpot[0] or has_site_potentials[0] else ""
        )
    else:  # auto: OUTCARs without LOCPOTs
        why = pydefect_missing()
        method = f"none: no LOCPOT; Kumagai: {why}" if why else "kumagai"
    if not method.startswith("none") and not dielectric_known:
        return "none: no dielectric constant"
    return method


def charged_defect_from_cells(
    bulk: Structure,
    defect: Structure,
    energy_eV: float,
    charge: int,
    *,
    what: str,
    name: str | None = None,
    dielectric_constant: float | Sequence[float] | None = None,
    defect_planar_avg_eV: Sequence[Sequence[float]] | None = None,
    bulk_planar_avg_eV: Sequence[Sequence[float]] | None = None,
    defect_core_potentials_eV: Sequence[float] | None = None,
    bulk_core_potentials_eV: Sequence[float] | None = None,
    correction: str = "auto",
) -> ChargedDefect:
    """One :class:`ChargedDefect` from its relaxed cell, energy and charge.

    Parameters
    ----------
    bulk, defect
        Bulk and defect supercells.
    energy_eV
        Total energy of the defect supercell (eV).
    charge
        Supercell charge (e).
    what
        How to name this cell in errors (its folder).
    name
        Defect name (default: pymatgen-analysis-defects' name from the structures).
    dielectric_constant
        Static ε (scalar, diagonal or 3x3) for the correction.
    defect_planar_avg_eV, bulk_planar_avg_eV
        Planar-averaged LOCPOTs (None when a cell has no LOCPOT).
    defect_core_potentials_eV, bulk_core_potentials_eV
        OUTCAR site potentials per atom (None when a cell has none).
    correction
        One of :data:`CORRECTIONS` (:func:`choose_correction`).

    Returns
    -------
    ChargedDefect
        With its correction and terms; ``correction_method`` says why there is none.
    """
    changes = check_defect_cell(bulk, defect, what)
    named = NamedDefect.from_structures(defect, bulk)
    removed = [el for el, n in changes.items() if n < 0]
    multiplicity = (
        max(1, round(sum(bulk.composition[el] for el in removed) / len(removed))) if removed else 1
    )
    method = choose_correction(
        correction,
        charge,
        has_locpot=(defect_planar_avg_eV is not None, bulk_planar_avg_eV is not None),
        has_site_potentials=(
            defect_core_potentials_eV is not None,
            bulk_core_potentials_eV is not None,
        ),
        dielectric_known=dielectric_constant is not None,
    )
    corr, terms = 0.0, {}
    if method == "freysoldt":
        result = freysoldt_correction(
            defect_planar_avg_eV,
            bulk_planar_avg_eV,
            defect.lattice,
            charge,
            dielectric_constant,
            defect_position(bulk, defect),
        )
        corr = result.correction_eV
        terms = {"electrostatic": result.electrostatic_eV, "alignment": result.alignment_eV}
    elif method == "kumagai":
        efnv = kumagai_correction(
            defect,
            bulk,
            defect_core_potentials_eV,
            bulk_core_potentials_eV,
            charge,
            dielectric_constant,
        )
        corr = efnv.correction_eV
        terms = {"point_charge": efnv.point_charge_eV, "alignment": efnv.alignment_eV}
    return ChargedDefect(
        name=name or named.name,
        charge=int(charge),
        energy_eV=float(energy_eV),
        element_changes=changes,
        correction_eV=corr,
        correction_method=method,
        correction_terms_eV=terms,
        multiplicity=multiplicity,
        structure=defect,
    )
