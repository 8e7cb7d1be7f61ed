"""Freysoldt finite-size correction of a charged defect supercell (pure, no file I/O).

:func:`freysoldt_correction` runs pymatgen-analysis-defects' Freysoldt steps
(``perform_es_corr``, ``perform_pot_corr``, as its ``get_freysoldt_correction`` does;
Freysoldt, Neugebauer, Van de Walle, PRL 102, 016402 (2009)) on planar-averaged
electrostatic potentials that a reader has already taken out of the defect and host
LOCPOT files. It returns the correction and its two parts:

- ``electrostatic_eV``: ``E_iso - E_per`` of a Gaussian model charge (width 1 bohr by
  default) screened by ε, the lattice (image-charge) term;
- ``alignment_eV``: ``q C``, where ``C`` (V) is the mean over the three lattice axes of
  ``ΔV_DFT - V_model`` sampled far from the defect (potential alignment).

``correction_eV = electrostatic_eV + alignment_eV`` is added to the formation energy.
For a well-localised charge in a cubic cell the electrostatic term equals the first-order
Makov-Payne term :func:`ionflow.analysis.formation.point_charge_correction`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.analysis.defects.corrections.freysoldt import perform_es_corr, perform_pot_corr
from pymatgen.analysis.defects.utils import QModel

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pymatgen.core import Lattice

__all__ = ["FreysoldtResult", "dielectric_tensor", "freysoldt_correction"]

#: convergence of the Madelung sums (pymatgen-analysis-defects' default ``mad_tol``)
MADELUNG_TOL = 1e-4

#: shift of the planar-average grid (Å) that breaks ties of a defect lying on a plane
GRID_TIE_A = 1e-9


@dataclass(frozen=True)
class FreysoldtResult:
    """Freysoldt correction of one charged supercell.

    Attributes
    ----------
    correction_eV
        Total correction added to the formation energy (eV).
    electrostatic_eV
        Lattice (image-charge) term ``E_iso - E_per`` (eV).
    alignment_eV
        Potential-alignment term ``q C`` (eV).
    alignment_per_axis_V
        ``C`` along each lattice axis (V); their mean times q is ``alignment_eV``.
    """

    correction_eV: float
    electrostatic_eV: float
    alignment_eV: float
    alignment_per_axis_V: tuple[float, float, float]


def _planar(avg: Mapping[int | str, Sequence[float]] | Sequence[Sequence[float]], what: str):
    if isinstance(avg, dict):
        try:
            axes = [np.asarray(avg[i] if i in avg else avg[str(i)], dtype=float) for i in range(3)]
        except KeyError:
            raise InputError(f"{what}: planar averages need the axes 0, 1 and 2") from None
    else:
        axes = [np.asarray(a, dtype=float) for a in avg]
    if len(axes) != 3 or any(a.ndim != 1 or len(a) < 4 for a in axes):
        raise InputError(f"{what}: need three 1D planar averages of at least 4 points each")
    if not all(np.isfinite(a).all() for a in axes):
        raise InputError(f"{what}: the planar-averaged potential contains NaN/inf")
    return axes


def dielectric_tensor(
    dielectric_constant: float | Sequence[float] | Sequence[Sequence[float]],
) -> np.ndarray:
    """Return the static ε as a 3x3 tensor (from a scalar, 3 diagonal values or 3x3)."""
    eps = np.asarray(dielectric_constant, dtype=float)
    tensor = eps * np.eye(3) if eps.ndim == 0 else np.diag(eps) if eps.ndim == 1 else eps
    if tensor.shape != (3, 3) or not np.isfinite(tensor).all():
        raise InputError(f"dielectric constant {dielectric_constant}: give ε, 3 values or 3x3")
    if np.linalg.eigvalsh((tensor + tensor.T) / 2).min() <= 0:
        raise InputError(f"dielectric constant {dielectric_constant} must be positive")
    return tensor


def freysoldt_correction(
    defect_planar_avg: Mapping[int | str, Sequence[float]] | Sequence[Sequence[float]],
    host_planar_avg: Mapping[int | str, Sequence[float]] | Sequence[Sequence[float]],
    lattice: Lattice,
    charge: int,
    dielectric_constant: float | Sequence[float] | Sequence[Sequence[float]],
    defect_frac_coords: Sequence[float],
    *,
    energy_cutoff_eV: float = 520.0,
) -> FreysoldtResult:
    """Freysoldt correction from planar-averaged electrostatic potentials.

    Parameters
    ----------
    defect_planar_avg, host_planar_avg
        Planar averages of the electrostatic potential (eV, as in VASP's LOCPOT) along
        lattice axes 0, 1, 2 (``{axis: values}`` or a 3-item sequence); the grids of the
        two cells must match.
    lattice
        Defect supercell lattice (same cell as the host supercell).
    charge
        Supercell charge q (e).
    dielectric_constant
        Static ε: a scalar, a diagonal (3 values) or a 3x3 tensor.
    defect_frac_coords
        Fractional position of the defect in the supercell.
    energy_cutoff_eV
        Reciprocal-space cutoff of the model-charge sums (eV).

    Returns
    -------
    FreysoldtResult
        Total correction and its electrostatic and alignment parts (eV).
    """
    tensor = dielectric_tensor(dielectric_constant)
    defect = _planar(defect_planar_avg, "defect cell")
    host = _planar(host_planar_avg, "host cell")
    shapes = [len(a) for a in defect], [len(a) for a in host]
    if shapes[0] != shapes[1]:
        raise InputError(
            f"defect and host LOCPOT grids differ ({shapes[0]} vs {shapes[1]} points per "
            "axis); run both cells with the same NGX/NGY/NGZ (same ENCUT and PREC)"
        )
    if charge == 0:
        return FreysoldtResult(0.0, 0.0, 0.0, (0.0, 0.0, 0.0))
    # pymatgen-analysis-defects' get_freysoldt_correction, given planar averages as dicts,
    # builds each axis grid with np.linspace(0, L, n) (endpoint included: stretched by
    # n/(n-1) against its own Locpot path, ~1 meV on a 20-point grid); its two steps are
    # called here with the Locpot grid i L / n, so planar averages and LOCPOTs agree.
    # The grid is shifted by GRID_TIE_A: perform_pot_corr rolls the first plane strictly
    # beyond the defect to the origin, which puts a defect lying exactly on a plane one
    # plane off; the shift makes that plane the origin (no other change)
    frac = np.asarray(defect_frac_coords, dtype=float) % 1.0
    # the model of the defect charge both terms use
    model = {
        "lattice": lattice,
        "q": int(charge),
        "dielectric": tensor,
        "q_model": QModel(),
        "mad_tol": MADELUNG_TOL,
    }
    electrostatic = float(perform_es_corr(energy_cutoff=energy_cutoff_eV, **model))
    per_axis = []
    for axis in range(3):
        n = len(defect[axis])
        grid = [i / n * lattice.abc[axis] + GRID_TIE_A for i in range(n)]
        value, _ = perform_pot_corr(
            axis_grid=grid,
            pureavg=host[axis],
            defavg=defect[axis],
            defect_frac_coords=frac,
            axis=axis,
            widthsample=1.0,
            **model,
        )
        per_axis.append(float(value))
    alignment = float(np.mean(per_axis)) * int(charge)
    total = electrostatic + alignment
    for name, value in (("electrostatic", electrostatic), ("alignment", alignment)):
        if not math.isfinite(value):
            raise InputError(f"Freysoldt {name} term is {value}; check the LOCPOT files")
    return FreysoldtResult(total, electrostatic, alignment, tuple(per_axis))  # type: ignore[arg-type]
