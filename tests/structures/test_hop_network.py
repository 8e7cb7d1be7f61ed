"""Percolating hop networks: dimensionality and thresholds on lattices with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.structures.hop_network import HopEdge, percolation
from ionflow.structures.hops import enumerate_hops


def _edges(hops, barriers):
    return [
        HopEdge(
            label=h.label,
            start_frac=np.array(h.defect_start_frac),
            displacement_frac=np.array(h.defect_end_frac) - np.array(h.defect_start_frac),
            barrier_eV=b,
        )
        for h, b in zip(hops, barriers, strict=True)
    ]


def test_li3ocl_vacancy_network_is_3d(li3ocl):
    host = li3ocl * (2, 2, 2)
    hops = enumerate_hops(host, cutoff_A=3.0)
    perc = percolation(host, _edges(hops, [0.3]))
    assert perc.percolating
    assert perc.barrier_eV == pytest.approx(0.3)
    assert perc.dimensionality == 3
    assert perc.hops == ["V_Li hop 1"]
    assert np.linalg.matrix_rank(np.array(perc.directions)) == 3


def test_channel_lattice_1d_then_3d():
    # Li chains along c (2.5 Å apart), chains 5 Å apart: 1D at the chain barrier,
    # 3D only once the inter-chain hop is allowed
    cell = Structure(Lattice.tetragonal(5.0, 2.5), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    host = cell * (2, 2, 4)
    hops = enumerate_hops(host, cutoff_A=5.1, path_clearance_A=0.0)
    lengths = [round(h.length_A, 2) for h in hops]
    assert lengths[:2] == [2.5, 5.0]
    barriers = [0.1 if length == 2.5 else 0.4 for length in lengths]
    perc = percolation(host, _edges(hops, barriers))
    assert perc.barrier_eV == pytest.approx(0.1)
    assert perc.dimensionality == 1
    assert perc.directions == [[0, 0, 1]] or perc.directions == [[0, 0, -1]]
    assert perc.barriers_by_dimension_eV == [0.1, 0.4, 0.4]


def test_closed_cage_does_not_percolate():
    # two sites 1.2 Å apart in a 10 Å box: the defect rattles but never leaves
    host = Structure(Lattice.cubic(10.0), ["Li", "Li"], [[0.5, 0.5, 0.5], [0.62, 0.5, 0.5]])
    hops = enumerate_hops(host, cutoff_A=2.0)
    assert len(hops) == 1
    perc = percolation(host, _edges(hops, [0.05]))
    assert not perc.percolating
    assert perc.barrier_eV is None
    assert "no infinite network" in perc.message
    assert not percolation(host, []).percolating
