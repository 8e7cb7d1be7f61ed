"""One calculator per model and process; flat NEB bands and identical endpoints refused."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.engines.mlip import MlipEngine
from ionflow.engines.mlip.calculators import (
    SharedForceFieldRelaxMaker,
    calculator_copy,
    clear_shared_calculators,
    shared_calculator,
)
from ionflow.engines.mlip.neb import refuse_flat_band
from ionflow.errors import ConfigError, InputError
from ionflow.makers.neb import prepare_path_result
from ionflow.schemas.neb import NebDoc

LJ = {"@module": "ase.calculators.lj", "@callable": "LennardJones"}


def test_relax_makers_share_one_calculator():
    clear_shared_calculators()
    a = SharedForceFieldRelaxMaker(force_field_name=LJ, calculator_kwargs={"sigma": 2.0})
    b = SharedForceFieldRelaxMaker(force_field_name=LJ, calculator_kwargs={"sigma": 2.0})
    c = SharedForceFieldRelaxMaker(force_field_name=LJ, calculator_kwargs={"sigma": 2.5})
    assert a.calculator is b.calculator  # loaded once for both jobs
    assert a.calculator is not c.calculator  # other settings, other calculator
    assert shared_calculator(a) is a.calculator
    copy = calculator_copy(a.calculator)
    assert copy is not a.calculator
    assert copy.parameters == a.calculator.parameters
    assert copy.results == {}


def test_missing_chgnet_fails_at_once(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "chgnet" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'ionflow\[mlff\]'"):
        MlipEngine()
    MlipEngine(model="ase.calculators.lj.LennardJones")  # no package check for others


def _band(energies: list[float]) -> NebDoc:
    n = len(energies)
    return NebDoc(
        label="hop",
        source="mlip",
        method="CI-NEB",
        n_images=n - 2,
        energies_eV=energies,
        relative_energies_eV=[e - energies[0] for e in energies],
        reaction_coordinate_A=list(np.linspace(0, 3, n)),
        converged=True,
        barrier_forward_eV=max(energies) - energies[0],
        barrier_backward_eV=max(energies) - energies[-1],
        message="converged",
    )


def test_flat_band_has_no_barrier():
    flat = refuse_flat_band(_band([-10.0, -9.999, -9.998, -10.0]))
    assert not flat.converged
    assert flat.barrier_forward_eV is None
    assert "no saddle point" in flat.message
    assert "span 2.0 meV" in flat.message
    # monotonic: the highest image is an endpoint (the LaCl3 channel's 0.073 / 0.000 eV)
    rising = refuse_flat_band(_band([-10.0, -9.98, -9.95, -9.927]))
    assert not rising.converged
    real = _band([-10.0, -9.8, -9.7, -9.8, -10.0])
    assert refuse_flat_band(real) is real


def test_identical_endpoints_are_no_hop():
    cell = Structure(Lattice.cubic(6.0), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    moved = cell.copy()
    moved.translate_sites([0], [0.01, 0, 0])  # 0.06 Å: the same configuration
    with pytest.raises(InputError, match="same configuration"):
        prepare_path_result(cell, moved, 3, "linear")
    hop = cell.copy()
    hop.translate_sites([0], [0.25, 0, 0])
    assert len(prepare_path_result(cell, hop, 3, "linear").images) == 5
