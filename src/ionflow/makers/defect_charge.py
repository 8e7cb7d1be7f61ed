"""Charged defect cells: LOCPOT planar averages, host VBM, and the choice of correction.

- :func:`read_cell_potential_job`: the job run after each VASP relaxation of a charged
  defect cell and of the host supercell; it reads the folder with
  :func:`ionflow.io.vasp_outputs.read_cell_potential` (LOCPOT planar averages and, for
  the host, the VBM from ``vasprun.xml``);
- :func:`charged_cell_correction`: which finite-size correction a configuration gets:
  ``"freysoldt"`` when both cells' planar averages are given (engine vasp),
  ``"point_charge"`` (first-order Makov-Payne) for other engines, ``"none"`` for a neutral
  cell or when no ε was given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobflow import job

from ionflow.analysis.formation import point_charge_correction
from ionflow.analysis.freysoldt import freysoldt_correction
from ionflow.engines.vasp.inputs import LOCPOT_INCAR
from ionflow.errors import InputError
from ionflow.io.vasp_outputs import read_cell_potential, strip_host
from ionflow.schemas.defects import CellPotentialDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Maker
    from pymatgen.core import Structure

    from ionflow.engines.base import EngineAdapter
    from ionflow.schemas.defects import DefectConfig

__all__ = [
    "LOCPOT_INCAR",
    "AppliedCorrection",
    "charged_cell_correction",
    "locpot_relax_maker",
    "read_cell_potential_job",
]

logger = logging.getLogger(__name__)


def locpot_relax_maker(engine: EngineAdapter, **kwargs: Any) -> Maker:
    """Return the fixed-cell relax maker for cells whose LOCPOT is read afterwards.

    The engine's ``locpot_relax_maker`` (engines with the ``locpot`` capability; VASP adds
    :data:`LOCPOT_INCAR` over the ``overrides`` and makes ``Structure.charge`` NELECT).

    Parameters
    ----------
    engine
        The engine adapter.
    **kwargs
        ``fmax_eV_A``, ``max_steps``, ``overrides`` of ``engine.relax_maker``.

    Returns
    -------
    Maker
        The relax maker.
    """
    return engine.locpot_relax_maker(**kwargs)


@job(name="defects read locpot")
def read_cell_potential_job(dir_name: str, with_vbm: bool = False) -> CellPotentialDoc:
    """Job: :func:`read_cell_potential` on the folder of the preceding relaxation."""
    return read_cell_potential(dir_name, with_vbm)


@dataclass(frozen=True)
class AppliedCorrection:
    """Correction of one configuration (see :func:`charged_cell_correction`)."""

    method: str
    correction_eV: float
    electrostatic_eV: float | None = None
    alignment_eV: float | None = None


def charged_cell_correction(
    config: DefectConfig,
    relaxed: Structure,
    defect_frac_coords: Sequence[float],
    dielectric_constant: float | None,
    freysoldt: bool,
    defect_potential: CellPotentialDoc | dict | None = None,
    host_potential: CellPotentialDoc | dict | None = None,
    defect_dir: str | None = None,
    host_dir: str | None = None,
) -> AppliedCorrection:
    """Finite-size correction of one relaxed configuration.

    Parameters
    ----------
    config
        The configuration (its ``charge`` decides whether a correction applies).
    relaxed
        Relaxed defect supercell.
    defect_frac_coords
        Fractional position of the defect (the first one of a charged cluster).
    dielectric_constant
        Static ε (None: no correction).
    freysoldt
        Use the Freysoldt scheme (engine vasp); both potentials must then be given.
    defect_potential, host_potential
        Planar-averaged LOCPOTs of the defect and host supercells.
    defect_dir, host_dir
        Their run folders, named in the error when a LOCPOT could not be read.

    Returns
    -------
    AppliedCorrection
        Method, correction (eV) and, for Freysoldt, its two parts.
    """
    if not config.charge or not dielectric_constant:
        return AppliedCorrection("none", 0.0)
    if not freysoldt:
        corr = point_charge_correction(relaxed.lattice, config.charge, dielectric_constant)
        return AppliedCorrection("point_charge", corr)
    if defect_potential is None or host_potential is None:
        which, folder = ("defect", defect_dir) if defect_potential is None else ("host", host_dir)
        where = f" from {strip_host(folder)}" if folder else ""
        raise InputError(
            f"{config.label}: no LOCPOT of the {which} cell could be read{where} (its "
            "'defects read locpot' job failed; the run needs LVHAR = True); no Freysoldt "
            "correction possible"
        )
    defect_potential = CellPotentialDoc.model_validate(defect_potential)
    host_potential = CellPotentialDoc.model_validate(host_potential)
    result = freysoldt_correction(
        defect_potential.planar_avg_eV,
        host_potential.planar_avg_eV,
        relaxed.lattice,
        config.charge,
        dielectric_constant,
        defect_frac_coords,
    )
    return AppliedCorrection(
        "freysoldt", result.correction_eV, result.electrostatic_eV, result.alignment_eV
    )
