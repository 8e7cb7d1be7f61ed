"""The NaN/inf finder shared by the transport and NEB documents (document-level tests:
tests/analysis/test_diffusion.py, tests/makers/test_md_segments.py)."""

from __future__ import annotations

import math

import pytest

from ionflow.schemas.finite import find_nonfinite


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, None),
        (math.nan, "x"),
        ([1.0, [2.0, math.inf]], "x[1][1]"),
        ({"a": 1.0, "b": {"c": -math.inf}}, "x.b.c"),
        ((1, "s", None, 2.5), None),
    ],
)
def test_find_nonfinite_paths(value, expected):
    assert find_nonfinite(value, "x") == expected
