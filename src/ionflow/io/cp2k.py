"""CP2K files: the one xyz frame parser, input (&CELL, &MD) and ``.ener`` readers, MD trajectories.

Every CP2K xyz file ionflow reads (MD ``<project>-pos-1.xyz`` / ``-vel-1.xyz``, BAND
``<project>-pos-Replica_nr_<k>-1.xyz``) goes through :func:`iter_xyz_frames`; callers
differ only in what they do with a damaged last frame.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from pymatgen.core import Lattice

from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.io.streams import (
    STREAM_ERRORS,
    frames_to_array,
    open_text,
    read_text,
    unreadable_or_truncated,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "BOHR_A",
    "HARTREE_EV",
    "XyzFrame",
    "cp2k_input_cell",
    "iter_xyz_frames",
    "read_cp2k_ener",
    "read_cp2k_input",
    "read_cp2k_xyz",
    "read_xyz_frames",
]

#: Hartree in eV and bohr in Å (CODATA 2018, as CP2K uses them).
HARTREE_EV = 27.211386245988
BOHR_A = 0.529177210903

_CP2K_COMMENT = re.compile(r"i\s*=\s*(\d+).*?time\s*=\s*([-\d.Ee+]+)")
_STEP = re.compile(r"i\s*=\s*(\d+)")


class XyzFrame(NamedTuple):
    """One frame of an xyz file.

    Attributes
    ----------
    comment
        The comment line (CP2K writes ``i = <step>, time = <fs>, E = <Hartree>``).
    symbols
        Element (or kind) label of every atom.
    coords
        ``(n_atoms, 3)`` numbers as written (Å for positions, bohr/a.u. time for velocities).
    """

    comment: str
    symbols: list[str]
    coords: np.ndarray


def iter_xyz_frames(path: str | Path) -> Iterator[XyzFrame]:
    """Stream the frames of a plain or compressed xyz file.

    Blank lines between frames are skipped.

    Parameters
    ----------
    path
        The xyz file.

    Yields
    ------
    XyzFrame
        One complete frame at a time.

    Raises
    ------
    EOFError
        The file ends inside a frame (run killed while writing); frames before were yielded.
    ValueError, IndexError
        A line is not an atom count or an atom row.
    """
    with open_text(Path(path)) as fh:
        lines = iter(fh)
        for first in lines:
            if not first.strip():
                continue
            n = int(first.split()[0])
            comment = next(lines, None)
            block = list(itertools.islice(lines, n))
            if comment is None or len(block) < n:
                raise EOFError(f"the file ends inside a frame of {n} atoms")
            numbers = " ".join(" ".join(b.split()[1:4]) for b in block).split()
            coords = np.array(numbers, dtype=float).reshape(n, 3)
            yield XyzFrame(comment, [b.split()[0] for b in block], coords)


def read_xyz_frames(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read the complete frames of a CP2K MD ``.xyz`` file, stopping at the first damaged one.

    Parameters
    ----------
    path
        ``<project>-pos-1.xyz`` or ``<project>-vel-1.xyz``.

    Returns
    -------
    tuple
        MD steps (from the ``i =`` comments), coordinates ``(n_frames, n_atoms, 3)`` as
        written, element symbols.
    """
    steps, frames, species = [], [], []
    try:
        for frame in iter_xyz_frames(path):
            match = _STEP.search(frame.comment)
            if match is None:
                break
            species = frame.symbols
            steps.append(int(match.group(1)))
            frames.append(frame.coords)
    except (ValueError, IndexError, EOFError):
        pass  # a truncated or damaged frame ends the usable part
    return np.array(steps, dtype=int), np.array(frames), species


