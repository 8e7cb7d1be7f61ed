"""Supercell choice by minimum periodic-image distance and an atom budget.

The smallest distance between periodic images of a supercell ``M·L`` (rows of ``L`` the
host lattice vectors) is the length of the shortest non-zero host lattice vector ``k·L``
(integer ``k``) that also belongs to the superlattice, i.e. for which ``k·M⁻¹`` is integer.
All Hermite-normal-form matrices up to the atom budget are screened this way; the winner is
then LLL-reduced so its vectors are as short and orthogonal as possible (near-cubic).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Lattice, Structure

__all__ = ["SupercellChoice", "choose_supercell", "min_image_distance"]

#: Hermite-normal-form enumeration is capped at this determinant (cells of the host);
#: beyond it only diagonal and scaled-conventional candidates are screened.
MAX_HNF_DETERMINANT = 48


@dataclass(frozen=True)
class SupercellChoice:
    """A chosen supercell.

    Parameters
    ----------
    matrix
        3x3 integer matrix; rows are the supercell vectors in units of the host vectors.
    structure
        The supercell.
    min_image_distance_A
        Smallest distance between periodic images (Å).
    """

    matrix: list[list[int]]
    structure: Structure
    min_image_distance_A: float

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the supercell."""
        return len(self.structure)


def min_image_distance(lattice: Lattice) -> float:
    """Return the length of the shortest non-zero lattice vector (Å).

    Parameters
    ----------
    lattice
        A pymatgen lattice.

    Returns
    -------
    float
        Smallest distance between a point and its periodic images (Å).
    """
    reduced = lattice.get_lll_reduced_lattice().matrix
    ks = np.array(list(itertools.product(range(-2, 3), repeat=3)))
    ks = ks[np.any(ks != 0, axis=1)]
    return float(np.min(np.linalg.norm(ks @ reduced, axis=1)))


def _as_matrix(matrix: Sequence[int] | Sequence[Sequence[int]] | int) -> np.ndarray:
    arr = np.array(matrix)
    if arr.ndim == 0:
        arr = np.eye(3, dtype=int) * int(arr)
    elif arr.shape == (3,):
        arr = np.diag(arr)
    if arr.shape != (3, 3):
        raise InputError(
            f"supercell matrix {matrix!r} is neither [a, b, c] nor a 3x3 integer matrix"
        )
    if not np.allclose(arr, np.round(arr)):
        raise InputError(f"supercell matrix {matrix!r} has non-integer entries")
    arr = np.round(arr).astype(int)
    if round(abs(np.linalg.det(arr))) == 0:
        raise InputError(f"supercell matrix {matrix!r} is singular (determinant 0)")
    return arr


