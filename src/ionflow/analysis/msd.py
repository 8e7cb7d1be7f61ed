"""Time-origin-averaged mean square displacement by FFT, O(N log N) per series.

For a series x(t), t = 0..n-1, the MSD averaged over all time origins is

    MSD(m) = 1/(n-m) Σ_{t=0}^{n-1-m} (x(t+m) - x(t))²  =  S1(m) - 2 S2(m)

with S1 from prefix sums of x² and S2 the autocorrelation, computed by FFT
(Wiener–Khinchin; Kneller et al., Comput. Phys. Commun. 91, 191 (1995)). Memory is
linear in the number of frames; callers chunk over atoms so no frames × frames or
frames × all-atoms × lags array is ever built.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

__all__ = [
    "PAIRS",
    "LagBank",
    "LagFunctional",
    "block_tensor_slopes",
    "ion_window_stats",
    "msd_fft",
    "ols_slope_weights",
    "tensor_from_pairs",
]


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


class LagFunctional:
    """A linear functional Σ_m w_m C_ab(m) of the time-origin-averaged cross-MSD.

    C_ab(m) = 1/(n-m) Σ_t (a(t+m) - a(t)) (b(t+m) - b(t)) = S1_ab(m) - X_ab(m)/(n-m), with
    S1_ab(m) = [Σ_{t<n-m} a_t b_t + Σ_{t≥m} a_t b_t]/(n-m) and X_ab = R_ab + R_ba the
    symmetrised cross-correlation. Both parts are linear in the data, so the functional
    is ⟨y, K⟩ - ⟨Q, G⟩ with y = a·b, Q = 2 Re(conj(A) B) the cross spectrum and K, G two
    kernels computed once: no inverse FFT and no prefix sum per series (a least-squares
    slope over thousands of lags costs two dot products).

    Parameters
    ----------
    n_frames
        Length n of the series.
    lags
        Lags m in the functional (integers in 1..n-1).
    weights
        w_m, same length as ``lags``.
    n_fft
        FFT length used for the spectra (≥ 2n - 1).
    """

    def __init__(self, n_frames: int, lags: np.ndarray, weights: np.ndarray, n_fft: int) -> None:
        n = self.n = int(n_frames)
        self.lags = np.asarray(lags, dtype=int)
        self.weights = np.asarray(weights, dtype=float)
        u = np.zeros(n)
        u[self.lags] = self.weights / (n - self.lags)
        cu = np.cumsum(u)
        # K_t = Σ_m u_m ([t < n - m] + [t ≥ m]) = cu[n - 1 - t] + cu[t]
        self.kernel_s1 = cu[::-1] + cu
        v = np.zeros(n_fft)
        v[:n] = u
        c = np.full(n_fft // 2 + 1, 2.0)
        c[0] = 1.0
        if n_fft % 2 == 0:
            c[-1] = 1.0
        self.kernel_x = c / n_fft * rfft(v).real

    def apply(self, products: np.ndarray, cross_spectrum: np.ndarray) -> np.ndarray:
        """Evaluate the functional for many series pairs at once.

        Parameters
        ----------
        products
            a(t)·b(t), shape ``(n, ...)``.
        cross_spectrum
            Q = 2 Re(conj(A) B), shape ``(n_fft // 2 + 1, ...)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(...)``.
        """
        return np.tensordot(self.kernel_s1, products, axes=1) - np.tensordot(
            self.kernel_x, cross_spectrum, axes=1
        )


class LagBank:
    """Several :class:`LagFunctional` stacked so they are applied in one matrix product.

    Parameters
    ----------
    functionals
        Functionals built for the same ``n_frames`` and ``n_fft``.
    """

    def __init__(self, functionals: list[LagFunctional]) -> None:
        self.functionals = list(functionals)
        self.s1 = np.stack([f.kernel_s1 for f in self.functionals], axis=1)
        self.x = np.stack([f.kernel_x for f in self.functionals], axis=1)

    def __len__(self) -> int:
        return len(self.functionals)

    def __getitem__(self, k: int) -> LagFunctional:
        return self.functionals[k]


def ion_window_stats(
    disp: np.ndarray,
    functionals: list[LagFunctional] | LagBank,
    curve_lags: np.ndarray,
    n_fft: int,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-ion tensor functionals and the per-ion isotropic MSD at a few lags.

    Parameters
    ----------
    disp
        Unwrapped, drift-corrected displacements, shape ``(n_frames, n_ions, 3)``.
    functionals
        Functionals to evaluate on the six tensor components (see :data:`PAIRS`).
    curve_lags
        Lags at which the isotropic MSD of every ion is returned.
    n_fft
        FFT length (≥ 2 n_frames - 1), the one the functionals were built with.

    Returns
    -------
    tuple
        List of arrays ``(n_ions, 6)`` (one per functional) and the isotropic MSD,
        shape ``(len(curve_lags), n_ions)``.
    """
    n, c, _ = disp.shape
    series = np.ascontiguousarray(disp.transpose(1, 2, 0))  # (ion, xyz, time)
    spec = rfft(series, n=n_fft, axis=-1)
    re, im = spec.real, spec.imag
    n_k = spec.shape[-1]
    q = np.empty((c, 6, n_k))
    prod = np.empty((c, 6, n))
    for k, (a, b) in enumerate(PAIRS):
        np.multiply(re[:, a], re[:, b], out=q[:, k])
        q[:, k] += im[:, a] * im[:, b]
        np.multiply(series[:, a], series[:, b], out=prod[:, k])
    del spec, re, im
    q *= 2.0
    bank = functionals if isinstance(functionals, LagBank) else LagBank(functionals)
    # one matrix product per chunk for all functionals (reads the data once)
    both = prod.reshape(c * 6, n) @ bank.s1 - q.reshape(c * 6, n_k) @ bank.x
    both = both.reshape(c, 6, -1)
    values = [both[:, :, k] for k in range(both.shape[-1])]
    iso_q = q[:, :3].sum(axis=1)
    del q
    x = irfft(iso_q, n=n_fft, axis=-1)[:, curve_lags]
    del iso_q
    prefix = np.zeros((c, n + 1))
    np.cumsum(prod[:, :3].sum(axis=1), axis=-1, out=prefix[:, 1:])
    m = curve_lags
    s1 = prefix[:, n - m] + (prefix[:, -1:] - prefix[:, m])
    curve = ((s1 - x) / (n - m)).T
    return values, np.maximum(curve, 0.0)


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


def block_tensor_slopes(
    disp: np.ndarray, start: int, end: int, dt_ps: float, n_blocks: int, min_lags: int = 3
) -> np.ndarray | None:
    """Per-(ion, time block) OLS slopes (Å²/ps) of the six MSD-tensor components.

    The run is cut into ``n_blocks`` equal blocks and the fit window is scaled to the
    block length.

    Parameters
    ----------
    disp
        Displacements (n_frames, n_ions, 3) in Å.
    start, end
        Fit window of the full run (lags, inclusive).
    dt_ps
        Time between frames (ps).
    n_blocks
        Number of blocks.
    min_lags
        Fewest lags a block window may have.

    Returns
    -------
    numpy.ndarray or None
        Shape ``(n_blocks * n_ions, 6)``; None when the blocks are too short.
    """
    n = disp.shape[0]
    length = n // n_blocks
    scale = length / n
    b_start = max(1, round(start * scale))
    b_end = min(length - 1, round(end * scale))
    if b_end - b_start + 1 < min_lags:
        return None
    lags = np.arange(b_start, b_end + 1)
    n_fft = next_fast_len(2 * length, real=True)
    fit = LagFunctional(length, lags, ols_slope_weights(lags * dt_ps), n_fft)
    out = []
    for k in range(n_blocks):
        block = disp[k * length : (k + 1) * length]
        (vals,), _ = ion_window_stats(block, [fit], np.array([0]), n_fft)
        out.append(vals)
    return np.concatenate(out)
