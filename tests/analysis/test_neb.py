"""NEB analysis on analytic paths and the bad-input paths (the readers of real VASP and
CP2K output are tested in tests/io/test_neb_folders.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.neb import (
    analyze_profile,
    climbing_image_index,
    neb_forces,
    reaction_coordinate,
    spline_profile,
)
from ionflow.errors import InputError


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


def test_intermediate_minimum_is_reported():
    prof = analyze_profile(
        [0.0, -0.05, 0.4, 0.02, 0.0], [0, 1, 2, 3, 4], max_force_eV_A=0.01, fmax_eV_A=0.05
    )
    assert prof.converged
    assert prof.barrier_forward_eV == pytest.approx(0.4)
    assert "image 1 lies 0.050 eV below" in prof.message
    clean = analyze_profile([0.0, 0.2, 0.0], [0, 1, 2], max_force_eV_A=0.01, fmax_eV_A=0.05)
    assert clean.message == "converged"