def _hnf_matrices(det: int) -> np.ndarray:
    """Return all Hermite normal forms of determinant ``det``, shape (n, 3, 3).

    Rows are supercell vectors, so sublattices are equivalent under row operations and
    the canonical form is upper triangular ``[[a, b, d], [0, c, e], [0, 0, f]]`` with
    ``0 <= b < c`` and ``0 <= d, e < f``.
    """
    blocks = []
    for a in range(1, det + 1):
        if det % a:
            continue
        for c in range(1, det // a + 1):
            if (det // a) % c:
                continue
            f = det // (a * c)
            b, d, e = (g.ravel() for g in np.meshgrid(range(c), range(f), range(f), indexing="ij"))
            mats = np.zeros((len(b), 3, 3), dtype=int)
            mats[:, 0, 0], mats[:, 1, 1], mats[:, 2, 2] = a, c, f
            mats[:, 0, 1], mats[:, 0, 2], mats[:, 1, 2] = b, d, e
            blocks.append(mats)
    return np.concatenate(blocks)


def _short_vectors(lattice_matrix: np.ndarray, radius_A: float) -> np.ndarray:
    """Integer coefficient vectors k (sorted by |k·L|) with 0 < |k·L| <= radius."""
    inv_t = np.linalg.inv(lattice_matrix).T
    # |k_i| <= radius * |row i of L^-T| bounds every lattice point inside the sphere
    bounds = np.ceil(radius_A * np.linalg.norm(inv_t, axis=1)).astype(int)
    grids = [np.arange(-b, b + 1) for b in bounds]
    ks = np.array(np.meshgrid(*grids, indexing="ij")).reshape(3, -1).T
    lengths = np.linalg.norm(ks @ lattice_matrix, axis=1)
    keep = (lengths > 1e-8) & (lengths <= radius_A + 1e-8)
    order = np.argsort(lengths[keep], kind="stable")
    return ks[keep][order], lengths[keep][order]


def _screen(lattice_matrix: np.ndarray, matrices: np.ndarray, radius_A: float) -> np.ndarray:
    """Minimum image distance of each candidate superlattice (inf when > radius)."""
    ks, lengths = _short_vectors(lattice_matrix, radius_A)
    out = np.full(len(matrices), np.inf)
    if len(ks) == 0:
        return out
    for start in range(0, len(matrices), 2048):
        block = matrices[start : start + 2048].astype(float)
        inv = np.linalg.inv(block)  # (b, 3, 3)
        coeffs = np.einsum("kj,bji->bki", ks.astype(float), inv)
        in_lattice = np.all(np.abs(coeffs - np.round(coeffs)) < 1e-6, axis=2)
        has = in_lattice.any(axis=1)
        first = np.argmax(in_lattice, axis=1)
        out[start : start + len(block)] = np.where(has, lengths[first], np.inf)
    return out


def _cubicity(lattice: Lattice) -> float:
    """0 for a cube; grows with unequal lengths and non-90° angles."""
    abc = np.array(lattice.abc)
    angles = np.radians(lattice.angles)
    return float(np.std(abc) / np.mean(abc) + np.sum(np.abs(np.cos(angles))))


def _reduce_matrix(structure: Structure, matrix: np.ndarray) -> np.ndarray:
    """LLL-reduce the superlattice and express it again as an integer matrix."""
    lat = structure.lattice
    super_lat = type(lat)(matrix @ lat.matrix)
    reduced = super_lat.get_lll_reduced_lattice().matrix
    new = np.round(reduced @ np.linalg.inv(lat.matrix)).astype(int)
    # reorder and flip vectors so the matrix is right-handed and as diagonal as possible
    best = None
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            cand = new[list(perm)] * np.array(signs)[:, None]
            if np.linalg.det(cand) <= 0:
                continue
            key = (-int(np.trace(cand)), cand.tolist())
            if best is None or key < best[0]:
                best = (key, cand)
    return best[1]


def choose_supercell(
    structure: Structure,
    min_image_distance_A: float | None = None,
    max_atoms: int = 200,
    matrix: Sequence[int] | Sequence[Sequence[int]] | int | None = None,
) -> SupercellChoice:
    """Choose a supercell by a minimum image distance and an atom budget.

    Parameters
    ----------
    structure
        Host cell.
    min_image_distance_A
        Required smallest distance between periodic images (Å). With it, the smallest
        supercell reaching the distance is chosen; without it, the supercell with the
        largest image distance within ``max_atoms``.
    max_atoms
        Atom budget.
    matrix
        Explicit supercell matrix (``n``, ``[a, b, c]`` or 3x3); skips the search but is
        still checked against ``min_image_distance_A`` and ``max_atoms``.

    Returns
    -------
    SupercellChoice
        Matrix, supercell and its smallest image distance. Ties are broken towards fewer
        atoms, then towards a near-cubic cell.

    Raises
    ------
    InputError
        If the budget cannot reach the distance or the explicit matrix violates a limit.
    """
    n_host = len(structure)
    if max_atoms < n_host:
        raise InputError(
            f"max_atoms={max_atoms} is smaller than the host cell ({n_host} atoms); raise it"
        )
    if min_image_distance_A is not None and min_image_distance_A <= 0:
        raise InputError(f"min_image_distance_A={min_image_distance_A} must be > 0 Å")

    if matrix is not None:
        mat = _as_matrix(matrix)
        if np.linalg.det(mat) < 0:
            raise InputError(f"supercell matrix {matrix!r} is left-handed (negative det)")
        supercell = structure.make_supercell(mat, in_place=False)
        dist = min_image_distance(supercell.lattice)
        if len(supercell) > max_atoms:
            raise InputError(
                f"supercell matrix {matrix!r} gives {len(supercell)} atoms > max_atoms="
                f"{max_atoms}; raise max_atoms or use a smaller matrix"
            )
        if min_image_distance_A is not None and dist < min_image_distance_A - 1e-6:
            raise InputError(
                f"supercell matrix {matrix!r} has a minimum image distance of {dist:.2f} Å "
                f"< the requested {min_image_distance_A:.2f} Å; use a larger matrix"
            )
        return SupercellChoice(mat.tolist(), supercell, dist)

    max_det = max_atoms // n_host
    lat = structure.lattice.matrix
    blocks = [_hnf_matrices(det) for det in range(1, min(max_det, MAX_HNF_DETERMINANT) + 1)]
    # beyond the HNF cap, diagonal matrices still cover the large near-cubic cells
    diagonals = [
        np.diag(diag)
        for diag in itertools.product(range(1, max_det + 1), repeat=3)
        if MAX_HNF_DETERMINANT < int(np.prod(diag)) <= max_det
    ]
    if diagonals:
        blocks.append(np.array(diagonals))
    candidates = np.concatenate(blocks)
    dets = np.round(np.linalg.det(candidates)).astype(int)
    # the largest possible image distance is that of a cube of volume max_det * V
    radius = 1.2 * (max_det * structure.volume) ** (1 / 3) + 1.0
    dists = _screen(lat, candidates, radius)

    if min_image_distance_A is not None:
        ok = dists >= min_image_distance_A - 1e-6
        if not ok.any():
            best = float(np.max(dists))
            raise InputError(
                f"no supercell of <= {max_atoms} atoms has a minimum image distance of "
                f"{min_image_distance_A:.2f} Å (the best is {best:.2f} Å); raise max_atoms or "
                "lower the distance"
            )
        smallest = dets[ok].min()
        pool = np.flatnonzero(ok & (dets == smallest))
    else:
        best = dists.max()
        pool = np.flatnonzero(dists >= best - 1e-6)
        pool = pool[dets[pool] == dets[pool].min()]
    # tie-break: larger image distance, then near-cubic after LLL reduction
    scored = []
    for idx in pool:
        red = _reduce_matrix(structure, candidates[idx])
        super_lat = type(structure.lattice)(red @ lat)
        scored.append((-dists[idx], _cubicity(super_lat), red.tolist()))
    scored.sort(key=lambda item: (round(item[0], 6), round(item[1], 6), item[2]))
    chosen = np.array(scored[0][2])
    supercell = structure.make_supercell(chosen, in_place=False)
    return SupercellChoice(chosen.tolist(), supercell, min_image_distance(supercell.lattice))
