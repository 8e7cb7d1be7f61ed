"""Computed vs published: numbers side by side and which published trends hold.

Pure functions on a :class:`~ionflow.schemas.study_doc.StudyDoc` and the
published data of :mod:`ionflow.report.published`. :func:`compare_values` pairs every
published number with its computed counterpart (or says why there is none);
:func:`evaluate_trends` tests the qualitative findings (orderings, the S-doping effect,
no diffusion in pristine Li3OBr, 1D channel transport in LaCl3, the LLTO crowding turning
point) and says ``holds``, ``fails``, ``partly`` or ``not computed`` with the numbers
behind the verdict. The Markdown report is :func:`ionflow.report.design.write_design_report`.

Conventions: a hop's barrier is the larger of its forward and backward barriers (the
barrier seen from the lower endpoint; equal for a hop between equivalent sites, and the
value the NEB percolation analysis uses); several matching hops or defect configurations
give the lowest value.
A system whose MD shows no diffusion at any temperature has no Arrhenius fit; for
``greater``/``ordering`` trends its sigma (or D) counts as below any diffusing system's.
A ``greater`` trend on sigma(300 K) with such a system holds only when the evidence
separates the two: the diffusing system's D − 2σ at some temperature above the other's
D upper bound at the same or a higher temperature (else ``partly``, numbers given).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ionflow.analysis.hop_counting import hop_diffusivity_bounds
from ionflow.report.published import published_for, trends_for
from ionflow.schemas.neb import NO_SADDLE

if TYPE_CHECKING:
    from ionflow.report.published import PublishedTrend, PublishedValue
    from ionflow.schemas.study_doc import DefectRow, HopRow, StudyDoc, SystemDoc

__all__ = [
    "Comparison",
    "Computed",
    "TrendResult",
    "compare_values",
    "computed_value",
    "defect_key",
    "evaluate_trends",
    "hop_barrier",
]

#: |cos(hop, c)| above which a hop runs along the c-axis channel, below which it crosses
CHANNEL_COS = 0.9
INTERCHANNEL_COS = 0.5
#: D_c / mean(D_a, D_b) above which diffusion counts as one-dimensional along c
ONE_D_RATIO = 3.0
#: stands for "no diffusion seen" in orderings (below every diffusing value)
NO_DIFFUSION = -math.inf


@dataclass
class Computed:
    """A computed value with its uncertainty and how it was obtained."""

    value: float | None
    err: float | None = None
    note: str = ""
    ci: list[float] | None = None  # confidence interval (sigma at 300 K)
    not_determined: str | None = None  # why there is no value although one was computed


@dataclass
class Comparison:
    """One published number next to its computed counterpart."""

    published: PublishedValue
    computed: Computed

    @property
    def ratio(self) -> float | None:
        """Computed / published, for positive quantities (σ)."""
        c, p = self.computed.value, self.published.value
        if c is None or not math.isfinite(c) or c <= 0 or p <= 0:
            return None
        return c / p

    @property
    def difference(self) -> float | None:
        """Computed − published (energies, voltages, distances)."""
        c = self.computed.value
        if c is None or not math.isfinite(c):
            return None
        return c - self.published.value


@dataclass
class TrendResult:
    """Verdict on one published finding."""

    trend: PublishedTrend
    status: str  # holds | fails | partly | not computed
    detail: str = ""
    values: dict[str, float | None] = field(default_factory=dict)


def defect_key(label: str) -> Counter:
    """Point defects of a configuration label as a multiset (order-insensitive).

    ``'O_Cl+Li_i_d1.78'`` → {O_Cl: 1, Li_i: 1}; ``'V_La+3Li_i_d4.1_c2'`` → {V_La: 1,
    Li_i: 3}; ``'Li_i_2'`` → {Li_i: 1}; ``'V_Li_q-1'`` → {V_Li: 1}.
    """
    base = re.sub(r"(_d\d+(\.\d+)?)?(_c\d+)?$", "", label)
    base = re.sub(r"_q[+-]\d+$", "", base)
    base = re.sub(r"(?<=_i)_\d+$|(?<=_[A-Z][a-z])_\d+$|(?<=_[A-Z])_\d+$", "", base)
    out: Counter = Counter()
    for part in base.split("+"):
        match = re.fullmatch(r"(\d*)(.+)", part)
        count = int(match.group(1)) if match.group(1) else 1
        out[match.group(2)] += count
    return out


def _defect_rows(system: SystemDoc, selector: str) -> list[DefectRow]:
    want = defect_key(selector)
    return [r for r in system.defects if r.role == "requested" and defect_key(r.label) == want]


def hop_barrier(hop: HopRow) -> float | None:
    """Return a hop's barrier: max(forward, backward), None when the band did not converge."""
    values = [v for v in (hop.barrier_forward_eV, hop.barrier_backward_eV) if v is not None]
    return max(values) if hop.converged and values else None


