"""``ionflow analyze defects``: formation energies and transition levels of finished VASP runs.

``--bulk DIR --defect DIR[:CHARGE] ... --entries ENTRIES [--dielectric EPS]
[--correction auto|freysoldt|kumagai|none]``: reads each ``vasprun.xml(.gz)`` (and the
files of the finite-size correction: ``LOCPOT`` for Freysoldt, ``OUTCAR`` site potentials
for Kumagai/eFNV), takes a defect's charge from NELECT when not given (and refuses a
given charge NELECT contradicts),
and prints, per defect and charge, the formation energy at the VBM for every
chemical-potential limit of the competing-phase diagram, the VBM and gap used, the
correction applied (or why none), and the transition levels. ``--temperature`` adds the
self-consistent Fermi level and concentrations from the bulk run's DOS.

``--correction auto`` (default): Freysoldt where the defect and bulk cells both have a
LOCPOT, else Kumagai (eFNV, through pymatgen-analysis-defects and pydefect) where both
have OUTCAR site potentials, else none with the reason; ``freysoldt``/``kumagai`` use that
one method only (a charged cell without its files gets ``none: no LOCPOT`` / ``none: no
OUTCAR site potentials``); ``none`` corrects nothing. ``--correction kumagai`` without
pydefect installed exits 2 naming the install command
(:data:`ionflow.analysis.kumagai.PYDEFECT_INSTALL`).

``--json`` keys: ``vbm_eV``, ``band_gap_eV``, ``chempot_limits`` (limit → element → Δμ, eV),
``defects`` (``name``, ``charge``, ``correction_eV``, ``correction_method``,
``correction_terms_eV``: Freysoldt ``electrostatic``/``alignment``, Kumagai
``point_charge``/``alignment``, ``multiplicity``, ``formation_energy_at_vbm_eV``: limit → eV or
null where not determined, ``raw_formation_energy_at_vbm_eV``, ``not_determined``: limit →
reason), ``transition_levels`` (``name``, ``charges`` [q1, q2], ``fermi_level_eV``),
``envelopes``, and with ``--temperature`` ``equilibrium`` (per limit: ``fermi_level_eV``,
``electrons_cm3``, ``holes_cm3``, ``defects``: name → charge → cm⁻³; or
``fermi_level_eV`` null and ``not_determined``), ``correction_requested`` (the
``--correction`` value) and ``dielectric`` (ε as given, or null).

A defect whose formation energy at a limit is negative across the whole gap (a neutral
state below 0, or the lower envelope below 0 from VBM to CBM) is printed "not determined:
<reason>" there (:func:`ionflow.analysis.formation.formation_not_determined`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ionflow.analysis.defect_runs import check_correction
from ionflow.analysis.defect_thermo import (
    as_json_dict,
    defect_thermodynamics,
    equilibrium_fermi_level,
    equilibrium_not_determined,
)
from ionflow.analysis.kumagai import require_pydefect
from ionflow.errors import InputError
from ionflow.io.defect_runs import load_vasp_defect_set
from ionflow.io.entries import read_entries

if TYPE_CHECKING:
    from ionflow.analysis.defect_thermo import DefectThermo, EquilibriumResult

__all__ = ["analyze_defect_runs", "register"]


def _dielectric(text: str | None) -> float | list[float] | None:
    if text is None:
        return None
    try:
        values = [float(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise InputError(f"--dielectric {text!r}: give ε or three diagonal values") from None
    if len(values) not in (1, 3) or min(values) <= 0:
        raise InputError(f"--dielectric {text!r}: give one or three positive values")
    return values[0] if len(values) == 1 else values


def analyze_defect_runs(
    bulk: Path,
    defects: list[str],
    entries: Path,
    dielectric: str | None = None,
    temperature_K: float | None = None,
    correction: str = "auto",
) -> tuple[DefectThermo, list[EquilibriumResult | tuple[str, str]]]:
    """Read the runs and entries, then the thermodynamics (and equilibrium at T).

    The equilibria are one per limit: the result, or ``(limit, reason)`` where a defect's
    formation energy is not determined.
    """
    if check_correction(correction) == "kumagai":
        require_pydefect()  # before reading any run
    eps = _dielectric(dielectric)
    phases = read_entries(entries)
    bulk_run, charged = load_vasp_defect_set(
        bulk,
        defects,
        dielectric_constant=eps,
        with_dos=temperature_K is not None,
        correction=correction,
    )
    thermo = defect_thermodynamics(
        bulk_run.energy_eV,
        bulk_run.structure,
        charged,
        phases,
        bulk_run.vbm_eV,
        bulk_run.band_gap_eV,
    )
    equilibria: list[EquilibriumResult | tuple[str, str]] = []
    if temperature_K is not None:
        for limit in thermo.chempot_limits:
            why = equilibrium_not_determined(thermo, limit)
            equilibria.append(
                (limit, why)
                if why
                else equilibrium_fermi_level(thermo, limit, temperature_K, bulk_run.dos)
            )
    return thermo, equilibria


def _equilibrium_json(results: list[EquilibriumResult | tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in results:
        if isinstance(r, tuple):
            out[r[0]] = {"fermi_level_eV": None, "not_determined": r[1]}
            continue
        by_name: dict[str, dict[str, float]] = {}
        for (name, q), c in r.defect_concentrations_cm3.items():
            by_name.setdefault(name, {})[f"{q:+d}"] = c
        out[r.limit] = {
            "temperature_K": r.temperature_K,
            "fermi_level_eV": r.fermi_level_eV,
            "electrons_cm3": r.electrons_cm3,
            "holes_cm3": r.holes_cm3,
            "defects": by_name,
        }
    return out


def _print(thermo: DefectThermo, equilibria: list[EquilibriumResult | tuple[str, str]]) -> None:
    limits = list(thermo.chempot_limits)
    typer.echo(
        f"VBM {thermo.vbm_eV:.4f} eV, band gap {thermo.band_gap_eV:.4f} eV (bulk run eigenvalues)"
    )
    typer.echo("chemical-potential limits (Δμ vs the elemental phases, eV):")
    for limit, mus in thermo.chempot_limits.items():
        typer.echo(f"  {limit:<24} " + ", ".join(f"{el} {v:+.3f}" for el, v in mus.items()))
    typer.echo("formation energy at the VBM (E_F = 0), eV:")
    header = f"  {'defect':<12} {'q':>3} " + " ".join(f"{lim[:18]:>18}" for lim in limits)
    typer.echo(header + "  correction")
    reasons: dict[str, str] = {}
    for d in thermo.defects:
        values = {lim: thermo.value_at_vbm(d.name, d.charge, lim) for lim in limits}
        corr = (
            f"{d.correction_method} {d.correction_eV:+.4f} eV"
            + "".join(f", {k} {v:+.4f}" for k, v in d.correction_terms_eV.items())
            if d.correction_method in ("freysoldt", "kumagai", "point_charge")
            else d.correction_method
        )
        typer.echo(
            f"  {d.name:<12} {d.charge:>+3d} "
            + " ".join(
                f"{'not determined':>18}" if values[lim] is None else f"{values[lim]:18.4f}"
                for lim in limits
            )
            + f"  {corr}"
        )
        for lim in limits:
            why = thermo.reason(d.name, lim)
            if why:
                reasons.setdefault(f"{d.name} at {lim}", why)
    for where, why in reasons.items():
        typer.echo(f"  {where}: not determined: {why}")
    typer.echo("transition levels (E_F above the VBM; independent of the limit):")
    for t in thermo.transition_levels:
        where = "" if 0 <= t.fermi_level_eV <= thermo.band_gap_eV else "  (outside the gap)"
        typer.echo(
            f"  {t.name:<12} ({t.charges[0]:+d}/{t.charges[1]:+d}) "
            f"{t.fermi_level_eV:8.4f} eV{where}"
        )
    for r in equilibria:
        if isinstance(r, tuple):
            typer.echo(f"equilibrium, {r[0]}: not determined: {r[1]}")
            continue
        typer.echo(
            f"equilibrium at {r.temperature_K:g} K, {r.limit}: E_F {r.fermi_level_eV:.4f} eV, "
            f"electrons {r.electrons_cm3:.3e} cm^-3, holes {r.holes_cm3:.3e} cm^-3"
        )
        names = sorted({n for n, _ in r.defect_concentrations_cm3})
        for name in names:
            typer.echo(f"  {name:<12} {r.total_cm3(name):.3e} cm^-3")


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow analyze defects``."""

    @analyze.command("defects")
    def defects(
        bulk: Path = typer.Option(..., "--bulk", help="Bulk supercell run folder."),
        defect: list[str] = typer.Option(
            ..., "--defect", help="Defect run folder, optionally :CHARGE; repeatable."
        ),
        entries: Path = typer.Option(
            ..., "--entries", help="Competing-phase entries (JSON or CSV), host included."
        ),
        dielectric: str | None = typer.Option(
            None, "--dielectric", help="Static ε (one value or three diagonal values)."
        ),
        correction: str = typer.Option(
            "auto",
            "--correction",
            help=(
                "Finite-size correction of charged cells: auto (Freysoldt where LOCPOTs "
                "exist, else Kumagai/eFNV where OUTCAR site potentials exist), freysoldt, "
                "kumagai or none."
            ),
        ),
        temperature: float | None = typer.Option(
            None, "--temperature", help="Self-consistent Fermi level and concentrations at T (K)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write the formation-energy diagram PNG."
        ),
    ) -> None:
        """Print formation energies, corrections and transition levels of finished runs."""
        thermo, equilibria = analyze_defect_runs(
            bulk, defect, entries, dielectric, temperature, correction
        )
        if plot is not None:
            from ionflow.report.plots_defects import plot_formation_energy_diagram

            plot_formation_energy_diagram(thermo.envelopes, thermo.band_gap_eV, plot)
        if as_json:
            data = as_json_dict(thermo)
            if equilibria:
                data["equilibrium"] = _equilibrium_json(equilibria)
            data["correction_requested"] = correction
            data["dielectric"] = _dielectric(dielectric)
            typer.echo(json.dumps(data, indent=2))
        else:
            _print(thermo, equilibria)
