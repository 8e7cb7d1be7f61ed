"""Supercell choice: image distances checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.errors import InputError
from ionflow.structures.supercell import choose_supercell, min_image_distance


def _brute_min_image(lattice_matrix: np.ndarray, n: int = 3) -> float:
    ks = np.array([k for k in itertools.product(range(-n, n + 1), repeat=3) if any(k)])
    return float(np.linalg.norm(ks @ lattice_matrix, axis=1).min())


def _sc(a: float = 3.0) -> Structure:
    return Structure(Lattice.cubic(a), ["Po"], [[0, 0, 0]])


def test_min_image_distance_matches_brute_force():
    lat = Lattice.from_parameters(3.1, 4.7, 5.3, 71, 83, 101)
    assert min_image_distance(lat) == pytest.approx(_brute_min_image(lat.matrix, 4))


def test_explicit_matrix():
    choice = choose_supercell(_sc(), matrix=[2, 3, 4])
    assert choice.matrix == [[2, 0, 0], [0, 3, 0], [0, 0, 4]]
    assert choice.n_atoms == 24
    assert choice.min_image_distance_A == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("max_atoms", "expected_A"),
    [
        (2, 3.0 * np.sqrt(2)),  # fcc-like sublattice of index 2
        (4, 3.0 * np.sqrt(3)),  # bcc-like sublattice of index 4
        (8, 6.0),  # the 2x2x2 cube
    ],
)
def test_best_superlattice_of_simple_cubic(max_atoms, expected_A):
    choice = choose_supercell(_sc(), max_atoms=max_atoms)
    mat = np.array(choice.matrix)
    assert round(np.linalg.det(mat)) <= max_atoms
    assert choice.min_image_distance_A == pytest.approx(expected_A)
    assert choice.min_image_distance_A == pytest.approx(
        _brute_min_image(mat @ _sc().lattice.matrix)
    )
    assert len(choice.structure) == round(np.linalg.det(mat))


def test_min_distance_picks_smallest_cell():
    choice = choose_supercell(_sc(), min_image_distance_A=5.9, max_atoms=64)
    # index 4 reaches only 3√3 = 5.2 Å, so the 8-cell cube (6 Å) is the smallest
    assert choice.matrix == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    assert choice.min_image_distance_A == pytest.approx(6.0)


def test_budget_too_small():
    with pytest.raises(InputError, match="raise max_atoms"):
        choose_supercell(_sc(), min_image_distance_A=20.0, max_atoms=20)
    with pytest.raises(InputError, match="minimum image distance"):
        choose_supercell(_sc(), matrix=[1, 1, 1], min_image_distance_A=5.0)
