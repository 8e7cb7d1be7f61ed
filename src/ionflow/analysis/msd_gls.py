"""MSD statistics for a generalised-least-squares (GLS) fit, as kinisi does it.

The MSD at different lags is strongly correlated (the same displacements enter every
lag), so an ordinary least-squares line through it weights the data wrongly and its
residual-based error bar is meaningless. Following kinisi (McCluskey, Coles & Morgan,
J. Chem. Theory Comput. 2024; ``kinisi.diffusion.Diffusion.compute_covariance_matrix``):

- ``v(t)`` = variance of the squared displacements at lag t (over ions and time origins)
  divided by the number of independent observations ``N(t) = N_ions · t_run / t``;
- ``Cov[MSD(t_i), MSD(t_j)] = v(t_i) · N(t_i) / N(t_j)`` for ``t_i ≤ t_j``;
- the slope (and intercept) of MSD(t) by GLS with that covariance; its variance is
  ``[(Xᵀ Σ⁻¹ X)⁻¹]₀₀`` (kinisi samples the same Gaussian likelihood by MCMC).

Everything here is per ion and per MSD-tensor component at a grid of lags, so the fit is
a few small matrix products once :func:`cross_msd_at_lags` has run (FFT, chunked over
ions by the caller).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import irfft, rfft
from scipy.linalg import cho_factor, cho_solve, pinvh

from ionflow.analysis.msd import PAIRS

__all__ = [
    "MAX_GRID_LAGS",
    "cross_msd_at_lags",
    "displacement_moments",
    "gls_line",
    "kinisi_covariance",
    "lag_grid",
]

#: Lags of the MSD grid (all lags for shorter runs; dense at short lags, even beyond).
MAX_GRID_LAGS = 320
#: Time origins sampled per lag for the displacement moments (variance, NGP).
MAX_ORIGINS = 400


def lag_grid(n_frames: int) -> np.ndarray:
    """Lags (frames) at which the MSD is evaluated: every lag, or ≤ MAX_GRID_LAGS of them.

    Parameters
    ----------
    n_frames
        Frames in the run.

    Returns
    -------
    numpy.ndarray
        Increasing lags in 1..n_frames-1.
    """
    top = n_frames - 1
    if top <= MAX_GRID_LAGS:
        return np.arange(1, top + 1)
    dense = np.unique(np.geomspace(1, top, MAX_GRID_LAGS // 3).round().astype(int))
    even = np.linspace(1, top, MAX_GRID_LAGS - dense.size).round().astype(int)
    return np.unique(np.concatenate([dense, even]))


def cross_msd_at_lags(disp: np.ndarray, lags: np.ndarray, n_fft: int) -> np.ndarray:
    """Time-origin-averaged MSD tensor components of every ion at the given lags.

    Parameters
    ----------
    disp
        Unwrapped displacements (n_frames, n_ions, 3) in Å.
    lags
        Lags in frames (1..n_frames-1).
    n_fft
        FFT length ≥ 2 n_frames - 1.

    Returns
    -------
    numpy.ndarray
        ``C_ab(m)`` for the six :data:`~ionflow.analysis.msd.PAIRS`, shape
        ``(n_ions, 6, len(lags))`` in Å².
    """
    n, c, _ = disp.shape
    series = np.ascontiguousarray(disp.transpose(1, 2, 0))  # (ion, xyz, time)
    spec = rfft(series, n=n_fft, axis=-1)
    out = np.empty((c, 6, lags.size))
    norm = (n - lags).astype(float)
    for k, (a, b) in enumerate(PAIRS):
        q = (spec[:, a].conj() * spec[:, b]).real
        x = irfft(q, n=n_fft, axis=-1)  # R_ab(m) + R_ba(m) / 2 averaged: symmetric part
        prod = series[:, a] * series[:, b]
        prefix = np.zeros((c, n + 1))
        np.cumsum(prod, axis=-1, out=prefix[:, 1:])
        s1 = prefix[:, n - lags] + (prefix[:, -1:] - prefix[:, lags])
        out[:, k] = (s1 - 2.0 * x[:, lags]) / norm
    return out


def displacement_moments(
    disp: np.ndarray, lags: np.ndarray, max_origins: int = MAX_ORIGINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the sums of s = |Δr|² and s² over ions and (sampled) time origins at each lag.

    Parameters
    ----------
    disp
        Unwrapped displacements (n_frames, n_ions, 3) in Å.
    lags
        Lags in frames.
    max_origins
        At most this many evenly spaced time origins per lag.

    Returns
    -------
    tuple of numpy.ndarray
        Σs (Å²), Σs² (Å⁴) and the number of samples, each of shape ``(len(lags),)``.
    """
    n = disp.shape[0]
    s1 = np.empty(lags.size)
    s2 = np.empty(lags.size)
    cnt = np.empty(lags.size)
    for k, m in enumerate(lags):
        n_orig = n - int(m)
        step = max(1, math.ceil(n_orig / max_origins))
        d = disp[m::step][: math.ceil(n_orig / step)] - disp[:n_orig:step]
        s = np.einsum("tij,tij->ti", d, d)
        s1[k] = s.sum()
        s2[k] = (s * s).sum()
        cnt[k] = s.size
    return s1, s2, cnt


def kinisi_covariance(variance_of_mean: np.ndarray, n_independent: np.ndarray) -> np.ndarray:
    """Return kinisi's MSD covariance ``Σ_ij = v_i N_i / N_j`` (i ≤ j, lags increasing).

    Parameters
    ----------
    variance_of_mean
        Variance of the mean MSD at each lag (Å⁴), ``var(s) / N``.
    n_independent
        Independent observations at each lag, ``N_ions · t_run / t``.

    Returns
    -------
    numpy.ndarray
        Symmetric covariance matrix (Å⁴).
    """
    v = np.asarray(variance_of_mean, dtype=float)
    nn = np.asarray(n_independent, dtype=float)
    i, j = np.meshgrid(np.arange(v.size), np.arange(v.size), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return v[lo] * nn[lo] / nn[hi]


def gls_line(t: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights of the GLS slope of y(t) = a t + b, and the slope's variance.

    Parameters
    ----------
    t
        Abscissae (e.g. ps).
    cov
        Covariance of the y values.

    Returns
    -------
    tuple
        ``w`` with slope = w @ y (w sums to zero: the intercept drops out), and
        Var(slope) in units of cov / t².
    """
    x = np.column_stack([t, np.ones_like(t)])
    scale = float(np.median(np.diag(cov)))
    try:
        factor = cho_factor(cov / scale)
        inv_x = cho_solve(factor, x)
    except np.linalg.LinAlgError:  # not positive definite: pseudo-inverse
        inv_x = pinvh(cov / scale) @ x
    p = np.linalg.inv(x.T @ inv_x)
    w = (inv_x @ p)[:, 0]
    return w, float(p[0, 0] * scale)
