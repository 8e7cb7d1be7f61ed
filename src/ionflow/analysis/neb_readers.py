"""Read finished NEB runs: a VASP NEB folder (00 … NN) or a CP2K BAND run.

Both readers return one internal type, :class:`NebRawData`, that
:func:`ionflow.analysis.neb.analyze_profile` turns into barriers; so the analysis never
needs to know which code produced the band.

VASP (VTST): image folders are the sub-folders whose names are integers. Intermediate
images need an OUTCAR (energy ``energy(sigma->0)``, tangential force ``NEB: projections
on to tangent (spring, REAL)``, ``FORCES: max atom``) and a CONTCAR. Endpoint energies come
from an OUTCAR in 00/NN, or in the endpoint relaxation folders (``endpoint_dirs``), or in
``start``/``end`` or ``initial``/``final`` beside the images (pymatgen's search order).
The force criterion is ``-EDIFFG`` from the INCAR.

CP2K: ``<project>-BAND<k>.out`` holds the last replica energies (Hartree) and the band's
convergence table; ``<project>-pos-Replica_nr_<k>-1.xyz`` the replica geometries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from monty.io import zopen

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["NebRawData", "read_cp2k_band", "read_neb_dir", "read_vasp_neb"]

HARTREE_EV = 27.211386245988
BOHR_A = 0.529177210903

_ENERGY_RE = re.compile(r"energy\(sigma->0\)\s+=\s+([\d\-\.Ee+]+)")
_TANGENT_RE = re.compile(
    r"(?:NEB: projections on to tangent \(spring, REAL\)\s+\S+|tangential force \(eV/A\))"
    r"\s+([\d\-\.Ee+]+)"
)
_FMAX_RE = re.compile(r"FORCES: max atom, RMS\s+([\d\.Ee+\-]+)")


@dataclass
class NebRawData:
    """What a finished band holds, independent of the code that ran it.

    Attributes
    ----------
    images
        All images, endpoints included (final geometries).
    energies_eV
        Energy of every image (eV).
    tangential_forces_eV_A
        F·τ per image (endpoints 0), eV/Å; None when the code does not print it.
    max_force_eV_A
        Largest NEB force on any intermediate image at the end (eV/Å), if known.
    fmax_eV_A
        Force criterion of the run (eV/Å), if known.
    converged
        The code's own verdict (None when unknown).
    source
        ``"vasp"``, ``"cp2k"`` or ``"mlip"``.
    directory
        Folder the band was read from.
    n_steps
        Optimiser steps taken, if known.
    climb
        Whether a climbing image was used, if known.
    """

    images: list[Structure]
    energies_eV: np.ndarray
    tangential_forces_eV_A: np.ndarray | None
    max_force_eV_A: float | None
    fmax_eV_A: float | None
    converged: bool | None
    source: str
    directory: str | None = None
    n_steps: int | None = None
    climb: bool | None = None


def _glob_first(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if exact.is_file():
        return exact
    found = sorted(p for p in folder.glob(f"{name}*") if p.is_file() and ".orig" not in p.name)
    return found[0] if found else None


def _read_text(path: Path) -> str:
    with zopen(path, mode="rt") as handle:
        return handle.read()


def _last_float(pattern: re.Pattern, text: str) -> float | None:
    matches = pattern.findall(text)
    return float(matches[-1]) if matches else None


def _read_structure(path: Path) -> Structure:
    from pymatgen.core import Structure

    try:
        return Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many types for damaged files
        raise InputError(f"cannot read structure {path}: {type(exc).__name__}") from None


def _image_dirs(root: Path) -> list[Path]:
    dirs = sorted((int(p.name), p) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    if not dirs:
        raise InputError(
            f"{root} has no image folders (00, 01, …); give the NEB root folder "
            "or a CP2K BAND folder"
        )
    numbers = [n for n, _ in dirs]
    missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
    if missing:
        names = ", ".join(f"{m:02d}" for m in missing)
        raise InputError(f"{root}: missing image folder(s) {names}")
    if len(dirs) < 3:
        raise InputError(f"{root}: an NEB needs 00, at least one image and the end folder")
    return [p for _, p in dirs]


def _incar_ediffg(root: Path) -> float | None:
    for folder in (root, root / "01"):
        incar = _glob_first(folder, "INCAR")
        if incar is not None:
            match = re.search(r"^\s*EDIFFG\s*=\s*([-\d.Ee+]+)", _read_text(incar), re.MULTILINE)
            return float(match.group(1)) if match else None
    return None


def read_vasp_neb(
    root: str | Path, endpoint_dirs: tuple[str | Path, str | Path] | None = None
) -> NebRawData:
    """Read a VASP (VTST) NEB folder.

    Parameters
    ----------
    root
        Folder holding 00, 01, …, NN.
    endpoint_dirs
        Relaxation folders of the two endpoints whose OUTCARs hold their energies.

    Returns
    -------
    NebRawData
        Images (POSCAR for the endpoints, CONTCAR for the others), energies, tangential
        forces, max force, criterion and convergence.

    Raises
    ------
    InputError
        Missing image folders, OUTCARs, structures or endpoint energies.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"NEB folder {root} does not exist")
    dirs = _image_dirs(root)
    last = len(dirs) - 1
    terminal_sets: list[tuple[Path, Path]] = []
    if endpoint_dirs is not None:
        ends = tuple(Path(d) for d in endpoint_dirs)
        for d in ends:
            if not d.is_dir():
                raise InputError(f"endpoint folder {d} does not exist")
        terminal_sets.append(ends)  # type: ignore[arg-type]
    terminal_sets += [
        (dirs[0], dirs[-1]),
        (root / "start", root / "end"),
        (root / "initial", root / "final"),
    ]
    images, energies, tangents, fmaxes, reached, n_steps = [], [], [], [], [], 0
    for idx, folder in enumerate(dirs):
        if idx in (0, last):
            poscar = _glob_first(folder, "POSCAR")
            if poscar is None:
                raise InputError(f"{folder}: no POSCAR for the endpoint geometry")
            images.append(_read_structure(poscar))
            energy = None
            for pair in terminal_sets:
                outcar = _glob_first(pair[0 if idx == 0 else 1], "OUTCAR")
                if outcar is not None:
                    energy = _last_float(_ENERGY_RE, _read_text(outcar))
                    if energy is not None:
                        break
            if energy is None:
                raise InputError(
                    f"no endpoint energy for {folder.name}: no OUTCAR in {folder} or in the "
                    "endpoint relaxation folders; give them (ionflow analyze neb DIR "
                    "--endpoints START_DIR END_DIR)"
                )
            energies.append(energy)
            tangents.append(0.0)
            continue
        outcar = _glob_first(folder, "OUTCAR")
        if outcar is None:
            raise InputError(f"{folder}: no OUTCAR (the image did not run or was deleted)")
        text = _read_text(outcar)
        energy = _last_float(_ENERGY_RE, text)
        if energy is None:
            raise InputError(f"{outcar}: no energy(sigma->0) line; the image did not finish")
        contcar = _glob_first(folder, "CONTCAR")
        if contcar is None or contcar.stat().st_size == 0:
            raise InputError(f"{folder}: no CONTCAR with the final image geometry")
        images.append(_read_structure(contcar))
        energies.append(energy)
        tangent = _last_float(_TANGENT_RE, text)
        tangents.append(tangent)
        fmaxes.append(_last_float(_FMAX_RE, text))
        reached.append("reached required accuracy" in text)
        n_steps = max(n_steps, len(_ENERGY_RE.findall(text)))
    ediffg = _incar_ediffg(root)
    fmax = -ediffg if ediffg is not None and ediffg < 0 else None
    known = [f for f in fmaxes if f is not None]
    tangential = None if any(t is None for t in tangents) else np.array(tangents, dtype=float)
    return NebRawData(
        images=images,
        energies_eV=np.array(energies, dtype=float),
        tangential_forces_eV_A=tangential,
        max_force_eV_A=max(known) if len(known) == len(fmaxes) else None,
        fmax_eV_A=fmax,
        converged=all(reached),
        source="vasp",
        directory=str(root.resolve()),
        n_steps=n_steps or None,
    )


