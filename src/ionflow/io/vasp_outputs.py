"""VASP run-folder files besides trajectories: vasprun.xml ionic steps and VBM, LOCPOT, CONTCAR.

MD trajectories (vasprun.xml, XDATCAR) are streamed by :mod:`ionflow.io.vasp`; NEB
folders (OUTCAR, INCAR) are read by :mod:`ionflow.io.neb_folders`.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from atomate2.utils.path import strip_hostname
from pymatgen.io.vasp import Locpot, Vasprun

from ionflow.errors import InputError
from ionflow.io.streams import open_binary, read_text
from ionflow.schemas.defects import CellPotentialDoc

__all__ = [
    "copy_uncompressed",
    "find_file",
    "find_output",
    "quiet_vasprun",
    "read_cell_potential",
    "read_contcar_text",
    "read_md_ionic_steps",
    "read_vbm",
    "strip_host",
]


def find_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or ``folder/name.gz`` (the files of an MD attempt), else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


def quiet_vasprun(path: Path, *, dos: bool = False, eigen: bool = False, **kwargs: Any) -> Vasprun:
    """Parse a ``vasprun.xml`` with pymatgen, its warnings silenced (truncated files warn).

    Projections and the POTCAR are never parsed; ``dos`` and ``eigen`` switch the DOS and
    eigenvalues on; ``kwargs`` go to :class:`~pymatgen.io.vasp.Vasprun`.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Vasprun(
            str(path),
            parse_dos=dos,
            parse_eigen=eigen,
            parse_projected_eigen=False,
            parse_potcar_file=False,
            **kwargs,
        )


def read_md_ionic_steps(path: Path) -> list[dict[str, Any]]:
    """Complete ionic steps of a (possibly truncated) MD ``vasprun.xml``.

    Parameters
    ----------
    path
        The vasprun.xml (plain or .gz) of one MD attempt.

    Returns
    -------
    list of dict
        pymatgen's ionic-step dicts that hold a ``structure`` and ``e_fr_energy`` (eV);
        ``kinetic`` (eV) when VASP wrote it.
    """
    vr = quiet_vasprun(path, exception_on_bad_xml=False)  # the frames read are kept
    return [s for s in vr.ionic_steps if "structure" in s and "e_fr_energy" in s]


def read_contcar_text(folder: Path) -> str | None:
    """Text of the CONTCAR (or CONTCAR.gz) in ``folder``, None when there is none."""
    path = find_file(folder, "CONTCAR")
    return read_text(path) if path is not None else None


def copy_uncompressed(source: Path, target: Path) -> None:
    """Copy a plain or compressed file to ``target``, decompressed (e.g. ML_ABN → ML_AB)."""
    with open_binary(source) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)


def strip_host(dir_name: str | Path) -> Path:
    """Folder of a ``dir_name``, without the ``host:`` prefix atomate2 task documents store."""
    return Path(strip_hostname(dir_name) if ":" in str(dir_name) else dir_name)


def find_output(folder: Path, stem: str) -> Path | None:
    """Path of an output of a finished VASP job, or None.

    Tries ``stem``, ``.gz``, atomate2's ``.relax1.gz`` and ``.bz2``, else the last ``<stem>*``.
    """
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
    folder = strip_host(folder)
    path = find_output(folder, "vasprun.xml")
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
    folder = strip_host(folder)
    path = find_output(folder, "LOCPOT")
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
