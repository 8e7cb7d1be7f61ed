"""CHGNet computes only what ASE asks for during MD, with unchanged results."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.engines.mlip.calculators import lean_calculator
from ionflow.structures.prototypes import build_prototype

pytestmark = pytest.mark.mlff


def _schottky_cell():
    """38-atom Li3OCl 2x2x2 cell without one Li and one Cl (a Schottky pair)."""
    cell = build_prototype("Li3OCl")
    cell.make_supercell([2, 2, 2])
    cell.remove_sites([0, len(cell) - 1])
    return cell


@pytest.fixture(scope="module")
def atoms_pair():
    chgnet = pytest.importorskip("chgnet.model.dynamics")
    atoms = AseAtomsAdaptor.get_atoms(_schottky_cell())
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


def test_md_segment_asks_for_stress_only_at_its_start(tmp_path, monkeypatch):
    """atomate2's trajectory observer must not add a full (stress) evaluation per frame."""
    chgnet = pytest.importorskip("chgnet.model.dynamics")
    from ionflow.engines.mlip import MlipEngine, calculators
    from ionflow.makers.md_segments import run_md_segment
    from ionflow.schemas.md import MDSegmentSpec

    tasks: list[str] = []
    original = chgnet.CHGNetCalculator.calculate

    def counting(self, atoms=None, properties=None, system_changes=None, task="efsm"):
        tasks.append(task)
        return original(self, atoms, properties, system_changes, task=task)

    monkeypatch.setattr(chgnet.CHGNetCalculator, "calculate", counting)
    monkeypatch.setattr(calculators, "_CALCULATORS", {})  # a calculator built with the counter
    cell = _schottky_cell()
    spec = MDSegmentSpec(
        temperature_K=800.0,
        phase="production",
        index=0,
        first_step=0,
        n_steps=8,
        time_step_fs=1.0,
        traj_interval=2,
        thermostat="nose-hoover",
        seed=3,
        checkpoint_dir=str(tmp_path / "seg"),
        checkpoint_every=2,
        formula=cell.composition.formula.replace(" ", ""),
    )
    maker = MlipEngine().md_maker(temperature_K=800.0, n_steps=8, time_step_fs=1.0)
    doc = run_md_segment(maker, spec, cell, "mlip", tmp_path)
    steps = [p["step"] for p in doc.trajectory.frame_properties]
    assert steps == [0, 2, 4, 6, 8]  # ionflow's own recorder still stores every frame
    # one forces-only evaluation per step plus the start; one full one for the start frame
    assert tasks.count("ef") == 9
    assert tasks.count("efsm") == 1
