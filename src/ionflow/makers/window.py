"""Jobs of the electrochemical-window workflow: read or build entries, analyse the window.

Plain functions do the work (``entry_from_calculation``, ``window_doc``; entries files
are read by :func:`ionflow.io.entries.read_entries`); the jobs are thin wrappers, so
tests and the CLI call the same code.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Maker, job
from monty.json import MontyDecoder
from pymatgen.entries import Entry
from pymatgen.entries.computed_entries import ComputedEntry, ComputedStructureEntry

from ionflow.analysis.window import (
    DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM,
    WindowWarning,
    stability_window,
)
from ionflow.analysis.window_entries import (
    COMPATIBILITY_SCHEMES,
    apply_compatibility,
    check_entry_settings,
    entry_label,
    settings_label,
)
from ionflow.errors import ConfigError
from ionflow.io.entries import decode_entries, read_entries
from ionflow.schemas.window import EntryRecord, WindowDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["WindowMaker", "collect_entries", "entry_from_calculation", "window_doc"]

logger = logging.getLogger(__name__)


def entry_from_calculation(
    structure: Structure,
    entry: ComputedEntry | dict,
    label: str,
    engine: dict[str, Any],
) -> ComputedStructureEntry:
    """Build a ComputedStructureEntry from one relaxation's outputs.

    Parameters
    ----------
    structure
        Relaxed structure.
    entry
        The calculation's own entry (atomate2 task documents carry one); its uncorrected
        energy and parameters (VASP ``run_type``, ``hubbards``, ``potcar_spec``) are kept.
    label
        Name of the phase (becomes the entry id).
    engine
        Engine description (``EngineAdapter.describe()``), recorded in ``parameters``.

    Returns
    -------
    ComputedStructureEntry
        Uncorrected entry; corrections are applied later, the same way for all entries.
    """
    if isinstance(entry, dict):
        entry = MontyDecoder().process_decoded(entry)
    if isinstance(structure, dict):
        structure = MontyDecoder().process_decoded(structure)
    parameters = dict(entry.parameters or {})
    parameters["ionflow_engine"] = engine.get("engine", "unknown")
    if "model" in engine:
        parameters["model"] = engine["model"]
    return ComputedStructureEntry(
        structure,
        entry.uncorrected_energy,
        parameters=parameters,
        data={**(entry.data or {}), "source": label},
        entry_id=label,
    )


@job(name="window entries")
def collect_entries(
    structures: list[Structure],
    entries: list[ComputedEntry],
    labels: list[str],
    engine: dict[str, Any],
) -> list[ComputedStructureEntry]:
    """Job: one ComputedStructureEntry per relaxed competing phase (see entry_from_calculation)."""
    return [
        entry_from_calculation(s, e, label, engine)
        for s, e, label in zip(structures, entries, labels, strict=True)
    ]


def _records(entries: Sequence[Entry], source: str) -> list[EntryRecord]:
    records = []
    for e in entries:
        data = getattr(e, "data", None) or {}
        records.append(
            EntryRecord(
                entry_id=entry_label(e),
                formula=e.composition.reduced_formula,
                energy_eV=e.energy,
                energy_per_atom_eV=e.energy_per_atom,
                correction_eV=getattr(e, "correction", 0.0),
                settings=settings_label(e),
                source=str(data.get("source", source)),
            )
        )
    return records


def window_doc(
    entries: Sequence[Entry] | str | Path,
    formula: str,
    mobile: str = "Li",
    compatibility: str = "auto",
    max_e_above_hull_eV_atom: float = DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM,
    source: str | None = None,
    engine: dict[str, Any] | None = None,
) -> WindowDoc:
    """Check, correct and analyse entries; return the window document.

    Parameters
    ----------
    entries
        Entries, their serialised dicts, or a path to an entries file (JSON or CSV).
    formula
        Compound to analyse.
    mobile
        Open element.
    compatibility
        ``"auto"``, ``"MP2020"`` or ``"none"`` (see ionflow.analysis.window_entries).
    max_e_above_hull_eV_atom
        Hull distance (eV/atom) above which the window is flagged as not the compound's.
    source
        Where the entries came from (default: the file path or ``"entries"``).
    engine
        Engine description when ionflow computed the entries.

    Returns
    -------
    WindowDoc
        The stored document.
    """
    if isinstance(entries, str | Path):
        source = source or str(entries)
        entries = read_entries(entries)
    else:
        entries = decode_entries(list(entries), source or "entries")
    source = source or "entries"
    notes = check_entry_settings(entries)
    entries, scheme = apply_compatibility(entries, compatibility)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WindowWarning)  # the document carries them
        window = stability_window(entries, formula, mobile, max_e_above_hull_eV_atom)
    for text in [*notes, *window.warnings]:
        logger.info(text)
    return WindowDoc.from_window(
        window,
        entries=_records(entries, source),
        compatibility=scheme,
        source=source,
        engine=engine,
        warnings=notes,
    )


@dataclass
class WindowMaker(Maker):
    """Electrochemical stability window of one compound from a set of entries.

    Parameters
    ----------
    name
        Job name; ``" <formula>"`` is appended.
    formula
        Compound to analyse.
    mobile
        Open element.
    compatibility
        Energy corrections: ``"auto"``, ``"MP2020"`` or ``"none"``.
    max_e_above_hull_eV_atom
        Hull distance (eV/atom) above which a warning flags the window.
    source
        Label of where the entries come from (stored in the document).
    engine
        Engine description when ionflow computed the entries.
    """

    name: str = "electrochemical window"
    formula: str = ""
    mobile: str = "Li"
    compatibility: str = "auto"
    max_e_above_hull_eV_atom: float = DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM
    source: str | None = None
    engine: dict | None = None

    def __post_init__(self) -> None:
        if not self.formula:
            raise ConfigError("WindowMaker needs the formula of the compound to analyse")
        if self.compatibility not in COMPATIBILITY_SCHEMES:
            raise ConfigError(
                f"compatibility {self.compatibility!r} is not one of "
                f"{', '.join(COMPATIBILITY_SCHEMES)}"
            )
        if not self.max_e_above_hull_eV_atom >= 0:
            raise ConfigError("max_e_above_hull_eV_atom must be ≥ 0 eV/atom")
        if not self.name.endswith(f" {self.formula}"):
            self.name = f"{self.name} {self.formula}"

    @job(output_schema=WindowDoc)
    def make(self, entries: list[Entry] | str) -> WindowDoc:
        """Analyse ``entries`` (a list, or a path to an entries file)."""
        return window_doc(
            entries,
            self.formula,
            mobile=self.mobile,
            compatibility=self.compatibility,
            max_e_above_hull_eV_atom=self.max_e_above_hull_eV_atom,
            source=self.source,
            engine=self.engine,
        )