def flat_band_bound(hop: HopRow) -> float | None:
    """Return the upper bound on a hop's barrier from a band refused for having no saddle.

    Such a band's energy span bounds the barrier; None for any other band.
    """
    if hop.converged or not hop.message.startswith(NO_SADDLE):
        return None
    return hop.band_span_eV


def flat_band_text(hop: HopRow) -> str | None:
    """Return "no saddle, ..." with the bound on the barrier for a band refused as flat."""
    bound = flat_band_bound(hop)
    if bound is None:
        return None
    return f"no saddle, the band stays within {1000 * bound:.0f} meV (barrier < {bound:.3f} eV)"


def _hops(system: SystemDoc, selector: str | None) -> list[HopRow]:
    rows = [h for h in system.hops if hop_barrier(h) is not None]
    if selector in (None, "any") or (selector or "").startswith("rank:"):
        return rows
    if selector == "interstitial":
        return [h for h in rows if h.kind in ("interstitial", "interstitialcy")]
    if selector == "channel":
        return [h for h in rows if h.cos_c is not None and h.cos_c >= CHANNEL_COS]
    if selector == "inter-channel":
        return [h for h in rows if h.cos_c is not None and h.cos_c <= INTERCHANNEL_COS]
    return [h for h in rows if h.kind == selector]


def _barrier(system: SystemDoc, selector: str | None) -> Computed:
    rows = _hops(system, selector)
    if not system.hops:
        return Computed(None, note="no NEB results")
    if not rows:
        return Computed(None, note=f"no converged {selector or ''} hop".replace("  ", " "))
    if selector and selector.startswith("rank:"):
        rank = int(selector.split(":")[1])
        values = sorted({round(hop_barrier(h), 4) for h in rows})
        if len(values) < rank:
            return Computed(None, note=f"only {len(values)} distinct barrier(s) computed")
        return Computed(values[rank - 1], note=f"{rank}. lowest of {len(values)} hops")
    best = min(rows, key=hop_barrier)
    return Computed(hop_barrier(best), note=best.label)