def read_cp2k_ener(path: Path) -> dict[int, tuple[float, float]]:
    """Step → (temperature K, potential energy eV) from CP2K's ``.ener`` file ({} if absent)."""
    out: dict[int, tuple[float, float]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#") or len(parts) < 5:
            continue
        try:
            out[int(parts[0])] = (float(parts[3]), float(parts[4]) * HARTREE_EV)
        except ValueError:
            continue
    return out


def cp2k_input_cell(text: str) -> np.ndarray | None:
    """Lattice matrix (Å) of the ``&CELL`` section of a CP2K input text.

    Parameters
    ----------
    text
        The input file's text.

    Returns
    -------
    numpy.ndarray or None
        (3, 3) matrix from ``A``/``B``/``C`` or ``ABC`` [+ ``ALPHA_BETA_GAMMA``]; None when
        there is no usable ``&CELL``.
    """
    cell = re.search(r"&CELL\b(.*?)&END", text, re.DOTALL | re.IGNORECASE)
    if not cell:
        return None
    body = cell.group(1)
    vecs = {}
    for key in ("A", "B", "C", "ABC", "ALPHA_BETA_GAMMA"):
        m = re.search(rf"^\s*{key}\s+(?:\[[^\]]*\]\s*)?([-\d.Ee+\s]+)$", body, re.M | re.I)
        if m:
            vecs[key] = [float(x) for x in m.group(1).split()[:3]]
    if all(k in vecs for k in ("A", "B", "C")):
        return np.array([vecs["A"], vecs["B"], vecs["C"]])
    if "ABC" in vecs:
        angles = vecs.get("ALPHA_BETA_GAMMA", [90.0, 90.0, 90.0])
        return Lattice.from_parameters(*vecs["ABC"], *angles).matrix
    return None


def read_cp2k_input(inp: Path) -> tuple[np.ndarray | None, float | None, float | None]:
    """Cell (Å), temperature (K) and MD time step (fs) from a CP2K input file."""
    text = read_text(inp)
    md = re.search(r"&MD\b(.*?)&END\s+MD", text, flags=re.S | re.I)
    temp = dt = None
    if md:
        t = re.search(r"^\s*TEMPERATURE\s+([-\d.Ee+]+)", md.group(1), flags=re.M | re.I)
        s = re.search(r"^\s*TIMESTEP\s+([-\d.Ee+]+)", md.group(1), flags=re.M | re.I)
        temp = float(t.group(1)) if t else None
        dt = float(s.group(1)) if s else None
    return cp2k_input_cell(text), temp, dt


def read_cp2k_xyz(
    path: str | Path, time_step_fs: float | None = None, cell: str | Path | None = None
) -> TrajectoryData:
    """Stream a CP2K ``*-pos-1.xyz`` with its cell from ``*-1.cell`` or the input file.

    Parameters
    ----------
    path
        The ``-pos-`` xyz file (Å).
    time_step_fs
        Override of the time between frames (default: from the ``time =`` comments).
    cell
        A CP2K ``.cell`` file or input ``.inp``; default: ``<project>-1.cell`` or the
        single ``*.inp`` beside the xyz file.

    Returns
    -------
    TrajectoryData
        The frames; temperature from the input's &MD section when found.
    """
    path = Path(path)
    label = str(path)
    project = re.sub(r"-pos-\d+\.xyz(\.gz)?$", "", path.name)
    frames, steps, times, warnings = [], [], [], []
    species: list[str] = []
    try:
        for frame in iter_xyz_frames(path):
            if species and frame.symbols != species:
                raise InputError(f"{label}: the atoms change between frames")
            species = frame.symbols
            frames.append(frame.coords)
            m = _CP2K_COMMENT.search(frame.comment)
            steps.append(int(m.group(1)) if m else len(steps))
            times.append(float(m.group(2)) if m else None)
    except InputError:
        raise
    except (ValueError, IndexError, *STREAM_ERRORS) as exc:
        warnings.append(unreadable_or_truncated(label, "xyz trajectory", exc, len(frames)))
    cart = frames_to_array(frames, label, len(species))
    temp, inp_dt, lattices = None, None, None
    candidates = (
        [Path(cell)]
        if cell
        else [path.with_name(f"{project}-1.cell"), *sorted(path.parent.glob("*.inp"))]
    )
    for cand in candidates:
        if not cand.is_file():
            continue
        if cand.suffix == ".cell":
            tab = np.loadtxt(cand, comments="#", ndmin=2)
            by_step = {int(row[0]): row[2:11].reshape(3, 3) for row in tab}
            missing = [s for s in steps if s not in by_step]
            if missing:
                raise InputError(f"{cand}: no cell for MD step(s) {missing[:5]}")
            lattices = np.array([by_step[s] for s in steps])
            break
        c, temp, inp_dt = read_cp2k_input(cand)
        if c is not None:
            lattices = c
            break
    if lattices is None:
        raise InputError(
            f"{label}: no cell found; pass the CP2K .cell file or the input (.inp) with --cell"
        )
    if time_step_fs is None:
        if len(times) > 1 and None not in times[:2]:
            time_step_fs = times[1] - times[0]
        elif inp_dt is not None and len(steps) > 1:
            time_step_fs = inp_dt * (steps[1] - steps[0])
    if time_step_fs is None:
        raise InputError(f"{label}: cannot tell the time between frames; pass --time-step")
    inv = np.linalg.inv(lattices)
    frac = cart @ inv if lattices.ndim == 2 else np.einsum("tai,tij->taj", cart, inv)
    return TrajectoryData(
        species, frac, lattices, time_step_fs, temperature_K=temp, source=label, warnings=warnings
    )
