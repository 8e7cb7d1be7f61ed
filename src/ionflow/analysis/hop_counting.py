"""Count site-to-site hops of the mobile ions in an MD run (and check the framework held).

A defect-mediated mechanism moves few ions in a short run, so the tracer MSD of all ions
is a noisy way to see it. Counting the hops themselves is direct: every hop of every ion
counts, whichever defect carried it, and the hop rate's Poisson error 1/√n is known.

Method (lattice-free, so vacancies, interstitials and dumbbells need no site list):

1. Unwrap the positions, remove the framework drift, and smooth each trajectory with a
   running mean over ``smooth_fs`` (thermal rattling averages out, a hop does not).
2. Sites start as the smoothed positions of the mobile ions in the first frame. An ion
   that stays further than ``new_site_fraction`` × the Li–Li distance from every known
   site for ``dwell_fs``, within ``capture_fraction`` × that distance of its own mean
   position, has found a new site (a vacancy it filled, an interstitial position); the
   site is added.
3. An ion sits on a site when it is within the capture radius of it; a hop is an ion
   arriving at a site other than its current one. Leaving a site and coming back without
   reaching another is no hop (hysteresis between the capture radius and the next site).

Σd²/(6Nt) over the hops is the uncorrelated estimate of the tracer D, with the Poisson
error of the hop count (:func:`hop_diffusion_results`); the correlation factor of a vacancy
or interstitialcy mechanism (~0.65-0.8) makes the true tracer D smaller by that factor.
:func:`fit_hop_arrhenius` fits the counts of all temperatures at once by their Poisson
likelihood (a run with 0-3 hops still counts, with the weight its count deserves) and
extrapolates to 300 K as the fit of D does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.ndimage import uniform_filter1d
from scipy.optimize import linear_sum_assignment

from ionflow.analysis.arrhenius import CHI2_WARN, arrhenius_result, fit_base
from ionflow.analysis.conductivity import A2_PS_TO_CM2_S, BOLTZMANN_EV_K
from ionflow.analysis.displacements import framework_drift, hop_length_A
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

__all__ = [
    "FRAMEWORK_LIMIT_FRACTION",
    "MIN_HOP_TEMPERATURES",
    "ZERO_HOPS_UPPER",
    "count_hops",
    "fit_hop_arrhenius",
    "hop_diffusion_results",
    "hop_diffusivity_bounds",
    "hop_rate_fit_arrays",
]

#: a hop-count Arrhenius fit needs hops at this many temperatures (else no maximum)
MIN_HOP_TEMPERATURES = 2
#: one-sided 97.5 % Poisson upper bound on the mean of a count that came out 0, −ln 0.025:
#: a run without hops bounds D as a tracer run without diffusion does (max(D, 0) + 2σ)
ZERO_HOPS_UPPER = -math.log(0.025)

#: running-mean window that removes thermal rattling (fs)
SMOOTH_FS = 100.0
#: an ion within this fraction of the Li-Li distance of a site sits on it
CAPTURE_FRACTION = 0.3
#: ... and further than this fraction from every site, for DWELL_FS, found a new site
NEW_SITE_FRACTION = 0.6
DWELL_FS = 100.0
#: a framework atom that ends further than this fraction of the Li-Li distance from every
#: free starting site of its element has left the lattice: the framework is not intact
#: (melting, anion hopping); one that only moved that far and came back to a site (or to
#: an equivalent one, as the S of a turned PS4 tetrahedron) has not
FRAMEWORK_LIMIT_FRACTION = 0.6


def _largest_site_distance(
    final: np.ndarray, start: np.ndarray, species: np.ndarray, lattice: np.ndarray
) -> float:
    """Largest distance of an atom's final position from the site it is matched to (Å).

    Atoms of each element are matched one to one to that element's starting positions so
    that the sum of the distances is smallest (Hungarian algorithm): atoms that swapped
    sites (a turned tetrahedron) match at short distances, two atoms on one site do not.
    """
    inv = np.linalg.inv(lattice)
    largest = 0.0
    for el in set(species.tolist()):
        sel = species == el
        diff = (final[sel] @ inv)[:, None, :] - (start[sel] @ inv)[None, :, :]
        dist = np.linalg.norm(_min_image(diff, lattice), axis=-1)
        rows, cols = linear_sum_assignment(dist)
        largest = max(largest, float(dist[rows, cols].max()))
    return largest


def _min_image(diff_frac: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Cartesian minimum-image vectors of fractional differences (last axis 3)."""
    return (diff_frac - np.rint(diff_frac)) @ lattice


