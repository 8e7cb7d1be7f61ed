"""Do consecutive MD segments join? Order checks before segments are concatenated.

A restarted run's next segment starts one stored interval after the previous one ended,
so the mean square displacement (over all atoms) from the last frame of one segment to
the first frame of the next looks like one step inside a segment. A segment given twice,
or segments in the wrong order, jump by many intervals at the join (the ions have
diffused in between) and are caught here. Without diffusion the order cannot be told
from positions, and then it also does not change the result.

Rule: a join is good when its mean square displacement is at most
``max(JOIN_MAX_STEP_FACTOR × largest step, mean step + JOIN_SIGMAS × std of the steps)``
over the steps inside the two segments.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ionflow.analysis.trajectory import TrajectoryData

__all__ = ["order_segments", "step_msd_A2"]

JOIN_MAX_STEP_FACTOR = 1.5
JOIN_SIGMAS = 6.0
#: Segment counts up to this are reordered by trying every order; above, only refused.
MAX_REORDER = 7


def step_msd_A2(traj: TrajectoryData) -> np.ndarray:
    """Mean square displacement over all atoms of every stored step (Å^2), shape (n-1,)."""
    if traj.n_frames < 2:
        return np.zeros(0)
    d = np.diff(traj.frac_coords, axis=0)
    d -= np.rint(d)
    if traj.constant_lattice:
        cart = d @ traj.lattices
    else:
        cart = np.einsum("tai,tij->taj", d, traj.lattices[1:])
    return (cart**2).sum(axis=-1).mean(axis=-1)


def _gap_msd_A2(prev: TrajectoryData, nxt: TrajectoryData) -> float:
    d = nxt.frac_coords[0] - prev.frac_coords[-1]
    d -= np.rint(d)
    cart = d @ nxt.lattice(0)
    return float((cart**2).sum(axis=-1).mean())


def _limit(steps_a: np.ndarray, steps_b: np.ndarray) -> float | None:
    steps = np.concatenate([steps_a, steps_b])
    if steps.size < 2:
        return None
    return float(max(JOIN_MAX_STEP_FACTOR * steps.max(), steps.mean() + JOIN_SIGMAS * steps.std()))


def order_segments(
    segments: Sequence[TrajectoryData],
) -> tuple[list[TrajectoryData], list[str]]:
    """Check that the segments of one run join; reorder them when only one order does.

    Parameters
    ----------
    segments
        Segments as given (same atoms, same time between frames).

    Returns
    -------
    tuple
        The segments in run order and warnings (one when they were reordered).

    Raises
    ------
    InputError
        A segment given twice, or segments that do not join in any single order.
    """
    segs = list(segments)
    if len(segs) < 2:
        return segs, []
    for i, j in itertools.combinations(range(len(segs)), 2):
        a, b = segs[i], segs[j]
        if a.frac_coords.shape == b.frac_coords.shape and np.array_equal(
            a.frac_coords, b.frac_coords
        ):
            raise InputError(
                f"the same segment is given twice ({a.source} and {b.source}, identical "
                "frames); give each segment of the run once"
            )
    if any(s.species != segs[0].species for s in segs):
        return segs, []  # concatenate names the segment with other atoms
    steps = [step_msd_A2(s) for s in segs]

    def good(i: int, j: int) -> bool:
        lim = _limit(steps[i], steps[j])
        return lim is None or _gap_msd_A2(segs[i], segs[j]) <= lim

    bad = [k for k in range(1, len(segs)) if not good(k - 1, k)]
    if not bad:
        return segs, []
    k = bad[0]
    gap = _gap_msd_A2(segs[k - 1], segs[k])
    lim = _limit(steps[k - 1], steps[k])
    detail = (
        f"segment {k + 1} ({segs[k].source}) does not continue segment {k} "
        f"({segs[k - 1].source}): its first frame is {gap:.3g} Å² (mean square over atoms) "
        f"from the previous last frame, one stored step is at most {lim:.3g} Å²"
    )
    if len(segs) <= MAX_REORDER:
        orders = [
            p
            for p in itertools.permutations(range(len(segs)))
            if all(good(p[m - 1], p[m]) for m in range(1, len(p)))
        ]
        if len(orders) == 1:
            order = orders[0]
            names = ", ".join(segs[m].source for m in order)
            return [segs[m] for m in order], [
                f"{detail}; the segments join only in the order {names}: reordered"
            ]
    raise InputError(f"{detail}; give the segments of one run in the order they were run")
