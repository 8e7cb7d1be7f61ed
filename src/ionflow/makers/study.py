"""The collector job of a study run and the plain functions behind it.

``summarize_study_run`` receives, for every system, the outputs of its sub-flows
(transport summary, defect formation energies, NEB study, window) — None where a sub-flow
failed — and turns them into one :class:`~ionflow.schemas.study_doc.StudyDoc`, then
writes the report (with the comparison to published numbers when the design is known).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import job
from pymatgen.core import Lattice

from ionflow.analysis.md_neb import compare_md_neb
from ionflow.report.compare import flat_band_bound, hop_barrier
from ionflow.report.design import write_design_report
from ionflow.report.md_neb import write_neb_plots
from ionflow.schemas.md_neb import MdNebCheck
from ionflow.schemas.study import TransportDoc
from ionflow.schemas.study_doc import (
    DefectRow,
    HopRow,
    StudyDoc,
    StudyRunMeta,
    SystemDoc,
    WindowSummary,
    as_model,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = [
    "defect_rows",
    "hop_rows",
    "md_neb_check",
    "summarize_design",
    "summarize_study_result",
    "summarize_study_run",
    "window_summary",
]

logger = logging.getLogger(__name__)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def defect_rows(doc: Any) -> tuple[list[DefectRow], str | None, list[str]]:
    """Slim rows of a DefectStudyDoc (or its dict).

    Returns
    -------
    rows, condition, missing
        One row per configuration, the chemical-potential condition and failed labels.
    """
    rows = []
    for d in _get(doc, "defects", []) or []:
        binding = _get(d, "binding")
        energy = _finite(_get(d, "formation_energy_eV"))
        # a formation energy that is not a result (negative) is None with its reason
        raw = _finite(_get(d, "raw_formation_energy_eV", energy))
        why = _get(d, "formation_energy_reason")
        if raw is None:
            continue
        rows.append(
            DefectRow(
                label=_get(d, "label"),
                kroger_vink=_get(d, "kroger_vink", "") or "",
                role=_get(d, "role", "requested"),
                charge=int(_get(d, "charge", 0) or 0),
                formation_energy_eV=None if why else energy,
                raw_formation_energy_eV=raw,
                formation_energy_reason=why,
                binding_energy_eV=_finite(_get(binding, "binding_energy_eV")) if binding else None,
                binding_energy_reason=_get(binding, "reason") if binding else None,
                separation_A=_finite(_get(d, "separation_A")),
                relaxed_separation_A=_finite(_get(d, "relaxed_separation_A")),
                multiplicity=int(_get(d, "multiplicity", 1) or 1),
                cell_volume_A3=_cell_volume(_get(d, "relaxed_structure")),
            )
        )
    mu = _get(doc, "chemical_potentials")
    condition = _get(mu, "condition") if mu is not None else None
    return rows, condition, list(_get(doc, "missing", []) or [])


def _cell_volume(structure: Any) -> float | None:
    """Volume (Å³) of a stored structure (object or dict), None without one."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return float(Lattice.from_dict(structure["lattice"]).volume)
    return float(structure.volume)


def _cos_c(hop: Any) -> float | None:
    """|cos| of the angle between the first moving atom's displacement and the c axis."""
    import numpy as np
    from pymatgen.core import Structure

    if hop is None:
        return None
    initial = _get(hop, "initial")
    if isinstance(initial, dict):
        initial = Structure.from_dict(initial)
    start, end = _get(hop, "start_frac_coords"), _get(hop, "end_frac_coords")
    if initial is None or not start or not end:
        return None
    lattice = initial.lattice
    vec = lattice.get_cartesian_coords(np.asarray(end[0]) - np.asarray(start[0]))
    c_axis = lattice.matrix[2]
    norm = float(np.linalg.norm(vec) * np.linalg.norm(c_axis))
    if norm == 0:
        return None
    return float(min(1.0, abs(float(np.dot(vec, c_axis))) / norm))


