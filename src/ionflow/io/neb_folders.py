"""Read finished NEB runs: a VASP NEB folder (00 … NN) or a CP2K BAND run.

Both readers return one internal type, :class:`ionflow.analysis.neb.NebRawData`, that
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

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Lattice, Structure

from ionflow.analysis.neb import NebRawData
from ionflow.errors import InputError
from ionflow.io.cp2k import BOHR_A, HARTREE_EV, cp2k_input_cell, iter_xyz_frames
from ionflow.io.streams import read_text
from ionflow.io.structures import read_structure

if TYPE_CHECKING:
    from ionflow.io.cp2k import XyzFrame

__all__ = ["read_cp2k_band", "read_neb_dir", "read_vasp_neb"]

_ENERGY_RE = re.compile(r"energy\(sigma->0\)\s+=\s+([\d\-\.Ee+]+)")
_TANGENT_RE = re.compile(
    r"(?:NEB: projections on to tangent \(spring, REAL\)\s+\S+|tangential force \(eV/A\))"
    r"\s+([\d\-\.Ee+]+)"
)
_FMAX_RE = re.compile(r"FORCES: max atom, RMS\s+([\d\.Ee+\-]+)")


def _glob_first(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if exact.is_file():
        return exact
    found = sorted(p for p in folder.glob(f"{name}*") if p.is_file() and ".orig" not in p.name)
    return found[0] if found else None


def _last_float(pattern: re.Pattern, text: str) -> float | None:
    matches = pattern.findall(text)
    return float(matches[-1]) if matches else None


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


def _incar_value(root: Path, key: str) -> str | None:
    """Value of an INCAR tag (root INCAR, else 01/INCAR); None without INCAR or tag."""
    for folder in (root, root / "01"):
        incar = _glob_first(folder, "INCAR")
        if incar is not None:
            match = re.search(rf"^\s*{key}\s*=\s*([^\s#!;]+)", read_text(incar), re.M | re.I)
            return match.group(1) if match else None
    return None


def _check_image_count(root: Path, dirs: list[Path]) -> None:
    """Refuse a band whose folders do not match INCAR ``IMAGES`` (00 … IMAGES+1).

    Without this check a band whose last image folders were deleted is read with an
    intermediate image as its end point, and gives a wrong barrier marked converged.
    """
    value = _incar_value(root, "IMAGES")
    if value is None:
        return
    try:
        n_images = int(value)
    except ValueError:
        raise InputError(f"{root}: INCAR IMAGES = {value!r} is not an integer") from None
    if len(dirs) != n_images + 2:
        found = ", ".join(p.name for p in dirs)
        raise InputError(
            f"{root}: INCAR IMAGES = {n_images} needs folders 00 … {n_images + 1:02d} "
            f"({n_images + 2} folders) but {len(dirs)} were found ({found}); the band is "
            "incomplete: restore the missing image folders"
        )


#: largest distance (Å) between an endpoint folder's POSCAR and its relaxation's final
#: geometry still taken as the same structure (the hopping atom moves ~2-3 Å)
ENDPOINT_MATCH_A = 0.5


def _site_mismatch_A(a: Structure, b: Structure) -> float:
    """Return the largest distance from a site of ``a`` to its nearest same-species ``b`` site.

    Periodic, in ``a``'s lattice; inf when the compositions differ. Order-independent
    (relaxation codes may reorder atoms) and without symmetry operations, so the two
    endpoints of a symmetric hop stay distinguishable.
    """
    if len(a) != len(b) or a.composition != b.composition:
        return float("inf")
    worst = 0.0
    species_a = np.array([str(sp) for sp in a.species])
    species_b = np.array([str(sp) for sp in b.species])
    for element in set(species_a):
        fa = a.frac_coords[species_a == element]
        fb = b.frac_coords[species_b == element]
        dist = a.lattice.get_all_distances(fa, fb)
        worst = max(worst, float(dist.min(axis=1).max()))
    return worst


def _final_structure(folder: Path) -> Structure | None:
    for name in ("CONTCAR", "POSCAR"):
        path = _glob_first(folder, name)
        if path is not None and path.stat().st_size > 0:
            return read_structure(path)
    return None


def _check_endpoints(ends: tuple[Path, Path], first: Structure, last: Structure, root: Path):
    """Refuse endpoint relaxation folders whose final geometry is not the band's 00 / NN."""
    finals = [_final_structure(d) for d in ends]
    for which, (folder, final, image) in enumerate(zip(ends, finals, (first, last), strict=True)):
        if final is None:
            raise InputError(f"endpoint folder {folder}: no CONTCAR or POSCAR")
        if _site_mismatch_A(image, final) <= ENDPOINT_MATCH_A:
            continue
        other = (first, last)[1 - which]
        name = "00" if which == 0 else "the last image folder"
        if _site_mismatch_A(other, final) <= ENDPOINT_MATCH_A:
            raise InputError(
                f"endpoint folders are in reverse order: {folder} holds the geometry of "
                f"{'the last image folder' if which == 0 else '00'} of {root}; swap them"
            )
        d = _site_mismatch_A(image, final)
        what = "a different composition" if not np.isfinite(d) else f"atoms up to {d:.2f} Å away"
        raise InputError(
            f"endpoint folder {folder} does not belong to this band: its final geometry has "
            f"{what} from the POSCAR of {name} of {root} (allowed {ENDPOINT_MATCH_A} Å)"
        )


