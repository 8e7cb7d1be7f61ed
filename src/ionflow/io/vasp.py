"""Streaming readers of VASP MD trajectories: ``vasprun.xml`` and ``XDATCAR`` (plain or compressed).

Other VASP run-folder files (OUTCAR, INCAR, LOCPOT, CONTCAR) are read in
:mod:`ionflow.io.vasp_outputs`.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import iterparse

import numpy as np

from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.io.streams import (
    STREAM_ERRORS,
    frames_to_array,
    open_binary,
    open_text,
    unreadable_or_truncated,
)

__all__ = ["read_md_timing_beside", "read_vasprun", "read_xdatcar"]


def read_vasprun(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Stream the ionic steps of an MD ``vasprun.xml`` (plain, .gz, .bz2, .xz).

    Parameters
    ----------
    path
        ``vasprun.xml`` of a molecular-dynamics run (IBRION = 0).
    time_step_fs
        Override of the time between ionic steps (default POTIM from the file).

    Returns
    -------
    TrajectoryData
        One frame per ionic step; temperature TEBEG when TEBEG = TEEND.
    """
    path = Path(path)
    label = str(path)
    try:
        species, params, frames, lattices, warnings = _scan_vasprun(path, label)
    except _Irregular:
        species, params, frames, lattices, warnings = _iterparse_vasprun(path, label)
    if not species:
        raise InputError(f"{label}: no <atominfo> atoms found; is this a vasprun.xml?")
    if params.get("IBRION", "0").strip() not in ("0", ""):
        raise InputError(
            f"{label}: IBRION = {params['IBRION']} is not molecular dynamics (IBRION = 0)"
        )
    n_atoms = len(species)
    frac = frames_to_array(frames, label, n_atoms)
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


_WANTED = ("POTIM", "TEBEG", "TEEND", "IBRION", "NBLOCK")
_PARAM = re.compile(r'<i\b[^>]*name="(POTIM|TEBEG|TEEND|IBRION|NBLOCK)"[^>]*>([^<]*)</i>')
_ATOM = re.compile(r"<rc>\s*<c>\s*([^<\s]+)\s*</c>")


class _Irregular(Exception):
    """The line scanner met a layout it does not know; use the XML parser instead."""


def _read_v(lines, k: int) -> np.ndarray:
    rows = [next(lines).split() for _ in range(k)]
    if any(len(r) != 5 or r[0] != "<v>" for r in rows):
        raise ValueError("unexpected <v> row")
    return np.array([r[1:4] for r in rows], dtype=float)


def _scan_vasprun(path: Path, label: str) -> tuple:
    """Fast line scan of VASP's regular vasprun.xml layout (positions and cells only).

    A frame counts only once its ``</calculation>`` is read; a calculation without a
    structure, a nested calculation or an unreadable number ends the scan with a warning
    (the frames before it are kept), so a damaged file never yields a gap in time.
    """
    params: dict[str, str] = {}
    species: list[str] = []
    frames: list[np.ndarray] = []
    lattices: list[np.ndarray] = []
    warnings: list[str] = []
    complete = False
    try:
        with open_text(path) as fh:
            lines = iter(fh)
            for line in lines:
                s = line.lstrip()
                if s.startswith("<calculation"):
                    if not species:
                        raise _Irregular
                    basis = pos = None
                    for inner in lines:
                        t = inner.lstrip()
                        if t.startswith('<varray name="basis"') and basis is None:
                            basis = _read_v(lines, 3)
                        elif t.startswith('<varray name="positions"') and pos is None:
                            pos = _read_v(lines, len(species))
                        elif t.startswith("</calculation"):
                            break
                        elif t.startswith("<calculation"):
                            raise ValueError("a <calculation> inside a <calculation>")
                    else:
                        break  # end of file inside a calculation: truncated
                    if basis is None or pos is None:
                        raise ValueError("a <calculation> without a structure")
                    frames.append(pos)
                    lattices.append(basis)
                elif s.startswith("<i ") and not frames:
                    m = _PARAM.search(s)
                    if m:
                        params.setdefault(m.group(1), m.group(2).strip())
                elif s.startswith('<array name="atoms"'):
                    for inner in lines:
                        if "</array>" in inner:
                            break
                        m = _ATOM.search(inner)
                        if m:
                            species.append(m.group(1))
                elif s.startswith("</modeling"):
                    complete = True
    except _Irregular:
        raise
    except (ValueError, StopIteration, *STREAM_ERRORS) as exc:
        warnings.append(
            unreadable_or_truncated(label, "vasprun.xml", exc, len(frames), bool(species))
        )
        return species, params, frames, lattices, warnings
    if not species:
        raise _Irregular
    if not complete:
        warnings.append(
            f"{label} is truncated (no closing </modeling>); used the {len(frames)} complete "
            "frame(s)"
        )
    return species, params, frames, lattices, warnings


