"""Displacement helpers: framework drift and the typical hop length of the mobile ions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from ionflow.analysis.trajectory import TrajectoryData

__all__ = ["framework_drift", "hop_length_A"]


def hop_length_A(traj: TrajectoryData, mobile: np.ndarray, max_atoms: int = 200) -> float:
    """Median nearest-neighbour distance between mobile ions in frame 0 (Å).

    Parameters
    ----------
    traj
        The trajectory.
    mobile
        Indices of the mobile ions.
    max_atoms
        Use at most this many ions (evenly spaced) to bound the cost.

    Returns
    -------
    float
        A typical hop length (Å). With one mobile ion: its nearest-neighbour distance.
    """
    lat = traj.lattice(0)
    sel = mobile[:: max(1, len(mobile) // max_atoms)]
    fc = traj.frac_coords[0]
    others = mobile if len(mobile) > 1 else np.arange(traj.n_atoms)
    df = fc[sel][:, None, :] - fc[others][None, :, :]
    df -= np.rint(df)
    images = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    best = np.full(df.shape[:2], np.inf)
    for img in images:  # minimum image, safe for skewed cells
        d = np.linalg.norm((df + img) @ lat, axis=-1)
        np.minimum(best, d, out=best)
    best[best < 1e-6] = np.inf  # the atom itself
    nearest = best.min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    if nearest.size == 0:
        # a single atom alone in its cell: the shortest lattice vector
        return float(np.linalg.norm(lat, axis=1).min())
    return float(np.median(nearest))


def framework_drift(
    traj: TrajectoryData, mobile: np.ndarray, mode: str, warnings: list[str]
) -> tuple[np.ndarray, float | None]:
    """Mean displacement of the reference atoms and the largest framework excursion.

    Parameters
    ----------
    traj
        The run.
    mobile
        Indices of the mobile ions (everything else is framework).
    mode
        ``framework`` (non-mobile atoms), ``all`` atoms, or ``none``.
    warnings
        List the caveats are appended to.

    Returns
    -------
    tuple
        Drift (n_frames, 3) in Å and the largest drift-corrected displacement of a
        framework atom in Å (None without framework atoms).
    """
    n = traj.n_frames
    everyone = np.arange(traj.n_atoms)
    framework = np.setdiff1d(everyone, mobile)
    if mode not in ("framework", "all", "none"):
        raise InputError(f"drift must be 'framework', 'all' or 'none', got {mode!r}")
    ref = framework if mode == "framework" else everyone
    if mode == "framework" and framework.size == 0:
        warnings.append(
            "no framework atoms (all atoms are mobile); removed the drift of all atoms instead"
        )
        ref = everyone
    drift = np.zeros((n, 3))
    step = max(1, n // 1000)
    fw_kept: list[np.ndarray] = []
    if mode != "none":
        fw_set = set(framework.tolist())
        for chunk, disp in traj.iter_unwrapped(ref):
            drift += disp.sum(axis=1)
            is_fw = np.array([i in fw_set for i in chunk])
            if is_fw.any():
                fw_kept.append(disp[::step][:, is_fw])
        drift /= len(ref)
    if framework.size == 0:
        return drift, None
    if mode == "all" or mode == "none" or not fw_kept:
        fw_kept = [d[::step] for _, d in traj.iter_unwrapped(framework)]
    sub = np.concatenate(fw_kept, axis=1) - drift[::step][:, None, :]
    return drift, float(np.sqrt((sub**2).sum(axis=-1)).max())