def _incar_ediffg(root: Path) -> float | None:
    for folder in (root, root / "01"):
        incar = _glob_first(folder, "INCAR")
        if incar is not None:
            match = re.search(r"^\s*EDIFFG\s*=\s*([-\d.Ee+]+)", read_text(incar), re.MULTILINE)
            return float(match.group(1)) if match else None
    return None


#: ``NebRawData.source`` of a band read from files (the engine that ran it passes its name)
VTST_FOLDERS = "vtst-folders"
CP2K_BAND_OUTPUT = "cp2k-band-output"


def read_vasp_neb(
    root: str | Path,
    endpoint_dirs: tuple[str | Path, str | Path] | None = None,
    source: str = VTST_FOLDERS,
) -> NebRawData:
    """Read a VASP (VTST) NEB folder.

    Parameters
    ----------
    root
        Folder holding 00, 01, …, NN.
    endpoint_dirs
        Relaxation folders of the two endpoints whose OUTCARs hold their energies.
    source
        What ran the band, stored as ``NebDoc.source`` (an engine passes its name).

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
    _check_image_count(root, dirs)
    last = len(dirs) - 1
    terminal_sets: list[tuple[Path, Path]] = []
    ends = None
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
            images.append(read_structure(poscar))
            energy = None
            for pair in terminal_sets:
                outcar = _glob_first(pair[0 if idx == 0 else 1], "OUTCAR")
                if outcar is not None:
                    energy = _last_float(_ENERGY_RE, read_text(outcar))
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
        text = read_text(outcar)
        energy = _last_float(_ENERGY_RE, text)
        if energy is None:
            raise InputError(f"{outcar}: no energy(sigma->0) line; the image did not finish")
        contcar = _glob_first(folder, "CONTCAR")
        if contcar is None or contcar.stat().st_size == 0:
            raise InputError(f"{folder}: no CONTCAR with the final image geometry")
        images.append(read_structure(contcar))
        energies.append(energy)
        tangent = _last_float(_TANGENT_RE, text)
        tangents.append(tangent)
        fmaxes.append(_last_float(_FMAX_RE, text))
        reached.append("reached required accuracy" in text)
        n_steps = max(n_steps, len(_ENERGY_RE.findall(text)))
    if ends is not None:
        _check_endpoints(ends, images[0], images[-1], root)
    for folder, image in zip(dirs[1:-1], images[1:-1], strict=True):
        if image.composition != images[0].composition:
            raise InputError(
                f"{folder}: image composition {image.composition.formula} differs from the "
                f"endpoints' {images[0].composition.formula}"
            )
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
        source=source,
        directory=str(root.resolve()),
        n_steps=n_steps or None,
    )


def _complete_xyz_frames(path: Path) -> list[XyzFrame]:
    """All complete frames of a replica xyz file (a frame cut off at the end is dropped)."""
    frames = []
    with contextlib.suppress(EOFError):  # truncated last frame (run killed while writing)
        for frame in iter_xyz_frames(path):
            frames.append(frame)
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
    inputs = [p for p in sorted(root.glob("*.inp*")) if "-r-" not in p.name]
    for inp in inputs:
        cell = cp2k_input_cell(read_text(inp))
        if cell is not None:
            return cell
    raise InputError(f"{root}: no CP2K input with a &CELL section to build the replica cells")


def _cp2k_climb(root: Path) -> bool | None:
    for inp in sorted(root.glob("*.inp*")):
        m = re.search(r"^\s*BAND_TYPE\s+(\S+)", read_text(inp), re.MULTILINE | re.IGNORECASE)
        if m:
            return m.group(1).upper() == "CI-NEB"
    return None


def _cp2k_replica_count(root: Path) -> tuple[int, Path] | None:
    """``NUMBER_OF_REPLICA`` of the BAND input and its file (None if no input says)."""
    for inp in sorted(p for p in root.glob("*.inp*") if "-r-" not in p.name):
        m = re.search(r"^\s*NUMBER_OF_REPLICA\s+(\d+)", read_text(inp), re.M | re.I)
        if m:
            return int(m.group(1)), inp
    return None


def read_cp2k_band(
    root: str | Path, lattice: np.ndarray | None = None, source: str = CP2K_BAND_OUTPUT
) -> NebRawData:
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
    source
        What ran the band, stored as ``NebDoc.source`` (an engine passes its name).

    Returns
    -------
    NebRawData
        Replica geometries and energies (eV), max force and criterion (eV/Å), convergence.
    """
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
    expected = _cp2k_replica_count(root)
    if expected is not None and expected[0] != max(n_rep, max(xyz, default=0)):
        n, inp = expected
        raise InputError(
            f"{root}: {inp.name} has NUMBER_OF_REPLICA {n} but the replica files found end "
            f"at {project}-BAND{n_rep}.out / Replica_nr_{max(xyz, default=0)}; the band is "
            "incomplete: restore the missing replica files"
        )
    missing = sorted(set(range(1, n_rep + 1)) - set(xyz))
    if missing:
        raise InputError(
            f"{root}: missing replica trajectories {missing} ({project}-pos-Replica_nr_<k>-1.xyz); "
            "the BAND run did not finish its first step"
        )
    lat = Lattice(lattice if lattice is not None else _cp2k_cell(root))
    images, energies, steps = [], [], []
    for k in range(1, n_rep + 1):
        frames = _complete_xyz_frames(xyz[k])
        if not frames:
            raise InputError(f"{xyz[k]}: no complete frame")
        final = frames[-1]
        m = re.search(r"i\s*=\s*(\d+),\s*E\s*=\s*([-\d.Ee+]+)", final.comment)
        if not m:
            raise InputError(f"{xyz[k]}: no energy in the frame comment")
        steps.append(int(m.group(1)))
        energies.append(float(m.group(2)) * HARTREE_EV)
        images.append(Structure(lat, final.symbols, final.coords, coords_are_cartesian=True))
    if len(set(steps)) != 1:
        raise InputError(f"{root}: replicas stopped at different band steps {steps}")
    table = _CONV_RE.findall(read_text(outs[n_rep]))
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
        source=source,
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
        The band, as :func:`read_vasp_neb` or :func:`read_cp2k_band` reads it.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"NEB folder {root} does not exist")
    if any(p.is_dir() and p.name.isdigit() for p in root.iterdir()):
        return read_vasp_neb(root, endpoint_dirs)
    return read_cp2k_band(root)
