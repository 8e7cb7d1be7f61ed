"""Streaming trajectory readers: VASP, CP2K, ASE and pymatgen files → :class:`TrajectoryData`.

This is the one module of :mod:`ionflow.analysis` that touches files. Every reader streams
(frames are parsed one at a time and only coordinates are kept), keeps the complete
frames of a truncated file with a warning saying how many were used, and reads the time
between frames and the temperature from the file where the format stores them.

Time convention: ``time_step_fs`` is the time between STORED frames; pass it for
formats that do not store it (XDATCAR: POTIM × NBLOCK; ASE .traj).
"""

# ruff: noqa: RUF001, RUF002, RUF003  (σ, ×, – and − are intended in physics text)

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.etree.ElementTree import ParseError, iterparse

import numpy as np

from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError

__all__ = [
    "read_ase",
    "read_cp2k_xyz",
    "read_pymatgen_json",
    "read_run",
    "read_trajectory",
    "read_vasprun",
    "read_xdatcar",
]

_STREAM_ERRORS = (EOFError, OSError, zlib.error, ParseError, UnicodeDecodeError)


def _open_text(path: Path):
    from monty.io import zopen

    return zopen(path, "rt", encoding="utf-8", errors="replace")


def _open_binary(path: Path):
    from monty.io import zopen

    return zopen(path, "rb")


def _frames_to_array(frames: list[np.ndarray], label: str, n_atoms: int) -> np.ndarray:
    if not frames:
        raise InputError(f"{label}: no complete frame could be read")
    return np.asarray(frames, dtype=float).reshape(len(frames), n_atoms, 3)


def _truncation_warning(label: str, n_frames: int, exc: Exception) -> str:
    return (
        f"{label} is truncated or corrupt ({type(exc).__name__}: {str(exc)[:80]}); "
        f"used the {n_frames} complete frame(s) before the damage"
    )


