"""Markdown report of a design study: per-system results, computed vs published, trends.

Written from the :class:`~ionflow.schemas.study_doc.StudyDoc` alone (so
``ionflow report STUDY --compare-published`` can re-render it from the store):
``report.md``, ``summary.json`` (the document), ``comparison.json`` (the rows of the
comparison and the trend verdicts) and two plots (``compare_published.png``,
``arrhenius_systems.png``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.analysis.defect_transport import defect_limited_conductivity
from ionflow.report.compare import NO_DIFFUSION, compare_values, evaluate_trends, flat_band_text
from ionflow.report.files import plots_section, report_dir, write_report_files
from ionflow.report.md_neb import system_md_neb_lines, system_plot_links
from ionflow.report.plots_design import plot_arrhenius_systems, plot_compare_published
from ionflow.report.transport import diffusion_text

if TYPE_CHECKING:
    from ionflow.report.compare import Comparison, TrendResult
    from ionflow.schemas.study_doc import StudyDoc, SystemDoc

__all__ = [
    "SYNTHESIS_TEMPERATURE_K",
    "comparison_rows",
    "defect_transport_line",
    "render_design_markdown",
    "write_design_report",
]

_MARK = {
    "holds": "✔ holds",
    "fails": "✘ fails",
    "partly": "◐ partly",
    "not computed": "– not computed",
}
_CAVEATS = [
    "MLIP numbers are not DFT numbers: CHGNet (trained on PBE data) sets the energy scale, so "
    "absolute barriers, Ea and formation energies are expected to differ; the comparison "
    "that matters is the qualitative picture (orderings, which cell diffuses, dimensionality).",
    "σ(300 K) is an Arrhenius extrapolation over a long temperature range; its uncertainty is "
    "dominated by the uncertainty of Ea (see the CI) and AIMD-type estimates overestimate "
    "experiment (fixed carrier concentration, migration-only Ea; e.g. LiTa2PO8 35.3 vs 1.6 "
    "mS/cm).",
]


def _f(value: float | None, spec: str = ".3g") -> str:
    if value is None:
        return "n/a"
    if value == NO_DIFFUSION:
        return "no diffusion"
    return f"{value:{spec}}"


def comparison_rows(comparisons: list[Comparison]) -> list[dict[str, Any]]:
    """Plain rows (for JSON and tables) of computed-vs-published pairs."""
    rows = []
    for c in comparisons:
        p, v = c.published, c.computed
        value = None if v.value is None or v.value == NO_DIFFUSION else v.value
        rows.append(
            {
                "system": p.system,
                "quantity": p.quantity,
                "selector": p.selector,
                "published": p.value,
                "method": p.method,
                "computed": value,
                "computed_err": v.err,
                "no_diffusion": v.value == NO_DIFFUSION,
                "ratio": c.ratio,
                "difference": c.difference,
                "note": v.note,
                "not_determined": v.not_determined,
                "published_note": p.note,
                "source": p.source,
            }
        )
    return rows


#: default temperature (K) at which the defect population is taken to equilibrate
SYNTHESIS_TEMPERATURE_K = 1000.0


def defect_transport_line(s: SystemDoc, synthesis_temperature_K: float) -> str | None:
    """Return the equilibrium-concentration σ of the MD cell's defect, next to the MD σ.

    For a system with formation energies and an Arrhenius σ: the defect in the MD cell
    (``defect_labels``, one each) at its equilibrium concentration at the synthesis
    temperature, ``σ = c q μ`` with μ from D (Nernst–Einstein), i.e. the MD σ scaled by
    ``c_eq / c_MD`` (:mod:`ionflow.analysis.defect_transport`).
    """
    t = s.transport
    fit = t.arrhenius if t is not None else None
    sigma = fit.conductivity_at_target_mS_cm if fit is not None else None
    if sigma is None or sigma == NO_DIFFUSION or not t.diffusion:
        return None
    rows = {d.label: d for d in s.defects if d.role == "requested"}
    found = [rows[label] for label in s.defect_labels if label in rows]
    if len(found) != 1 or found[0].cell_volume_A3 is None:
        return None
    d = found[0]
    if not sigma > 0:
        return f"- defect-limited σ: not determined: MD σ is {sigma}"
    if d.formation_energy_eV is None:
        why = d.formation_energy_reason or "no formation energy"
        return f"- defect-limited σ: not determined: E_f({d.label}) not determined ({why})"
    link = defect_limited_conductivity(
        sigma,
        1,
        t.diffusion[0].volume_A3,
        d.formation_energy_eV,
        d.multiplicity,
        d.cell_volume_A3,
        synthesis_temperature_K,
    )
    return (
        f"- defects in equilibrium at {synthesis_temperature_K:g} K (E_f({d.label}) = "
        f"{d.formation_energy_eV:.3f} eV): {link.concentration_eq_cm3:.3g} cm⁻³ vs "
        f"{link.concentration_md_cm3:.3g} cm⁻³ in the MD cell → σ({fit.target_temperature_K:g}"
        f" K) = c q μ = {link.conductivity_eq_mS_cm:.3g} mS/cm (μ from D, Nernst–Einstein) "
        f"next to the MD cell's {link.conductivity_md_mS_cm:.3g} mS/cm"
    )


def _system_lines(
    s: SystemDoc, synthesis_temperature_K: float = SYNTHESIS_TEMPERATURE_K
) -> list[str]:
    lines = [f"### {s.key}" + (f": {s.notes}" if s.notes else ""), ""]
    cell = f"{s.cell_formula} ({s.n_atoms} atoms)" if s.cell_formula else "host only"
    lines.append(f"- study `{s.study}`; host {s.host_formula}; cell {cell}")
    if s.defect_labels:
        lines.append(f"- defects in the cell: {', '.join(s.defect_labels)}")
    lines.append(f"- sections: {', '.join(s.sections) or 'none'}")
    t = s.transport
    if t is not None:
        flags = ", ".join(
            f"{r.temperature_K:g} K: D = {diffusion_text(r)[0]}"
            + (f", dim {r.dimensionality}" if r.diffusing else "")
            for r in t.diffusion
        )
        lines.append(f"- MD: {flags or 'no results'}")
        fit = t.arrhenius
        if fit is not None and fit.activation_energy_eV is not None:
            ci = fit.conductivity_at_target_ci_mS_cm
            lines.append(
                f"- Arrhenius: Ea = {fit.activation_energy_eV:.3f} ± "
                f"{fit.activation_energy_std_eV or 0:.3f} eV, σ({fit.target_temperature_K:g} K) = "
                f"{_f(fit.conductivity_at_target_mS_cm)} mS/cm"
                + (f" (CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else "")
            )
        elif fit is not None and fit.not_determined:
            lines.append(f"- Arrhenius: Ea and σ(300 K) not determined: {fit.not_determined}")
        if t.report_dir:
            lines.append(f"- transport report: `{t.report_dir}/report.md`")
    for h in s.hops:
        if h.converged:
            text = f"{_f(h.barrier_forward_eV)} / {_f(h.barrier_backward_eV)} eV (fwd/back)"
        else:
            text = flat_band_text(h) or f"not converged (max force {_f(h.max_force_eV_A)} eV/Å)"
        extra = f", |cos c| {h.cos_c:.2f}" if h.cos_c is not None else ""
        lines.append(f"- NEB {h.label} ({h.kind}, {_f(h.length_A)} Å{extra}): {text}")
    if s.percolation_barrier_eV is not None:
        lines.append(
            f"- percolating hop network from {s.percolation_barrier_eV:.3f} eV "
            f"({s.percolation_dimensionality}D)"
        )
    for d in s.defects:
        if d.role != "requested":
            continue
        bind = f", binding {d.binding_energy_eV:.3f} eV" if d.binding_energy_eV is not None else ""
        if d.binding_energy_reason:
            bind = f", binding not determined: {d.binding_energy_reason}"
        sep = f" at {d.separation_A:.2f} Å" if d.separation_A is not None else ""
        e_f = (
            f"not determined: {d.formation_energy_reason}"
            if d.formation_energy_eV is None
            else f"{d.formation_energy_eV:.3f} eV"
        )
        lines.append(f"- E_f({d.label}) = {e_f}{sep}{bind}")
    if s.defect_condition:
        lines.append(f"- chemical potentials: {s.defect_condition}")
    link = defect_transport_line(s, synthesis_temperature_K)
    if link:
        lines.append(link)
    if s.window is not None:
        w = s.window
        ox = f"{w.oxidation_limit_V:.2f}" if w.oxidation_limit_V is not None else "none"
        lines.append(
            f"- window {w.reduction_limit_V:.2f}–{ox} V vs Li/Li+ (reduced to "
            f"{', '.join(w.reduction_products) or '–'}, oxidised to "
            f"{', '.join(w.oxidation_products) or '–'}); E_hull "
            f"{w.energy_above_hull_eV_atom * 1000:.1f} meV/atom"
        )
    lines += system_md_neb_lines(s)
    for w in s.warnings:
        lines.append(f"- warning: {w}")
    return [*lines, ""]


def render_design_markdown(
    doc: StudyDoc,
    comparisons: list[Comparison],
    trends: list[TrendResult],
    plots: dict[str, str],
    synthesis_temperature_K: float = SYNTHESIS_TEMPERATURE_K,
) -> str:
    """Return the report text of a design study run."""
    m = doc.meta
    mode = "--quick (reduced scale)" if m.quick else "as in the study file"
    lines = [
        f"# ionflow design study: {m.study}",
        "",
        f"- run id `{m.run_id}` ({doc.created_at:%Y-%m-%d %H:%M UTC}); engine {m.engine} "
        f"{json.dumps(m.engine_details)}; settings: {mode}",
        f"- systems: {', '.join(m.systems)}",
    ]
    for key, reason in m.skipped.items():
        lines.append(f"- not run: {key} ({reason})")
    lines += ["", "## Results per system", ""]
    for s in doc.systems:
        lines += _system_lines(s, synthesis_temperature_K)
    if trends:
        held = sum(t.status == "holds" for t in trends)
        lines += ["## Which published trends hold", ""]
        lines.append(
            f"{held} of {len(trends)} hold. Each line: the published finding, then the numbers."
        )
        lines.append("")
        for t in trends:
            lines.append(f"- **{_MARK[t.status]}** — {t.trend.statement}. *Computed:* {t.detail}")
        lines.append("")
    if comparisons:
        lines += ["## Computed vs published numbers", ""]
        lines.append("| system | quantity | which | published | method | computed | × / Δ | note |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for c in comparisons:
            p, v = c.published, c.computed
            err = f" ± {v.err:.2g}" if v.err is not None else ""
            if c.ratio is not None and p.quantity.startswith("conductivity"):
                rel = f"×{c.ratio:.2g}"
            elif c.difference is not None:
                rel = f"{c.difference:+.3g}"
            else:
                rel = ""
            computed = f"not determined: {v.not_determined}" if v.not_determined else _f(v.value)
            lines.append(
                f"| {p.system} | {p.quantity} | {p.selector or ''} | {p.value:.3g} | {p.method} | "
                f"{computed}{err} | {rel} | {v.note} |"
            )
        sources = sorted({c.published.source for c in comparisons})
        lines += ["", f"Sources: {'; '.join(sources)}.", ""]
    if comparisons or trends:
        lines += ["## Caveats", ""]
        lines += [f"- {c}" for c in _CAVEATS]
        if m.quick:
            lines.append(
                "- --quick: small cells, few temperatures and picosecond runs; D carries large "
                "errors, a system may not diffuse at all in so short a run, and NEB/relaxations "
                "use loose force criteria. Treat the numbers as a smoke test of the pipeline."
            )
        lines.append("")
    for w in doc.warnings:
        lines.append(f"- warning: {w}")
    if plots:
        lines += [*plots_section(plots), ""]
    return "\n".join(lines)


def write_design_report(
    doc: StudyDoc,
    out_dir: Path,
    compare: bool = True,
    synthesis_temperature_K: float = SYNTHESIS_TEMPERATURE_K,
) -> Path:
    """Write ``report.md``, ``summary.json``, ``comparison.json`` and plots.

    Parameters
    ----------
    doc
        The design study document.
    out_dir
        Folder (created).
    compare
        Include the comparison with the published numbers (when the design is known).
    synthesis_temperature_K
        Temperature of the equilibrium defect concentration linked to the MD σ (K).

    Returns
    -------
    Path
        The folder.
    """
    out_dir = report_dir(out_dir)
    comparisons = compare_values(doc) if compare else []
    trends = evaluate_trends(doc) if compare else []
    plots: dict[str, str] = {}
    if plot_arrhenius_systems(doc, out_dir / "arrhenius_systems.png") is not None:
        plots["D(T) of all systems"] = "arrhenius_systems.png"
    if comparisons and plot_compare_published(comparisons, out_dir / "compare_published.png"):
        plots["computed vs published"] = "compare_published.png"
    plots.update(system_plot_links(doc, out_dir))
    markdown = render_design_markdown(doc, comparisons, trends, plots, synthesis_temperature_K)
    write_report_files(out_dir, markdown, doc)
    payload = {
        "design": doc.meta.design,
        "run_id": doc.meta.run_id,
        "values": comparison_rows(comparisons),
        "trends": [
            {
                "key": t.trend.key,
                "statement": t.trend.statement,
                "status": t.status,
                "detail": t.detail,
            }
            for t in trends
        ],
    }
    (out_dir / "comparison.json").write_text(
        json.dumps(payload, indent=2, allow_nan=False, default=_json)
    )
    return out_dir


def _json(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
