"""Charged defect cells: LOCPOT planar averages, host VBM, and the choice of correction.

- :func:`read_cell_potential`: reads a finished VASP run folder: the LOCPOT averaged over
  planes along each lattice axis (only these three short arrays are kept, never the whole
  LOCPOT) and, for the host, the VBM from ``vasprun.xml``;
- :func:`read_cell_potential_job`: the job run after each VASP relaxation of a charged
  defect cell and of the host supercell;
- :func:`charged_cell_correction`: which finite-size correction a configuration gets:
  ``"freysoldt"`` when both cells' planar averages are given (engine vasp),
  ``"point_charge"`` (first-order Makov-Payne) for other engines, ``"none"`` for a neutral
  cell or when no ε was given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import job

from ionflow.analysis.formation import point_charge_correction
from ionflow.analysis.freysoldt import freysoldt_correction
from ionflow.engines.vasp.inputs import LOCPOT_INCAR
from ionflow.errors import InputError
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
    "read_cell_potential",
    "read_cell_potential_job",
    "read_vbm",
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


def _strip_host(dir_name: str | Path) -> Path:
    # atomate2 task documents store "host:/abs/path"
    from atomate2.utils.path import strip_hostname

    return Path(strip_hostname(dir_name) if ":" in str(dir_name) else dir_name)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz", f"{stem}.relax1.gz", f"{stem}.bz2"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob(f"{stem}*"))
    return found[-1] if found else None


def read_vbm(folder: str | Path) -> tuple[float, str]:
    """Host VBM (eV) from ``vasprun.xml`` in a run folder.

    The highest occupied eigenvalue (``Vasprun.eigenvalue_band_properties``); when the
    run has no gap, the Fermi level.

    Returns
    -------
    vbm_eV, source
        The VBM and how it was obtained.
    """
    from pymatgen.io.vasp import Vasprun

    folder = _strip_host(folder)
    path = _find(folder, "vasprun.xml")
    if path is None:
        raise InputError(f"no vasprun.xml in {folder}: the host VBM cannot be read; set vbm_eV")
    run = Vasprun(str(path), parse_dos=False, parse_potcar_file=False)
    gap, _, vbm, _ = run.eigenvalue_band_properties
    if gap > 0 and vbm is not None:
        return float(vbm), f"host run {path.name}: highest occupied eigenvalue"
    return float(run.efermi), f"host run {path.name}: E_Fermi (no gap)"


def read_cell_potential(folder: str | Path, with_vbm: bool = False) -> CellPotentialDoc:
    """Planar-averaged LOCPOT of a finished VASP run (and optionally its VBM).

    Parameters
    ----------
    folder
        Run folder (``host:`` prefix of atomate2's ``dir_name`` allowed).
    with_vbm
        Also read the VBM from ``vasprun.xml`` (the host supercell).

    Returns
    -------
    CellPotentialDoc
        Three planar averages (eV) and the VBM.
    """
    from pymatgen.io.vasp import Locpot

    folder = _strip_host(folder)
    path = _find(folder, "LOCPOT")
    if path is None:
        raise InputError(
            f"no LOCPOT in {folder}: the charged-cell (Freysoldt) correction needs VASP's "
            "electrostatic potential; run the host supercell and charged defect cells with "
            "LVHAR = True (ionflow sets it; check that engine overrides do not turn it off)"
        )
    locpot = Locpot.from_file(str(path))
    planar = [locpot.get_average_along_axis(i).tolist() for i in range(3)]
    vbm, source = read_vbm(folder) if with_vbm else (None, "")
    return CellPotentialDoc(
        dir_name=str(folder), planar_avg_eV=planar, vbm_eV=vbm, vbm_source=source
    )


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
        where = f" from {_strip_host(folder)}" if folder else ""
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
