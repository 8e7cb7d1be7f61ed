"""Streaming reader of CP2K MD trajectories (``*-pos-1.xyz`` + ``.cell`` or input file)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ionflow.analysis.readers_base import (
    STREAM_ERRORS,
    frames_to_array,
    open_text,
    truncation_warning,
)
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError

__all__ = ["read_cp2k_xyz"]


_CP2K_COMMENT = re.compile(r"i\s*=\s*(\d+).*?time\s*=\s*([-\d.Ee+]+)")


def _cp2k_input(inp: Path) -> tuple[np.ndarray | None, float | None, float | None]:
    """Cell (Å), temperature (K) and MD time step (fs) from a CP2K input file."""
    text = inp.read_text(errors="replace")
    cell = None
    m = re.search(r"&CELL\b(.*?)&END\s+CELL", text, flags=re.S | re.I)
    if m:
        body = m.group(1)
        vec = {
            k: re.search(rf"^\s*{k}\s+([-\d.Ee+\s]+)$", body, flags=re.M | re.I)
            for k in ("A", "B", "C")
        }
        abc = re.search(r"^\s*ABC\s+(?:\[\w+\]\s*)?([-\d.Ee+\s]+)$", body, flags=re.M | re.I)
        ang = re.search(r"^\s*ALPHA_BETA_GAMMA\s+([-\d.Ee+\s]+)$", body, flags=re.M | re.I)
        if all(vec.values()):
            cell = np.array([[float(x) for x in vec[k].group(1).split()[:3]] for k in "ABC"])
        elif abc:
            from pymatgen.core import Lattice

            a, b, c = (float(x) for x in abc.group(1).split()[:3])
            al, be, ga = (float(x) for x in ang.group(1).split()[:3]) if ang else (90, 90, 90)
            cell = Lattice.from_parameters(a, b, c, al, be, ga).matrix
    md = re.search(r"&MD\b(.*?)&END\s+MD", text, flags=re.S | re.I)
    temp = dt = None
    if md:
        t = re.search(r"^\s*TEMPERATURE\s+([-\d.Ee+]+)", md.group(1), flags=re.M | re.I)
        s = re.search(r"^\s*TIMESTEP\s+([-\d.Ee+]+)", md.group(1), flags=re.M | re.I)
        temp = float(t.group(1)) if t else None
        dt = float(s.group(1)) if s else None
    return cell, temp, dt


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
        with open_text(path) as fh:
            lines = iter(fh)
            for first in lines:
                if not first.strip():
                    continue
                n = int(first.split()[0])
                comment = next(lines)
                block = [next(lines) for _ in range(n)]
                sym = [b.split()[0] for b in block]
                if species and sym != species:
                    raise InputError(f"{label}: the atoms change between frames")
                species = sym
                frames.append(
                    np.array(
                        " ".join(" ".join(b.split()[1:4]) for b in block).split(), dtype=float
                    ).reshape(n, 3)
                )
                m = _CP2K_COMMENT.search(comment)
                steps.append(int(m.group(1)) if m else len(steps))
                times.append(float(m.group(2)) if m else None)
    except InputError:
        raise
    except (StopIteration, ValueError, IndexError, *STREAM_ERRORS) as exc:
        if not frames:
            raise InputError(f"{label}: not a readable xyz trajectory ({exc})") from None
        warnings.append(truncation_warning(label, len(frames), exc))
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
        c, temp, inp_dt = _cp2k_input(cand)
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