def _iterparse_vasprun(path: Path, label: str) -> tuple:
    """Strict XML parse (fallback for files the line scanner does not recognise)."""
    params: dict[str, str] = {}
    species: list[str] = []
    frames: list[np.ndarray] = []
    lattices: list[np.ndarray] = []
    warnings: list[str] = []
    wanted = set(_WANTED)
    try:
        with open_binary(path) as fh:
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
    except STREAM_ERRORS as exc:
        warnings.append(
            unreadable_or_truncated(label, "vasprun.xml", exc, len(frames), bool(species))
        )
    return species, params, frames, lattices, warnings


def _varray(elem) -> np.ndarray:
    return np.array(" ".join(v.text for v in elem).split(), dtype=float).reshape(-1, 3)


def read_xdatcar(path: str | Path, time_step_fs: float | None = None) -> TrajectoryData:
    """Stream an XDATCAR (VASP 5+, fixed or variable cell; plain or compressed).

    Parameters
    ----------
    path
        XDATCAR; Direct and Cartesian configuration blocks are both read.
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
            f"{label}: XDATCAR does not store the time step; pass --time-step (POTIM, fs) "
            "and --step-skip (NBLOCK), or keep the INCAR beside it"
        )
    frames: list[np.ndarray] = []
    lattices: list[np.ndarray] = []
    warnings: list[str] = []
    species: list[str] = []
    lattice = None
    try:
        with open_text(path) as fh:
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
    except (StopIteration, ValueError, IndexError, *STREAM_ERRORS) as exc:
        warnings.append(unreadable_or_truncated(label, "XDATCAR", exc, len(frames)))
    frac = frames_to_array(frames, label, len(species))
    return TrajectoryData(
        species, frac, np.asarray(lattices), time_step_fs, source=label, warnings=warnings
    )


_INCAR_TAG = re.compile(r"^\s*(POTIM|NBLOCK)\s*=\s*([^\s!#;]+)", re.IGNORECASE | re.MULTILINE)
_SIDECARS = ("INCAR", "INCAR.gz", "INCAR.bz2", "INCAR.xz", "vasprun.xml", "vasprun.xml.gz")


def read_md_timing_beside(path: str | Path) -> tuple[float | None, int, str] | None:
    """POTIM (fs) and NBLOCK of the VASP run an XDATCAR belongs to, from files beside it.

    Looks for an INCAR, then a vasprun.xml, in the XDATCAR's folder (plain or compressed).

    Parameters
    ----------
    path
        The XDATCAR.

    Returns
    -------
    tuple or None
        ``(POTIM or None, NBLOCK, file read)``; NBLOCK defaults to 1 as in VASP. None when
        no such file is there.
    """
    folder = Path(path).parent
    for name in _SIDECARS:
        cand = folder / name
        if not cand.is_file():
            continue
        try:
            if name.startswith("INCAR"):
                tags = {k.upper(): v for k, v in _INCAR_TAG.findall(read_text_head(cand))}
            else:
                tags = _vasprun_params(cand)
            potim = float(tags["POTIM"]) if "POTIM" in tags else None
            nblock = int(float(tags.get("NBLOCK", 1)))
        except (ValueError, *STREAM_ERRORS) as exc:
            raise InputError(f"{cand}: POTIM/NBLOCK not readable ({exc})") from None
        return potim, nblock, str(cand)
    return None


def read_text_head(path: Path, max_chars: int = 200_000) -> str:
    """Return the first ``max_chars`` characters of a (possibly compressed) text file."""
    with open_text(path) as fh:
        return fh.read(max_chars)


def _vasprun_params(path: Path) -> dict[str, str]:
    """POTIM/NBLOCK/... from the <incar>/<parameters> header of a vasprun.xml."""
    params: dict[str, str] = {}
    with open_text(path) as fh:
        for line in fh:
            if line.lstrip().startswith("<calculation"):
                break
            m = _PARAM.search(line)
            if m:
                params.setdefault(m.group(1), m.group(2).strip())
    return params