def count_hops(
    traj: TrajectoryData,
    specie: str = "Li",
    temperature_K: float | None = None,
    drift: str = "framework",
    *,
    smooth_fs: float = SMOOTH_FS,
    capture_fraction: float = CAPTURE_FRACTION,
    new_site_fraction: float = NEW_SITE_FRACTION,
    dwell_fs: float = DWELL_FS,
) -> HopCountResult:
    """Count the site-to-site hops of one species in a run.

    Parameters
    ----------
    traj
        The (production) trajectory; a fixed cell is assumed for the site geometry.
    specie
        Mobile element.
    temperature_K
        MD temperature (K); default: the trajectory's.
    drift
        Drift removal (``framework``, ``all``, ``none``), as for the MSD.
    smooth_fs
        Running-mean window (fs).
    capture_fraction, new_site_fraction
        Capture radius and new-site distance as fractions of the Li-Li distance.
    dwell_fs
        Time an ion must stay away from all sites (and in one place) to found a site (fs).

    Returns
    -------
    HopCountResult
        Hops, hop rate with its Poisson error, and the framework check.
    """
    temperature = traj.temperature_K if temperature_K is None else float(temperature_K)
    if temperature is None or not (math.isfinite(temperature) and temperature > 0):
        raise InputError(f"hop counting needs the run temperature (> 0 K), got {temperature}")
    mobile = traj.indices_of(specie)
    if mobile.size == 0:
        raise InputError(f"no {specie} atoms in the trajectory; set the mobile species")
    if traj.n_frames < 2:
        raise InputError("a single frame; hop counting needs an MD trajectory")
    warnings: list[str] = []
    dt_fs = traj.time_step_fs
    n = traj.n_frames
    lattice = traj.lattice(0)
    inv = np.linalg.inv(lattice)
    drift_vec, _ = framework_drift(traj, mobile, drift, warnings)
    window = max(1, round(smooth_fs / dt_fs))
    dwell = max(2, round(dwell_fs / dt_fs))

    def smoothed(indices: np.ndarray) -> np.ndarray:
        start = traj.frac_coords[0, indices] @ lattice
        pos = start[None] + traj.unwrapped_displacements(indices) - drift_vec[:, None, :]
        return uniform_filter1d(pos, size=window, axis=0, mode="nearest")

    a = hop_length_A(traj, mobile)
    r_cap = capture_fraction * a
    r_new = new_site_fraction * a
    pos = smoothed(mobile)  # (n, N, 3), Å, unwrapped
    n_ion = mobile.size
    sites = list(pos[0] @ inv)  # fractional
    current = np.arange(n_ion)
    away = np.zeros(n_ion, dtype=int)
    hops = np.zeros(n_ion, dtype=int)
    distances: list[float] = []
    for t in range(n):
        frac = pos[t] @ inv
        site_arr = np.asarray(sites)
        vec = _min_image(frac[:, None, :] - site_arr[None, :, :], lattice)
        dist = np.linalg.norm(vec, axis=-1)
        nearest = dist.argmin(axis=1)
        dmin = dist[np.arange(n_ion), nearest]
        for i in np.flatnonzero((dmin < r_cap) & (nearest != current)):
            d = np.linalg.norm(_min_image(site_arr[nearest[i]] - site_arr[current[i]], lattice))
            distances.append(float(d))
            hops[i] += 1
            current[i] = nearest[i]
        away = np.where(dmin > r_new, away + 1, 0)
        for i in np.flatnonzero(away >= dwell):
            recent = pos[t - dwell + 1 : t + 1, i]
            centre = recent.mean(axis=0)
            if np.linalg.norm(recent - centre, axis=-1).max() > r_cap:
                continue  # still moving
            new = centre @ inv
            d = np.linalg.norm(_min_image(new - site_arr[current[i]], lattice))
            sites.append(new - np.floor(new))
            site_arr = np.asarray(sites)
            distances.append(float(d))
            hops[i] += 1
            current[i] = len(sites) - 1
            away[i] = 0
    duration_ps = (n - 1) * dt_fs / 1000.0
    n_hops = int(hops.sum())
    d2 = float(np.sum(np.square(distances))) if distances else 0.0
    d_hop = d2 / (6.0 * n_ion * duration_ps) * A2_PS_TO_CM2_S
    # framework: smoothed displacement from the start, per atom, and final MSD per element;
    # intact when the framework atoms end on the starting sites of their element, one atom
    # per site (a PS4 tetrahedron that turned onto its own sites is intact, a melt is not)
    framework = np.setdiff1d(np.arange(traj.n_atoms), mobile)
    fw_max, fw_site, fw_msd, intact = None, None, {}, True
    if framework.size:
        fw = smoothed(framework)
        disp = fw - fw[0]
        fw_max = float(np.linalg.norm(disp, axis=-1).max())
        raw = traj.unwrapped_displacements(framework) - drift_vec[:, None, :]
        species = np.asarray(traj.species)[framework]
        for el in sorted(set(species.tolist())):
            sel = species == el
            fw_msd[el] = float(np.mean(np.sum(raw[-1, sel] ** 2, axis=-1)))
        fw_site = _largest_site_distance(fw[-1], fw[0], species, lattice)
        limit = FRAMEWORK_LIMIT_FRACTION * a
        intact = fw_site < limit
        if not intact:
            warnings.append(
                f"a framework atom ended {fw_site:.2f} Å from every free starting site of its "
                f"element (> {FRAMEWORK_LIMIT_FRACTION:g} × {a:.2f} Å): the framework is not "
                f"intact at {temperature:g} K (melting or anion hopping); hops of this "
                "temperature are not those of the solid"
            )
        elif fw_max > limit:
            warnings.append(
                f"framework atoms moved up to {fw_max:.2f} Å but ended within {fw_site:.2f} Å "
                "of starting sites of their element, one atom per site (a framework unit "
                "librated or turned, e.g. a PS4 tetrahedron): intact"
            )
    if n_hops == 0:
        warnings.append(f"no {specie} hop in {duration_ps:.3g} ps at {temperature:g} K")
    return HopCountResult(
        specie=specie,
        temperature_K=temperature,
        duration_ps=duration_ps,
        n_mobile=int(n_ion),
        n_hops=n_hops,
        n_ions_hopped=int((hops > 0).sum()),
        hops_per_ion=hops.tolist(),
        hop_rate_per_ps=n_hops / duration_ps,
        hop_rate_std_per_ps=math.sqrt(n_hops) / duration_ps if n_hops else None,
        mean_hop_distance_A=float(np.mean(distances)) if distances else None,
        hop_length_A=a,
        n_sites=len(sites),
        capture_radius_A=r_cap,
        hop_diffusivity_cm2_s=d_hop if n_hops else None,
        framework_max_displacement_A=fw_max,
        framework_max_site_distance_A=fw_site,
        framework_msd_A2=fw_msd,
        framework_intact=bool(intact),
        warnings=warnings,
    )


