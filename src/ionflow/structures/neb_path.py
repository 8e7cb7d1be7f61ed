"""NEB path preparation (pure): endpoint matching, interpolation and overlap checks.

- :func:`match_endpoints` checks that two endpoints describe the same atoms and returns the
  final endpoint in the initial's atom order (reordering only when that is unambiguous).
- :func:`interpolate_images` builds the starting band with IDPP (pymatgen-analysis-diffusion's
  ``IDPPSolver``) and falls back to linear interpolation when IDPP fails or leaves atoms
  too close.
- :func:`check_images` rejects images with overlapping atoms.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import numpy as np

from ionflow.errors import InputError
from ionflow.schemas.neb import HopDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = [
    "check_images",
    "closest_pair",
    "hop_from_endpoints",
    "interpolate_images",
    "match_endpoints",
]

logger = logging.getLogger(__name__)

#: relative lattice mismatch allowed between endpoints
LATTICE_RTOL = 0.01
#: two assignments whose summed squared displacement differ by less than this (Å²) tie
TIE_A2 = 0.05


def closest_pair(structure: Structure) -> tuple[float, int, int]:
    """Return the shortest interatomic distance (Å) and the two atoms (periodic).

    Parameters
    ----------
    structure
        Any periodic structure with at least two atoms.

    Returns
    -------
    tuple
        (distance, i, j) with i < j.
    """
    if len(structure) < 2:
        return float("inf"), 0, 0
    dist = structure.distance_matrix.copy()
    np.fill_diagonal(dist, np.inf)
    i, j = np.unravel_index(int(np.argmin(dist)), dist.shape)
    return float(dist[i, j]), int(min(i, j)), int(max(i, j))


def check_images(images: Sequence[Structure], min_distance_A: float = 0.7) -> None:
    """Raise when two atoms of an image are closer than ``min_distance_A``.

    Parameters
    ----------
    images
        Band images (endpoints included).
    min_distance_A
        Smallest allowed interatomic distance (Å).

    Raises
    ------
    InputError
        Naming the image, the two atoms and their distance.
    """
    for k, image in enumerate(images):
        d, i, j = closest_pair(image)
        if d < min_distance_A:
            raise InputError(
                f"image {k}: atoms {i} ({image[i].specie}) and {j} ({image[j].specie}) are "
                f"{d:.2f} Å apart (< {min_distance_A} Å); the endpoints overlap or the "
                "interpolation passes through an atom"
            )


def _displacements(a: Structure, b: Structure) -> np.ndarray:
    dfrac = b.frac_coords - a.frac_coords
    dfrac -= np.round(dfrac)
    return np.linalg.norm(dfrac @ a.lattice.matrix, axis=1)


def match_endpoints(initial: Structure, final: Structure, max_hop_A: float = 6.0) -> Structure:
    """Return ``final`` in the atom order of ``initial``.

    Same species sequence and every atom within ``max_hop_A`` of its counterpart: returned
    unchanged (the user's numbering is trusted, so an interstitialcy stays one). Otherwise
    the atoms of each element are matched by the assignment with the smallest summed
    squared displacement; a tie with another assignment is ambiguous and raises.

    Parameters
    ----------
    initial, final
        Endpoints.
    max_hop_A
        Largest plausible displacement of one atom between endpoints (Å).

    Returns
    -------
    Structure
        The final endpoint, reordered if needed.

    Raises
    ------
    InputError
        Different compositions, lattices, an ambiguous or implausible ordering.
    """
    from pymatgen.core import Structure
    from scipy.optimize import linear_sum_assignment

    if initial.composition != final.composition:
        raise InputError(
            f"endpoints differ in composition: {initial.composition.formula} vs "
            f"{final.composition.formula}; both must hold the same atoms"
        )
    la, lb = initial.lattice, final.lattice
    if not np.allclose(la.abc, lb.abc, rtol=LATTICE_RTOL) or not np.allclose(
        la.angles, lb.angles, atol=0.5
    ):
        raise InputError(
            f"endpoint lattices differ ({np.round(la.abc, 3).tolist()} vs "
            f"{np.round(lb.abc, 3).tolist()} Å); NEB endpoints need the same cell"
        )
    sym_a = [s.specie.symbol for s in initial]
    sym_b = [s.specie.symbol for s in final]
    if sym_a == sym_b:
        disp = _displacements(initial, final)
        if disp.max() <= max_hop_A:
            return final
    order = np.empty(len(initial), dtype=int)
    for el in sorted(set(sym_a)):
        ia = [i for i, s in enumerate(sym_a) if s == el]
        ib = [i for i, s in enumerate(sym_b) if s == el]
        fa = initial.frac_coords[ia]
        fb = final.frac_coords[ib]
        dfrac = fb[None, :, :] - fa[:, None, :]
        dfrac -= np.round(dfrac)
        cost = np.sum((dfrac @ la.matrix) ** 2, axis=-1)
        rows, cols = linear_sum_assignment(cost)
        best = cost[rows, cols]
        # a swap of two partners that costs (almost) nothing more is a tie
        for p in range(len(rows)):
            for q in range(p + 1, len(rows)):
                swapped = cost[rows[p], cols[q]] + cost[rows[q], cols[p]]
                if swapped - (best[p] + best[q]) < TIE_A2 and max(best[p], best[q]) > TIE_A2:
                    raise InputError(
                        f"cannot match the endpoints' {el} atoms unambiguously (initial atoms "
                        f"{ia[rows[p]]} and {ia[rows[q]]} fit either final position); give "
                        "the final endpoint in the initial's atom order"
                    )
        for r, c in zip(rows, cols, strict=True):
            order[ia[r]] = ib[c]
    reordered = Structure(
        final.lattice,
        [final[i].species for i in order],
        final.frac_coords[order],
        charge=final.charge,
    )
    disp = _displacements(initial, reordered)
    if disp.max() > max_hop_A:
        raise InputError(
            f"atom {int(np.argmax(disp))} moves {disp.max():.2f} Å between the endpoints even "
            f"after matching (> {max_hop_A} Å); the endpoints are not one hop apart"
        )
    logger.info("final endpoint reordered to match the initial one")
    return reordered


def interpolate_images(
    initial: Structure,
    final: Structure,
    n_images: int,
    method: Literal["idpp", "linear"] = "idpp",
    min_distance_A: float = 0.7,
    idpp_kwargs: dict | None = None,
) -> tuple[list[Structure], str]:
    """Interpolate a band between two matched endpoints.

    Parameters
    ----------
    initial, final
        Endpoints in the same atom order (see :func:`match_endpoints`).
    n_images
        Intermediate images.
    method
        ``"idpp"`` (falls back to linear when IDPP fails) or ``"linear"``.
    min_distance_A
        Smallest allowed interatomic distance in any image (Å).
    idpp_kwargs
        Passed to ``IDPPSolver.run`` (e.g. ``maxiter``, ``tol``).

    Returns
    -------
    tuple
        The images (endpoints included, ``n_images + 2``) and the method actually used.

    Raises
    ------
    InputError
        When even the linear band has overlapping atoms.
    """
    if n_images < 1:
        raise InputError(f"n_images must be >= 1, got {n_images}")
    check_images([initial, final], min_distance_A)
    if method not in ("idpp", "linear"):
        raise InputError(f"unknown interpolation {method!r}; use 'idpp' or 'linear'")
    if method == "idpp":
        try:
            from pymatgen.analysis.diffusion.neb.pathfinder import IDPPSolver

            solver = IDPPSolver.from_endpoints([initial, final], nimages=n_images, sort_tol=0)
            images = solver.run(**(idpp_kwargs or {}))
            check_images(images, min_distance_A)
            if len(images) == n_images + 2:
                return list(images), "idpp"
        except (InputError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            logger.warning("IDPP failed (%s); using linear interpolation", exc)
    images = initial.interpolate(final, nimages=n_images + 1, interpolate_lattices=False)
    check_images(images, min_distance_A)
    return list(images), "linear"


def hop_from_endpoints(
    initial: Structure,
    final: Structure,
    *,
    label: str = "explicit hop",
    move_tol_A: float = 0.5,
    max_hop_A: float = 6.0,
) -> HopDoc:
    """Describe a hop given by two endpoints (reordered to match when unambiguous).

    Parameters
    ----------
    initial, final
        Endpoint structures (same composition and lattice).
    label
        Hop label.
    move_tol_A
        Atoms displaced by more than this (Å) count as moving.
    max_hop_A
        Largest plausible displacement of one atom (Å).

    Returns
    -------
    HopDoc
        Kind ``explicit``, with the moving atoms and the final endpoint in the initial's
        atom order.
    """
    final = match_endpoints(initial, final, max_hop_A=max_hop_A)
    dfrac = final.frac_coords - initial.frac_coords
    dfrac -= np.round(dfrac)
    disp = np.linalg.norm(dfrac @ initial.lattice.matrix, axis=1)
    movers = [int(i) for i in np.argsort(-disp) if disp[i] > move_tol_A]
    if not movers:
        raise InputError(
            f"no atom moves more than {move_tol_A} Å between the endpoints; they are the same state"
        )
    species = {initial[i].specie.symbol for i in movers}
    starts = initial.frac_coords[movers]
    ends = starts + dfrac[movers]
    return HopDoc(
        label=label,
        kind="explicit",
        species=initial[movers[0]].specie.symbol
        if len(species) == 1
        else "+".join(sorted(species)),
        moving_indices=movers,
        start_frac_coords=starts.tolist(),
        end_frac_coords=ends.tolist(),
        length_A=float(disp[movers[0]]),
        multiplicity=1,
        defect_start_frac=None,
        defect_end_frac=None,
        initial=initial,
        final=final,
    )