def hop_rows(doc: Any) -> tuple[list[HopRow], list[str], float | None, int | None]:
    """Slim rows of a NebStudyDoc (or its dict).

    Returns
    -------
    rows, missing, percolation_barrier_eV, percolation_dimensionality
        One row per band, hops that did not run, and the percolating-network summary.
    """
    rows = []
    for neb in _get(doc, "nebs", []) or []:
        hop = _get(neb, "hop")
        rows.append(
            HopRow(
                label=_get(neb, "label"),
                kind=_get(hop, "kind", "explicit") if hop is not None else "explicit",
                length_A=_finite(_get(hop, "length_A")) if hop is not None else None,
                multiplicity=int(_get(hop, "multiplicity", 1) or 1) if hop is not None else 1,
                cos_c=_cos_c(hop),
                converged=bool(_get(neb, "converged", False)),
                barrier_forward_eV=_finite(_get(neb, "barrier_forward_eV")),
                barrier_backward_eV=_finite(_get(neb, "barrier_backward_eV")),
                max_force_eV_A=_finite(_get(neb, "max_force_eV_A")),
                band_span_eV=_band_span(_get(neb, "relative_energies_eV")),
                message=_get(neb, "message", "") or "",
            )
        )
    perc = _get(doc, "percolation")
    barrier = _finite(_get(perc, "barrier_eV")) if perc is not None else None
    dim = _get(perc, "dimensionality") if perc is not None and barrier is not None else None
    return rows, list(_get(doc, "missing", []) or []), barrier, dim


def window_summary(doc: Any) -> WindowSummary | None:
    """Slim summary of a WindowDoc (or its dict)."""
    if doc is None:
        return None
    return WindowSummary(
        formula=_get(doc, "formula"),
        reduction_limit_V=float(_get(doc, "reduction_limit_V")),
        oxidation_limit_V=_finite(_get(doc, "oxidation_limit_V")),
        reduction_products=list(_get(doc, "reduction_products", []) or []),
        oxidation_products=list(_get(doc, "oxidation_products", []) or []),
        energy_above_hull_eV_atom=float(_get(doc, "energy_above_hull_eV_atom")),
        is_stable=bool(_get(doc, "is_stable")),
        decomposition=[_get(p, "formula") for p in _get(doc, "decomposition", []) or []],
        warnings=list(_get(doc, "warnings", []) or []),
    )


def md_neb_check(
    transport: TransportDoc, hops: Sequence[HopRow], percolation_barrier_eV: float | None
) -> MdNebCheck:
    """Compare the MD activation energy with the barrier of the dominant hop.

    The MD energy is the tracer-D Arrhenius fit, else the hop-rate fit; the barrier is
    the percolating network's (the highest hop long-range diffusion must take), else the
    lowest converged hop's (max of its forward and backward barriers).
    """
    ea = std = None
    source = ""
    fits = [(transport.arrhenius, "tracer D"), (transport.hop_arrhenius, "hop-count")]
    for fit, name in fits:
        if fit is not None and fit.activation_energy_eV is not None:
            ea, std = fit.activation_energy_eV, fit.activation_energy_std_eV
            source = f"{name} Arrhenius"
            break
    judged = [f"{f.not_determined} ({n} Arrhenius)" for f, n in fits if f and f.not_determined]
    barriers = {h.label: b for h in hops if (b := hop_barrier(h)) is not None}
    # bands refused for having no saddle bound their hop's barrier by their energy span
    flat = {h.label: b for h in hops if (b := flat_band_bound(h)) is not None}
    barrier = bound = None
    hop = ""
    if percolation_barrier_eV is not None:
        barrier, hop = percolation_barrier_eV, "the percolating hop network"
    elif barriers:
        hop = min(barriers, key=barriers.__getitem__)
        barrier = barriers[hop]
    elif flat:
        hop = min(flat, key=flat.__getitem__)
        bound = flat[hop]
    return compare_md_neb(
        ea, std, source, barrier, hop, barrier_bound_eV=bound, no_ea_reason="; ".join(judged)
    )


def _band_span(energies: Sequence[float] | None) -> float | None:
    """Highest minus lowest image energy of a band (eV); None without finite energies."""
    values = [e for e in energies or [] if e is not None and math.isfinite(e)]
    return max(values) - min(values) if len(values) >= 2 else None


