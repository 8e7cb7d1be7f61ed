"""Interstitial candidates: own Voronoi nodes against pymatgen-analysis-defects (peer)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.structures.interstitials import interstitial_candidates, voronoi_nodes

A = 3.91


def _li3ocl() -> Structure:
    return Structure(
        Lattice.cubic(A),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def _same_sites(lattice: Lattice, a: np.ndarray, b: np.ndarray, tol: float = 0.05) -> bool:
    if len(a) != len(b):
        return False
    d = lattice.get_all_distances(a, b)
    return bool(np.all(d.min(axis=1) < tol) and np.all(d.min(axis=0) < tol))


def test_antiperovskite_nodes_by_hand():
    nodes = voronoi_nodes(_li3ocl())
    edges = [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]]
    tetra = [[x, y, z] for x in (0.25, 0.75) for y in (0.25, 0.75) for z in (0.25, 0.75)]
    assert _same_sites(Lattice.cubic(A), nodes, np.array(edges + tetra))


def test_tiling_over_supercell():
    cell = _li3ocl()
    cell.make_supercell([2, 2, 2])
    cands = interstitial_candidates(cell, "Li")
    assert len(cands) == 8 * 11
    assert cell.lattice.get_all_distances(cands, cell.frac_coords).min() > 0.9


@pytest.mark.slow
def test_matches_pymatgen_analysis_defects():
    from pymatgen.analysis.defects.generators import VoronoiInterstitialGenerator
    from tests.structures.test_defects import _lacl3

    for host in (_li3ocl(), _lacl3()):
        ref = [
            site.frac_coords % 1.0
            for inter in VoronoiInterstitialGenerator().generate(host, ["Li"])
            for site in inter.equivalent_sites
        ]
        assert _same_sites(host.lattice, voronoi_nodes(host), np.array(ref))
