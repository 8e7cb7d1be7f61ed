"""Entry selection, calculation-settings checks and energy corrections (pure functions).

A phase diagram is only meaningful when every entry comes from the same kind of
calculation. Each entry gets a settings label from its ``parameters``:

- ``<engine>:<model>`` for entries ionflow computed with a machine-learned potential
  (``parameters`` hold ``ionflow_engine`` and the ``model``, e.g. ``mlip:CHGNet``);
- ``vasp:<run_type>`` / ``cp2k:<run_type>`` for DFT entries (atomate2/emmet task documents
  put ``run_type`` in ``parameters``; entries without ``ionflow_engine`` but with a
  ``run_type`` are taken as VASP, as Materials Project exports are);
- ``unknown`` when an entry says nothing (e.g. a CSV of total energies).

Labels of one *family* may be mixed: VASP GGA and GGA+U, through the MaterialsProject2020
corrections applied to all of them. Different families (CHGNet with VASP, GGA with r2SCAN)
are refused. CHGNet was trained on MP2020-corrected energies, so its entries get no further
correction (applying MP2020 again would count the corrections twice).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Literal

from pymatgen.core import Composition, Element

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.entries import Entry

__all__ = [
    "COMPATIBILITY_SCHEMES",
    "apply_compatibility",
    "check_entry_settings",
    "chemical_space_entries",
    "entry_label",
    "find_compound_entry",
    "mobile_reference",
    "parse_formula",
    "settings_family",
    "settings_label",
]

logger = logging.getLogger(__name__)

#: Accepted values of the ``compatibility`` option.
COMPATIBILITY_SCHEMES = ("auto", "MP2020", "none")

#: settings labels of the VASP run types MaterialsProject2020Compatibility puts on one
#: energy scale (data labels: Materials Project entries are VASP calculations)
_MP2020_LABELS = frozenset({"vasp:GGA", "vasp:GGA+U", "vasp:PBE", "vasp:PBE+U"})

UNKNOWN = "unknown"


def entry_label(entry: Entry) -> str:
    """Return an identifier for an entry: its ``entry_id``, else its name."""
    entry_id = getattr(entry, "entry_id", None)
    return str(entry_id) if entry_id is not None else str(entry.name)


def parse_formula(formula: str) -> Composition:
    """Parse a formula into a composition with a one-line error on failure.

    Parameters
    ----------
    formula
        Chemical formula, e.g. ``"Li3OCl"``.

    Returns
    -------
    Composition
        The composition of one reduced formula unit.
    """
    try:
        comp = Composition(formula)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read formula {formula!r}: {exc}") from None
    if comp.num_atoms <= 0:
        raise InputError(f"formula {formula!r} has no atoms")
    unknown = [str(el) for el in comp.elements if not isinstance(el, Element)]
    if unknown:
        raise InputError(f"cannot read formula {formula!r}: {', '.join(unknown)} not elements")
    return Composition(comp.reduced_formula)


def mobile_reference(entries: Sequence[Entry], mobile: str = "Li") -> Entry:
    """Return the lowest-energy elemental entry of the mobile element (the 0 V reference).

    Parameters
    ----------
    entries
        Entries of the calculation set.
    mobile
        Open element.

    Returns
    -------
    Entry
        The reference entry (e.g. bcc Li metal).
    """
    element = Element(mobile)
    elemental = [e for e in entries if e.composition.elements == [element]]
    if not elemental:
        raise InputError(
            f"no {mobile} metal entry among the entries: the voltage reference needs a "
            f"{mobile} entry computed with the same settings; add one"
        )
    return min(elemental, key=lambda e: e.energy_per_atom)


def find_compound_entry(entries: Sequence[Entry], composition: Composition) -> Entry:
    """Return the lowest-energy entry with the compound's reduced composition.

    Parameters
    ----------
    entries
        Candidate entries.
    composition
        Composition of the compound.

    Returns
    -------
    Entry
        The ground-state entry of that composition.
    """
    target = composition.reduced_composition
    matches = [e for e in entries if e.composition.reduced_composition == target]
    if not matches:
        raise InputError(
            f"no entry for {composition.reduced_formula} among the entries; add its computed "
            "entry (same settings as the others)"
        )
    return min(matches, key=lambda e: e.energy_per_atom)


def chemical_space_entries(
    entries: Sequence[Entry], composition: Composition, mobile: str = "Li"
) -> list[Entry]:
    """Return the entries within the compound's chemical system plus the mobile element.

    Parameters
    ----------
    entries
        All entries.
    composition
        The compound's composition.
    mobile
        Open element.

    Returns
    -------
    list of Entry
        Entries whose elements are all in the compound or the mobile element.
    """
    present = {el for e in entries for el in e.composition.elements}
    missing = [el.symbol for el in composition.elements if el not in present]
    if missing:
        raise InputError(
            f"{composition.reduced_formula} is outside the entries' chemical space "
            f"({'-'.join(sorted(el.symbol for el in present))}): no entry contains "
            f"{', '.join(missing)}"
        )
    allowed = set(composition.elements) | {Element(mobile)}
    return [e for e in entries if set(e.composition.elements) <= allowed]


def settings_label(entry: Entry) -> str:
    """Return the calculation-settings label of an entry (see the module docstring).

    Parameters
    ----------
    entry
        A pymatgen entry; its ``parameters`` (engine, model, run type) give the label.

    Returns
    -------
    str
        E.g. ``"mlip:CHGNet"``, ``"vasp:GGA+U"`` or ``"unknown"``.
    """
    params = getattr(entry, "parameters", None) or {}
    engine = params.get("ionflow_engine")
    if engine is not None and "model" in params:  # a potential: its model sets the energies
        return f"{engine}:{params['model']}"
    run_type = params.get("run_type")
    run_type = getattr(run_type, "value", run_type)  # emmet stores a RunType enum
    if engine is not None:
        return f"{engine}:{run_type}" if run_type else str(engine)
    if run_type:
        return f"vasp:{run_type}"
    return UNKNOWN


def settings_family(label: str) -> str:
    """Group labels that may share one phase diagram (VASP GGA with GGA+U)."""
    if label in _MP2020_LABELS:
        return "vasp:GGA(+U)"
    return label


def check_entry_settings(entries: Sequence[Entry]) -> list[str]:
    """Refuse entries from incompatible calculations; return warnings for doubtful mixes.

    Parameters
    ----------
    entries
        Entries meant for one phase diagram.

    Returns
    -------
    list of str
        Warnings (entries without settings next to entries with settings).
    """
    labels = Counter(settings_label(e) for e in entries)
    families = Counter()
    for label, count in labels.items():
        if label != UNKNOWN:
            families[settings_family(label)] += count
    if len(families) > 1:
        detail = ", ".join(f"{n} {label}" for label, n in sorted(labels.items()))
        raise InputError(
            f"entries mix incompatible calculation settings ({detail}); compute all phases "
            "with one engine and functional (VASP GGA and GGA+U may be mixed)"
        )
    messages = []
    if families and labels.get(UNKNOWN):
        known = next(iter(families))
        messages.append(
            f"{labels[UNKNOWN]} entries carry no calculation settings; they are assumed to "
            f"match the other {families[known]} ({known})"
        )
    return messages


def apply_compatibility(
    entries: Sequence[Entry], scheme: Literal["auto", "MP2020", "none"] = "auto"
) -> tuple[list[Entry], str]:
    """Apply energy corrections the same way to all entries.

    Parameters
    ----------
    entries
        Entries that passed :func:`check_entry_settings`.
    scheme
        ``"MP2020"`` applies MaterialsProject2020Compatibility to every entry (VASP GGA/GGA+U
        entries only), ``"none"`` leaves energies as they are, ``"auto"`` applies MP2020
        when every entry with settings is VASP GGA/GGA+U and nothing otherwise.

    Returns
    -------
    entries, scheme_used
        Corrected copies (or the inputs unchanged) and ``"MP2020"`` or ``"none"``.
    """
    if scheme not in COMPATIBILITY_SCHEMES:
        raise InputError(
            f"unknown compatibility scheme {scheme!r}; choose one of "
            f"{', '.join(COMPATIBILITY_SCHEMES)}"
        )
    families = {settings_family(settings_label(e)) for e in entries} - {UNKNOWN}
    if scheme == "auto":
        scheme = "MP2020" if families == {"vasp:GGA(+U)"} else "none"
    if scheme == "none":
        return list(entries), "none"
    if families != {"vasp:GGA(+U)"} or any(settings_label(e) == UNKNOWN for e in entries):
        raise InputError(
            "MP2020 corrections apply to VASP GGA/GGA+U entries with run_type, hubbards and "
            "potcar_spec in their parameters only; use compatibility 'none' for these entries"
        )
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

    copies = [e.copy() for e in entries]
    processed = MaterialsProject2020Compatibility().process_entries(
        copies, clean=True, inplace=True, on_error="ignore"
    )
    kept = {id(e) for e in processed}
    dropped = [entry_label(e) for e in copies if id(e) not in kept]
    if dropped:
        raise InputError(
            f"MaterialsProject2020Compatibility rejected {len(dropped)} entries "
            f"({', '.join(dropped[:5])}{', ...' if len(dropped) > 5 else ''}): their "
            "POTCARs or U values differ from the Materials Project settings"
        )
    return list(processed), "MP2020"