def _transport(system: SystemDoc, quantity: str) -> Computed:
    doc = system.transport
    if doc is None:
        return Computed(None, note="no MD results")
    fit, source = doc.arrhenius, ""
    if (fit is None or fit.activation_energy_eV is None) and doc.hop_arrhenius is not None:
        # as `query`: the estimate that uses every hop, when the tracer MSD gives no fit
        fit, source = doc.hop_arrhenius, "hop-count Arrhenius"
    if fit is None or fit.activation_energy_eV is None:
        hops = ", ".join(f"{c.n_hops} at {c.temperature_K:g} K" for c in doc.hop_counts)
        hops = f"; Li hops: {hops}" if hops else ""
        judged = [f for f in (doc.arrhenius, doc.hop_arrhenius) if f and f.not_determined]
        if judged:
            return Computed(None, note=f"{judged[0].not_determined}{hops}")
        if doc.diffusion and not any(r.diffusing for r in doc.diffusion):
            temps = ", ".join(f"{r.temperature_K:g}" for r in doc.diffusion)
            return Computed(NO_DIFFUSION, note=f"no diffusion at {temps} K{hops}")
        return Computed(None, note=f"fewer than two diffusing temperatures{hops}")
    if quantity == "activation_energy_eV":
        return Computed(fit.activation_energy_eV, fit.activation_energy_std_eV, note=source)
    if abs(fit.target_temperature_K - 300.0) > 1e-6:
        return Computed(None, note=f"extrapolated to {fit.target_temperature_K:g} K, not 300 K")
    ci = fit.conductivity_at_target_ci_mS_cm
    note = "; ".join(p for p in (source, f"CI {ci[0]:.3g}–{ci[1]:.3g}" if ci else "") if p)
    return Computed(fit.conductivity_at_target_mS_cm, note=note, ci=list(ci) if ci else None)


def _defect_value(
    doc: StudyDoc, system: SystemDoc | None, quantity: str, selector: str
) -> Computed:
    """Formation/binding energy or separation of the lowest matching configuration.

    Looks in the named system first, then in any other system that computed formation
    energies of the same configuration (noted in the result).
    """
    where = ""
    rows = _defect_rows(system, selector) if system is not None else []
    if not rows:
        for other in doc.systems:
            rows = _defect_rows(other, selector)
            if rows:
                where = f" (system {other.key})"
                break
    if not rows:
        return Computed(None, note=f"no {selector} configuration computed")
    best = min(rows, key=_raw_formation)
    value = {
        "formation_energy_eV": best.formation_energy_eV,
        "binding_energy_eV": best.binding_energy_eV,
        "separation_A": best.separation_A,
    }[quantity]
    why = {
        "formation_energy_eV": best.formation_energy_reason,
        "binding_energy_eV": best.binding_energy_reason,
    }.get(quantity)
    if why:
        return Computed(None, note=best.label + where, not_determined=why)
    return Computed(value, note=best.label + where)


def _raw_formation(row: DefectRow) -> float:
    """Return the computed formation energy (also when not a result), for ranking."""
    if row.raw_formation_energy_eV is not None:
        return row.raw_formation_energy_eV
    return row.formation_energy_eV if row.formation_energy_eV is not None else math.inf


def computed_value(
    doc: StudyDoc, system_key: str, quantity: str, selector: str | None = None
) -> Computed:
    """Return the computed counterpart of a published quantity (value None: not computed)."""
    system = doc.system(system_key)
    if quantity in ("formation_energy_eV", "binding_energy_eV", "separation_A"):
        return _defect_value(doc, system, quantity, selector or "")
    if system is None:
        reason = doc.meta.skipped.get(system_key, "not part of this run")
        return Computed(None, note=f"system {system_key} not computed ({reason})")
    if quantity in ("conductivity_300K_mS_cm", "activation_energy_eV"):
        return _transport(system, quantity)
    if quantity == "barrier_eV":
        return _barrier(system, selector)
    if quantity in ("formation_energy_eV", "binding_energy_eV", "separation_A"):
        return _defect_value(doc, system, quantity, selector or "")
    if quantity in ("window_reduction_V", "window_oxidation_V"):
        if system.window is None:
            return Computed(None, note="no window computed")
        w = system.window
        value = w.reduction_limit_V if quantity == "window_reduction_V" else w.oxidation_limit_V
        return Computed(value, note=f"E_hull {w.energy_above_hull_eV_atom * 1000:.0f} meV/atom")
    if quantity == "diffusivity_cm2_s":
        return Computed(None, note="use a trend (needs a common temperature)")
    return Computed(None, note=f"unknown quantity {quantity}")


