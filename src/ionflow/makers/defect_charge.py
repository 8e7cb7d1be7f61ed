"""Charged defect cells: LOCPOT planar averages, site potentials, host VBM, the correction.

- :func:`read_cell_potential_job`: the job run after each VASP relaxation of a charged
  defect cell and of the host supercell; it reads the folder with
  :func:`ionflow.io.defect_runs.read_cell_potentials` (LOCPOT planar averages and/or
  OUTCAR site potentials, as the correction needs, and, for the host, the VBM from
  ``vasprun.xml``);
- :func:`charged_cell_correction`: which finite-size correction a configuration gets:
  with an engine that writes potentials, the study's choice (``auto``: ``"freysoldt"``
  when both cells' planar averages are there, else ``"kumagai"`` when both cells' site
  potentials are, the rule of ``ionflow analyze defects``:
  :func:`ionflow.analysis.defect_runs.choose_correction`); ``"point_charge"``
  (first-order Makov-Payne) for other engines; ``"none"`` for a neutral cell, when no ε
  was given or when the study asks for none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobflow import job

from ionflow.analysis.defect_runs import choose_correction
from ionflow.analysis.formation import point_charge_correction
from ionflow.analysis.freysoldt import freysoldt_correction
from ionflow.analysis.kumagai import kumagai_correction
from ionflow.engines.vasp.inputs import LOCPOT_INCAR
from ionflow.errors import InputError
from ionflow.io.defect_runs import read_cell_potentials
from ionflow.io.vasp_outputs import strip_host
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
        ``fmax_eV_A``, ``max_steps``, ``overrides`` of ``engine.relax_maker``;
        ``potential=False``: no LOCPOT (a charged cell for the Kumagai correction).

    Returns
    -------
    Maker
        The relax maker.
    """
    return engine.locpot_relax_maker(**kwargs)


@job(name="defects read locpot")
def read_cell_potential_job(
    dir_name: str, with_vbm: bool = False, correction: str = "freysoldt", host: bool = False
) -> CellPotentialDoc:
    """Job: :func:`read_cell_potentials` on the folder of the preceding relaxation."""
    return read_cell_potentials(dir_name, correction, with_vbm=with_vbm, host=host)


@dataclass(frozen=True)
class AppliedCorrection:
    """Correction of one configuration (see :func:`charged_cell_correction`).

    The fields are the ``correction_*`` fields of
    :class:`~ionflow.schemas.defects.DefectEnergyDoc` (``dataclasses.asdict`` fills them).
    """

    correction_method: str
    correction_eV: float
    correction_electrostatic_eV: float | None = None
    correction_alignment_eV: float | None = None
    correction_point_charge_eV: float | None = None


def charged_cell_correction(
    config: DefectConfig,
    relaxed: Structure,
    defect_frac_coords: Sequence[float],
    dielectric_constant: float | None,
    correction: bool | str,
    defect_potential: CellPotentialDoc | dict | None = None,
    host_potential: CellPotentialDoc | dict | None = None,
    defect_dir: str | None = None,
    host_dir: str | None = None,
    host_structure: Structure | None = None,
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
    correction
        ``"auto"``, ``"freysoldt"`` or ``"kumagai"`` (an engine that writes potentials:
        :func:`~ionflow.analysis.defect_runs.choose_correction` on the potentials given),
        ``"point_charge"``, ``"none"``; True / False as ``"freysoldt"`` /
        ``"point_charge"`` (documents stored before the choice).
    defect_potential, host_potential
        Potentials read from the defect and host supercell runs.
    defect_dir, host_dir
        Their run folders, named in the error when a potential could not be read.
    host_structure
        Relaxed host supercell (the Kumagai correction).

    Returns
    -------
    AppliedCorrection
        Method, correction (eV) and, for Freysoldt and Kumagai, its two parts.
    """
    if isinstance(correction, bool):
        correction = "freysoldt" if correction else "point_charge"
    if not config.charge or not dielectric_constant or correction == "none":
        return AppliedCorrection("none", 0.0)
    if correction == "point_charge":
        corr = point_charge_correction(relaxed.lattice, config.charge, dielectric_constant)
        return AppliedCorrection("point_charge", corr)
    if defect_potential is None or host_potential is None:
        which, folder = ("defect", defect_dir) if defect_potential is None else ("host", host_dir)
        where = f" from {strip_host(folder)}" if folder else ""
        if correction == "kumagai":
            name, tail = "OUTCAR site potentials", ""
            need = "'defects read site potentials' job failed; the run's OUTCAR holds them"
        else:
            name = "LOCPOT"
            tail = "" if correction == "freysoldt" else ", nor OUTCAR site potentials"
            need = "'defects read locpot' job failed; the run needs LVHAR = True"
        method = {"freysoldt": "Freysoldt", "kumagai": "Kumagai"}.get(
            correction, "Freysoldt or Kumagai"
        )
        raise InputError(
            f"{config.label}: no {name} of the {which} cell could be read{where} (its "
            f"{need}){tail}; no {method} correction possible"
        )
    defect_potential = CellPotentialDoc.model_validate(defect_potential)
    host_potential = CellPotentialDoc.model_validate(host_potential)
    method = choose_correction(
        correction,
        config.charge,
        has_locpot=(
            defect_potential.planar_avg_eV is not None,
            host_potential.planar_avg_eV is not None,
        ),
        has_site_potentials=(
            defect_potential.core_potentials_eV is not None,
            host_potential.core_potentials_eV is not None,
        ),
        dielectric_known=True,
    )
    if method == "kumagai":
        if host_structure is None:
            raise InputError(f"{config.label}: the Kumagai correction needs the host supercell")
        efnv = kumagai_correction(
            relaxed,
            host_structure,
            defect_potential.core_potentials_eV,
            host_potential.core_potentials_eV,
            config.charge,
            dielectric_constant,
        )
        return AppliedCorrection(
            "kumagai",
            efnv.correction_eV,
            correction_alignment_eV=efnv.alignment_eV,
            correction_point_charge_eV=efnv.point_charge_eV,
        )
    if method != "freysoldt":  # "none: <why>": the flow asked for potentials it lacks
        missing = [p.locpot_missing for p in (defect_potential, host_potential) if p.locpot_missing]
        raise InputError(
            f"{config.label}: no finite-size correction possible: {method[len('none: ') :]}"
            + (f" ({missing[0]})" if missing else "")
        )
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
