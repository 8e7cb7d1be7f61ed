from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import next_fast_len

from ionflow.analysis.msd import (
    PAIRS,
    LagFunctional,
    ion_window_stats,
    msd_fft,
    ols_slope_weights,
    tensor_from_pairs,
)


def _cross_msd(a, b, m):
    n = len(a)
    if m == 0:
        return 0.0
    return float(np.mean((a[m:] - a[: n - m]) * (b[m:] - b[: n - m])))


@pytest.mark.parametrize("n", [2, 17, 300, 301])
def test_msd_fft_matches_direct_sum(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 3)).cumsum(axis=0)
    got = msd_fft(x)
    for m in range(n):
        for k in range(3):
            assert got[m, k] == pytest.approx(_cross_msd(x[:, k], x[:, k], m), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("n", [250, 251])
def test_functionals_and_curve_match_direct_sums(n):
    rng = np.random.default_rng(7)
    disp = rng.normal(size=(n, 4, 3)).cumsum(axis=0)
    n_fft = next_fast_len(2 * n, real=True)
    lags = np.arange(10, 120)
    w = ols_slope_weights(lags * 0.05)
    fun = LagFunctional(n, lags, w, n_fft)
    curve_lags = np.array([0, 1, 9, 100, n - 1])
    (vals,), curve = ion_window_stats(disp, [fun], curve_lags, n_fft)
    for i in range(4):
        for k, (a, b) in enumerate(PAIRS):
            ref = sum(
                wj * _cross_msd(disp[:, i, a], disp[:, i, b], m)
                for wj, m in zip(w, lags, strict=True)
            )
            assert vals[i, k] == pytest.approx(ref, rel=1e-8, abs=1e-8)
        for j, m in enumerate(curve_lags):
            ref = sum(_cross_msd(disp[:, i, a], disp[:, i, a], m) for a in range(3))
            assert curve[j, i] == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_ols_weights_give_slope_and_ignore_offset():
    t = np.linspace(0.3, 4.0, 50)
    w = ols_slope_weights(t)
    assert w @ (2.5 * t + 7.0) == pytest.approx(2.5)
    assert w.sum() == pytest.approx(0.0, abs=1e-12)


def test_tensor_from_pairs_is_symmetric():
    t = tensor_from_pairs(np.array([1.0, 2.0, 3.0, 0.1, 0.2, 0.3]))
    assert np.allclose(t, [[1, 0.1, 0.2], [0.1, 2, 0.3], [0.2, 0.3, 3]])