def hop_diffusion_results(
    results: Sequence[DiffusionResult], counts: Sequence[HopCountResult]
) -> list[DiffusionResult]:
    """Return the tracer results with D replaced by the hop estimate of each temperature.

    D_hop = Σ d² / (6 N t) over the counted hops, σ(D_hop) = D_hop / √n (Poisson). A
    temperature counts as diffusing with at least one hop and an intact framework; one
    without hops gets the 97.5 % Poisson upper bound (:data:`ZERO_HOPS_UPPER` hops of the
    nearest-neighbour length), as a tracer result without diffusion gets max(D, 0) + 2σ.
    D_hop assumes uncorrelated hops (correlation factor f = 1), so it exceeds the tracer D
    by 1/f (≈ 1.3-1.5 for vacancy and interstitialcy mechanisms); the activation energy is
    unaffected when f does not depend on T.

    Parameters
    ----------
    results
        Tracer diffusion results (one per temperature).
    counts
        Hop counts of the same runs.

    Returns
    -------
    list of DiffusionResult
        Copies of the results that have a hop count, with D, σ(D), the upper bound and
        ``diffusing`` from the hops (the points of :func:`fit_hop_arrhenius`).
    """
    by_t = {c.temperature_K: c for c in counts}
    out = []
    for r in results:
        c = by_t.get(r.temperature_K)
        if c is None:
            continue
        d = c.hop_diffusivity_cm2_s or 0.0
        n = c.n_hops
        ok = n >= 1 and c.framework_intact and d > 0
        upper = None
        if not c.framework_intact:
            upper, why = d, "framework not intact"
        elif not ok:
            upper = _per_hop_diffusivity(c, c.hop_length_A**2) * ZERO_HOPS_UPPER
            why = f"no hop in {c.duration_ps:.3g} ps"
        out.append(
            r.model_copy(
                update={
                    "diffusivity_cm2_s": d,
                    "diffusivity_std_cm2_s": d / math.sqrt(n) if n else None,
                    "diffusivity_upper_bound_cm2_s": upper,
                    "diffusing": ok,
                    "warnings": [] if ok else [f"hop estimate: {why}"],
                }
            )
        )
    return out