def compare_values(doc: StudyDoc) -> list[Comparison]:
    """Pair every published number of the run's design with its computed value."""
    if not doc.meta.design:
        return []
    return [
        Comparison(p, computed_value(doc, p.system, p.quantity, p.selector))
        for p in published_for(doc.meta.design)
    ]


def _operand(doc: StudyDoc, operand: str) -> Computed:
    system, quantity, *rest = operand.split(":", 2)
    return computed_value(doc, system, quantity, rest[0] if rest else None)


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == NO_DIFFUSION:
        return "no diffusion"
    return f"{value:.3g}"


def _diffusivities(doc: StudyDoc, keys: list[str]) -> tuple[float | None, list]:
    """D of each system at the highest temperature all of them simulated (0: none)."""
    per = []
    for key in keys:
        system = doc.system(key)
        if system is None or system.transport is None or not system.transport.diffusion:
            return None, []
        per.append({r.temperature_K: r for r in system.transport.diffusion})
    common = set.intersection(*(set(p) for p in per))
    if not common:
        return None, []
    t = max(common)
    values = [p[t].diffusivity_cm2_s if p[t].diffusing else NO_DIFFUSION for p in per]
    return t, values


def _bound_separation(doc: StudyDoc, fast: str, slow: str) -> tuple[bool, str]:
    """Whether ``slow`` is shown slower than ``fast`` by its D upper bounds.

    D grows with T, so a system with no diffusion at T_b (D < U_b) is slower than one
    with D_a − 2σ_a > U_b at some T_a ≤ T_b. The tracer D is tried first, then the hop
    counts (:func:`_hop_separation`), which resolve a few-carrier cell that the tracer
    MSD of all ions cannot. Returns the verdict and the numbers.
    """
    fast_rows = [r for r in _diffusion_flags(doc, fast) or [] if r.diffusing]
    slow_rows = [
        r
        for r in _diffusion_flags(doc, slow) or []
        if not r.diffusing and r.diffusivity_upper_bound_cm2_s is not None
    ]
    best = None
    for ra in fast_rows:
        low = ra.diffusivity_cm2_s - 2.0 * (ra.diffusivity_std_cm2_s or 0.0)
        for rb in slow_rows:
            if rb.temperature_K >= ra.temperature_K:
                margin = low - rb.diffusivity_upper_bound_cm2_s
                if best is None or margin > best[0]:
                    best = (margin, ra, rb)
    by_hops = _hop_separation(doc, fast, slow)
    if best is None:
        if by_hops is not None:
            return by_hops
        return False, (
            f"not separated: no temperature of {slow} at or above one where {fast} diffuses"
        )
    margin, ra, rb = best
    numbers = (
        f"{fast} D({ra.temperature_K:g} K) = {ra.diffusivity_cm2_s:.3g} ± "
        f"{ra.diffusivity_std_cm2_s or 0.0:.2g} cm²/s vs {slow} D({rb.temperature_K:g} K) < "
        f"{rb.diffusivity_upper_bound_cm2_s:.3g} cm²/s"
    )
    if margin > 0:
        return True, f"separated at 2σ: {numbers}"
    if by_hops is not None and by_hops[0]:
        return True, f"{by_hops[1]} (the tracer D alone does not: {numbers})"
    return False, f"not separated at 2σ: {numbers}"