def _read_xyz_frames(path: Path) -> list[tuple[list[str], np.ndarray]]:
    """All frames of an xyz file as (symbols, positions in Å)."""
    lines = _read_text(path).splitlines()
    frames, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n = int(lines[i].split()[0])
        block = lines[i + 2 : i + 2 + n]
        if len(block) < n:
            break  # truncated last frame (run killed while writing)
        symbols = [row.split()[0] for row in block]
        pos = np.array([[float(x) for x in row.split()[1:4]] for row in block])
        frames.append((symbols, pos))
        i += 2 + n
    return frames


def _cp2k_project(root: Path) -> str:
    outs = sorted(
        p for p in root.glob("*-BAND*.out*") if re.search(r"-BAND\d+\.out(\.gz)?$", p.name)
    )
    if not outs:
        raise InputError(
            f"{root} holds neither VASP image folders (00, 01, …) nor CP2K BAND output "
            "(<project>-BAND1.out)"
        )
    return re.sub(r"-BAND\d+\.out(\.gz)?$", "", outs[0].name)


_CONV_RE = re.compile(
    r"^\s*(RMS DISPLACEMENT|MAX DISPLACEMENT|RMS FORCE|MAX FORCE)\s*=\s*([-\d.Ee+]+)\s*"
    r"\[\s*([-\d.Ee+]+)\]\s*\(\s*(YES|NO)\s*\)",
    re.MULTILINE,
)


