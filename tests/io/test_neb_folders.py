"""NEB folder readers: pymatgen NEBAnalysis on real VASP output, CP2K BAND output checked
against ASE's Lennard-Jones calculator, the bad-input paths and ``ionflow analyze neb``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ionflow.analysis.neb import neb_doc_from_raw, reaction_coordinate, spline_profile
from ionflow.errors import InputError
from ionflow.io.neb_folders import read_cp2k_band, read_neb_dir, read_vasp_neb

DATA = Path(__file__).resolve().parents[1] / "data" / "neb"


@pytest.fixture
def si_neb(shared_dir):
    root = shared_dir / "data" / "neb" / "atomate2_si_vacancy_neb"
    return (
        root / "NEB" / "outputs",
        (root / "relax_endpoint_1" / "outputs", root / "relax_endpoint_2" / "outputs"),
    )


# ---------------------------------------------------------------- VASP vs pymatgen


def test_vasp_reader_matches_pymatgen_nebanalysis(si_neb):
    from pymatgen.analysis.transition_state import NEBAnalysis

    root, ends = si_neb
    ref = NEBAnalysis.from_dir(root, relaxation_dirs=ends)
    raw = read_vasp_neb(root, ends)
    assert np.allclose(raw.energies_eV, ref.energies, atol=1e-10)
    assert np.allclose(raw.tangential_forces_eV_A, ref.forces, atol=1e-10)
    assert np.allclose(reaction_coordinate(raw.images), ref.r, atol=1e-8)
    doc = neb_doc_from_raw(raw, label="si")
    assert doc.converged
    assert doc.method == "CI-NEB"
    assert doc.n_images == 3
    assert doc.climbing_image == 2
    assert doc.barrier_forward_eV == pytest.approx(ref.relative_energies.max(), abs=1e-10)
    assert doc.barrier_backward_eV == pytest.approx(
        ref.energies.max() - ref.energies[-1], abs=1e-10
    )
    # without tangential forces our spline is pymatgen's (clamped cubic spline)
    xs, ys = spline_profile(ref.r, ref.relative_energies, None, n_points=2001)
    assert np.allclose(ys, ref.spline(xs), atol=1e-12)
    # INCAR EDIFFG = -0.02 is the criterion; the last "FORCES: max atom" is below it
    assert doc.fmax_eV_A == pytest.approx(0.02)
    assert 0 < doc.max_force_eV_A < 0.02


def test_vasp_missing_image_folder(si_neb, tmp_path):
    root, ends = si_neb
    copy = tmp_path / "neb"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "02")
    with pytest.raises(InputError, match=r"missing image folder.*02"):
        read_vasp_neb(copy, ends)


def test_vasp_missing_outcar_and_endpoint_energies(si_neb, tmp_path, shared_dir):
    root, ends = si_neb
    copy = tmp_path / "neb"
    shutil.copytree(root, copy)
    (copy / "03" / "OUTCAR.gz").unlink()
    with pytest.raises(InputError, match="03: no OUTCAR"):
        read_vasp_neb(copy, ends)
    with pytest.raises(InputError, match="no endpoint energy"):
        read_vasp_neb(root)
    with pytest.raises(InputError, match="no endpoint energy"):
        read_vasp_neb(shared_dir / "data" / "neb" / "aiida_vasp_nh3_neb")


# ---------------------------------------------------------------- CP2K


def test_cp2k_band_reader_against_ase_lennard_jones():
    from ase.calculators.lj import LennardJones
    from pymatgen.io.ase import AseAtomsAdaptor

    raw = read_neb_dir(DATA / "cp2k_lj_band")
    assert raw.source == "cp2k-band-output"  # read from files: the format; an engine names itself
    assert raw.climb is True
    assert len(raw.images) == 5
    calc = LennardJones(sigma=3.4, epsilon=0.0104, rc=5.2)
    ase_energies = []
    for image in raw.images:
        atoms = AseAtomsAdaptor.get_atoms(image)
        atoms.calc = calc
        ase_energies.append(atoms.get_potential_energy())
    rel_ase = np.array(ase_energies) - ase_energies[0]
    rel_cp2k = raw.energies_eV - raw.energies_eV[0]
    assert np.allclose(rel_cp2k, rel_ase, atol=2e-5)
    # converged: the last convergence table says YES to everything
    assert raw.converged
    assert raw.max_force_eV_A <= raw.fmax_eV_A
    doc = neb_doc_from_raw(raw, label="lj")
    assert doc.converged
    # the hop is symmetric: both barriers agree
    assert doc.barrier_forward_eV == pytest.approx(doc.barrier_backward_eV, abs=1e-6)
    assert doc.barrier_forward_eV == pytest.approx(rel_ase.max(), abs=2e-5)


def test_cp2k_reader_errors(tmp_path):
    with pytest.raises(InputError, match="neither VASP image folders"):
        read_neb_dir(tmp_path)
    copy = tmp_path / "band"
    shutil.copytree(DATA / "cp2k_lj_band", copy)
    (copy / "ionflow-pos-Replica_nr_3-1.xyz.gz").unlink()
    with pytest.raises(InputError, match=r"missing replica trajectories \[3\]"):
        read_cp2k_band(copy)


# ---------------------------------------------------------------- CLI


def test_cli_analyze_neb_json(si_neb, capsys):
    from ionflow.cli.main import main

    root, ends = si_neb
    assert (
        main(["analyze", "neb", str(root), "--endpoints", str(ends[0]), str(ends[1]), "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    for key in (
        "barrier_forward_eV",
        "barrier_backward_eV",
        "energies_eV",
        "n_images",
        "climbing_image",
    ):
        assert key in out
    assert out["energies_eV"][0] == 0.0
    assert out["n_images"] == 3
    assert out["climbing_image"] == 2


def test_cli_analyze_neb_errors(si_neb, capsys, tmp_path):
    from ionflow.cli.main import main

    root, _ = si_neb
    assert main(["analyze", "neb", str(root)]) == 2
    assert "--endpoints" in capsys.readouterr().err
    assert main(["analyze", "neb", str(tmp_path / "nope")]) == 2
    # an impossible criterion: reported unconverged with its max force, barrier null
    plot = tmp_path / "p.png"
    assert (
        main(
            [
                "analyze",
                "neb",
                str(DATA / "cp2k_lj_band"),
                "--fmax",
                "1e-4",
                "--json",
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["converged"] is False
    assert out["barrier_forward_eV"] is None
    assert out["max_force_eV_A"] > 1e-4
    assert plot.stat().st_size > 1000