def _hop_separation(doc: StudyDoc, fast: str, slow: str) -> tuple[bool, str] | None:
    """Whether the hop counts show ``slow`` slower than ``fast`` (None: no hop counts).

    As for the tracer bounds: ``fast``'s 95 % lower bound of D_hop at some T_a above
    ``slow``'s 95 % upper bound at a T_b ≥ T_a (exact Poisson bounds of the counts,
    intact frameworks only). The pair with the largest ratio is quoted.
    """
    counts = {}
    for key in (fast, slow):
        system = doc.system(key)
        if system is None or system.transport is None:
            return None
        counts[key] = [c for c in system.transport.hop_counts if c.framework_intact]
        if not counts[key]:
            return None
    best = None
    for ca in counts[fast]:
        low = hop_diffusivity_bounds(ca)[0]
        for cb in counts[slow]:
            if cb.temperature_K >= ca.temperature_K:
                high = hop_diffusivity_bounds(cb)[1]
                if best is None or low / high > best[0]:
                    best = (low / high, ca, cb, low, high)
    if best is None:
        return False, f"not separated: no hop count of {slow} at or above one of {fast}"
    ratio, ca, cb, low, high = best
    numbers = (
        f"{fast} {ca.n_hops} Li hops in {ca.duration_ps:.3g} ps at {ca.temperature_K:g} K "
        f"(D_hop > {low:.3g} cm²/s) vs {slow} {cb.n_hops} in {cb.duration_ps:.3g} ps at "
        f"{cb.temperature_K:g} K (D_hop < {high:.3g} cm²/s), 95 % Poisson bounds"
    )
    if ratio > 1.0:
        return True, f"separated by the hop counts: {numbers}"
    return False, f"not separated by the hop counts: {numbers}"


def _greater(doc: StudyDoc, trend: PublishedTrend) -> TrendResult:
    a, b = trend.operands
    if a.endswith(":diffusivity_cm2_s"):
        keys = [a.split(":")[0], b.split(":")[0]]
        for key in keys:
            if doc.system(key) is None:
                reason = doc.meta.skipped.get(key, "not part of this run")
                return TrendResult(trend, "not computed", f"system {key} not computed ({reason})")
        t, values = _diffusivities(doc, keys)
        if t is None:
            return TrendResult(trend, "not computed", "no common MD temperature")
        va, vb, where = values[0], values[1], f" at {t:g} K"
    else:
        ca, cb = _operand(doc, a), _operand(doc, b)
        va, vb, where = ca.value, cb.value, ""
        if va is None or vb is None:
            missing = a if va is None else b
            note = (ca if va is None else cb).note
            detail = f"{missing}: {note}"
            if "conductivity" in a:
                # sigma(300 K) not determined (too few hops for Ea): the hop counts at the
                # MD temperatures can still order the two, as D upper bounds do
                status = _order_by_hops(doc, a.split(":")[0], b.split(":")[0])
                if status is not None:
                    return TrendResult(trend, status[0], f"{detail}; {status[1]}", {a: va, b: vb})
            return TrendResult(trend, "not computed", detail, {a: va, b: vb})
    if va == NO_DIFFUSION and vb == NO_DIFFUSION:
        return TrendResult(trend, "not computed", f"neither diffuses{where}", {a: va, b: vb})
    status = "holds" if va > vb else "fails"
    detail = f"{_fmt(va)} vs {_fmt(vb)}{where}"
    if not a.endswith(":diffusivity_cm2_s") and NO_DIFFUSION in (va, vb):
        # one side has no sigma at all: its order below the other is only as good as its
        # D upper bounds against the other's D with error bars
        hi, lo = (a, b) if vb == NO_DIFFUSION else (b, a)
        separated, evidence = _bound_separation(doc, hi.split(":")[0], lo.split(":")[0])
        detail += f"; {evidence}"
        if not separated:
            status = "partly"
    if not a.endswith(":diffusivity_cm2_s") and ca.ci and cb.ci:
        # with error bars: the order holds only when the confidence intervals separate
        detail = (
            f"{_fmt(va)} [{_fmt(ca.ci[0])}, {_fmt(ca.ci[1])}] vs "
            f"{_fmt(vb)} [{_fmt(cb.ci[0])}, {_fmt(cb.ci[1])}]"
        )
        if va > vb and ca.ci[0] <= cb.ci[1]:
            status = "partly"
            detail += " (confidence intervals overlap)"
        elif va <= vb and cb.ci[0] <= ca.ci[1]:
            # the other order, within the errors: not shown wrong either
            status = "partly"
            detail += " (in the other order, but the confidence intervals overlap)"
    return TrendResult(trend, status, detail, {a: va, b: vb})