# --------------------------------------------------------------------------- VASP
def read_vasprun(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Stream the ionic steps of an MD ``vasprun.xml`` (plain, .gz, .bz2, .xz).

    Parameters
    ----------
    path
        The file.
    time_step_fs
        Override of the time between ionic steps (default POTIM from the file).

    Returns
    -------
    TrajectoryData
        One frame per ionic step; temperature TEBEG when TEBEG = TEEND.
    """
    path = Path(path)
    label = str(path)
    params: dict[str, str] = {}
    species: list[str] = []
    frames: list[np.ndarray] = []
    lattices: list[np.ndarray] = []
    warnings: list[str] = []
    wanted = {"POTIM", "TEBEG", "TEEND", "IBRION", "NBLOCK"}
    try:
        with _open_binary(path) as fh:
            for _, elem in iterparse(fh, events=("end",)):
                tag = elem.tag
                if tag == "i" and elem.get("name") in wanted:
                    params.setdefault(elem.get("name"), (elem.text or "").strip())
                elif tag == "array" and elem.get("name") == "atoms":
                    species = [rc[0].text.strip() for rc in elem.iter("rc")]
                elif tag == "calculation":
                    st = elem.find("structure")
                    if st is not None:
                        basis = st.find("crystal/varray[@name='basis']")
                        pos = st.find("varray[@name='positions']")
                        if basis is not None and pos is not None:
                            lattices.append(_varray(basis))
                            frames.append(_varray(pos))
                    elem.clear()
    except _STREAM_ERRORS as exc:
        if not species:
            raise InputError(f"{label}: not a readable vasprun.xml ({exc})") from None
        warnings.append(_truncation_warning(label, len(frames), exc))
    if not species:
        raise InputError(f"{label}: no <atominfo> atoms found; is this a vasprun.xml?")
    if params.get("IBRION", "0").strip() not in ("0", ""):
        raise InputError(
            f"{label}: IBRION = {params['IBRION']} is not molecular dynamics (IBRION = 0)"
        )
    n_atoms = len(species)
    frac = _frames_to_array(frames, label, n_atoms)
    if time_step_fs is None:
        if "POTIM" not in params:
            raise InputError(f"{label}: no POTIM in the file; pass the time step (fs)")
        time_step_fs = float(params["POTIM"])
    temperature = None
    if "TEBEG" in params:
        tebeg = float(params["TEBEG"])
        teend = float(params.get("TEEND", tebeg))
        if teend > 0 and abs(teend - tebeg) > 1e-6:
            warnings.append(f"{label}: temperature ramp TEBEG {tebeg:g} → TEEND {teend:g} K")
        else:
            temperature = tebeg
    return TrajectoryData(
        species,
        frac,
        np.asarray(lattices),
        time_step_fs,
        temperature_K=temperature,
        source=label,
        warnings=warnings,
    )


def _varray(elem) -> np.ndarray:
    return np.array(" ".join(v.text for v in elem).split(), dtype=float).reshape(-1, 3)


def read_xdatcar(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Stream an XDATCAR (VASP 5+, fixed or variable cell; plain or compressed).

    Parameters
    ----------
    path
        The file.
    time_step_fs
        Time between stored frames (POTIM × NBLOCK) in fs; XDATCAR does not store it.

    Returns
    -------
    TrajectoryData
        One frame per configuration block.
    """
    path = Path(path)
    label = str(path)
    if time_step_fs is None:
        raise InputError(
            f"{label}: XDATCAR does not store the time step; pass the time between stored "
            "frames (POTIM × NBLOCK, fs) with --time-step"
        )
    frames: list[np.ndarray] = []
    lattices: list[np.ndarray] = []
    warnings: list[str] = []
    species: list[str] = []
    lattice = None
    try:
        with _open_text(path) as fh:
            lines = iter(fh)
            line = next(lines, "")
            while line:
                if line.strip().lower().startswith(("direct", "cartesian")):
                    if lattice is None:
                        raise InputError(f"{label}: configuration before any cell header")
                    cart = line.strip().lower().startswith("cartesian")
                    block = [next(lines) for _ in range(len(species))]
                    xyz = np.array(
                        " ".join(" ".join(b.split()[:3]) for b in block).split(), dtype=float
                    )
                    xyz = xyz.reshape(len(species), 3)
                    if cart:
                        xyz = xyz @ np.linalg.inv(lattice)
                    frames.append(xyz)
                    lattices.append(lattice)
                    line = next(lines, "")
                    continue
                if not line.strip():
                    line = next(lines, "")
                    continue
                # header: comment, scale, 3 lattice lines, symbols, counts
                head = [next(lines) for _ in range(6)]
                scale = float(head[0].split()[0])
                lat = np.array(" ".join(head[1:4]).split(), dtype=float).reshape(3, 3)
                if scale < 0:
                    scale = (abs(scale) / abs(np.linalg.det(lat))) ** (1.0 / 3.0)
                lattice = lat * scale
                symbols, counts = head[4].split(), [int(c) for c in head[5].split()]
                if len(symbols) != len(counts):
                    raise InputError(f"{label}: species line and counts line do not match")
                new_species = [
                    s.split("_")[0].split("/")[0]
                    for s, c in zip(symbols, counts, strict=True)
                    for _ in range(c)
                ]
                if species and new_species != species:
                    raise InputError(f"{label}: the atoms change between frames")
                species = new_species
                line = next(lines, "")
    except InputError:
        raise
    except (StopIteration, ValueError, IndexError, *_STREAM_ERRORS) as exc:
        if not frames:
            raise InputError(f"{label}: not a readable XDATCAR ({exc})") from None
        warnings.append(_truncation_warning(label, len(frames), exc))
    frac = _frames_to_array(frames, label, len(species))
    return TrajectoryData(
        species, frac, np.asarray(lattices), time_step_fs, source=label, warnings=warnings
    )


# --------------------------------------------------------------------------- CP2K
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
        with _open_text(path) as fh:
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
    except (StopIteration, ValueError, IndexError, *_STREAM_ERRORS) as exc:
        if not frames:
            raise InputError(f"{label}: not a readable xyz trajectory ({exc})") from None
        warnings.append(_truncation_warning(label, len(frames), exc))
    cart = _frames_to_array(frames, label, len(species))
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


# --------------------------------------------------------------------------- ASE / pymatgen
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
    import ase.io

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
        warnings.append(_truncation_warning(label, len(frames), exc))
    frac = _frames_to_array(frames, label, len(species))
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
    from monty.serialization import loadfn
    from pymatgen.core.trajectory import Trajectory

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
    temps = {round(s.temperature_K, 3) for s in segments if s.temperature_K is not None}
    if len(temps) > 1:
        raise InputError(
            "the files were run at different temperatures ("
            + ", ".join(f"{t:g} K" for t in sorted(temps))
            + "); give one temperature's segments per run"
        )
    run = TrajectoryData.concatenate(segments)
    return run.subsample(step_skip)
