"""Kumagai (extended FNV) finite-size correction of a charged defect supercell (pure).

:func:`kumagai_correction` runs pymatgen-analysis-defects' ``get_efnv_correction`` (a thin
wrapper around pydefect's ``make_efnv_correction``; Kumagai and Oba, PRB 89, 195205 (2014))
on the atomic-site electrostatic potentials a reader has already taken out of the defect
and bulk OUTCARs ("average (electrostatic) potential at core", written by every VASP run).
It returns the correction and its two parts:

- ``point_charge_eV``: ``-q² E_Madelung(ε)``, the lattice energy of a point charge in the
  anisotropically screening supercell (Ewald sum with the dielectric tensor);
- ``alignment_eV``: ``-q ⟨ΔV_site - V_pc⟩``, the mean over the sites outside the defect
  region (the sphere touching half the largest face distance) of the DFT site-potential
  difference minus the point-charge potential.

``correction_eV = point_charge_eV + alignment_eV`` is added to the formation energy.

pydefect and vise are optional: ``pip install --no-deps pydefect==0.10.1 vise==0.9.6``
(their declared dependencies pull ~108 MB of packages the eFNV path never imports).
:func:`pydefect_missing` says whether they are importable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.analysis.defects.corrections import kumagai as _efnv

from ionflow.analysis.freysoldt import dielectric_tensor
from ionflow.errors import InputError, IonflowError

try:  # pydefect is optional (see PYDEFECT_INSTALL); its errors are bad input here
    from pydefect.util.error_classes import NoCalculatedPotentialSiteError, SupercellError

    _PYDEFECT_ERRORS: tuple[type[Exception], ...] = (
        NoCalculatedPotentialSiteError,
        SupercellError,
    )
except ImportError:
    _PYDEFECT_ERRORS = ()

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = [
    "PYDEFECT_INSTALL",
    "KumagaiResult",
    "kumagai_correction",
    "pydefect_missing",
    "require_pydefect",
]

#: the one-line install of the eFNV backend (pure-Python wheels; --no-deps on purpose)
PYDEFECT_INSTALL = "pip install --no-deps pydefect==0.10.1 vise==0.9.6"

#: relative tolerance on the lattice vectors: pydefect needs the same supercell
LATTICE_RTOL = 1e-5


@dataclass(frozen=True)
class KumagaiResult:
    """Kumagai (eFNV) correction of one charged supercell.

    Attributes
    ----------
    correction_eV
        Total correction added to the formation energy (eV).
    point_charge_eV
        Point-charge lattice term ``-q² E_Madelung(ε)`` (eV).
    alignment_eV
        Potential-alignment term ``-q ⟨ΔV - V_pc⟩`` over the sites outside the defect
        region (eV).
    defect_region_radius_A
        Radius of the defect region (Å); sites beyond it are averaged.
    sampled_sites
        Number of sites averaged for the alignment.
    """

    correction_eV: float
    point_charge_eV: float
    alignment_eV: float
    defect_region_radius_A: float
    sampled_sites: int


def pydefect_missing() -> str | None:
    """None when the eFNV backend is importable, else why not and how to install it."""
    if _efnv.__has_pydefect__:
        return None
    return f"pydefect/vise are not installed ({PYDEFECT_INSTALL})"


def require_pydefect() -> None:
    """Raise an IonflowError (exit 2) naming the install command unless pydefect imports."""
    if pydefect_missing():
        raise IonflowError(
            "the Kumagai (eFNV) correction needs pydefect and vise, which are not installed: "
            f"{PYDEFECT_INSTALL}"
        )


def _with_potentials(structure: Structure, core_potentials_eV: Sequence[float], what: str):
    pots = np.asarray(core_potentials_eV, dtype=float)
    if pots.shape != (len(structure),):
        raise InputError(
            f"{what}: {pots.size} OUTCAR site potentials for {len(structure)} atoms in "
            "vasprun.xml; OUTCAR and vasprun.xml are not of the same run"
        )
    if not np.isfinite(pots).all():
        raise InputError(f"{what}: the OUTCAR site potentials contain NaN/inf")
    # pydefect's sign convention, as the library's get_structure_with_pot: minus the
    # OUTCAR "average (electrostatic) potential at core"
    return structure.copy(site_properties={"potential": (-pots).tolist()})


def kumagai_correction(
    defect: Structure,
    bulk: Structure,
    defect_core_potentials_eV: Sequence[float],
    bulk_core_potentials_eV: Sequence[float],
    charge: int,
    dielectric_constant: float | Sequence[float] | Sequence[Sequence[float]],
) -> KumagaiResult:
    """Kumagai (eFNV) correction from the site potentials of the defect and bulk cells.

    Parameters
    ----------
    defect, bulk
        Defect and bulk supercells (final structures of the runs).
    defect_core_potentials_eV, bulk_core_potentials_eV
        Per atom, in the order of the structure, VASP's "average (electrostatic) potential
        at core" of the last ionic step (as pymatgen's ``Outcar.electrostatic_potential``).
    charge
        Supercell charge q (e).
    dielectric_constant
        Static ε: a scalar, a diagonal (3 values) or a 3x3 tensor.

    Returns
    -------
    KumagaiResult
        Total correction and its point-charge and alignment parts (eV).
    """
    require_pydefect()
    tensor = dielectric_tensor(dielectric_constant)
    if not np.allclose(defect.lattice.matrix, bulk.lattice.matrix, rtol=LATTICE_RTOL, atol=1e-6):
        raise InputError(
            "the Kumagai correction needs the defect cell in the bulk supercell's exact "
            "lattice (relax the defect at fixed cell, ISIF = 2)"
        )
    with_pot_defect = _with_potentials(defect, defect_core_potentials_eV, "defect cell")
    with_pot_bulk = _with_potentials(bulk, bulk_core_potentials_eV, "bulk cell")
    try:
        result = _efnv.get_efnv_correction(
            int(charge), with_pot_defect, with_pot_bulk, dielectric_tensor=tensor.tolist()
        )
    except _PYDEFECT_ERRORS as exc:
        raise InputError(f"Kumagai correction: {exc}") from None
    efnv = result.metadata["efnv_corr"]
    sampled = sum(1 for s in efnv.sites if s.distance > efnv.defect_region_radius)
    out = KumagaiResult(
        correction_eV=float(efnv.correction_energy),
        point_charge_eV=float(efnv.point_charge_correction),
        alignment_eV=float(efnv.alignment_correction),
        defect_region_radius_A=float(efnv.defect_region_radius),
        sampled_sites=sampled,
    )
    for name in ("point_charge_eV", "alignment_eV"):
        if not math.isfinite(getattr(out, name)):
            raise InputError(f"Kumagai {name} term is not finite; check the OUTCAR files")
    return out
