"""Which NEB number the MD Ea meets: percolation barrier, lowest converged hop, flat band."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ionflow.makers.study import _band_span, md_neb_check
from ionflow.schemas.study_doc import HopRow

FLAT = (
    "no saddle point: the band is flat or monotonic (images span 34.8 meV, none rises 5 meV "
    "above the higher endpoint), so the endpoints are not separate minima"
)


def _transport(ea: float, std: float) -> SimpleNamespace:
    fit = SimpleNamespace(
        activation_energy_eV=ea, activation_energy_std_eV=std, not_determined=None
    )
    return SimpleNamespace(arrhenius=fit, hop_arrhenius=None)


def _hop(label: str, **kw) -> HopRow:
    return HopRow(label=label, kind="vacancy", length_A=2.32, **kw)


def test_band_span_from_relative_energies():
    assert _band_span([0.0, 0.0348, 0.01, 0.002]) == pytest.approx(0.0348)
    assert _band_span([0.0]) is None
    assert _band_span(None) is None


def test_flat_bands_give_the_smallest_span_as_bound():
    hops = [
        _hop("V_Li hop 1", converged=False, band_span_eV=0.0348, message=FLAT),
        _hop("V_Li hop 2", converged=False, band_span_eV=0.020, message=FLAT),
        # unconverged for another reason: not a bound
        _hop("V_Li hop 3", converged=False, band_span_eV=0.001, message="max force 0.3 eV/Å"),
    ]
    check = md_neb_check(_transport(0.030, 0.040), hops, None)
    assert check.neb_hop == "V_Li hop 2"
    assert check.neb_barrier_bound_eV == pytest.approx(0.020)
    assert check.verdict == "agree"
    assert check.difference_sigma == pytest.approx((0.030 - 0.020) / 0.040)


def test_a_converged_hop_is_used_before_a_flat_one():
    hops = [
        _hop("V_Li hop 1", converged=False, band_span_eV=0.0348, message=FLAT),
        _hop("V_Li hop 2", converged=True, barrier_forward_eV=0.25, barrier_backward_eV=0.20),
    ]
    check = md_neb_check(_transport(0.030, 0.040), hops, None)
    assert check.neb_hop == "V_Li hop 2"
    assert check.neb_barrier_eV == pytest.approx(0.25)
    assert check.neb_barrier_bound_eV is None
    assert check.verdict == "differ"
    assert check.difference_sigma == pytest.approx((0.030 - 0.25) / 0.040)


def test_flat_band_text_is_for_bands_refused_as_flat_only():
    from ionflow.report.compare import flat_band_text

    flat = _hop("V_Li hop 1", converged=False, band_span_eV=0.0348, message=FLAT)
    assert flat_band_text(flat) == "no saddle, the band stays within 35 meV (barrier < 0.035 eV)"
    stuck = _hop("V_Li hop 2", converged=False, band_span_eV=0.2, message="max force 0.3 eV/Å")
    assert flat_band_text(stuck) is None
    done = _hop("V_Li hop 3", converged=True, barrier_forward_eV=0.2, band_span_eV=0.2)
    assert flat_band_text(done) is None


def test_an_ea_that_is_not_determined_says_why_in_the_check():
    fit = SimpleNamespace(
        activation_energy_eV=None,
        activation_energy_std_eV=None,
        not_determined="Ea = -0.579 ± 0.59 eV ≤ 0: D does not rise with temperature",
    )
    transport = SimpleNamespace(arrhenius=fit, hop_arrhenius=None)
    check = md_neb_check(transport, [], 0.293)
    assert check.verdict == "not compared"
    assert check.explanation == (
        "the MD activation energy is not determined: Ea = -0.579 ± 0.59 eV ≤ 0: D does not "
        "rise with temperature (tracer D Arrhenius)"
    )