def _order_by_hops(doc: StudyDoc, fast: str, slow: str) -> tuple[str, str] | None:
    """``holds``/``fails`` when the hop counts separate the two systems, else ``not computed``.

    ``fast`` is the system the published finding says is faster. None without hop counts.
    """
    forward = _hop_separation(doc, fast, slow)
    if forward is None:
        return None
    if forward[0]:
        return "holds", f"at the MD temperatures: {forward[1]}"
    backward = _hop_separation(doc, slow, fast)
    if backward is not None and backward[0]:
        return "fails", f"at the MD temperatures: {backward[1]}"
    return "not computed", forward[1]


def _ordering(doc: StudyDoc, trend: PublishedTrend) -> TrendResult:
    values = {op: _operand(doc, op).value for op in trend.operands}
    known = [(op, v) for op, v in values.items() if v is not None]
    if len(known) < 2:
        return TrendResult(trend, "not computed", "fewer than two values computed", values)
    pairs = [(x, y) for i, x in enumerate(known) for y in known[i + 1 :]]
    good = sum(1 for (_, vx), (_, vy) in pairs if vx < vy)
    ties = sum(1 for (_, vx), (_, vy) in pairs if vx == vy)
    # a pair ordered only because one side did not diffuse counts when its bounds separate
    weak = [
        (x.split(":")[0], y.split(":")[0])
        for (x, vx), (y, vy) in pairs
        if vx < vy and vx == NO_DIFFUSION and "conductivity" in x
    ]
    unseparated = [(lo, hi) for lo, hi in weak if not _bound_separation(doc, hi, lo)[0]]
    good -= len(unseparated)
    order = " < ".join(_short(op) for op, _ in sorted(known, key=lambda kv: kv[1]))
    detail = f"computed order {order}; {good}/{len(pairs)} pairs as published"
    if unseparated:
        names = ", ".join(f"{lo} < {hi}" for lo, hi in unseparated)
        detail += f" ({names}: in this order, but not separated at 2σ by the D upper bounds)"
    if len(known) < len(values):
        detail += f" ({len(values) - len(known)} value(s) not computed)"
    if ties:
        detail += f", {ties} tie(s) (no diffusion in both)"
    if ties == len(pairs):
        # nothing diffused: the ordering was not tested, it did not fail
        return TrendResult(trend, "not computed", f"{detail}; no value could be ordered", values)
    against = sum(1 for (_, vx), (_, vy) in pairs if vx > vy)
    status = "holds" if good == len(pairs) else ("fails" if against == len(pairs) else "partly")
    return TrendResult(trend, status, detail, values)


def _short(operand: str) -> str:
    """``system:quantity[:selector]`` → the selector if given, else the system."""
    system, _, *rest = operand.split(":", 2)
    return rest[0] if rest else system


def _diffusion_flags(doc: StudyDoc, key: str) -> list | None:
    system = doc.system(key)
    if system is None or system.transport is None or not system.transport.diffusion:
        return None
    return sorted(system.transport.diffusion, key=lambda r: r.temperature_K)


