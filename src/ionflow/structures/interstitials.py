"""Candidate interstitial sites of a supercell: clustered Voronoi nodes, tiled over the cell."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["interstitial_candidates", "voronoi_nodes"]

#: candidates closer than this to another candidate (Å) are merged
_DEDUP_A = 0.1


def voronoi_nodes(
    structure: Structure, *, min_dist_A: float = 0.9, clustering_tol_A: float = 0.5
) -> np.ndarray:
    """Voronoi vertices of a periodic structure, clustered and filtered (fractional coords).

    Vertices closer than ``clustering_tol_A`` are merged (single linkage, periodic), each
    cluster is replaced by its centroid, and nodes closer than ``min_dist_A`` to an atom
    are dropped. Single linkage is symmetry-invariant, so the result keeps the
    structure's symmetry.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial import Voronoi

    lat = structure.lattice
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)))
    frac = structure.frac_coords % 1.0
    points = (frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3) @ lat.matrix
    vertices = Voronoi(points).vertices
    vfrac = lat.get_fractional_coords(vertices)
    inside = np.all((vfrac >= -1e-6) & (vfrac < 1 - 1e-6), axis=1)
    vfrac = vfrac[inside] % 1.0
    if len(vfrac) == 0:
        return vfrac
    if len(vfrac) > 1:
        dist = lat.get_all_distances(vfrac, vfrac)
        condensed = dist[np.triu_indices(len(vfrac), 1)]
        labels = fcluster(linkage(condensed, "single"), clustering_tol_A, criterion="distance")
    else:
        labels = np.array([1])
    nodes = []
    for lab in np.unique(labels):
        members = vfrac[labels == lab]
        ref = members[0]
        unwrapped = ref + (members - ref) - np.round(members - ref)
        nodes.append(unwrapped.mean(axis=0) % 1.0)
    nodes = np.array(nodes)
    dmin = lat.get_all_distances(nodes, frac).min(axis=1)
    return nodes[dmin >= min_dist_A]


def interstitial_candidates(
    supercell: Structure,
    species: str,
    *,
    min_dist_A: float = 0.9,
    clustering_tol_A: float = 0.5,
) -> np.ndarray:
    """Return every candidate interstitial position in a supercell.

    Voronoi nodes of the primitive cell (clustered, away from atoms; the approach of
    pymatgen-analysis-defects' ``VoronoiInterstitialGenerator``, written here with scipy so
    it costs milliseconds) are tiled over the supercell, so the result is closed under the
    supercell's symmetry operations.

    Parameters
    ----------
    supercell
        Host supercell.
    species
        Element to insert (used in the error message only).
    min_dist_A
        Smallest allowed distance from a host atom (Å).
    clustering_tol_A
        Voronoi-node clustering tolerance (Å).

    Returns
    -------
    numpy.ndarray
        (n, 3) fractional coordinates in the supercell, sorted for determinism.

    Raises
    ------
    InputError
        If the host has no void large enough.
    """
    prim = supercell.get_primitive_structure()
    nodes = voronoi_nodes(prim, min_dist_A=min_dist_A, clustering_tol_A=clustering_tol_A)
    if len(nodes) == 0:
        raise InputError(
            f"no interstitial site for {species} found in {supercell.composition.reduced_formula} "
            f"(no void farther than {min_dist_A} Å from all atoms); lower min_dist_A"
        )
    cart = prim.lattice.get_cartesian_coords(nodes)
    # tile primitive translations over the supercell
    frac_in_prim = prim.lattice.get_fractional_coords(supercell.lattice.matrix)
    span = int(np.ceil(np.abs(frac_in_prim).sum(axis=0).max())) + 1
    shifts = np.array(list(itertools.product(range(-span, span + 1), repeat=3)))
    all_cart = (cart[:, None, :] + (shifts @ prim.lattice.matrix)[None, :, :]).reshape(-1, 3)
    frac = np.mod(supercell.lattice.get_fractional_coords(all_cart), 1.0)
    frac = np.where(frac > 1 - 1e-8, 0.0, frac)
    keys = np.round(frac * 1000).astype(int) % 1000
    _, first = np.unique(keys, axis=0, return_index=True)
    frac = frac[np.sort(first)]
    # merge numerically split duplicates
    kept: list[np.ndarray] = []
    for f in frac:
        if kept:
            d = supercell.lattice.get_all_distances([f], kept)[0]
            if d.min() < _DEDUP_A:
                continue
        kept.append(f)
    frac = np.array(kept)
    # sanity: the tiling is in the supercell's frame, so no candidate may sit on an atom
    dmin = supercell.lattice.get_all_distances(frac, supercell.frac_coords).min()
    if dmin < min_dist_A - 0.05:
        raise RuntimeError(f"interstitial tiling failed: a candidate is {dmin:.2f} Å from an atom")
    order = np.lexsort(frac.T[::-1])
    return frac[order]
