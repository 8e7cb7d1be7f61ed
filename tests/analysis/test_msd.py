from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import next_fast_len

from ionflow.analysis.msd import PAIRS, msd_fft, tensor_from_pairs
from ionflow.analysis.msd_gls import cross_msd_at_lags, gls_line, kinisi_covariance


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
def test_gls_grid_msd_tensor_matches_direct_sums(n):
    rng = np.random.default_rng(7)
    disp = rng.normal(size=(n, 4, 3)).cumsum(axis=0)
    lags = np.array([1, 9, 100, n - 1])
    got = cross_msd_at_lags(disp, lags, next_fast_len(2 * n, real=True))
    for i in range(4):
        for k, (a, b) in enumerate(PAIRS):
            for j, m in enumerate(lags):
                ref = _cross_msd(disp[:, i, a], disp[:, i, b], m)
                assert got[i, k, j] == pytest.approx(ref, rel=1e-8, abs=1e-8)


def test_gls_line_recovers_slope_and_ignores_offset():
    t = np.linspace(0.3, 4.0, 50)
    n_obs = 100 / t
    w, var = gls_line(t, kinisi_covariance(t**2 / n_obs, n_obs))
    assert w @ (2.5 * t + 7.0) == pytest.approx(2.5)
    assert w.sum() == pytest.approx(0.0, abs=1e-10)
    # uncorrelated equal errors: GLS is OLS, Var(slope) = σ²/Σ(t - t̄)²
    w, var = gls_line(t, np.eye(50))
    assert var == pytest.approx(1 / np.sum((t - t.mean()) ** 2))


def test_tensor_from_pairs_is_symmetric():
    t = tensor_from_pairs(np.array([1.0, 2.0, 3.0, 0.1, 0.2, 0.3]))
    assert np.allclose(t, [[1, 0.1, 0.2], [0.1, 2, 0.3], [0.2, 0.3, 3]])
