"""Choice of the MSD fit window and the linearity test that guards it.

The automatic window (:func:`auto_window`) follows a rule stated in every result
(``DiffusionResult.fit_window_rule``): it starts after the ballistic/cage regime — the
peak of the non-Gaussian parameter of the mobile ions, at least the vibrational time —
and ends at the longest lag that still has :data:`MIN_INDEPENDENT` independent
displacements (N_ions · t_run / t, as DiffusionAnalyzer's ``min_obs``), at least half the
run. The fit over it is a GLS with the MSD covariance (:mod:`ionflow.analysis.msd_gls`),
which weights the long, noisy lags correctly, so the window can extend that far; the
estimator then moves the start later while the MSD still bends (:func:`slope_change`).
:func:`fit_window_lags` turns a user's ``--min-time``/``--max-time`` into lags.
"""

from __future__ import annotations

import math

import numpy as np

from ionflow.errors import InputError

__all__ = ["auto_window", "fit_window_lags", "slope_change"]

#: Fewest lags a fit window may contain.
MIN_FIT_LAGS = 3
#: Automatic start: max(min(AUTO_VIBRATION_PS, AUTO_MAX_START_FRACTION·T),
#: min(AUTO_START_FRACTION·T, AUTO_START_CAP_PS)); end: min(AUTO_END_FRACTION·T,
#: AUTO_END_RATIO·start).
AUTO_START_FRACTION = 0.1
AUTO_VIBRATION_PS = 0.5
AUTO_MAX_START_FRACTION = 0.25
AUTO_START_CAP_PS = 2.0
AUTO_END_FRACTION = 0.5
AUTO_END_RATIO = 5.0
#: The slope of the second half of the window differs from the first by more than
#: LINEAR_SIGMA standard errors AND by more than LINEAR_REL (relative): not linear.
LINEAR_SIGMA = 3.0
LINEAR_REL = 0.2


def fit_window_lags(
    n_frames: int,
    time_step_fs: float,
    min_time_ps: float | None = None,
    max_time_ps: float | None = None,
) -> tuple[int, int]:
    """First and last lag (in frames) of the MSD fit window.

    Parameters
    ----------
    n_frames
        Frames in the run.
    time_step_fs
        Time between frames (fs).
    min_time_ps
        Start of the window (ps); None uses the first automatic start.
    max_time_ps
        End of the window (ps); None uses the automatic end for that start.

    Returns
    -------
    tuple of int
        ``(start_lag, end_lag)``, inclusive, with at least :data:`MIN_FIT_LAGS` lags.
    """
    dt_ps = time_step_fs / 1000.0
    total_ps = (n_frames - 1) * dt_ps
    if min_time_ps is None:
        min_time_ps = max(
            min(AUTO_VIBRATION_PS, AUTO_MAX_START_FRACTION * total_ps),
            min(AUTO_START_FRACTION * total_ps, AUTO_START_CAP_PS),
        )
    if max_time_ps is None:
        max_time_ps = min(AUTO_END_FRACTION * total_ps, AUTO_END_RATIO * min_time_ps)
        max_time_ps = max(max_time_ps, min_time_ps + 3 * dt_ps)
    if min_time_ps < 0 or max_time_ps <= min_time_ps:
        raise InputError(
            f"fit window {min_time_ps:g}–{max_time_ps:g} ps is empty; the start must be ≥ 0 "
            "and below the end"
        )
    start = max(1, math.ceil(min_time_ps / dt_ps - 1e-9))
    end = min(n_frames - 1, math.floor(max_time_ps / dt_ps + 1e-9))
    if end - start + 1 < MIN_FIT_LAGS:
        raise InputError(
            f"run too short for the fit window: {n_frames} frames of {time_step_fs:g} fs "
            f"({total_ps:.3g} ps) leave {max(0, end - start + 1)} lags in "
            f"{min_time_ps:.3g}–{max_time_ps:.3g} ps (need {MIN_FIT_LAGS}); use a longer run "
            "or a smaller --min-time / larger --max-time"
        )
    return start, end


