"""Study summaries on the command line, and ``ionflow studies``.

:func:`print_study_summary` prints what ``ionflow run`` finished with; ``ionflow studies``
lists the shipped design studies with their systems and what ``--quick`` changes.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ionflow.cli.common import WORK_DIR_OPTION, echo
from ionflow.report.transport import diffusion_text

__all__ = ["print_study_summary", "print_transport_summary", "register", "studies_dir"]


def studies_dir() -> Path:
    """Return the ``configs/studies`` folder of the source tree (it may not exist)."""
    return Path(__file__).resolve().parents[3] / "configs" / "studies"


def print_transport_summary(doc, report: bool = True) -> None:
    """Print the key numbers of a transport document (a system's ``md`` section)."""
    fit = doc.arrhenius
    hops = {c.temperature_K: c for c in doc.hop_counts}
    echo("")
    for r in doc.diffusion:
        d, _ = diffusion_text(r)
        line = f"  {r.temperature_K:6g} K  D = {d}  diffusing: {'yes' if r.diffusing else 'no'}"
        c = hops.get(r.temperature_K)
        if c is not None:
            line += f"  hops: {c.n_hops} in {c.duration_ps:.2g} ps"
            line += "" if c.framework_intact else "  (framework NOT intact)"
        echo(line)
    shown = False
    for f, name in ((fit, "tracer D"), (doc.hop_arrhenius, "hop count")):
        if f is not None and f.not_determined:
            echo(f"  Ea not determined: {f.not_determined}  [{name} Arrhenius]")
            shown = True
        if f is None or f.activation_energy_eV is None:
            continue
        ci = f.conductivity_at_target_ci_mS_cm
        sigma = f.conductivity_at_target_mS_cm
        text = f"  Ea = {f.activation_energy_eV:.3f} ± {f.activation_energy_std_eV or 0:.3f} eV"
        if sigma is not None:
            text += f", sigma({f.target_temperature_K:g} K) = {sigma:.3g} mS/cm"
            text += f" ({f.confidence_level:.0%} CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else ""
        echo(f"{text}  [{name} Arrhenius]")
        shown = True
    if not shown:
        echo("  no Arrhenius fit (fewer than two temperatures with diffusion or hops)")
    if doc.missing_temperatures_K:
        echo(f"  missing temperatures: {doc.missing_temperatures_K}")
    if report:
        echo(f"report: {Path(doc.report_dir) / 'report.md' if doc.report_dir else 'not written'}")


def print_study_summary(doc) -> None:
    """Print what a study run found.

    A study with only ``md`` prints its transport numbers; any other one line per system
    and the published trends.
    """
    transport = doc.transport_only
    if transport is not None:
        print_transport_summary(transport)
        return
    if len(doc.systems) == 1 and doc.systems[0].transport is not None:
        _print_one_system(doc)
        return
    _print_systems(doc)


def _print_one_system(doc) -> None:
    """Print a one-system study with MD and more (the demo): transport, NEB, verdict."""
    from ionflow.report.compare import flat_band_text, hop_barrier

    s = doc.systems[0]
    print_transport_summary(s.transport, report=False)
    for h in s.hops:
        b = hop_barrier(h)
        text = f"{b:.3f} eV" if b is not None else "not converged, no barrier"
        text = flat_band_text(h) or text
        echo(f"  NEB {h.label} ({h.kind}, {h.length_A or 0:.2f} Å): {text}")
    if s.md_neb is not None:
        echo(f"  MD vs NEB: {s.md_neb.verdict}: {s.md_neb.explanation}")
    echo(f"report: {Path(doc.report_dir) / 'report.md' if doc.report_dir else 'not written'}")


def _print_systems(doc) -> None:
    """Print one line per system of a study document and the trend verdicts."""
    from ionflow.report.compare import evaluate_trends, hop_barrier

    echo("")
    for s in doc.systems:
        parts = []
        t = s.transport
        if t is not None:
            fit, label = t.arrhenius, ""
            hop_fit = t.hop_arrhenius
            tracer_none = fit is None or fit.activation_energy_eV is None
            if tracer_none and hop_fit is not None and hop_fit.fitted_temperatures_K:
                # as the comparison and `query`: the fit that uses every hop
                fit, label = hop_fit, " (hop count)"
            temps = "/".join(f"{c.temperature_K:g}" for c in t.hop_counts)
            counts = ", ".join(str(c.n_hops) for c in t.hop_counts)
            hops = f"; Li hops {counts} at {temps} K" if counts else ""
            if fit is not None and fit.activation_energy_eV is not None:
                sigma = fit.conductivity_at_target_mS_cm
                ea = f"Ea {fit.activation_energy_eV:.3f} ± {fit.activation_energy_std_eV or 0:.3f}"
                sigma_text = f", σ300 {sigma:.3g} mS/cm" if sigma is not None else ""
                parts.append(f"{ea} eV{sigma_text}{label}")
            elif fit is not None and fit.not_determined:
                which = "hop-count fit" if label else "fit"
                raw = fit.raw_activation_energy_eV
                parts.append(f"Ea not determined ({which} gives {raw:.3g} eV){hops}")
            else:
                on = [f"{r.temperature_K:g}" for r in t.diffusion if r.diffusing]
                parts.append((f"diffusing at {', '.join(on)} K" if on else "no diffusion") + hops)
        barriers = [b for b in map(hop_barrier, s.hops) if b is not None]
        if s.hops:
            low = f"{min(barriers):.3f} eV" if barriers else "none converged"
            parts.append(f"{len(s.hops)} NEB hops, lowest {low}")
        if s.defects:
            parts.append(f"{sum(d.role == 'requested' for d in s.defects)} formation energies")
        if s.window is not None:
            ox = s.window.oxidation_limit_V
            parts.append(
                f"window {s.window.reduction_limit_V:.2f}–{'∞' if ox is None else f'{ox:.2f}'} V"
            )
        if s.missing_sections:
            parts.append(f"failed: {', '.join(s.missing_sections)}")
        echo(f"  {s.key}: {'; '.join(parts) or 'no results'}")
    trends = evaluate_trends(doc)
    if trends:
        held = sum(t.status == "holds" for t in trends)
        echo(f"  published trends: {held}/{len(trends)} hold")
        for t in trends:
            echo(f"    [{t.status}] {t.trend.key}: {t.detail}")
    echo(f"report: {Path(doc.report_dir) / 'report.md' if doc.report_dir else 'not written'}")


def register(app: typer.Typer, analyze: typer.Typer) -> None:
    """Register ``ionflow studies``."""

    @app.command("studies")
    def studies(
        folder: Path | None = typer.Argument(None, help="Folder of design files."),
        work_dir: Path | None = WORK_DIR_OPTION,
    ) -> None:
        """List the design studies (configs/studies/*.yaml) with their systems."""
        from ionflow.config.base import read_yaml
        from ionflow.config.study_file import load_study

        root = folder or studies_dir()
        files = sorted(root.glob("*.yaml")) if root.is_dir() else []
        shown = 0
        for path in files:
            if "systems" not in read_yaml(path):
                continue
            full = load_study(path)
            quick = load_study(path, quick=True)
            echo(f"{path.name}: {full.name} — {full.description}")
            echo(f"  systems: {', '.join(s.key for s in full.systems)}")
            echo(f"  --quick runs: {', '.join(s.key for s in quick.systems)}")
            for key, reason in {**full.skipped, **quick.skipped}.items():
                echo(f"  not run: {key} ({reason})")
            shown += 1
        if not shown:
            echo(f"no design studies in {root}")