def _cp2k_cell(root: Path) -> np.ndarray:
    """Lattice matrix (Å) from ``&CELL`` (ABC [+ ALPHA_BETA_GAMMA] or A/B/C) of the input."""
    from pymatgen.core import Lattice

    inputs = [p for p in sorted(root.glob("*.inp*")) if "-r-" not in p.name]
    for inp in inputs:
        text = _read_text(inp)
        cell = re.search(r"&CELL\b(.*?)&END", text, re.DOTALL | re.IGNORECASE)
        if not cell:
            continue
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
    raise InputError(f"{root}: no CP2K input with a &CELL section to build the replica cells")


def _cp2k_climb(root: Path) -> bool | None:
    for inp in sorted(root.glob("*.inp*")):
        m = re.search(r"^\s*BAND_TYPE\s+(\S+)", _read_text(inp), re.MULTILINE | re.IGNORECASE)
        if m:
            return m.group(1).upper() == "CI-NEB"
    return None


def read_cp2k_band(root: str | Path, lattice: np.ndarray | None = None) -> NebRawData:
    """Read a CP2K BAND (CI-NEB) run.

    Energies and geometries are the last frame of every ``<project>-pos-Replica_nr_<k>-1.xyz``;
    the convergence table (RMS/MAX displacement and force, Hartree/bohr) is the last one in
    the last replica's ``<project>-BAND<N>.out``. The band is converged when all four
    criteria say YES. CP2K prints no tangential forces, so they are None.

    Parameters
    ----------
    root
        The run folder.
    lattice
        (3, 3) lattice matrix (Å); None reads ``&CELL`` from the ``*.inp`` in ``root``.

    Returns
    -------
    NebRawData
        Replica geometries and energies (eV), max force and criterion (eV/Å), convergence.
    """
    from pymatgen.core import Lattice, Structure

    root = Path(root)
    project = _cp2k_project(root)
    xyz = {
        int(m.group(1)): p
        for p in root.glob(f"{project}-pos-Replica_nr_*-1.xyz*")
        if (m := re.search(r"Replica_nr_(\d+)-1\.xyz(\.gz)?$", p.name))
    }
    outs = {
        int(m.group(1)): p
        for p in root.glob(f"{project}-BAND*.out*")
        if (m := re.search(r"-BAND(\d+)\.out(\.gz)?$", p.name))
    }
    n_rep = max(outs)
    missing = sorted(set(range(1, n_rep + 1)) - set(xyz))
    if missing:
        raise InputError(
            f"{root}: missing replica trajectories {missing} ({project}-pos-Replica_nr_<k>-1.xyz); "
            "the BAND run did not finish its first step"
        )
    lat = Lattice(lattice if lattice is not None else _cp2k_cell(root))
    images, energies, steps = [], [], []
    for k in range(1, n_rep + 1):
        lines = _read_text(xyz[k]).splitlines()
        frames = _read_xyz_frames(xyz[k])
        if not frames:
            raise InputError(f"{xyz[k]}: no complete frame")
        symbols, pos = frames[-1]
        comments = [ln for ln in lines if "E =" in ln]
        m = re.search(r"i\s*=\s*(\d+),\s*E\s*=\s*([-\d.Ee+]+)", comments[len(frames) - 1])
        if not m:
            raise InputError(f"{xyz[k]}: no energy in the frame comment")
        steps.append(int(m.group(1)))
        energies.append(float(m.group(2)) * HARTREE_EV)
        images.append(Structure(lat, symbols, pos, coords_are_cartesian=True))
    if len(set(steps)) != 1:
        raise InputError(f"{root}: replicas stopped at different band steps {steps}")
    table = _CONV_RE.findall(_read_text(outs[n_rep]))
    force_au = HARTREE_EV / BOHR_A  # Hartree/bohr -> eV/Å
    max_force = fmax = None
    converged: bool | None = None
    if table:
        last = {name: (float(v), float(t), ok == "YES") for name, v, t, ok in table[-4:]}
        if "MAX FORCE" in last:
            max_force = last["MAX FORCE"][0] * force_au
            fmax = last["MAX FORCE"][1] * force_au
        converged = all(ok for _, _, ok in last.values())
    return NebRawData(
        images=images,
        energies_eV=np.array(energies),
        tangential_forces_eV_A=None,
        max_force_eV_A=max_force,
        fmax_eV_A=fmax,
        converged=bool(converged),
        source="cp2k",
        directory=str(root.resolve()),
        n_steps=steps[0],
        climb=_cp2k_climb(root),
    )


def read_neb_dir(
    root: str | Path, endpoint_dirs: tuple[str | Path, str | Path] | None = None
) -> NebRawData:
    """Read a VASP NEB folder or a CP2K BAND folder, whichever ``root`` holds.

    Parameters
    ----------
    root
        The folder.
    endpoint_dirs
        VASP only: the endpoint relaxation folders.

    Returns
    -------
    NebRawData
        The band.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"NEB folder {root} does not exist")
    if any(p.is_dir() and p.name.isdigit() for p in root.iterdir()):
        return read_vasp_neb(root, endpoint_dirs)
    return read_cp2k_band(root)
