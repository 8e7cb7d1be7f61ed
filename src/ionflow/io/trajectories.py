"""Streaming trajectory readers: VASP, CP2K, ASE and pymatgen files → :class:`TrajectoryData`.

The format readers live in :mod:`ionflow.io.vasp` (vasprun.xml, XDATCAR) and
:mod:`ionflow.io.cp2k` (``-pos-`` xyz); this module adds ASE and pymatgen files and picks
the reader from the file name. Every reader streams
(frames are parsed one at a time and only coordinates are kept), keeps the complete
frames of a truncated file with a warning saying how many were used, and reads the time
between frames and the temperature from the file where the format stores them.

Time conventions: the format readers take ``time_step_fs`` = the time between STORED
frames. :func:`read_run` (the CLI's entry) takes the MD time step and the MD steps between
stored frames, as pymatgen-analysis-diffusion's ``DiffusionAnalyzer(time_step,
step_skip)`` does, reads POTIM/NBLOCK from an INCAR or vasprun.xml beside an XDATCAR,
and refuses values that contradict the file's own; subsampling is ``stride``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import ase.io
import numpy as np
from monty.serialization import loadfn
from pymatgen.core.trajectory import Trajectory

from ionflow.analysis.segment_joins import order_segments
from ionflow.analysis.trajectory import TrajectoryData, common_temperature_K
from ionflow.errors import InputError
from ionflow.io.cp2k import read_cp2k_xyz
from ionflow.io.streams import frames_to_array, truncation_warning
from ionflow.io.vasp import read_md_timing_beside, read_vasprun, read_xdatcar

__all__ = [
    "read_ase",
    "read_cp2k_xyz",
    "read_pymatgen_json",
    "read_run",
    "read_segment",
    "read_trajectory",
    "read_vasprun",
    "read_xdatcar",
    "resolve_frame_interval",
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


def _kind(path: Path) -> str:
    name = path.name.lower()
    if "vasprun" in name or re.search(r"\.xml(\.(gz|bz2|xz))?$", name):
        return "vasprun"
    if "xdatcar" in name:
        return "xdatcar"
    if re.search(r"-pos-\d+\.xyz(\.gz)?$", name):
        return "cp2k_xyz"
    if re.search(r"\.json(\.(gz|bz2|xz))?$", name):
        return "json"
    return "ase"


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
        Time between STORED frames (fs) when the file does not state it, or an override.
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
    kind = _kind(path)
    if kind == "vasprun":
        return read_vasprun(path, time_step_fs)
    if kind == "xdatcar":
        return read_xdatcar(path, time_step_fs)
    if kind == "cp2k_xyz":
        return read_cp2k_xyz(path, time_step_fs, cell)
    if kind == "json":
        return read_pymatgen_json(path, time_step_fs)
    return read_ase(path, time_step_fs)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def resolve_frame_interval(
    label: str,
    time_step_fs: float | None,
    step_skip: int | None,
    *,
    potim_fs: float | None = None,
    nblock: int | None = None,
    frame_fs: float | None = None,
    where: str = "the file",
) -> tuple[float, float | None, int | None]:
    """Time between stored frames from the user's and the file's MD timing, checked.

    Conventions as in pymatgen-analysis-diffusion's ``DiffusionAnalyzer(time_step,
    step_skip)``: ``time_step_fs`` is the MD time step (VASP POTIM) and ``step_skip`` the
    number of MD steps between stored frames (VASP NBLOCK); frames are
    ``time_step_fs × step_skip`` apart.

    Parameters
    ----------
    label
        File name for messages.
    time_step_fs, step_skip
        The user's values (None: not given).
    potim_fs, nblock
        The run's own MD time step and steps per stored frame, when known.
    frame_fs
        The file's own time between stored frames, when it states one.
    where
        Where the run's own values were read (for messages).

    Returns
    -------
    tuple
        Time between stored frames (fs), MD time step (fs) and steps per frame (either
        None when unknown).

    Raises
    ------
    InputError
        Given values that contradict the file's (both values named), or missing ones.
    """
    if potim_fs is not None and time_step_fs is not None and not _close(potim_fs, time_step_fs):
        raise InputError(
            f"{label}: --time-step {time_step_fs:g} fs contradicts the run's MD time step "
            f"POTIM = {potim_fs:g} fs ({where}); --time-step is the MD time step"
        )
    if nblock is not None and step_skip is not None and step_skip != nblock:
        raise InputError(
            f"{label}: --step-skip {step_skip} contradicts the {nblock} MD step(s) between "
            f"stored frames ({where}); --step-skip is the MD steps between stored frames "
            "(NBLOCK), use --stride to analyse every N-th frame"
        )
    potim = potim_fs if potim_fs is not None else time_step_fs
    skip = nblock if nblock is not None else step_skip
    if frame_fs is None and potim is not None and skip is not None:
        frame_fs = potim * skip
    elif frame_fs is not None and potim is not None:
        ratio = frame_fs / potim
        if skip is not None and not _close(potim * skip, frame_fs):
            raise InputError(
                f"{label}: --time-step {potim:g} fs × --step-skip {skip} = {potim * skip:g} fs "
                f"between frames contradicts {frame_fs:g} fs stated by {where}"
            )
        if skip is None:
            if ratio < 1 - 1e-6 or not _close(ratio, round(ratio)):
                raise InputError(
                    f"{label}: frames are {frame_fs:g} fs apart ({where}), not a multiple of "
                    f"--time-step {potim:g} fs"
                )
            skip = round(ratio)
    if frame_fs is None:
        missing = "--time-step (MD time step, fs)" if potim is None else ""
        if skip is None:
            missing += (" and " if missing else "") + "--step-skip (MD steps between frames)"
        raise InputError(
            f"{label}: the time between stored frames is not in the file; pass {missing} "
            "(VASP: POTIM and NBLOCK)"
        )
    return float(frame_fs), potim, skip


def read_segment(
    path: str | Path,
    time_step_fs: float | None = None,
    step_skip: int | None = None,
    cell: str | Path | None = None,
) -> TrajectoryData:
    """Read one file of a run with the MD timing checked against the file's own.

    Parameters
    ----------
    path
        The trajectory file (see :func:`read_trajectory`).
    time_step_fs
        MD time step (fs), as ``DiffusionAnalyzer``'s ``time_step``; None: from the file.
    step_skip
        MD steps between stored frames, as ``DiffusionAnalyzer``'s ``step_skip``; None:
        from the file (VASP NBLOCK from an INCAR or vasprun.xml beside an XDATCAR).
    cell
        CP2K only: .cell or .inp file.

    Returns
    -------
    TrajectoryData
        The frames, with ``md_time_step_fs`` and ``md_step_skip`` set when known.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file does not exist")
    label, kind = str(path), _kind(path)
    if time_step_fs is not None and not (math.isfinite(time_step_fs) and time_step_fs > 0):
        raise InputError(f"--time-step must be a positive MD time step in fs, got {time_step_fs}")
    if step_skip is not None and step_skip < 1:
        raise InputError(f"--step-skip must be ≥ 1 MD step between frames, got {step_skip}")
    if kind == "xdatcar":
        beside = read_md_timing_beside(path)
        potim, nblock, where = beside if beside else (None, None, "")
        frame, md_dt, skip = resolve_frame_interval(
            label, time_step_fs, step_skip, potim_fs=potim, nblock=nblock, where=where
        )
        seg = read_xdatcar(path, frame)
    elif kind == "vasprun":
        try:
            seg = read_vasprun(path)
        except InputError as exc:
            if "no POTIM" not in str(exc) or time_step_fs is None:
                raise
            seg = read_vasprun(path, time_step_fs)
        # a vasprun.xml holds every ionic step: frames are one MD step apart
        frame, md_dt, skip = resolve_frame_interval(
            label,
            time_step_fs,
            step_skip,
            potim_fs=seg.time_step_fs,
            nblock=1,
            where="vasprun.xml, which stores every MD step",
        )
    else:
        try:
            seg = read_trajectory(path, None, cell)
            own = seg.time_step_fs
        except InputError as exc:
            if "time" not in str(exc):
                raise
            seg, own = None, None
        frame, md_dt, skip = resolve_frame_interval(
            label, time_step_fs, step_skip, frame_fs=own, where="the file"
        )
        if seg is None:
            seg = read_trajectory(path, frame, cell)
    seg.md_time_step_fs, seg.md_step_skip = md_dt, skip
    return seg


