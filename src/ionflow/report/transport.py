"""Markdown report of a transport study, written from its TransportDoc alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ionflow.report.files import plots_section, report_dir, write_report_files
from ionflow.report.plots_transport import plot_arrhenius, plot_msd

if TYPE_CHECKING:
    from ionflow.schemas.study import TransportDoc
    from ionflow.schemas.transport import DiffusionResult

__all__ = ["diffusion_text", "haven_text", "render_markdown", "write_transport_report"]


def _fmt(value: float | None, spec: str = ".3g", unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:{spec}}{(' ' + unit) if unit else ''}"


def _pm(value: float | None, err: float | None, spec: str = ".3g") -> str:
    if value is None:
        return "n/a"
    if err is None:
        return f"{value:{spec}}"
    return f"{value:{spec}} ± {err:{spec}}"


def diffusion_text(r: DiffusionResult) -> tuple[str, str]:
    """D and σ as printed everywhere: a value ± σ, an upper bound, or "not determined".

    A result without significant diffusion shows the upper bound from the positive side
    of its interval; a non-positive D is never printed as a value, nor turned into a σ.

    Parameters
    ----------
    r
        A diffusion result.

    Returns
    -------
    tuple of str
        The D text (cm²/s) and the σ text (mS/cm).
    """
    if r.diffusing:
        return (
            _pm(r.diffusivity_cm2_s, r.diffusivity_std_cm2_s) + " cm²/s",
            _pm(r.conductivity_mS_cm, r.conductivity_std_mS_cm) + " mS/cm",
        )
    why = "D ≤ 0" if r.diffusivity_cm2_s <= 0 else "not significant"
    d_ub, s_ub = r.diffusivity_upper_bound_cm2_s, r.conductivity_upper_bound_mS_cm
    d_txt = f"not determined (no diffusion, {why})" + (f"; D < {d_ub:.3g} cm²/s" if d_ub else "")
    s_txt = "not determined" + (f"; σ < {s_ub:.3g} mS/cm" if s_ub else "")
    return d_txt, s_txt


def haven_text(r: DiffusionResult) -> str:
    """Haven ratio ± σ, or "not determined: <reason>"."""
    if r.haven_ratio is None:
        return f"not determined: {r.haven_ratio_not_determined or 'no charge MSD'}"
    return _pm(r.haven_ratio, r.haven_ratio_std, ".2f")


def render_markdown(doc: TransportDoc, plots: dict[str, str]) -> str:
    """Return the report text for a study document.

    Parameters
    ----------
    doc
        Per-temperature diffusion results and the Arrhenius fit of one study.
    plots
        Plot kind -> file name relative to the report folder.

    Returns
    -------
    str
        Markdown.
    """
    meta = doc.meta
    lines = [
        f"# ionflow transport report: {meta.study}",
        "",
        f"- run id: `{meta.run_id}` ({doc.created_at:%Y-%m-%d %H:%M UTC})",
        f"- host: {meta.host_formula}; simulated cell: {doc.cell_formula} "
        f"({doc.n_atoms} atoms, {doc.volume_A3:.1f} Å³)",
        f"- defects: {', '.join(meta.defect_labels) or 'none'}",
        f"- engine: {meta.engine} {json.dumps(meta.engine_details)}",
    ]
    if doc.relaxed_energy_eV is not None:
        lines.append(f"- relaxed energy: {doc.relaxed_energy_eV:.4f} eV")
    lines += ["", "## Diffusion per temperature", ""]
    lines.append("| T (K) | frames | D | σ | diffusing | dimensionality | fit window (ps) |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in doc.diffusion:
        d, sigma = diffusion_text(r)
        dim = r.dimensionality if r.dimensionality else "n/a"
        lines.append(
            f"| {r.temperature_K:g} | {r.n_frames} | {d} | {sigma} | "
            f"{'yes' if r.diffusing else 'no'} | {dim} | "
            f"{_fmt(r.fit_start_ps, '.2f')}–{_fmt(r.fit_end_ps, '.2f')} |"
        )
    for t in doc.missing_temperatures_K:
        lines.append(f"| {t:g} | — | missing (MD or analysis failed) | | | | |")
    lines += ["", "## Arrhenius fit", ""]
    fit = doc.arrhenius
    if fit is not None and fit.not_determined:
        lines.append(f"Ea and the extrapolated D and σ are not determined: {fit.not_determined}.")
    elif fit is None or fit.activation_energy_eV is None:
        lines.append("No Arrhenius fit: fewer than two temperatures showed diffusion.")
    else:
        ci = fit.conductivity_at_target_ci_mS_cm
        lines += [
            f"- Ea = {_pm(fit.activation_energy_eV, fit.activation_energy_std_eV, '.3f')} eV",
            f"- D0 = {_fmt(fit.prefactor_cm2_s)} cm²/s",
            f"- D({fit.target_temperature_K:g} K) = {_fmt(fit.diffusivity_at_target_cm2_s)} cm²/s",
            f"- σ({fit.target_temperature_K:g} K) = {_fmt(fit.conductivity_at_target_mS_cm)} mS/cm"
            + (f" (CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else ""),
        ]
    if fit is not None:
        for w in fit.warnings:
            lines.append(f"- warning: {w}")
    for w in doc.warnings:
        lines.append(f"- warning: {w}")
    for r in doc.diffusion:
        for w in r.warnings:
            lines.append(f"- {r.temperature_K:g} K: {w}")
    if plots:
        lines += ["", *plots_section(plots)]
    lines.append("")
    return "\n".join(lines)


def write_transport_report(doc: TransportDoc, out_dir: Path) -> Path:
    """Write ``report.md``, ``summary.json`` and PNG plots for a study.

    Parameters
    ----------
    doc
        Per-temperature diffusion results and the Arrhenius fit of one study.
    out_dir
        Folder to write into (created).

    Returns
    -------
    Path
        The folder.
    """
    out_dir = report_dir(out_dir)
    plots: dict[str, str] = {}
    if doc.diffusion:
        plot_msd(doc.diffusion, out_dir / "msd.png")
        plots["MSD vs time"] = "msd.png"
        if doc.arrhenius is not None:
            plot_arrhenius(doc.arrhenius, doc.diffusion, out_dir / "arrhenius.png")
            plots["Arrhenius"] = "arrhenius.png"
    write_report_files(out_dir, render_markdown(doc, plots), doc)
    return out_dir