def _system_doc(info: dict[str, Any]) -> SystemDoc:
    sections = list(info.get("sections", []))
    missing = [s for s in sections if info.get(s) is None]
    warnings = [f"{s}: no result (its flow failed; see the run log)" for s in missing]
    transport = None
    if info.get("md") is not None:
        transport = as_model(info["md"], TransportDoc)
    rows, condition, defects_missing = (
        defect_rows(info["defects"])
        if info.get("defects")
        else (
            [],
            None,
            [],
        )
    )
    hops, hops_missing, perc_barrier, perc_dim = (
        hop_rows(info["neb"]) if info.get("neb") else ([], [], None, None)
    )
    for row in hops:
        if not row.converged:
            warnings.append(f"NEB {row.label}: not converged ({row.message or 'no barrier'})")
    md_neb = md_neb_check(transport, hops, perc_barrier) if transport and hops else None
    return SystemDoc(
        key=info["key"],
        study=info["study"],
        notes=info.get("notes", ""),
        host_formula=info["host_formula"],
        cell_formula=info.get("cell_formula"),
        n_atoms=info.get("n_atoms"),
        defect_labels=list(info.get("defect_labels", [])),
        sections=sections,
        transport=transport,
        defects=rows,
        defect_condition=condition,
        defects_missing=defects_missing,
        hops=hops,
        hops_missing=hops_missing,
        percolation_barrier_eV=perc_barrier,
        percolation_dimensionality=perc_dim,
        window=window_summary(info.get("window")),
        md_neb=md_neb,
        missing_sections=missing,
        warnings=warnings,
    )


def summarize_study_result(
    meta: StudyRunMeta | dict[str, Any],
    systems: Sequence[dict[str, Any]],
    report_dir: str | Path | None = None,
) -> StudyDoc:
    """Collect the systems of a study run into one document and write its report.

    Parameters
    ----------
    meta
        Design identity (StudyRunMeta or its dict).
    systems
        Per system: ``key``, ``study``, ``notes``, ``host_formula``, ``cell_formula``,
        ``n_atoms``, ``defect_labels``, ``sections`` and the section outputs ``md``,
        ``defects``, ``neb``, ``window`` (None where the sub-flow failed).
    report_dir
        Where to write ``report.md`` and the plots; None: the study's report is the
        transport report of its one system (a study with only ``md``).

    Returns
    -------
    StudyDoc
        The design summary.
    """
    meta = as_model(meta, StudyRunMeta)
    docs, warnings = [], []
    for info in systems:
        try:
            docs.append(_system_doc(info))
        except Exception as exc:  # one unreadable sub-document must not lose the others
            logger.exception("system %s could not be summarised", info.get("key"))
            warnings.append(
                f"system {info.get('key')}: summary failed ({type(exc).__name__}: {exc})"
            )
    doc = StudyDoc(meta=meta, systems=docs, warnings=warnings)
    if report_dir is None:
        transport = doc.transport_only
        if transport is not None:
            doc = doc.model_copy(update={"report_dir": transport.report_dir})
    else:
        for info in systems:
            if info.get("neb") is not None:
                try:
                    write_neb_plots(info["key"], info["neb"], Path(report_dir))
                except Exception:  # a plot must not lose the study document
                    logger.exception("NEB plot of system %s failed", info.get("key"))
        out = write_design_report(doc, Path(report_dir))
        doc = doc.model_copy(update={"report_dir": str(out)})
    return doc


@job(name="summarize study")
def summarize_study_run(
    meta: StudyRunMeta | dict[str, Any],
    systems: Sequence[dict[str, Any]],
    report_dir: str | None = None,
) -> StudyDoc:
    """Job wrapper of :func:`summarize_study_result` (missing sub-results are None)."""
    return summarize_study_result(meta, systems, report_dir=report_dir)


#: the collector's name in flows saved by release 0.1 (``ionflow aimd resume`` loads them)
summarize_design = summarize_study_run
