"""Time-origin-averaged mean square displacement by FFT, O(N log N) per series.

For a series x(t), t = 0..n-1, the MSD averaged over all time origins is

    MSD(m) = 1/(n-m) Σ_{t=0}^{n-1-m} (x(t+m) - x(t))²  =  S1(m) - 2 S2(m)

with S1 from prefix sums of x² and S2 the autocorrelation, computed by FFT
(Wiener–Khinchin; Kneller et al., Comput. Phys. Commun. 91, 191 (1995)). Memory is
linear in the number of frames; callers chunk over atoms so no frames × frames or
frames × all-atoms × lags array is ever built. The per-ion MSD tensor at a grid of lags
and the GLS fit are in :mod:`ionflow.analysis.msd_gls`.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = ["PAIRS", "msd_fft", "tensor_from_pairs"]


def msd_fft(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """MSD of every column of ``x`` at lags 0..max_lag, averaged over time origins.

    Parameters
    ----------
    x
        Series, shape ``(n_frames, n_series)`` (any unit; the MSD is in that unit squared).
    max_lag
        Largest lag returned (default ``n_frames - 1``).

    Returns
    -------
    numpy.ndarray
        Shape ``(max_lag + 1, n_series)``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if max_lag is None:
        max_lag = n - 1
    max_lag = int(min(max_lag, n - 1))
    lags = np.arange(max_lag + 1)
    norm = (n - lags)[:, None].astype(float)
    n_fft = next_fast_len(2 * n, real=True)
    spec = rfft(x, n=n_fft, axis=0)
    np.multiply(spec, spec.conj(), out=spec)
    s2 = irfft(spec, n=n_fft, axis=0)[: max_lag + 1]
    del spec
    prefix = np.zeros((n + 1, x.shape[1]))
    np.cumsum(x * x, axis=0, out=prefix[1:])
    s1 = prefix[n - lags] + (prefix[n] - prefix[lags])
    msd = (s1 - 2.0 * s2) / norm
    # round-off can give tiny negatives at lag 0 and for constant series
    np.maximum(msd, 0.0, out=msd)
    return msd


#: Component pairs (a, b) of the symmetric MSD tensor, in the order used throughout.
PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def tensor_from_pairs(p: np.ndarray) -> np.ndarray:
    """Turn values for the six :data:`PAIRS` (last axis) into symmetric 3×3 tensors.

    Parameters
    ----------
    p
        Array ``(..., 6)``.

    Returns
    -------
    numpy.ndarray
        Array ``(..., 3, 3)``.
    """
    t = np.empty((*p.shape[:-1], 3, 3))
    for k, (a, b) in enumerate(PAIRS):
        t[..., a, b] = p[..., k]
        t[..., b, a] = p[..., k]
    return t
