"""Report pieces of a system with MD and NEB: hops per temperature, the MD/NEB verdict, plots.

The study report (:mod:`ionflow.report.design`) adds these per system: one line per
temperature with D, its hop count and whether the framework held, the hop-rate
Arrhenius energy, the MD-against-NEB verdict, and links to the MSD (with its fit
window), Arrhenius (with its confidence band) and NEB energy-profile plots.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.report.plots_neb import plot_neb_profiles
from ionflow.report.transport import diffusion_text
from ionflow.schemas.neb import NebDoc
from ionflow.schemas.study_doc import strip_monty_keys

if TYPE_CHECKING:
    from ionflow.schemas.study_doc import StudyDoc, SystemDoc

__all__ = ["neb_plot_name", "system_md_neb_lines", "system_plot_links", "write_neb_plots"]


def neb_plot_name(key: str) -> str:
    """File name of a system's NEB energy-profile plot in the study report folder."""
    return f"neb_{key}.png"


def system_md_neb_lines(s: SystemDoc) -> list[str]:
    """Markdown lines: D and hops per temperature, hop-rate Ea, and the MD/NEB verdict."""
    lines: list[str] = []
    t = s.transport
    if t is not None and t.hop_counts:
        by_t = {r.temperature_K: r for r in t.diffusion}
        lines += [
            "",
            "| T (K) | D (tracer) | diffusing | Li hops | ions hopped | framework |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.hop_counts:
            r = by_t.get(c.temperature_K)
            d = diffusion_text(r)[0] if r is not None else "n/a"
            fw = "intact" if c.framework_intact else "NOT intact"
            msd = ", ".join(f"{el} {v:.2f} Å²" for el, v in c.framework_msd_A2.items())
            lines.append(
                f"| {c.temperature_K:g} | {d} | {'yes' if r and r.diffusing else 'no'} | "
                f"{c.n_hops} in {c.duration_ps:.2g} ps | {c.n_ions_hopped}/{c.n_mobile} | "
                f"{fw} (MSD {msd or 'n/a'}) |"
            )
        lines.append("")
        fit = t.hop_arrhenius
        if fit is not None and fit.activation_energy_eV is not None:
            ci = fit.conductivity_at_target_ci_mS_cm
            sigma = fit.conductivity_at_target_mS_cm
            lines.append(
                f"- hop-count Arrhenius (Poisson fit of the counts, D = rate·⟨d²⟩/6N): "
                f"Ea = {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV or 0:.3f}"
                f" eV over {', '.join(f'{x:g}' for x in fit.fitted_temperatures_K)} K"
                + (
                    f", σ({fit.target_temperature_K:g} K) = {sigma:.3g} mS/cm"
                    + (f" (CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else "")
                    if sigma is not None
                    else ""
                )
            )
        elif fit is not None and fit.not_determined:
            reason = fit.not_determined
            lines.append(f"- hop-count Arrhenius: Ea and σ(300 K) not determined: {reason}")
    check = s.md_neb
    if check is not None:
        lines.append(f"- **MD vs NEB: {check.verdict}** — {check.explanation}")
    return lines


def write_neb_plots(key: str, neb_output: Any, out_dir: Path) -> Path | None:
    """Plot the energy profiles of a system's bands into the study report folder."""
    nebs = [
        n if isinstance(n, NebDoc) else NebDoc.model_validate(strip_monty_keys(n))
        for n in _get(neb_output, "nebs") or []
    ]
    nebs = [n for n in nebs if n.relative_energies_eV]
    if not nebs:
        return None
    return plot_neb_profiles(nebs, Path(out_dir) / neb_plot_name(key))


def system_plot_links(doc: StudyDoc, out_dir: Path) -> dict[str, str]:
    """Links (relative to the report folder) to each system's transport and NEB plots."""
    out_dir = Path(out_dir)
    links: dict[str, str] = {}
    for s in doc.systems:
        t = s.transport
        if t is not None and t.report_dir:
            for name, what in (("msd.png", "MSD and fit window"), ("arrhenius.png", "Arrhenius")):
                path = Path(t.report_dir) / name
                if path.exists():
                    links[f"{s.key}: {what}"] = os.path.relpath(path, out_dir)
        if (out_dir / neb_plot_name(s.key)).exists():
            links[f"{s.key}: NEB energy profile"] = neb_plot_name(s.key)
    return links


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
