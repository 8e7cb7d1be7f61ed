"""Structure files: a study's host, NEB endpoints, a folder of competing phases."""

from __future__ import annotations

from pathlib import Path

from pymatgen.core import Structure

from ionflow.errors import InputError

__all__ = ["STRUCTURE_SUFFIXES", "read_structure", "read_structure_folder"]

#: File endings read as structures from a competing-phases folder.
STRUCTURE_SUFFIXES = (".cif", ".vasp", ".poscar", ".json", ".json.gz", ".cif.gz")


def read_structure(path: str | Path, what: str = "structure file") -> Structure:
    """Read one structure file pymatgen understands (CIF, POSCAR/CONTCAR, pymatgen JSON, ...).

    Parameters
    ----------
    path
        Structure file; pymatgen picks the format from the file name.
    what
        How the file is named in error messages (e.g. ``"NEB endpoint file"``).

    Returns
    -------
    Structure
        The structure (lengths in Å).

    Raises
    ------
    InputError
        The file does not exist, is not readable as a structure or holds no atoms.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    try:
        structure = Structure.from_file(path)
    except Exception as exc:  # pymatgen raises many types for unreadable files
        raise InputError(
            f"cannot read {what} {path}: {type(exc).__name__}: {exc}".rstrip(": ")
        ) from None
    if len(structure) == 0:
        raise InputError(f"{what} {path} holds no atoms")
    return structure


def read_structure_folder(folder: str | Path) -> dict[str, Structure]:
    """Read every structure file in a folder; the file stem is the phase label.

    Parameters
    ----------
    folder
        Folder with CIF/POSCAR/pymatgen-JSON files (``POSCAR*`` names are read too).

    Returns
    -------
    dict
        ``{label: structure}`` in file-name order.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"competing-phases folder {folder} does not exist")
    structures: dict[str, Structure] = {}
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if not (name.endswith(STRUCTURE_SUFFIXES) or name.startswith(("poscar", "contcar"))):
            continue
        label = path.name.split(".")[0]
        try:
            structures[label] = Structure.from_file(path)
        except Exception as exc:  # pymatgen raises many types for unreadable files
            raise InputError(f"{path}: not a readable structure ({exc})") from None
    if not structures:
        raise InputError(f"{folder}: no structure files ({', '.join(STRUCTURE_SUFFIXES)})")
    return structures
