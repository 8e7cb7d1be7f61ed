"""The MD-against-NEB verdict: agreement within 2σ, the direction of a disagreement."""

from __future__ import annotations

import pytest

from ionflow.analysis.md_neb import compare_md_neb


def test_agree_within_two_sigma():
    check = compare_md_neb(0.20, 0.03, "tracer D Arrhenius", 0.15, "Li_i hop 1")
    assert check.verdict == "agree"
    assert check.difference_sigma == pytest.approx((0.20 - 0.15) / 0.03)
    assert "agree within 2σ" in check.explanation
    assert "Li_i hop 1" in check.explanation


@pytest.mark.parametrize(
    ("ea", "word"), [(0.40, "above"), (0.02, "below")], ids=["md-higher", "md-lower"]
)
def test_differ_names_the_direction(ea, word):
    check = compare_md_neb(ea, 0.05, "hop-rate Arrhenius", 0.20, "V_Li hop 1")
    assert check.verdict == "differ"
    assert abs(check.difference_sigma) == pytest.approx(abs(ea - 0.20) / 0.05)
    assert f"σ {word} the CI-NEB barrier" in check.explanation


def test_not_compared_without_both_numbers():
    assert compare_md_neb(None, None, "", 0.2, "hop").verdict == "not compared"
    assert compare_md_neb(0.2, 0.0, "x", 0.2, "hop").verdict == "not compared"
    no_band = compare_md_neb(0.2, 0.05, "x", None, "")
    assert no_band.verdict == "not compared"
    assert "no NEB band" in no_band.explanation


@pytest.mark.parametrize(
    ("ea", "std", "verdict", "z"),
    [
        (0.030, 0.040, "agree", 0.0),  # inside [0, 0.035]: 0σ
        (0.100, 0.040, "agree", (0.100 - 0.035) / 0.040),  # 1.6σ above the bound
        (0.300, 0.050, "differ", (0.300 - 0.035) / 0.050),  # 5.3σ above
        (-0.150, 0.050, "differ", -0.150 / 0.050),  # 3σ below zero
    ],
    ids=["inside", "above-within-2s", "above", "below-zero"],
)
def test_flat_band_bounds_the_barrier(ea, std, verdict, z):
    """A band without a saddle bounds its hop's barrier to [0, span]; Ea is judged against it."""
    check = compare_md_neb(
        ea, std, "tracer D Arrhenius", None, "V_Li hop 1", barrier_bound_eV=0.035
    )
    assert check.verdict == verdict
    assert check.difference_sigma == pytest.approx(z)
    assert check.neb_barrier_eV is None
    assert check.neb_barrier_bound_eV == pytest.approx(0.035)
    assert "no saddle" in check.explanation
    assert "35 meV" in check.explanation


def test_a_converged_barrier_wins_over_a_bound():
    check = compare_md_neb(0.20, 0.03, "x", 0.15, "hop 2", barrier_bound_eV=0.01)
    assert check.verdict == "agree"
    assert check.neb_barrier_bound_eV is None
    assert check.difference_sigma == pytest.approx((0.20 - 0.15) / 0.03)
