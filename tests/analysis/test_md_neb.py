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
