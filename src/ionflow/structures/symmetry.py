"""Symmetry-distinct placement of several point defects in one supercell.

A *pool* is the list of positions a defect can occupy (host sites, then interstitial
candidates). Every space-group operation of the host supercell (including its internal
lattice translations) permutes the pool; a configuration (one pool index per defect) is
canonicalised as the smallest encoded image over all operations, so two configurations
are symmetry-equivalent exactly when their canonical keys are equal.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Lattice, Structure

__all__ = ["SitePool", "canonical_keys", "orbit_representatives", "orbit_size"]

logger = logging.getLogger(__name__)

#: positions closer than this (Å) after applying an operation count as the same pool entry
MATCH_TOLERANCE_A = 0.3
_GRID = 1000


class SitePool:
    """Positions in a supercell and their permutations under its symmetry operations.

    Parameters
    ----------
    host
        Host supercell; its symmetry defines the operations.
    frac_coords
        Pool positions in fractional coordinates of ``host`` (host sites first).
    symprec
        spglib tolerance (Å).
    """

    def __init__(self, host: Structure, frac_coords: np.ndarray, symprec: float = 0.01) -> None:
        self.lattice: Lattice = host.lattice
        self.frac_coords = np.mod(np.asarray(frac_coords, dtype=float), 1.0)
        ops = SpacegroupAnalyzer(host, symprec=symprec).get_symmetry_operations(cartesian=False)
        rot = np.array([op.rotation_matrix for op in ops])
        trans = np.array([op.translation_vector for op in ops])
        images = np.einsum("oij,nj->oni", rot, self.frac_coords) + trans[:, None, :]
        perms = self._match(np.mod(images, 1.0))
        good = np.all(perms >= 0, axis=1)
        if not good.all():
            logger.debug("dropped %d operations that do not map the pool", int((~good).sum()))
        self.perms = perms[good]
        # identity must survive (it always maps the pool onto itself)
        if len(self.perms) == 0:
            self.perms = np.arange(len(self.frac_coords))[None, :]

    @property
    def n_ops(self) -> int:
        """Number of operations kept."""
        return len(self.perms)

    def _keys(self, frac: np.ndarray) -> np.ndarray:
        grid = np.mod(np.round(frac * _GRID).astype(np.int64), _GRID)
        return (grid[..., 0] * _GRID + grid[..., 1]) * _GRID + grid[..., 2]

    def _match(self, images: np.ndarray) -> np.ndarray:
        """Pool index of every image (-1 when nothing is within the tolerance)."""
        pool_keys = self._keys(self.frac_coords)
        order = np.argsort(pool_keys)
        sorted_keys = pool_keys[order]
        keys = self._keys(images)
        pos = np.clip(np.searchsorted(sorted_keys, keys), 0, len(sorted_keys) - 1)
        perms = np.where(sorted_keys[pos] == keys, order[pos], -1)
        # rounding can split numerically equal positions: fall back to distances
        for o, n in zip(*np.nonzero(perms < 0), strict=True):
            diff = self.frac_coords - images[o, n]
            diff -= np.round(diff)
            dist = np.linalg.norm(diff @ self.lattice.matrix, axis=1)
            best = int(np.argmin(dist))
            if dist[best] < MATCH_TOLERANCE_A:
                perms[o, n] = best
        return perms

    def distances(self, i: int, js: Sequence[int]) -> np.ndarray:
        """Minimum-image distances (Å) from pool entry ``i`` to entries ``js``."""
        return self.lattice.get_all_distances(self.frac_coords[[i]], self.frac_coords[list(js)])[0]


def orbit_representatives(pool: SitePool, candidates: Sequence[int]) -> list[int]:
    """Return one pool index per symmetry orbit among ``candidates`` (lowest index first).

    Parameters
    ----------
    pool
        The site pool.
    candidates
        Pool indices of one kind (e.g. all Li sites).

    Returns
    -------
    list of int
        Representatives, in increasing order.
    """
    cand = np.asarray(sorted(candidates))
    canon = pool.perms[:, cand].min(axis=0)
    reps = []
    seen = set()
    for idx, key in zip(cand, canon, strict=True):
        if key not in seen:
            seen.add(int(key))
            reps.append(int(idx))
    return reps


def _encode(images: np.ndarray, groups: Sequence[Sequence[int]], n_pool: int) -> np.ndarray:
    """Encode configurations as integers; roles in one group are interchangeable."""
    parts = [np.sort(images[..., list(g)], axis=-1) for g in groups]
    flat = np.concatenate(parts, axis=-1).astype(np.int64)
    code = np.zeros(flat.shape[:-1], dtype=np.int64)
    for k in range(flat.shape[-1]):
        code = code * n_pool + flat[..., k]
    return code


def canonical_keys(
    pool: SitePool, configs: np.ndarray, groups: Sequence[Sequence[int]]
) -> np.ndarray:
    """Canonical integer key of each configuration.

    Parameters
    ----------
    pool
        The site pool.
    configs
        Integer array (n_configs, n_defects) of pool indices, one column per defect role.
    groups
        Role indices that are the same defect (interchangeable), e.g. ``[[0], [1, 2, 3]]``
        for V_La + 3 Li_i.

    Returns
    -------
    numpy.ndarray
        (n_configs,) keys; equal keys mean symmetry-equivalent configurations.
    """
    n_pool = len(pool.frac_coords)
    keys = np.empty(len(configs), dtype=np.int64)
    chunk = max(1, 2_000_000 // max(pool.n_ops * configs.shape[1], 1))
    for start in range(0, len(configs), chunk):
        block = configs[start : start + chunk]
        images = pool.perms[:, block]  # (ops, n, roles)
        keys[start : start + chunk] = _encode(images, groups, n_pool).min(axis=0)
    return keys


def orbit_size(pool: SitePool, config: Sequence[int], groups: Sequence[Sequence[int]]) -> int:
    """Return how many configurations in the supercell are equivalent to ``config``."""
    images = pool.perms[:, list(config)]
    return len(np.unique(_encode(images, groups, len(pool.frac_coords))))
