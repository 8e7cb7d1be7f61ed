"""Candidate interstitial sites of a supercell (Voronoi nodes via pymatgen-analysis-defects)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

__all__ = ["interstitial_candidates"]

#: candidates closer than this to another candidate (Å) are merged
_DEDUP_A = 0.1


def interstitial_candidates(
    supercell: Structure,
    species: str,
    *,
    min_dist_A: float = 0.9,
    clustering_tol_A: float = 0.5,
) -> np.ndarray:
    """Return every candidate interstitial position in a supercell.

    The Voronoi interstitial generator of pymatgen-analysis-defects runs on the primitive
    cell (fast); its symmetry-equivalent sites are then tiled over the supercell, so the
    result is closed under the supercell's symmetry operations.

    Parameters
    ----------
    supercell
        Host supercell.
    species
        Element to insert (only used by the generator for labelling).
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
    from pymatgen.analysis.defects.generators import VoronoiInterstitialGenerator

    prim = supercell.get_primitive_structure()
    generator = VoronoiInterstitialGenerator(clustering_tol=clustering_tol_A, min_dist=min_dist_A)
    cart = [
        site.coords
        for inter in generator.generate(prim, [species])
        for site in inter.equivalent_sites
    ]
    if not cart:
        raise InputError(
            f"no interstitial site for {species} found in {supercell.composition.reduced_formula} "
            f"(no void farther than {min_dist_A} Å from all atoms); lower min_dist_A"
        )
    cart = np.array(cart)
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
