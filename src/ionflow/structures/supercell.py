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
#: equally good candidates compared for cubicity after LLL reduction
MAX_TIE_BREAK = 64
#: the automatic search screens supercells of at most this many host cells; each
#: determinant costs time growing with it, so an unbounded budget (max_atoms: 10000000)
#: would run for hours — beyond it the user is asked for a matrix or a smaller budget
MAX_SEARCH_CELLS = 1000


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


def _candidates(det: int) -> np.ndarray:
    """Candidate matrices of one determinant: all HNFs up to the cap, else diagonals."""
    if det <= MAX_HNF_DETERMINANT:
        return _hnf_matrices(det)
    divisors = [d for d in range(1, det + 1) if det % d == 0]
    diagonals = [
        np.diag((a, b, det // (a * b))) for a in divisors for b in divisors if det % (a * b) == 0
    ]
    return np.array(diagonals, dtype=int).reshape(-1, 3, 3)


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
    """Minimum image distance of each candidate superlattice (inf when > radius).

    ``k·M⁻¹`` is integer exactly when ``k·adj(M) ≡ 0 (mod det M)``; the short vectors are
    tested in order of length, so most (skewed) candidates are settled by the first few.
    """
    ks, lengths = _short_vectors(lattice_matrix, radius_A)
    out = np.full(len(matrices), np.inf)
    dets = np.round(np.linalg.det(matrices)).astype(np.int64)
    adj = np.round(np.linalg.inv(matrices) * dets[:, None, None]).astype(np.int64)
    todo = np.arange(len(matrices))
    for start in range(0, len(ks), 32):
        if len(todo) == 0:
            break
        prod = np.einsum("kj,bji->bki", ks[start : start + 32], adj[todo])
        hit = np.all(prod % dets[todo, None, None] == 0, axis=2)
        has = hit.any(axis=1)
        out[todo[has]] = lengths[start + np.argmax(hit[has], axis=1)]
        todo = todo[~has]
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
        # the atom count is known before the cell is built (a huge matrix must not be built)
        n_atoms = round(abs(np.linalg.det(mat))) * n_host
        if n_atoms > max_atoms:
            raise InputError(
                f"supercell matrix {matrix!r} gives {n_atoms} atoms > max_atoms="
                f"{max_atoms}; raise max_atoms or use a smaller matrix"
            )
        supercell = structure.make_supercell(mat, in_place=False)
        dist = min_image_distance(supercell.lattice)
        if min_image_distance_A is not None and dist < min_image_distance_A - 1e-6:
            raise InputError(
                f"supercell matrix {matrix!r} has a minimum image distance of {dist:.2f} Å "
                f"< the requested {min_image_distance_A:.2f} Å; use a larger matrix"
            )
        return SupercellChoice(mat.tolist(), supercell, dist)

    max_det = max_atoms // n_host
    # no lattice beats fcc packing: d <= (sqrt(2) * det * volume)^(1/3), so smaller
    # determinants cannot reach the distance and are not screened
    first_det = 1
    if min_image_distance_A is not None:
        first_det = max(1, int(min_image_distance_A**3 / (np.sqrt(2.0) * structure.volume)))
    if min_image_distance_A is None and max_det > MAX_SEARCH_CELLS:
        raise InputError(
            f"max_atoms={max_atoms} asks the automatic supercell search for up to {max_det} "
            f"copies of the {n_host}-atom host; it screens at most {MAX_SEARCH_CELLS} copies "
            f"({MAX_SEARCH_CELLS * n_host} atoms): give an explicit supercell matrix, a "
            "min_image_distance_A, or max_atoms <= "
            f"{MAX_SEARCH_CELLS * n_host}"
        )
    if min_image_distance_A is not None and first_det > MAX_SEARCH_CELLS:
        raise InputError(
            f"a minimum image distance of {min_image_distance_A:.2f} Å needs at least "
            f"{first_det} copies of the {n_host}-atom host; the automatic supercell search "
            f"screens at most {MAX_SEARCH_CELLS} ({MAX_SEARCH_CELLS * n_host} atoms): give an "
            "explicit supercell matrix or a smaller distance"
        )
    lat = structure.lattice.matrix
    best_d, pool_mats, pool_d = 0.0, np.empty((0, 3, 3), dtype=int), np.empty(0)
    best_seen = 0.0  # largest image distance screened (for the error message)
    for det in range(first_det, min(max_det, MAX_SEARCH_CELLS) + 1):
        # no lattice beats fcc packing: d <= (sqrt(2) * volume)^(1/3)
        bound = (np.sqrt(2.0) * det * structure.volume) ** (1 / 3)
        if min_image_distance_A is not None and bound < min_image_distance_A - 1e-6:
            continue
        if min_image_distance_A is None and bound < best_d + 1e-6:
            continue
        mats = _candidates(det)
        if len(mats) == 0:
            continue
        dists = _screen(lat, mats, bound + 1e-3)
        best_seen = max(best_seen, float(dists[np.isfinite(dists)].max(initial=0.0)))
        if min_image_distance_A is not None:
            ok = dists >= min_image_distance_A - 1e-6
            if ok.any():
                pool_mats, pool_d = mats[ok], dists[ok]
                break
        elif dists.max() > best_d + 1e-6:
            best_d = float(dists.max())
            keep = dists >= best_d - 1e-6
            pool_mats, pool_d = mats[keep], dists[keep]
    if len(pool_mats) == 0:
        searched = min(max_det, MAX_SEARCH_CELLS)
        best = (
            best_seen or choose_supercell(structure, None, searched * n_host).min_image_distance_A
        )
        if searched < max_det:
            advice = f"the search stops at {MAX_SEARCH_CELLS} host cells: give an explicit matrix"
        else:
            advice = "raise max_atoms, give an explicit matrix"
        raise InputError(
            f"no supercell of <= {searched * n_host} atoms has a minimum image distance "
            f"of {min_image_distance_A:.2f} Å (the best is {best:.2f} Å); {advice} or lower "
            "the distance"
        )
    # tie-break: larger image distance, then near-cubic after LLL reduction
    scored = []
    # many equal candidates: LLL-reduce only those with the shortest unreduced vectors
    basis_sum = np.linalg.norm(pool_mats @ lat, axis=2).sum(axis=1)
    shortlist = np.argsort(basis_sum, kind="stable")[:MAX_TIE_BREAK]
    for mat, dist in zip(pool_mats[shortlist], pool_d[shortlist], strict=True):
        red = _reduce_matrix(structure, mat)
        super_lat = type(structure.lattice)(red @ lat)
        scored.append((-dist, _cubicity(super_lat), red.tolist()))
    scored.sort(key=lambda item: (round(item[0], 6), round(item[1], 6), item[2]))
    chosen = np.array(scored[0][2])
    supercell = structure.make_supercell(chosen, in_place=False)
    return SupercellChoice(chosen.tolist(), supercell, min_image_distance(supercell.lattice))