def hop_diffusivity_bounds(
    count: HopCountResult, confidence_level: float = 0.95
) -> tuple[float, float]:
    """Exact (Garwood) Poisson confidence bounds on a run's hop estimate of D (cm²/s).

    The count's central interval [χ²(α/2; 2n)/2, χ²(1−α/2; 2n+2)/2] times the D of one
    average hop of the run (its mean d², or the nearest-neighbour length without hops).
    Hops that follow each other (back-hops) scatter more than Poisson; the bounds are then
    too narrow, so use them to separate counts that differ by several times, not by a few.

    Parameters
    ----------
    count
        One run's hop count.
    confidence_level
        Two-sided coverage.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` bounds of D_hop (lower is 0 without hops).
    """
    alpha = 1.0 - confidence_level
    n = count.n_hops
    if n and count.hop_diffusivity_cm2_s:
        per_hop = count.hop_diffusivity_cm2_s / n
    else:
        per_hop = _per_hop_diffusivity(count, count.hop_length_A**2)
    lower = float(stats.chi2.ppf(alpha / 2, 2 * n) / 2) if n else 0.0
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * n + 2) / 2)
    return lower * per_hop, upper * per_hop


def _per_hop_diffusivity(count: HopCountResult, d2_A2: float) -> float:
    """D (cm²/s) that one hop of squared length ``d2_A2`` adds in this run: d²/(6 N t)."""
    return d2_A2 / (6.0 * count.n_mobile * count.duration_ps) * A2_PS_TO_CM2_S


