"""CHGNet computes only what ASE asks for during MD, with unchanged results."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.engines.ase_segment import lean_calculator
from ionflow.structures.prototypes import build_prototype

pytestmark = pytest.mark.mlff


@pytest.fixture(scope="module")
def atoms_pair():
    chgnet = pytest.importorskip("chgnet.model.dynamics")
    cell = build_prototype("Li3OCl")
    cell.make_supercell([2, 2, 2])
    cell.remove_sites([0, len(cell) - 1])  # one Li and one Cl: a Schottky pair
    atoms = AseAtomsAdaptor.get_atoms(cell)
    atoms.positions += np.random.default_rng(0).normal(0.0, 0.05, atoms.positions.shape)
    full, lean = atoms.copy(), atoms.copy()
    full.calc = chgnet.CHGNetCalculator(use_device="cpu")
    lean.calc = lean_calculator(chgnet.CHGNetCalculator(use_device="cpu"))
    return full, lean


def test_forces_identical_and_stress_skipped(atoms_pair):
    full, lean = atoms_pair
    np.testing.assert_array_equal(lean.get_forces(), full.get_forces())
    assert lean.get_potential_energy() == full.get_potential_energy()
    assert "stress" not in lean.calc.results  # forces-only task ("ef")
    assert "stress" in full.calc.results


def test_stress_on_request(atoms_pair):
    full, lean = atoms_pair
    np.testing.assert_allclose(lean.get_stress(), full.get_stress(), atol=1e-12)
    assert lean.get_stress().shape == (6,)
    assert np.abs(lean.get_stress()).max() > 0.0


def test_other_calculators_untouched():
    from ase.calculators.lj import LennardJones

    calc = LennardJones()
    assert lean_calculator(calc) is calc
    assert not hasattr(calc, "_ionflow_lean")