def slope_change(halves: np.ndarray) -> tuple[float, bool]:
    """Relative change of the per-ion slopes from the first to the second half-window.

    Parameters
    ----------
    halves
        Per-ion slopes (any unit) of the first and second half, shape ``(n_ions, 2)``.

    Returns
    -------
    tuple
        The relative change (second − first) / first of the mean slopes, and whether it
        is significant (> LINEAR_SIGMA standard errors and > LINEAR_REL).
    """
    n = halves.shape[0]
    if n < 2:
        return 0.0, False
    diff = halves[:, 1] - halves[:, 0]
    mean_lo = float(halves[:, 0].mean())
    sd = float(diff.std(ddof=1) / math.sqrt(n))
    change = float(diff.mean())
    rel = change / mean_lo if mean_lo != 0 else math.inf
    return rel, abs(change) > LINEAR_SIGMA * sd and abs(change) > LINEAR_REL * abs(mean_lo)


#: The fit window ends where fewer than this many independent displacements remain
#: (N_ions · t_run / t; the same count as DiffusionAnalyzer's ``min_obs``).
MIN_INDEPENDENT = 30
#: Lower limit of the start: the vibrational time, at most START_FRACTION of the run.
VIBRATION_PS = 0.5
START_FRACTION = 0.1
#: A non-Gaussian parameter peak above this marks a cage regime to skip.
NGP_CAGE = 0.1

WINDOW_RULE = (
    "start: the peak of the non-Gaussian parameter of the mobile ions (end of the "
    "ballistic/cage regime; only if the peak exceeds {ngp:g}), at least "
    "min({vib:g} ps, {frac:g}·run); end: the longest lag with ≥ {nmin} independent "
    "displacements (N_ions·t_run/t), at least half the run; GLS fit with kinisi's MSD "
    "covariance; σ includes the spread over neighbouring windows"
)


def auto_window(
    lags: np.ndarray, dt_ps: float, n_frames: int, n_ions: int, ngp: np.ndarray
) -> tuple[int, int, str]:
    """Return the indices (into ``lags``) of the automatic fit window and the rule in words.

    Parameters
    ----------
    lags
        Increasing lag grid (frames).
    dt_ps
        Time between frames (ps).
    n_frames
        Frames in the run.
    n_ions
        Mobile ions.
    ngp
        Non-Gaussian parameter at each lag.

    Returns
    -------
    tuple
        First and last index (inclusive) and the stated rule.
    """
    total = (n_frames - 1) * dt_ps
    enough = math.floor(n_ions * (n_frames - 1) / MIN_INDEPENDENT)
    end_lag = min(n_frames - 1, max(enough, (n_frames - 1) // 2))
    i1 = int(np.searchsorted(lags, end_lag, side="right")) - 1
    lo_ps = min(VIBRATION_PS, START_FRACTION * total)
    i0 = int(np.searchsorted(lags * dt_ps, lo_ps - 1e-12))
    # the start may move to the NGP peak, but keeps at least half the window
    i_half = int(np.searchsorted(lags, lags[max(i1, 0)] / 2, side="right")) - 1
    if i_half > i0:
        k = i0 + int(np.argmax(ngp[i0 : i_half + 1]))
        if ngp[k] > NGP_CAGE:
            i0 = k
    if i1 - i0 + 1 < MIN_FIT_LAGS:
        raise InputError(
            f"run too short for a fit window: {n_frames} frames of {dt_ps * 1000:g} fs with "
            f"{n_ions} mobile ion(s) leave {max(0, i1 - i0 + 1)} lags (need {MIN_FIT_LAGS})"
        )
    rule = WINDOW_RULE.format(
        ngp=NGP_CAGE, vib=VIBRATION_PS, frac=START_FRACTION, nmin=MIN_INDEPENDENT
    )
    return i0, i1, rule
