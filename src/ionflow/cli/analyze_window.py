"""``ionflow analyze window``: electrochemical stability window from an entries file."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import typer

__all__ = ["JSON_KEYS", "register"]

#: Keys of the ``--json`` output, fixed for scripts (the full document follows them).
JSON_KEYS = (
    "reduction_limit_V",
    "oxidation_limit_V",
    "reduction_products",
    "oxidation_products",
    "energy_above_hull_eV_atom",
)


def _fmt_v(value: float | None) -> str:
    return "none (never oxidised)" if value is None else f"{value:.3f} V"


def carried_schemes(entries: list[Any]) -> Counter:
    """Correction schemes the entries arrived with (class of each energy adjustment).

    Parameters
    ----------
    entries
        pymatgen entries as read from the file.

    Returns
    -------
    collections.Counter
        Scheme name -> number of entries carrying it.
    """
    found: Counter = Counter()
    for entry in entries:
        names = set()
        for adj in getattr(entry, "energy_adjustments", []) or []:
            if getattr(adj, "value", 0.0) == 0.0:
                continue
            cls = getattr(adj, "cls", None) or {}
            names.add(cls.get("@class") or getattr(adj, "name", "") or "unnamed")
        found.update(names)
    return found


def scheme_text(applied: str, carried: Counter, n_entries: int) -> str:
    """Say which corrections were applied and which ones they replaced (human output)."""
    if applied == "MP2020":
        text = f"MP2020 (MaterialsProject2020Compatibility applied to all {n_entries} entries)"
        other = {k: v for k, v in carried.items() if k != "MaterialsProject2020Compatibility"}
        if other:
            text += "; replaced " + ", ".join(f"{k} on {v} entries" for k, v in other.items())
        return text
    if carried:
        kept = ", ".join(f"{k} on {v} entries" for k, v in carried.items())
        return f"none applied; the entries' own corrections kept ({kept})"
    return "none (energies used as they are)"


def collected_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings from dependencies, once each, with how often they came."""
    counts = Counter(f"{w.category.__name__}: {w.message}" for w in caught)
    return [text if n == 1 else f"{text} (×{n})" for text, n in counts.items()]


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow analyze window``."""

    @analyze.command("window")
    def window(
        entries: Path = typer.Argument(
            ..., help="Entries file: JSON list of ComputedEntry objects, or pymatgen CSV."
        ),
        formula: str = typer.Option(..., "--formula", "-f", help="Compound to analyse."),
        mobile: str = typer.Option("Li", "--mobile", help="Open (mobile) element."),
        compatibility: str = typer.Option(
            "auto",
            "--compatibility",
            help="Energy corrections: auto (MP2020 for VASP GGA/GGA+U entries), MP2020, none.",
        ),
        max_e_hull: float = typer.Option(
            0.05, "--max-e-hull", help="Flag the window above this hull distance (eV/atom)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the window document as JSON."),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write the phase-equilibria-vs-voltage plot to this PNG."
        ),
    ) -> None:
        """Voltage window in which FORMULA neither takes up nor gives off Li, with products."""
        from ionflow.io.entries import read_entries
        from ionflow.makers.window import window_doc

        loaded = read_entries(entries)
        carried = carried_schemes(loaded)
        # pymatgen warns once per entry (~100 UserWarnings per call): collect, don't stream
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            doc = window_doc(
                loaded,
                formula,
                mobile=mobile,
                compatibility=compatibility,
                max_e_above_hull_eV_atom=max_e_hull,
                source=str(entries),
            )
        extra = [w for w in collected_warnings(caught) if w not in doc.warnings]
        if extra:
            doc = doc.model_copy(update={"warnings": [*doc.warnings, *extra]})
        if plot is not None:
            from ionflow.report.plots_window import plot_window

            plot_window(doc, plot)
        if as_json:
            data = doc.model_dump(mode="json")
            ordered = {k: data[k] for k in JSON_KEYS} | data
            typer.echo(json.dumps(ordered, indent=2))
            return
        for text in doc.warnings:
            typer.secho(f"warning: {text}", err=True, fg=typer.colors.YELLOW)
        lines = [
            f"{doc.formula} vs {doc.mobile_element}/{doc.mobile_element}+ "
            f"({doc.chemical_system}, {len(doc.entries)} entries)",
            f"  corrections                {scheme_text(doc.compatibility, carried, len(loaded))}",
            f"  energy_above_hull_eV_atom  {doc.energy_above_hull_eV_atom:.4f}",
            f"  reduction_limit_V          {_fmt_v(doc.reduction_limit_V)}",
            f"  reduction_products         {' + '.join(doc.reduction_products) or 'none'}",
            f"  oxidation_limit_V          {_fmt_v(doc.oxidation_limit_V)}",
            f"  oxidation_products         {' + '.join(doc.oxidation_products) or 'none'}",
        ]
        if doc.reduction_reaction:
            lines.append(f"  reduction: {doc.reduction_reaction}")
        if doc.oxidation_reaction:
            lines.append(f"  oxidation: {doc.oxidation_reaction}")
        if not doc.is_stable:
            own_red, own_ox = doc.reduction_limit_own_energy_V, doc.oxidation_limit_own_energy_V
            own = (
                "none (the compound reacts with Li at every voltage)"
                if own_red is None
                else f"{own_red:.3f} to {'∞' if own_ox is None else f'{own_ox:.3f}'} V"
            )
            lines.append(f"  own-energy limits          {own}")
        lines.append("  phase equilibria vs voltage:")
        for seg in doc.profile:
            hi = "∞" if seg.v_high_V is None else f"{seg.v_high_V:.3f}"
            lines.append(
                f"    {seg.v_low_V:6.3f} to {hi:>6} V  {seg.li_per_formula_unit:+8.3f} "
                f"{doc.mobile_element}/f.u.  {' + '.join(seg.phases)}"
            )
        if plot is not None:
            lines.append(f"plot: {plot}")
        typer.echo("\n".join(lines))