def hop_rate_fit_arrays(
    temperatures_K: np.ndarray, n_hops: np.ndarray, durations_ps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Poisson maximum-likelihood fit of hop counts to an Arrhenius rate.

    n_i ~ Poisson(t_i · exp(ln r0 − Ea / (k_B T_i))), fitted by Newton's method on the
    log-likelihood (a Poisson regression with log link and offset ln t_i). Every count
    enters with its own weight, zero included: no temperature is dropped for having few
    hops, and low counts are not treated as Gaussian. The covariance is the inverse Fisher
    information, inflated by Pearson's χ²/dof when the counts scatter beyond Poisson
    (never deflated), as the least-squares fit does.

    Parameters
    ----------
    temperatures_K
        Temperatures (K).
    n_hops
        Hops counted at each temperature.
    durations_ps
        Analysed time of each run (ps).

    Returns
    -------
    tuple
        ``(params, cov, reduced_chi2)``: params = (ln r0 [1/ps], Ea [eV]), cov their 2×2
        covariance and χ²/dof (None with 2 temperatures).

    Raises
    ------
    InputError
        If fewer than two distinct temperatures have a hop (the likelihood then has no
        maximum: the rate can fall without limit where nothing hopped).
    """
    temps = np.asarray(temperatures_K, dtype=float)
    n = np.asarray(n_hops, dtype=float)
    t = np.asarray(durations_ps, dtype=float)
    if len({float(x) for x in temps[n > 0]}) < MIN_HOP_TEMPERATURES:
        raise InputError(
            f"hops at {len(set(temps[n > 0].tolist()))} temperature(s); a hop-count Arrhenius "
            f"fit needs hops at {MIN_HOP_TEMPERATURES} or more"
        )
    x = -1.0 / (BOLTZMANN_EV_K * temps)
    x_mean = float(np.average(x, weights=np.maximum(n, 0.5)))
    xc = x - x_mean  # centred: the two parameters are nearly uncorrelated

    def loglik(p: np.ndarray) -> float:
        eta = np.log(t) + p[0] + p[1] * xc
        return float(np.sum(n * eta - np.exp(eta)))

    p = np.array([math.log(n.sum() / t.sum()), 0.0])
    design = np.column_stack([np.ones_like(xc), xc])
    for _ in range(200):
        mu = t * np.exp(p[0] + p[1] * xc)
        step = np.linalg.solve(design.T @ (design * mu[:, None]), design.T @ (n - mu))
        scale = 1.0
        while loglik(p + scale * step) < loglik(p) - 1e-12 and scale > 1e-6:
            scale /= 2.0  # Newton overshoots far from the maximum; halve until uphill
        p = p + scale * step
        if np.max(np.abs(scale * step)) < 1e-12:
            break
    mu = t * np.exp(p[0] + p[1] * xc)
    cov_c = np.linalg.inv(design.T @ (design * mu[:, None]))
    dof = len(temps) - 2
    chi2_red = None
    if dof > 0:
        chi2_red = float(np.sum((n - mu) ** 2 / mu) / dof)
        cov_c = cov_c * max(1.0, chi2_red)
    # back from the centred intercept: ln r0 = c0 − Ea x̄
    jac = np.array([[1.0, -x_mean], [0.0, 1.0]])
    params = jac @ p
    return params, jac @ cov_c @ jac.T, chi2_red


def fit_hop_arrhenius(
    results: Sequence[DiffusionResult],
    counts: Sequence[HopCountResult],
    target_temperature_K: float = 300.0,
    confidence_level: float = 0.95,
) -> ArrheniusResult:
    """Arrhenius fit of the hop counts (Poisson likelihood), extrapolated like a D fit.

    The hop rate n/t is fitted by :func:`hop_rate_fit_arrays` over every temperature whose
    framework held, zero hops included, and turned into D = rate · ⟨d²⟩ / (6N) with ⟨d²⟩
    the mean squared length of all counted hops (a property of the lattice, pooled over
    the temperatures). D0, D and σ at the target temperature and their confidence
    intervals then follow as for the least-squares fit of D
    (:func:`ionflow.analysis.arrhenius.arrhenius_result`). Never raises for too few hops:
    the result then has no Ea and a warning saying why.

    Parameters
    ----------
    results
        Tracer diffusion results of the runs (cell volume, charge, mobile ions).
    counts
        Hop counts of the same runs.
    target_temperature_K, confidence_level
        As for :func:`ionflow.analysis.arrhenius.fit_arrhenius` (checked the same way).

    Returns
    -------
    ArrheniusResult
        Ea ± σ, D0, and D and σ at the target temperature with confidence intervals; its
        ``results`` are the per-temperature hop estimates (:func:`hop_diffusion_results`).
    """
    points = hop_diffusion_results(results, counts)
    by_t = {c.temperature_K: c for c in counts}
    used = [r for r in points if by_t[r.temperature_K].framework_intact]
    base, warnings = fit_base(
        points, used, "framework not intact", target_temperature_K, confidence_level
    )
    fit_counts = [by_t[r.temperature_K] for r in used]
    n = np.array([c.n_hops for c in fit_counts], dtype=float)
    try:
        params, cov, chi2 = hop_rate_fit_arrays(
            np.array([c.temperature_K for c in fit_counts]),
            n,
            np.array([c.duration_ps for c in fit_counts]),
        )
    except InputError as exc:
        hops = ", ".join(f"{c.n_hops} at {c.temperature_K:g} K" for c in fit_counts)
        return ArrheniusResult(**base, warnings=[*warnings, f"{exc} (hops: {hops or 'none'})"])
    if chi2 is not None and chi2 > CHI2_WARN:
        warnings.append(
            f"the hop counts scatter beyond Poisson (χ²/dof = {chi2:.3g}); σ(Ea) was inflated"
        )
    # Σd² of each run from its D_hop = Σd²/(6 N t); ⟨d²⟩ pooled over all hops
    d2_sum = sum(
        (c.hop_diffusivity_cm2_s or 0.0) / _per_hop_diffusivity(c, 1.0) for c in fit_counts
    )
    mean_d2 = d2_sum / n.sum()
    n_mobile = float(np.mean([c.n_mobile for c in fit_counts]))
    ln_d0 = params[0] + math.log(mean_d2 / (6.0 * n_mobile) * A2_PS_TO_CM2_S)
    params = np.array([ln_d0, params[1]])
    return arrhenius_result(
        base, params, cov, chi2, used, warnings, target_temperature_K, confidence_level
    )
