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
error of the hop count (:func:`hop_diffusion_results` turns it into results that the
ordinary Arrhenius fit takes); the correlation factor of a vacancy or interstitialcy
mechanism (~0.65-0.8) makes the true tracer D smaller by that factor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

from ionflow.analysis.conductivity import A2_PS_TO_CM2_S
from ionflow.analysis.displacements import framework_drift, hop_length_A
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.transport import DiffusionResult

__all__ = [
    "FRAMEWORK_LIMIT_FRACTION",
    "MIN_HOPS",
    "count_hops",
    "hop_diffusion_results",
]

#: fewest hops for a temperature's hop estimate of D to enter an Arrhenius fit
MIN_HOPS = 4

#: running-mean window that removes thermal rattling (fs)
SMOOTH_FS = 100.0
#: an ion within this fraction of the Li-Li distance of a site sits on it
CAPTURE_FRACTION = 0.3
#: ... and further than this fraction from every site, for DWELL_FS, found a new site
NEW_SITE_FRACTION = 0.6
DWELL_FS = 100.0
#: a framework atom whose smoothed displacement exceeds this fraction of the Li-Li
#: distance has left its site: the framework is not intact (melting, anion hopping)
FRAMEWORK_LIMIT_FRACTION = 0.6


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
    # framework: smoothed displacement from the start, per atom, and final MSD per element
    framework = np.setdiff1d(np.arange(traj.n_atoms), mobile)
    fw_max, fw_msd, intact = None, {}, True
    if framework.size:
        fw = smoothed(framework)
        disp = fw - fw[0]
        fw_max = float(np.linalg.norm(disp, axis=-1).max())
        raw = traj.unwrapped_displacements(framework) - drift_vec[:, None, :]
        species = np.asarray(traj.species)[framework]
        for el in sorted(set(species.tolist())):
            sel = species == el
            fw_msd[el] = float(np.mean(np.sum(raw[-1, sel] ** 2, axis=-1)))
        intact = fw_max < FRAMEWORK_LIMIT_FRACTION * a
        if not intact:
            warnings.append(
                f"a framework atom moved {fw_max:.2f} Å (> {FRAMEWORK_LIMIT_FRACTION:g} × "
                f"{a:.2f} Å): the framework is not intact at {temperature:g} K (melting or "
                "anion hopping); hops of this temperature are not those of the solid"
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
        framework_msd_A2=fw_msd,
        framework_intact=bool(intact),
        warnings=warnings,
    )


def hop_diffusion_results(
    results: Sequence[DiffusionResult],
    counts: Sequence[HopCountResult],
    min_hops: int = MIN_HOPS,
) -> list[DiffusionResult]:
    """Return the tracer results with D replaced by the hop estimate (for fit_arrhenius).

    D_hop = Σ d² / (6 N t) over the counted hops, σ(D_hop) = D_hop / √n (Poisson). A
    temperature counts as diffusing with at least ``min_hops`` hops and an intact
    framework. D_hop assumes uncorrelated hops (correlation factor f = 1), so it exceeds
    the tracer D by 1/f (≈ 1.3-1.5 for vacancy and interstitialcy mechanisms); the
    activation energy is unaffected when f does not depend on T.

    Parameters
    ----------
    results
        Tracer diffusion results (one per temperature).
    counts
        Hop counts of the same runs.
    min_hops
        Fewest hops for a temperature to enter the fit.

    Returns
    -------
    list of DiffusionResult
        Copies of the results that have a hop count, with D, σ(D) and ``diffusing`` from
        the hops (feed them to :func:`ionflow.analysis.arrhenius.fit_arrhenius`).
    """
    by_t = {c.temperature_K: c for c in counts}
    out = []
    for r in results:
        c = by_t.get(r.temperature_K)
        if c is None:
            continue
        d = c.hop_diffusivity_cm2_s or 0.0
        n = c.n_hops
        ok = n >= min_hops and c.framework_intact and d > 0
        why = f"{n} hops (fewer than {min_hops})" if n < min_hops else "framework not intact"
        out.append(
            r.model_copy(
                update={
                    "diffusivity_cm2_s": d,
                    "diffusivity_std_cm2_s": d / math.sqrt(n) if n else None,
                    "diffusivity_upper_bound_cm2_s": None if ok else d,
                    "diffusing": ok,
                    "warnings": [] if ok else [f"hop estimate not used: {why}"],
                }
            )
        )
    return out