def _turning_point(doc: StudyDoc, trend: PublishedTrend) -> TrendResult:
    series = [(key, _diffusion_flags(doc, key)) for key in trend.operands]
    series = [(k, r) for k, r in series if r]
    if len(series) < 3:
        return TrendResult(trend, "not computed", "fewer than three Li contents simulated")
    temps = sorted(set.intersection(*({r.temperature_K for r in rs} for _, rs in series)))
    if not temps:
        return TrendResult(trend, "not computed", "no temperature common to all contents")
    peaks, parts = {}, []
    for t in temps:
        d = [next(r for r in rs if r.temperature_K == t) for _, rs in series]
        if not any(r.diffusing for r in d):
            # no content diffuses: D(x) is noise around zero and has no peak to test
            parts.append(f"{t:g} K: no content diffuses")
            continue
        values = [r.diffusivity_cm2_s if r.diffusing else 0.0 for r in d]
        i = max(range(len(values)), key=values.__getitem__)
        peaks[t] = (i, series[i][0])
        interior = 0 < i < len(values) - 1
        parts.append(f"{t:g} K: peak at {series[i][0]}{'' if interior else ' (range end)'}")
    if not peaks:
        return TrendResult(trend, "not computed", "; ".join(parts))
    interior = [0 < i < len(series) - 1 for i, _ in peaks.values()]
    tested = sorted(peaks)
    shifts = peaks[tested[-1]][0] <= peaks[tested[0]][0]
    if all(interior) and shifts:
        status = "holds"
    elif any(interior):
        status = "partly"  # a maximum inside the range somewhere, but not the full picture
    else:
        status = "fails"  # D(x) monotonic at every temperature
    return TrendResult(trend, status, "; ".join(parts))


def _evaluate(doc: StudyDoc, trend: PublishedTrend) -> TrendResult:
    kind, key = trend.kind, trend.operands[0]
    if kind == "greater":
        return _greater(doc, trend)
    if kind == "ordering":
        return _ordering(doc, trend)
    if kind == "turning_point":
        return _turning_point(doc, trend)
    system = doc.system(key)
    if system is None:
        reason = doc.meta.skipped.get(key, "not part of this run")
        return TrendResult(trend, "not computed", f"system {key} not computed ({reason})")
    if kind == "above_hull":
        if system.window is None:
            return TrendResult(trend, "not computed", "no window computed")
        e = system.window.energy_above_hull_eV_atom
        return TrendResult(
            trend, "holds" if e > 1e-3 else "fails", f"E_hull {e * 1000:.1f} meV/atom"
        )
    results = _diffusion_flags(doc, key)
    if results is None:
        return TrendResult(trend, "not computed", "no MD results")
    flags = ", ".join(f"{r.temperature_K:g} K {'yes' if r.diffusing else 'no'}" for r in results)
    if kind == "no_diffusion":
        top = results[-1].temperature_K
        if any(r.diffusing for r in results):
            return TrendResult(trend, "fails", f"diffusing: {flags}")
        short = "" if top >= (trend.temperature_K or 0) else f" (only up to {top:g} K)"
        return TrendResult(trend, "holds", f"diffusing: {flags}{short}")
    if kind == "diffuses":
        at = [r for r in results if r.temperature_K >= (trend.temperature_K or 0) - 1e-6]
        if not at:
            return TrendResult(trend, "not computed", f"no MD at ≥ {trend.temperature_K:g} K")
        status = "holds" if at[0].diffusing else "fails"
        return TrendResult(trend, status, f"diffusing: {flags}")
    # one_dimensional
    ratios = []
    for r in results:
        if not r.diffusing or len(r.diffusivity_components_cm2_s) != 3:
            continue
        dx, dy, dz = r.diffusivity_components_cm2_s
        inplane = max((dx + dy) / 2, 1e-30)
        ratios.append((r.temperature_K, dz / inplane, r.dimensionality))
    if not ratios:
        return TrendResult(trend, "not computed", f"no diffusing temperature ({flags})")
    ok = all(ratio >= ONE_D_RATIO for _, ratio, _ in ratios)
    some = any(ratio >= ONE_D_RATIO for _, ratio, _ in ratios)
    text = "; ".join(f"{t:g} K: D_c/D_ab = {x:.2g} (dimensionality {d})" for t, x, d in ratios)
    return TrendResult(trend, "holds" if ok else ("partly" if some else "fails"), text)


def evaluate_trends(doc: StudyDoc) -> list[TrendResult]:
    """Test every published qualitative finding of the run's design."""
    if not doc.meta.design:
        return []
    return [_evaluate(doc, t) for t in trends_for(doc.meta.design)]
