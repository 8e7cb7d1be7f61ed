"""Computed vs published: value matching and trend verdicts on synthetic documents.

Diffusivities are generated from known Arrhenius laws and fitted with ionflow's own
``fit_arrhenius``; NEB and defect rows are written by hand. The tests check that the
comparison finds the right computed value and that each trend verdict follows from the
numbers (both ways: a trend that holds and the same trend broken).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.hop_counting import fit_hop_arrhenius
from ionflow.report.compare import (
    NO_DIFFUSION,
    compare_values,
    computed_value,
    defect_key,
    evaluate_trends,
)
from ionflow.report.published import PUBLISHED, TRENDS, published_for
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.study import StudyMeta, TransportDoc
from ionflow.schemas.study_doc import (
    DefectRow,
    HopRow,
    StudyDoc,
    StudyRunMeta,
    SystemDoc,
    WindowSummary,
)
from ionflow.schemas.transport import DiffusionResult

KB = 8.617333262e-5


def _result(t: float, d: float, diffusing: bool = True, comps=None) -> DiffusionResult:
    comps = comps or [d, d, d]
    return DiffusionResult(
        specie="Li", charge=1.0, temperature_K=t, n_frames=100, n_atoms=40, n_mobile=23,
        time_step_fs=2.0, duration_ps=1.0, volume_A3=480.0, drift="framework",
        diffusivity_cm2_s=d, diffusivity_std_cm2_s=0.05 * d if diffusing else None,
        diffusivity_upper_bound_cm2_s=None if diffusing else 1e-7,
        diffusivity_components_cm2_s=comps, diffusion_tensor_cm2_s=[[0.0] * 3] * 3,
        diffusivity_principal_cm2_s=sorted(comps), principal_axes=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        dimensionality=3 if diffusing else 0, diffusing=diffusing, n_effective_hops=10.0,
        hop_length_A=2.8, conductivity_mS_cm=1.0, fit_start_ps=0.1, fit_end_ps=0.9,
        n_samples=23, msd_time_ps=[0.0, 1.0], msd_A2=[0.0, 1.0], msd_std_A2=[0.0, 0.1],
    )  # fmt: skip


def _transport(key: str, ea: float, d0: float = 1e-3, temps=(800, 1000, 1200), off=()):
    results = [
        _result(t, 1e-12, diffusing=False)
        if t in off
        else _result(t, d0 * math.exp(-ea / (KB * t)))
        for t in temps
    ]
    return _transport_of(key, results)


def _doc(design: str, systems: list[SystemDoc], skipped=None) -> StudyDoc:
    meta = StudyRunMeta(study=design, run_id="r1", design=design, engine="mlip",
                      systems=[s.key for s in systems], skipped=skipped or {})  # fmt: skip
    return StudyDoc(meta=meta, systems=systems)


def _system(key: str, **kw) -> SystemDoc:
    return SystemDoc(key=key, study=f"x-{key}", host_formula="Li3ClO", **kw)


def _hop(label, kind, fwd, back=None, cos_c=None, converged=True) -> HopRow:
    back = back if back is not None else fwd
    return HopRow(
        label=label,
        kind=kind,
        converged=converged,
        cos_c=cos_c,
        barrier_forward_eV=fwd if converged else None,
        barrier_backward_eV=back if converged else None,
    )


def test_published_data_is_consistent():
    designs = {p.design for p in PUBLISHED} | {t.design for t in TRENDS}
    assert designs == {"li3ocl", "li3obr", "lacl3", "llto", "lita2po8"}
    li3ocl = {(p.quantity, p.selector): p.value for p in published_for("li3ocl")}
    assert li3ocl[("formation_energy_eV", "Li_i+S_Cl")] == 1.141
    assert li3ocl[("binding_energy_eV", "Li_i+O_Cl")] == -0.660
    assert all(p.source for p in PUBLISHED)
    # the published formation-energy ordering trend lists the published values ascending
    trend = next(t for t in TRENDS if t.key == "formation_ordering")
    values = [li3ocl[("formation_energy_eV", op.split(":", 2)[2])] for op in trend.operands]
    assert values == sorted(values)


@pytest.mark.parametrize(
    ("label", "tokens"),
    [
        ("O_Cl+Li_i_d1.78", {"O_Cl": 1, "Li_i": 1}),
        ("V_La+3Li_i_d2.00_c4", {"V_La": 1, "Li_i": 3}),
        ("Li_i_2", {"Li_i": 1}),
        ("V_Li_q-1", {"V_Li": 1}),
        ("S_O", {"S_O": 1}),
        ("V_Li+V_Cl_d4.77", {"V_Cl": 1, "V_Li": 1}),
    ],
)
def test_defect_key(label, tokens):
    assert dict(defect_key(label)) == tokens


def test_li3ocl_trends_hold_and_break():
    s_hops = [_hop("Li_i hop 1", "interstitial", 0.20), _hop("Li_i hop 2", "interstitialcy", 0.12)]
    s_cl = _system("li_i_s_cl", transport=_transport("s", 0.15), hops=s_hops)
    o_cl = _system("li_i_o_cl", transport=_transport("o", 0.5, off=(800, 1000, 1200)),
                   hops=[_hop("Li_i hop 1", "interstitial", 0.55)])  # fmt: skip
    vac = _system("vacancy", transport=_transport("v", 0.3),
                  hops=[_hop("V_Li hop 1", "vacancy", 0.33), _hop("V_Li hop 2", "vacancy", 0.41),
                        _hop("V_Li hop 3", "vacancy", 0.9, converged=False)])  # fmt: skip
    li_i = _system("li_i", hops=[_hop("Li_i hop 1", "interstitialcy", 0.1)])
    defects = _system("defects", defects=[
        DefectRow(label="S_Cl+Li_i_d4.43", formation_energy_eV=1.0, binding_energy_eV=-0.05),
        DefectRow(label="S_Cl+Li_i_d2.10", formation_energy_eV=1.2, binding_energy_eV=0.1),
        DefectRow(label="O_Cl+Li_i_d1.78", formation_energy_eV=1.5, binding_energy_eV=-0.4),
        DefectRow(label="V_Li", formation_energy_eV=3.0, role="part"),
    ])  # fmt: skip
    doc = _doc("li3ocl", [s_cl, o_cl, vac, li_i, defects])
    verdict = {t.trend.key: t for t in evaluate_trends(doc)}
    assert verdict["s_doping_sigma"].status == "holds"  # S diffuses, O does not
    assert "no diffusion" in verdict["s_doping_sigma"].detail
    assert verdict["sigma_ordering"].status == "holds"
    assert verdict["interstitial_vs_vacancy"].status == "holds"  # 0.1 < 0.33
    assert verdict["s_lowers_barrier"].status == "holds"  # 0.55 > 0.12
    assert verdict["o_cl_binding"].status == "holds"  # -0.05 > -0.4 (lowest-energy configs)
    assert verdict["formation_ordering"].status == "holds"  # 2 of 7 computed, in order
    assert "5 value(s) not computed" in verdict["formation_ordering"].detail
    # numbers: sigma from the fit, barriers: lowest matching converged hop, ranks distinct
    sigma = computed_value(doc, "li_i_s_cl", "conductivity_300K_mS_cm")
    assert sigma.value == pytest.approx(s_cl.transport.arrhenius.conductivity_at_target_mS_cm)
    assert computed_value(doc, "li_i_o_cl", "conductivity_300K_mS_cm").value == NO_DIFFUSION
    assert computed_value(doc, "vacancy", "barrier_eV", "rank:2").value == pytest.approx(0.41)
    assert computed_value(doc, "vacancy", "barrier_eV", "rank:3").value is None  # unconverged
    assert computed_value(doc, "li_i_s_cl", "barrier_eV", "interstitial").value == pytest.approx(
        0.12
    )
    ea = computed_value(doc, "vacancy", "activation_energy_eV")
    assert ea.value == pytest.approx(0.3, abs=1e-6)
    rows = {(c.published.quantity, c.published.selector): c for c in compare_values(doc)}
    assert rows[("formation_energy_eV", "Li_i+S_Cl")].computed.value == 1.0
    assert rows[("formation_energy_eV", "Li_i+S_Cl")].difference == pytest.approx(1.0 - 1.141)
    assert rows[("separation_A", "Li_i+S_Cl")].computed.value is None  # not given in the row

    # break the S-doping effect: O now diffuses faster than S at every temperature
    o_fast = o_cl.model_copy(update={"transport": _transport("o", 0.05)})
    broken = _doc("li3ocl", [s_cl, o_fast, vac, li_i, defects])
    verdict = {t.trend.key: t for t in evaluate_trends(broken)}
    assert verdict["s_doping_sigma"].status == "fails"
    assert verdict["sigma_ordering"].status == "partly"


def test_ordering_of_systems_that_all_failed_to_diffuse_is_not_computed():
    # as in a real --quick li3ocl run: no cell diffused, so sigma cannot be ordered
    off = (800, 1000, 1200)
    systems = [
        _system(key, transport=_transport(key[0], 0.3, off=off))
        for key in ("li_i_s_cl", "li_i_o_cl", "vacancy")
    ]
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", systems))}
    ordering = verdict["sigma_ordering"]
    assert ordering.status == "not computed"
    assert "3 tie(s)" in ordering.detail
    assert "no value could be ordered" in ordering.detail
    # one diffusing system is enough to order it against the others
    systems[0] = _system("li_i_s_cl", transport=_transport("s", 0.15))
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", systems))}
    assert verdict["sigma_ordering"].status == "partly"  # S above both, O = vacancy tie


def test_missing_systems_are_not_computed():
    doc = _doc("li3ocl", [_system("vacancy", transport=_transport("v", 0.3))],
               skipped={"li_i_s_cl": "left out of --quick"})  # fmt: skip
    verdict = {t.trend.key: t for t in evaluate_trends(doc)}
    assert verdict["s_doping_sigma"].status == "not computed"
    assert "left out of --quick" in verdict["s_doping_sigma"].detail
    assert verdict["formation_ordering"].status == "not computed"


def test_li3obr_diffusion_onset_and_polymorph():
    pristine = _system(
        "pristine", transport=_transport("p", 1.0, temps=(1000, 1500), off=(1000, 1500))
    )
    schottky = _system("schottky", transport=_transport("s", 0.4, temps=(1000, 1500)))
    doc = _doc("li3obr", [pristine, schottky], skipped={"antispinel": "no structure"})
    verdict = {t.trend.key: t for t in evaluate_trends(doc)}
    assert verdict["pristine_no_diffusion"].status == "holds"
    assert verdict["schottky_turns_on"].status == "holds"
    assert verdict["antispinel_faster"].status == "not computed"
    # a pristine cell that diffuses at 1500 K breaks the finding
    moving = pristine.model_copy(
        update={"transport": _transport("p", 1.0, temps=(1000, 1500), off=(1000,))}
    )
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3obr", [moving, schottky]))}
    assert verdict["pristine_no_diffusion"].status == "fails"
    # only simulated up to 1000 K: still "holds", but says so
    short = pristine.model_copy(
        update={"transport": _transport("p", 1.0, temps=(800, 1000), off=(800, 1000))}
    )
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3obr", [short, schottky]))}
    assert "only up to 1000 K" in verdict["pristine_no_diffusion"].detail
    # the antispinel polymorph faster than the Schottky cell at the common temperature
    spinel = _system("antispinel", transport=_transport("a", 0.1, temps=(1000, 1500)))
    verdict = {
        t.trend.key: t for t in evaluate_trends(_doc("li3obr", [pristine, schottky, spinel]))
    }
    assert verdict["antispinel_faster"].status == "holds"
    assert "1500 K" in verdict["antispinel_faster"].detail


def test_lacl3_one_dimensional_and_channel_hops():
    def chan(ratio):
        temps = (600, 900, 1200)
        res = [_result(t, 1e-5, comps=[1e-6, 1e-6, ratio * 1e-6]) for t in temps]
        meta = StudyMeta(study="c", run_id="r", host_formula="LaCl3", engine="mlip", work_dir="/w")
        return TransportDoc(
            meta=meta, n_atoms=26, cell_formula="Li3La5Cl18", volume_A3=650.0, diffusion=res
        )

    hops = [_hop("Li_i hop 1", "interstitial", 0.08, cos_c=0.99),
            _hop("Li_i hop 2", "interstitial", 0.35, cos_c=0.1),
            _hop("Li_i hop 3", "interstitial", 0.5, cos_c=0.7)]  # fmt: skip
    doc = _doc("lacl3", [_system("la_vacancy", transport=chan(20.0), hops=hops)])
    verdict = {t.trend.key: t for t in evaluate_trends(doc)}
    assert verdict["one_dimensional"].status == "holds"
    assert verdict["channel_vs_interchannel"].status == "holds"
    assert computed_value(doc, "la_vacancy", "barrier_eV", "channel").value == pytest.approx(0.08)
    assert computed_value(doc, "la_vacancy", "barrier_eV", "inter-channel").value == pytest.approx(
        0.35
    )
    iso = _doc("lacl3", [_system("la_vacancy", transport=chan(1.0), hops=hops[2:])])
    verdict = {t.trend.key: t for t in evaluate_trends(iso)}
    assert verdict["one_dimensional"].status == "fails"
    assert verdict["channel_vs_interchannel"].status == "not computed"


def _llto_content(key, d_by_t, diffusing=True):
    """One Li content of the LLTO sweep with D (cm²/s) per temperature."""
    res = [_result(t, d, diffusing=diffusing) for t, d in d_by_t.items()]
    meta = StudyMeta(study=key, run_id="r", host_formula="LLTO", engine="mlip", work_dir="/w")
    return _system(
        key,
        transport=TransportDoc(
            meta=meta, n_atoms=60, cell_formula="x", volume_A3=700.0, diffusion=res
        ),
    )


def _turning_point(doc):
    (trend,) = [t for t in evaluate_trends(doc) if t.trend.key == "crowding_turning_point"]
    return trend


def test_llto_turning_point():
    # peak at x056 at 500 K, at x044 at 750 K: rises then falls, moves to lower x at higher T
    table = {"x033": (1.0, 4.0), "x044": (2.0, 9.0), "x056": (3.0, 6.0), "x067": (0.5, 1.0)}
    systems = [_llto_content(k, {500.0: a * 1e-6, 750.0: b * 1e-6}) for k, (a, b) in table.items()]
    trend = _turning_point(_doc("llto", systems, skipped={"x061": "left out of --quick"}))
    assert trend.status == "holds"
    assert "500 K: peak at x056" in trend.detail
    assert "750 K: peak at x044" in trend.detail
    monotonic = [
        _llto_content(k, {500.0: i * 1e-6, 750.0: 2 * i * 1e-6}) for i, k in enumerate(table, 1)
    ]
    assert _turning_point(_doc("llto", monotonic)).status == "fails"


def test_llto_turning_point_without_diffusion_is_not_computed():
    # as in a real --quick run: three contents at 1300 K, none diffusing within 0.5 ps
    d_by_key = {"x033": 8.8e-5, "x056": 1.23e-4, "x067": 2.27e-5}
    systems = [_llto_content(k, {1300.0: d}, diffusing=False) for k, d in d_by_key.items()]
    trend = _turning_point(_doc("llto", systems))
    assert trend.status == "not computed"
    assert trend.detail == "1300 K: no content diffuses"


def test_lita2po8_window_and_ranks():
    w = WindowSummary(formula="LiTa2PO8", reduction_limit_V=1.9, oxidation_limit_V=4.2,
                      energy_above_hull_eV_atom=0.012, is_stable=False)  # fmt: skip
    hops = [_hop(f"h{i}", "vacancy", b) for i, b in enumerate((0.21, 0.13, 0.13, 0.17))]
    doc = _doc("lita2po8", [_system("window", window=w), _system("hops", hops=hops)])
    (trend,) = evaluate_trends(doc)
    assert trend.status == "holds"
    assert computed_value(doc, "window", "window_oxidation_V").value == 4.2
    ranks = [computed_value(doc, "hops", "barrier_eV", f"rank:{k}").value for k in (1, 2, 3)]
    assert ranks == [0.13, 0.17, 0.21]
    stable = w.model_copy(update={"energy_above_hull_eV_atom": 0.0, "is_stable": True})
    (trend,) = evaluate_trends(_doc("lita2po8", [_system("window", window=stable)]))
    assert trend.status == "fails"


def test_asymmetric_hop_barrier_is_the_larger_one():
    # a band from a metastable start: forward barrier 0, backward 0.12 eV
    hops = [_hop("h1", "vacancy", 0.0, back=0.12), _hop("h2", "vacancy", 0.3, back=0.25)]
    doc = _doc("lita2po8", [_system("hops", hops=hops)])
    assert computed_value(doc, "hops", "barrier_eV", "rank:1").value == pytest.approx(0.12)
    assert computed_value(doc, "hops", "barrier_eV", "rank:2").value == pytest.approx(0.3)
    assert computed_value(doc, "hops", "barrier_eV", "vacancy").value == pytest.approx(0.12)


def _measured(t: float, d: float, std: float | None, upper: float | None) -> DiffusionResult:
    """A result with a given D ± std (diffusing) or upper bound (not diffusing)."""
    diffusing = upper is None
    return _result(t, d, diffusing=diffusing).model_copy(
        update={"diffusivity_std_cm2_s": std, "diffusivity_upper_bound_cm2_s": upper}
    )


def _transport_of(key: str, results: list[DiffusionResult]) -> TransportDoc:
    on = [r for r in results if r.diffusing]
    fit = fit_arrhenius(on, target_temperature_K=300.0) if len(on) >= 2 else None
    meta = StudyMeta(
        study=f"x-{key}", run_id="r", host_formula="Li3ClO", engine="mlip", work_dir="/w"
    )
    return TransportDoc(meta=meta, n_atoms=40, cell_formula="Li23O8Cl7", volume_A3=480.0,
                        diffusion=results, arrhenius=fit)  # fmt: skip


def test_sigma_against_no_diffusion_needs_the_upper_bounds_to_separate():
    # the CHGNet li3ocl --quick run of 2026-12-03: Li_i+S_Cl diffuses at 800 and 1200 K,
    # the vacancy cell at none of 1100/1300/1500 K (D upper bounds below)
    vacancy = _system("vacancy", transport=_transport_of("v", [
        _measured(1100, 2e-6, None, 1.45e-5), _measured(1300, 1e-5, None, 4.87e-5),
        _measured(1500, 3e-6, None, 1.59e-5)]))  # fmt: skip
    s_runs = [_measured(800, 1.21e-5, 5.9e-6, None), _measured(1000, 4e-6, None, 1.47e-5),
              _measured(1200, 4.46e-5, 1.8e-5, None)]  # fmt: skip
    s_cl = _system("li_i_s_cl", transport=_transport_of("s", s_runs))
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_cl, vacancy]))}
    result = verdict["s_li_i_vs_vacancy_sigma"]
    # best pair: 1200 K (4.46e-5 - 2 x 1.8e-5 = 8.6e-6) against 1500 K (< 1.59e-5): no
    assert result.status == "partly"
    assert "not separated at 2σ" in result.detail
    assert "D(1200 K) = 4.46e-05" in result.detail
    assert "D(1500 K) < 1.59e-05" in result.detail
    ordering = verdict["sigma_ordering"]  # vacancy < li_i_s_cl, the only pair computed
    assert ordering.status == "partly"  # not against the published order, not shown either
    assert "0/1 pairs as published" in ordering.detail
    assert "vacancy < li_i_s_cl: in this order, but not separated at 2σ" in ordering.detail
    # with a tighter D at 1200 K (4.46e-5 - 1e-5 = 3.46e-5 > 1.59e-5) the order is shown
    s_runs[2] = _measured(1200, 4.46e-5, 0.5e-5, None)
    s_cl = _system("li_i_s_cl", transport=_transport_of("s", s_runs))
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_cl, vacancy]))}
    assert verdict["s_li_i_vs_vacancy_sigma"].status == "holds"
    assert "; separated at 2σ" in verdict["s_li_i_vs_vacancy_sigma"].detail
    # a no-diffusion system only at temperatures below the diffusing ones shows nothing
    cold = _system("vacancy", transport=_transport_of("v", [_measured(700, 1e-7, None, 1e-6)]))
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_cl, cold]))}
    assert verdict["s_li_i_vs_vacancy_sigma"].status == "partly"
    assert "no temperature of vacancy at or above" in verdict["s_li_i_vs_vacancy_sigma"].detail


def test_sigma_falls_back_to_the_hop_count_fit_when_the_tracer_gives_none():
    # a vacancy cell: the tracer MSD of all 23 Li shows no diffusion, the counted hops do
    ea, d0 = 0.3, 1e-3
    tracer = [_result(t, 1e-12, diffusing=False) for t in (1200, 1350, 1500)]
    hops = [_result(t, d0 * math.exp(-ea / (KB * t))) for t in (1200, 1350, 1500)]
    transport = _transport_of("v", tracer).model_copy(
        update={"hop_arrhenius": fit_arrhenius(hops, target_temperature_K=300.0)}
    )
    doc = _doc("li3ocl", [_system("vacancy", transport=transport)])
    sigma = computed_value(doc, "vacancy", "conductivity_300K_mS_cm")
    fit = transport.hop_arrhenius
    assert sigma.value == pytest.approx(fit.conductivity_at_target_mS_cm)
    assert sigma.ci == pytest.approx(list(fit.conductivity_at_target_ci_mS_cm))
    assert sigma.note.startswith("hop-count Arrhenius; CI ")
    ea_row = computed_value(doc, "vacancy", "activation_energy_eV")
    assert ea_row.value == pytest.approx(ea, abs=1e-6)
    assert ea_row.note == "hop-count Arrhenius"
    # with a tracer fit, the tracer fit is the one compared (as in `query`)
    with_tracer = transport.model_copy(update={"arrhenius": fit_arrhenius(hops[:2])})
    doc = _doc("li3ocl", [_system("vacancy", transport=with_tracer)])
    assert computed_value(doc, "vacancy", "activation_energy_eV").note == ""


def test_a_fit_with_ea_below_zero_is_not_determined_everywhere_it_is_shown(monkeypatch):
    # the vacancy cell of a li3ocl --quick run (5 ps per T): D falls from 1200 to 1350 K
    runs = [_result(1200, 8.53e-6), _result(1350, 4.58e-6), _result(1500, 1e-12, diffusing=False)]
    transport = _transport_of("v", runs)
    fit = transport.arrhenius
    assert fit.activation_energy_eV is None
    assert fit.raw_activation_energy_eV == pytest.approx(-0.5788, abs=1e-4)
    vacancy = _system("vacancy", transport=transport, hops=[_hop("V_Li hop 1", "vacancy", 0.293)])
    doc = _doc("li3ocl", [vacancy])
    sigma = computed_value(doc, "vacancy", "conductivity_300K_mS_cm")
    assert sigma.value is None
    assert sigma.note.startswith("Ea = -0.579 ± ")
    # the run's one-line summary (it printed "Ea -0.578 eV, σ300 4.84e+10 mS/cm")
    from ionflow.cli.study import print_study_summary

    lines: list[str] = []
    monkeypatch.setattr("ionflow.cli.study.echo", lines.append)
    print_study_summary(doc)  # one system with MD: the demo's printout
    assert any(x.startswith("  Ea not determined: Ea = -0.579 ± ") for x in lines)
    assert not any("sigma(300 K)" in x for x in lines)
    lines.clear()
    print_study_summary(_doc("li3ocl", [vacancy, _system("li_i")]))  # a design study
    line = next(x for x in lines if x.strip().startswith("vacancy:"))
    assert "Ea not determined (fit gives -0.579 eV)" in line
    assert "σ300" not in line
    # the design report
    from ionflow.report.design import _system_lines

    text = "\n".join(_system_lines(vacancy))
    assert "- Arrhenius: Ea and σ(300 K) not determined: Ea = -0.579" in text


def _hop_counts(temps, hops, n_li: int, d_A: float = 2.76) -> list[HopCountResult]:
    """Hop counts of 2 ps runs, every hop ``d_A`` long (D_hop = n d²/(6 N t))."""
    return [
        HopCountResult(specie="Li", temperature_K=t, duration_ps=2.0, n_mobile=n_li, n_hops=n,
                       n_ions_hopped=n, hop_rate_per_ps=n / 2.0, hop_length_A=d_A, n_sites=n_li,
                       capture_radius_A=0.8, hop_diffusivity_cm2_s=_d_hop(n, n_li, d_A) or None)
        for t, n in zip(temps, hops, strict=True)
    ]  # fmt: skip


def _d_hop(n: int, n_li: int, d_A: float = 2.76) -> float:
    return n * d_A**2 / (6 * n_li * 2.0) * 1e-4  # Å²/ps -> cm²/s


def _with_hops(key: str, tracer: list[DiffusionResult], counts) -> SystemDoc:
    transport = _transport_of(key, tracer).model_copy(
        update={"hop_counts": counts, "hop_arrhenius": fit_hop_arrhenius(tracer, counts)}
    )
    return _system(key, transport=transport)


def test_hop_counts_order_the_cells_when_the_vacancy_sigma_is_not_determined():
    # the CHGNet li3ocl --quick run of 2026-12-03 (2 ps per temperature): the vacancy cell
    # hopped 3, 2, 1 times at 1100/1300/1500 K (the Poisson fit gives Ea < 0: sigma(300 K)
    # not determined), the Li_i+S_Cl cell 5, 3, 13 times at 800/1000/1200 K
    v_tracer = [_measured(1100, 2e-6, None, 2.73e-5), _measured(1300, 1e-5, None, 2.23e-5),
                _measured(1500, 3e-6, None, 1.16e-5)]  # fmt: skip
    vacancy = _with_hops("vacancy", v_tracer, _hop_counts((1100, 1300, 1500), (3, 2, 1), 23))
    s_tracer = [_measured(800, 1e-6, None, 2.04e-5), _measured(1000, 1e-6, None, 2.42e-5),
                _measured(1200, 3.51e-5, 1.64e-5, None)]  # fmt: skip
    s_cl = _with_hops("li_i_s_cl", s_tracer, _hop_counts((800, 1000, 1200), (5, 3, 13), 25))
    assert vacancy.transport.hop_arrhenius.not_determined is not None
    assert (
        computed_value(_doc("li3ocl", [vacancy]), "vacancy", "conductivity_300K_mS_cm").value
        is None
    )
    verdict = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_cl, vacancy]))}
    result = verdict["s_li_i_vs_vacancy_sigma"]
    assert result.status == "holds"
    # best pair: 13 hops at 1200 K (97.5 % lower bound 6.92 hops) against 1 hop at 1500 K
    # (97.5 % upper bound 5.57 hops), each hop 2.76 Å, 25 and 23 Li, 2 ps
    low = stats.chi2.ppf(0.025, 26) / 2 * _d_hop(1, 25)
    high = stats.chi2.ppf(0.975, 4) / 2 * _d_hop(1, 23)
    assert low > high
    assert f"li_i_s_cl 13 Li hops in 2 ps at 1200 K (D_hop > {low:.3g} cm²/s)" in result.detail
    assert f"vacancy 1 in 2 ps at 1500 K (D_hop < {high:.3g} cm²/s)" in result.detail
    assert result.detail.startswith("vacancy:conductivity_300K_mS_cm: Ea = ")
    # counts that do not separate leave it not computed, with the numbers (8, 7, 6 hops:
    # Ea < 0 again; 13 hops at 1200 K against 7 at 1300 K overlap)
    close = _with_hops("vacancy", v_tracer, _hop_counts((1100, 1300, 1500), (8, 7, 6), 23))
    assert close.transport.hop_arrhenius.not_determined is not None
    result = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_cl, close]))}[
        "s_li_i_vs_vacancy_sigma"
    ]
    assert result.status == "not computed"
    assert "not separated by the hop counts" in result.detail
    # and counts the other way round make it fail
    fast_vac = _with_hops("vacancy", v_tracer, _hop_counts((1100, 1300, 1500), (90, 30, 40), 23))
    s_slow = _with_hops(
        "li_i_s_cl", [_measured(1200, 1e-6, None, 2e-6)], _hop_counts((1200,), (2,), 25)
    )
    result = {t.trend.key: t for t in evaluate_trends(_doc("li3ocl", [s_slow, fast_vac]))}[
        "s_li_i_vs_vacancy_sigma"
    ]
    assert result.status == "fails"