def read_run(
    paths: Sequence[str | Path],
    time_step_fs: float | None = None,
    step_skip: int | None = None,
    cell: str | Path | None = None,
    *,
    stride: int = 1,
) -> TrajectoryData:
    """Read consecutive segments of ONE run, check they join, join them, apply ``stride``.

    Parameters
    ----------
    paths
        Files in the order they were run (a wrong order is put right with a warning
        when only one order joins; a segment given twice is refused).
    time_step_fs
        MD time step (fs), as in ``DiffusionAnalyzer``; None: from the files.
    step_skip
        MD steps between stored frames, as in ``DiffusionAnalyzer``; None: from the files.
    cell
        CP2K only: .cell or .inp file.
    stride
        Analyse every N-th stored frame.

    Returns
    -------
    TrajectoryData
        The joined run.
    """
    if not paths:
        raise InputError("no trajectory files given")
    if stride < 1:
        raise InputError(f"--stride must be ≥ 1, got {stride}")
    seen: dict[Path, str] = {}
    for p in paths:
        key = Path(p).resolve()
        if key in seen:
            raise InputError(
                f"the same segment is given twice ({seen[key]} and {p}); give each segment once"
            )
        seen[key] = str(p)
    segments = [read_segment(p, time_step_fs, step_skip, cell) for p in paths]
    common_temperature_K(segments, "the files", "give one temperature's segments per run")
    segments, notes = order_segments(segments)
    run = TrajectoryData.concatenate(segments)
    run.warnings.extend(notes)
    return run.subsample(stride)
