"""Streaming trajectory readers: VASP, CP2K, ASE and pymatgen files → :class:`TrajectoryData`.

The format readers live in :mod:`ionflow.io.vasp` (vasprun.xml, XDATCAR) and
:mod:`ionflow.io.cp2k` (``-pos-`` xyz); this module adds ASE and pymatgen files and picks
the reader from the file name. Every reader streams
(frames are parsed one at a time and only coordinates are kept), keeps the complete
frames of a truncated file with a warning saying how many were used, and reads the time
between frames and the temperature from the file where the format stores them.

Time convention: ``time_step_fs`` is the time between STORED frames; pass it for
formats that do not store it (XDATCAR: POTIM × NBLOCK; ASE .traj).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import ase.io
import numpy as np
from monty.serialization import loadfn
from pymatgen.core.trajectory import Trajectory

from ionflow.analysis.trajectory import TrajectoryData, common_temperature_K
from ionflow.errors import InputError
from ionflow.io.cp2k import read_cp2k_xyz
from ionflow.io.streams import frames_to_array, truncation_warning
from ionflow.io.vasp import read_vasprun, read_xdatcar

__all__ = [
    "read_ase",
    "read_cp2k_xyz",
    "read_pymatgen_json",
    "read_run",
    "read_trajectory",
    "read_vasprun",
    "read_xdatcar",
]


def read_ase(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Read any periodic trajectory ASE can read (``.traj``, extended xyz, ...).

    Parameters
    ----------
    path
        The file.
    time_step_fs
        Time between stored frames (fs); required (ASE files rarely store it).

    Returns
    -------
    TrajectoryData
        The frames.
    """
    path = Path(path)
    label = str(path)
    if time_step_fs is None:
        raise InputError(f"{label}: the time between frames is not stored; pass --time-step")
    frames, lattices, warnings = [], [], []
    species: list[str] = []
    try:
        for atoms in ase.io.iread(str(path), index=":"):
            if not atoms.pbc.all():
                raise InputError(f"{label}: not periodic in all directions")
            sym = atoms.get_chemical_symbols()
            if species and sym != species:
                raise InputError(f"{label}: the atoms change between frames")
            species = sym
            frames.append(atoms.get_scaled_positions(wrap=False))
            lattices.append(np.array(atoms.cell))
    except InputError:
        raise
    except Exception as exc:  # ASE raises many types on damaged files
        if not frames:
            raise InputError(f"{label}: not readable by ASE ({exc})") from None
        warnings.append(truncation_warning(label, len(frames), exc))
    frac = frames_to_array(frames, label, len(species))
    return TrajectoryData(
        species, frac, np.asarray(lattices), time_step_fs, source=label, warnings=warnings
    )


def read_pymatgen_json(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Read a serialized pymatgen ``Trajectory`` (JSON, e.g. an atomate2 force-field run).

    Parameters
    ----------
    path
        ``.json`` / ``.json.gz`` file holding a Trajectory.
    time_step_fs
        Override of the time between frames (default ``Trajectory.time_step``).

    Returns
    -------
    TrajectoryData
        The frames.
    """
    obj = loadfn(path)
    if not isinstance(obj, Trajectory):
        raise InputError(f"{path}: holds a {type(obj).__name__}, not a pymatgen Trajectory")
    return TrajectoryData.from_pymatgen(obj, time_step_fs=time_step_fs, source=str(path))


def read_trajectory(
    path: str | Path, time_step_fs: float | None = None, cell: str | Path | None = None
) -> TrajectoryData:
    """Read one trajectory file, choosing the reader from its name.

    Parameters
    ----------
    path
        vasprun*.xml[.gz], XDATCAR*, *-pos-*.xyz (CP2K), *.json[.gz] (pymatgen
        Trajectory), anything else through ASE.
    time_step_fs
        Time between stored frames (fs) when the file does not state it, or an override.
    cell
        CP2K only: .cell or .inp file with the cell.

    Returns
    -------
    TrajectoryData
        The frames.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file does not exist")
    name = path.name.lower()
    if "vasprun" in name or re.search(r"\.xml(\.(gz|bz2|xz))?$", name):
        return read_vasprun(path, time_step_fs)
    if "xdatcar" in name:
        return read_xdatcar(path, time_step_fs)
    if re.search(r"-pos-\d+\.xyz(\.gz)?$", name):
        return read_cp2k_xyz(path, time_step_fs, cell)
    if re.search(r"\.json(\.(gz|bz2|xz))?$", name):
        return read_pymatgen_json(path, time_step_fs)
    return read_ase(path, time_step_fs)


def read_run(
    paths: Sequence[str | Path],
    time_step_fs: float | None = None,
    step_skip: int = 1,
    cell: str | Path | None = None,
) -> TrajectoryData:
    """Read consecutive segments of ONE run, join them and keep every ``step_skip``-th frame.

    Parameters
    ----------
    paths
        Files in the order they were run.
    time_step_fs
        Time between stored frames (fs), when the files do not state it.
    step_skip
        Analyse every N-th stored frame.
    cell
        CP2K only: .cell or .inp file.

    Returns
    -------
    TrajectoryData
        The joined run.
    """
    if not paths:
        raise InputError("no trajectory files given")
    segments = [read_trajectory(p, time_step_fs, cell) for p in paths]
    common_temperature_K(segments, "the files", "give one temperature's segments per run")
    run = TrajectoryData.concatenate(segments)
    return run.subsample(step_skip)
