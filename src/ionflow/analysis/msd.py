"""Time-origin-averaged mean square displacement by FFT, O(N log N) per series.

For a series x(t), t = 0..n-1, the MSD averaged over all time origins is

    MSD(m) = 1/(n-m) Σ_{t=0}^{n-1-m} (x(t+m) - x(t))²  =  S1(m) - 2 S2(m)

with S1 from prefix sums of x² and S2 the autocorrelation, computed by FFT
(Wiener–Khinchin; Kneller et al., Comput. Phys. Commun. 91, 191 (1995)). Memory is
linear in the number of frames; callers chunk over atoms so no frames × frames or
frames × all-atoms × lags array is ever built.
"""

# ruff: noqa: RUF002, RUF003  (σ, ×, – and − are intended in physics text)

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = ["msd_fft", "ols_slope_weights", "projections_6", "tensor_from_projections"]

_INV_SQRT2 = 1.0 / np.sqrt(2.0)


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


def projections_6(disp: np.ndarray) -> np.ndarray:
    """Project displacements on x, y, z, (x+y)/√2, (x+z)/√2, (y+z)/√2.

    The MSDs of these six projections give the full symmetric MSD tensor:
    C_ab = MSD_(a+b)/√2 - (MSD_a + MSD_b) / 2.

    Parameters
    ----------
    disp
        Displacements, shape ``(n_frames, n_atoms, 3)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_frames, n_atoms, 6)``.
    """
    out = np.empty((*disp.shape[:2], 6))
    out[..., :3] = disp
    out[..., 3] = (disp[..., 0] + disp[..., 1]) * _INV_SQRT2
    out[..., 4] = (disp[..., 0] + disp[..., 2]) * _INV_SQRT2
    out[..., 5] = (disp[..., 1] + disp[..., 2]) * _INV_SQRT2
    return out


def tensor_from_projections(p: np.ndarray) -> np.ndarray:
    """Turn values for the 6 projections (last axis) into symmetric 3×3 tensors.

    Parameters
    ----------
    p
        Array ``(..., 6)`` of MSDs or slopes for the projections of :func:`projections_6`.

    Returns
    -------
    numpy.ndarray
        Array ``(..., 3, 3)``.
    """
    t = np.empty((*p.shape[:-1], 3, 3))
    for a in range(3):
        t[..., a, a] = p[..., a]
    for k, (a, b) in zip((3, 4, 5), ((0, 1), (0, 2), (1, 2)), strict=True):
        c = p[..., k] - 0.5 * (p[..., a] + p[..., b])
        t[..., a, b] = c
        t[..., b, a] = c
    return t


def ols_slope_weights(t: np.ndarray) -> np.ndarray:
    """Weights w with slope = Σ w_i y_i for an ordinary least-squares line through (t, y).

    Parameters
    ----------
    t
        Abscissae (e.g. lag times in ps).

    Returns
    -------
    numpy.ndarray
        Weights of the same length (they sum to zero, so an offset drops out).
    """
    t = np.asarray(t, dtype=float)
    dt = t - t.mean()
    return dt / np.dot(dt, dt)
