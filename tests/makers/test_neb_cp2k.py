"""CP2K CI-NEB maker: input writing, a real BAND run through jobflow + custodian.

The fast real run uses a Lennard-Jones argon FORCE_EVAL (FIST) so the whole CP2K path
(input, custodian, BAND outputs, parser) is exercised in seconds; its energies are checked
against ASE's LennardJones on the parsed images. The DFT run (cheap settings, tiny cell,
one band step) is marked slow.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from ionflow.engines.cp2k.neb import EV_A2_TO_AU, EV_A_TO_AU, Cp2kNebMaker, write_band_inputs
from ionflow.testing.md import memory_job_store

LJ_FIST = """  METHOD FIST
  &MM
    &FORCEFIELD
      &NONBONDED
        &LENNARD-JONES
          ATOMS Ar Ar
          EPSILON [eV] 0.0104
          SIGMA 3.4
          RCUT 5.2
        &END LENNARD-JONES
      &END NONBONDED
      &CHARGE
        ATOM Ar
        CHARGE 0.0
      &END CHARGE
    &END FORCEFIELD
    &POISSON
      &EWALD
        EWALD_TYPE NONE
      &END EWALD
    &END POISSON
  &END MM"""


@pytest.fixture(scope="module")
def argon_band():
    from ionflow.makers.neb import prepare_path_result
    from ionflow.structures.hops import enumerate_hops

    host = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.26), ["Ar"], [[0, 0, 0]]) * 2
    hop = enumerate_hops(host, species="Ar", cutoff_A=4.0)[0]
    return hop, prepare_path_result(hop.initial, hop.final, 3, "linear").images


def test_band_input_is_valid_cp2k_input(tmp_path):
    from pymatgen.io.cp2k.inputs import Cp2kInput

    from ionflow.structures.hops import enumerate_hops
    from ionflow.structures.neb_path import interpolate_images
    from ionflow.structures.prototypes import build_prototype

    hop = enumerate_hops(build_prototype("Li3OCl"), cutoff_A=3.0)[0]
    images, _ = interpolate_images(hop.initial, hop.final, 2, method="linear")
    path = write_band_inputs(images, tmp_path, charge=-1, fmax_eV_A=0.05, spring_constant_eV_A2=5)
    ci = Cp2kInput.from_file(path)
    band = ci["MOTION"]["BAND"]
    assert band["BAND_TYPE"].values[0] == "CI-NEB"
    assert band["NUMBER_OF_REPLICA"].values[0] == 4
    assert band["K_SPRING"].values[0] == pytest.approx(5 * EV_A2_TO_AU, rel=1e-5)
    conv = band["CONVERGENCE_CONTROL"]
    assert conv["MAX_FORCE"].values[0] == pytest.approx(0.05 * EV_A_TO_AU, rel=1e-5)
    assert ci["FORCE_EVAL"]["DFT"]["CHARGE"].values[0] == -1
    text = path.read_text()
    assert text.count("&REPLICA\n") == 4
    assert "GTH-PBE-q3" in text
    assert "SZV-MOLOPT-SR-GTH" in text
    # replicas are continuous: the moving Li crosses the cell face without a 3.9 Å jump
    frames = [
        np.loadtxt(tmp_path / f"replica_{k}.xyz", skiprows=2, usecols=(1, 2, 3))
        for k in range(1, 5)
    ]
    steps = [np.linalg.norm(b - a, axis=1).max() for a, b in itertools.pairwise(frames)]
    assert max(steps) == pytest.approx(hop.length_A / 3, rel=1e-6)


@pytest.mark.cp2k
def test_cp2k_lj_band_through_jobflow(argon_band, tmp_path):
    from ase.calculators.lj import LennardJones
    from pymatgen.io.ase import AseAtomsAdaptor

    hop, images = argon_band
    maker = Cp2kNebMaker(method_input=LJ_FIST, fmax_eV_A=0.02, max_steps=50)
    job = maker.make(images, label=hop.label, hop=hop)
    store = memory_job_store()
    responses = run_locally(job, store=store, create_folders=True, root_dir=tmp_path, log=False)
    doc = responses[job.uuid][1].output
    assert doc.source == "cp2k"
    assert doc.method == "CI-NEB"
    assert doc.n_images == 3
    assert doc.converged
    assert doc.max_force_eV_A <= 0.02
    calc = LennardJones(sigma=3.4, epsilon=0.0104, rc=5.2)
    ase = []
    for image in doc.images:
        atoms = AseAtomsAdaptor.get_atoms(image)
        atoms.calc = calc
        ase.append(atoms.get_potential_energy())
    assert np.allclose(doc.relative_energies_eV, np.array(ase) - ase[0], atol=2e-5)
    assert doc.barrier_forward_eV == pytest.approx(doc.barrier_backward_eV, abs=1e-6)
    assert doc.barrier_forward_eV > 0.03
    assert doc.hop.label == "V_Ar hop 1"


@pytest.mark.cp2k
@pytest.mark.slow
def test_cp2k_dft_band_tiny_cell_runs_and_parses(tmp_path):
    """Cheap DFT (SZV-MOLOPT-SR, 200 Ry, RKS, Gamma) on Li3OCl with one Li removed
    (4 atoms, charge -1), one intermediate image, one band step: completes and is parsed,
    reported unconverged with its max force, never as a barrier."""
    from ionflow.makers.neb import prepare_path_result
    from ionflow.structures.hops import enumerate_hops
    from ionflow.structures.prototypes import build_prototype

    hop = enumerate_hops(build_prototype("Li3OCl"), cutoff_A=3.0)[0]
    path = prepare_path_result(hop.initial, hop.final, 1, "idpp")
    maker = Cp2kNebMaker(charge=-1, cutoff_Ry=200, max_steps=1, max_scf=40)
    doc = maker.run(path.images, tmp_path, label=hop.label, hop=hop)
    assert doc.source == "cp2k"
    assert doc.n_images == 1
    assert len(doc.energies_eV) == 3
    assert all(np.isfinite(doc.energies_eV))
    assert doc.energies_eV[0] == pytest.approx(doc.energies_eV[2], abs=1e-3)  # equivalent ends
    assert not doc.converged
    assert doc.barrier_forward_eV is None
    assert doc.max_force_eV_A > doc.fmax_eV_A
    assert (tmp_path / "custodian.json").exists()
