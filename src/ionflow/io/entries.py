"""Computed-entries files: JSON (plain or compressed) and pymatgen ``EntrySet`` CSV."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from monty.json import MontyDecoder
from monty.serialization import loadfn
from pymatgen.entries import Entry
from pymatgen.entries.computed_entries import ComputedEntry
from pymatgen.entries.entry_tools import EntrySet

from ionflow.errors import InputError

__all__ = ["check_finite_entries", "decode_entries", "read_entries"]


def decode_entries(objs: Any, source: str) -> list[Entry]:
    """Turn a decoded JSON payload (list, or dict with ``entries``) into Entry objects.

    Parameters
    ----------
    objs
        The payload: a list of entries or of their dicts, one entry dict, or
        ``{"entries": [...]}``.
    source
        Where the payload came from (for error messages).

    Returns
    -------
    list of Entry
        The entries (energies in eV).
    """
    if isinstance(objs, dict) and "entries" in objs:
        objs = objs["entries"]
    if isinstance(objs, dict) and "@class" in objs:
        objs = [objs]
    if not isinstance(objs, list):
        raise InputError(f"{source}: expected a list of entries (ComputedEntry JSON objects)")
    decoder = MontyDecoder()
    entries = []
    for i, obj in enumerate(objs):
        if isinstance(obj, dict):
            obj = decoder.process_decoded(obj)
        if not isinstance(obj, Entry):
            raise InputError(
                f"{source}: item {i} is not a pymatgen entry (got {type(obj).__name__}); "
                "export ComputedEntry/ComputedStructureEntry objects with their @class keys"
            )
        entries.append(obj)
    return check_finite_entries(entries, source)


def check_finite_entries(entries: list[Entry], source: str) -> list[Entry]:
    """Refuse entries whose energy or composition holds NaN or infinity (never stored).

    Parameters
    ----------
    entries
        The entries read.
    source
        File name for the message.

    Returns
    -------
    list of Entry
        ``entries`` unchanged.
    """
    for i, entry in enumerate(entries):
        amounts = list(entry.composition.values())
        if not math.isfinite(entry.energy) or not all(math.isfinite(a) for a in amounts):
            name = getattr(entry, "entry_id", None) or f"entry {i}"
            raise InputError(
                f"{source}: {name} ({entry.composition.formula}) has a non-finite energy or "
                f"amount (energy {entry.energy}); fix or remove it"
            )
    return entries


def read_entries(path: str | Path) -> list[Entry]:
    """Read computed entries from a JSON (optionally gzipped) or CSV file.

    Parameters
    ----------
    path
        ``.json``/``.json.gz``: a list of serialised ComputedEntry/ComputedStructureEntry
        (or ``{"entries": [...]}``), as ``monty.serialization.dumpfn`` writes it.
        ``.csv``: pymatgen's ``EntrySet`` CSV (``Name,<elements...>,Final energy``).

    Returns
    -------
    list of Entry
        The entries; entries without an id get ``<file name>:<row>``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"entries file {path} does not exist")
    name = path.name.lower()
    if name.endswith(".csv"):
        try:
            entries = list(EntrySet.from_csv(path))
        except (ValueError, KeyError, IndexError) as exc:
            raise InputError(f"{path}: not a pymatgen entries CSV ({exc})") from None
        entries = [
            ComputedEntry(e.composition, e.energy, entry_id=f"{path.name}:{i}")
            for i, e in enumerate(entries)
        ]
    elif name.endswith((".json", ".json.gz", ".json.bz2")):
        try:
            payload = loadfn(path, cls=None)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not readable JSON ({exc})") from None
        entries = decode_entries(payload, str(path))
        for i, entry in enumerate(entries):
            if getattr(entry, "entry_id", None) is None and hasattr(entry, "entry_id"):
                entry.entry_id = f"{path.name}:{i}"
    else:
        raise InputError(f"{path}: unknown entries format; use .json, .json.gz or .csv")
    if not entries:
        raise InputError(f"{path}: holds no entries")
    return check_finite_entries(entries, str(path))
