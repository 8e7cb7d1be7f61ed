"""NEB analysis: analytic paths, pymatgen NEBAnalysis on real VASP output, CP2K BAND output
checked against ASE's Lennard-Jones calculator, and the bad-input paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.neb import (
    analyze_profile,
    climbing_image_index,
    neb_doc_from_raw,
    neb_forces,
    reaction_coordinate,
    spline_profile,
)
from ionflow.analysis.neb_readers import read_cp2k_band, read_neb_dir, read_vasp_neb
from ionflow.errors import InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "neb"


@pytest.fixture
def si_neb(shared_dir):
    root = shared_dir / "data" / "neb" / "atomate2_si_vacancy_neb"
    return (
        root / "NEB" / "outputs",
        (root / "relax_endpoint_1" / "outputs", root / "relax_endpoint_2" / "outputs"),
    )


def _line_path(xs, box=10.0):
    """Atom 0 at (x, 5, 5) in a cubic box, atom 1 fixed far away."""
    lat = Lattice.cubic(box)
    return [
        Structure(lat, ["Li", "Cl"], [[x, 5.0, 5.0], [5.0, 0.5, 0.5]], coords_are_cartesian=True)
        for x in xs
    ]


# ---------------------------------------------------------------- analytic


def test_reaction_coordinate_uses_minimum_image():
    # 0.9 -> 0.1 across the boundary is a 2 Å step, not 8 Å
    images = _line_path([9.0, 1.0, 3.0])
    assert np.allclose(reaction_coordinate(images), [0.0, 2.0, 4.0])


def test_neb_forces_on_a_cosine_barrier():
    # E(x) = A cos^2(pi (x - 5) / L) on a straight path; F_x = -dE/dx, plus a y force
    a_ev, length = 0.4, 4.0
    xs = np.linspace(3.0, 7.0, 7)  # equally spaced: springs cancel
    energy = a_ev * np.sin(np.pi * (xs - 3.0) / length) ** 2
    dedx = a_ev * np.pi / length * np.sin(2 * np.pi * (xs - 3.0) / length)
    forces = np.zeros((len(xs), 2, 3))
    forces[:, 0, 0] = -dedx
    forces[:, 0, 1] = 0.03  # perpendicular force the band must report
    images = _line_path(xs)
    nf = neb_forces(images, energy, forces, spring_constant_eV_A2=5.0, climb=True)
    assert np.allclose(nf.tangential_eV_A[1:-1], -dedx[1:-1])
    assert climbing_image_index(energy) == 3
    # CI image sits at the top (no tangential force): only the perpendicular 0.03 remains;
    # the others: perpendicular 0.03 only (tangential true force removed, springs zero)
    assert np.allclose(nf.per_image_max_eV_A[1:-1], 0.03)
    assert nf.max_force_eV_A == pytest.approx(0.03)


def test_climbing_image_inverts_tangential_force():
    xs = np.array([0.0, 1.0, 2.0, 3.0]) + 3.0
    energy = np.array([0.0, 0.2, 0.3, 0.0])
    forces = np.zeros((4, 2, 3))
    forces[2, 0, 0] = 0.1  # pushes the top image forward
    nf = neb_forces(_line_path(xs), energy, forces, climb=True)
    assert nf.tangential_eV_A[2] == pytest.approx(0.1)
    assert nf.per_image_max_eV_A[2] == pytest.approx(0.1)  # -F_par: same magnitude


def test_hermite_spline_reproduces_a_cubic():
    # E(r) = r^2 (3 - 2r): zero slope at both ends, so the clamped ends are exact too
    r = np.linspace(0.0, 1.0, 5)
    energy = r**2 * (3 - 2 * r)
    slope = 6 * r - 6 * r**2
    xs, ys = spline_profile(r, energy, -slope, n_points=101)
    assert np.allclose(ys, xs**2 * (3 - 2 * xs), atol=1e-12)


def test_unconverged_band_has_no_barrier():
    prof = analyze_profile(
        [0.0, 0.3, 0.1], [0.0, 1.0, 2.0], max_force_eV_A=0.2, fmax_eV_A=0.05, converged=None
    )
    assert not prof.converged
    assert prof.barrier_forward_eV is None
    assert prof.barrier_backward_eV is None
    assert "0.200" in prof.message
    # the code saying "converged" does not override a force above the criterion
    prof = analyze_profile(
        [0.0, 0.3, 0.1], [0.0, 1.0, 2.0], max_force_eV_A=0.2, fmax_eV_A=0.05, converged=True
    )
    assert not prof.converged
    ok = analyze_profile([0.0, 0.3, 0.1], [0.0, 1.0, 2.0], max_force_eV_A=0.01, fmax_eV_A=0.05)
    assert ok.converged
    assert ok.barrier_forward_eV == pytest.approx(0.3)
    assert ok.barrier_backward_eV == pytest.approx(0.2)
    assert ok.climbing_image == 1


@pytest.mark.parametrize(
    ("energies", "coords", "match"),
    [
        ([0.0, np.nan, 0.0], [0.0, 1.0, 2.0], "NaN"),
        ([0.0, 0.1], [0.0, 1.0], "at least 3"),
        ([0.0, 0.1, 0.0], [0.0, 1.0], "reaction-coordinate"),
    ],
)
def test_profile_rejects_bad_input(energies, coords, match):
    with pytest.raises(InputError, match=match):
        analyze_profile(energies, coords, max_force_eV_A=0.0, fmax_eV_A=0.05)


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
    assert raw.source == "cp2k"
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


def test_intermediate_minimum_is_reported():
    prof = analyze_profile(
        [0.0, -0.05, 0.4, 0.02, 0.0], [0, 1, 2, 3, 4], max_force_eV_A=0.01, fmax_eV_A=0.05
    )
    assert prof.converged
    assert prof.barrier_forward_eV == pytest.approx(0.4)
    assert "image 1 lies 0.050 eV below" in prof.message
    clean = analyze_profile([0.0, 0.2, 0.0], [0, 1, 2], max_force_eV_A=0.01, fmax_eV_A=0.05)
    assert clean.message == "converged"
