"""Freysoldt correction on an analytic model: a Gaussian charge in a cubic cell.

The defect cell's planar-averaged potential is the host's plus the exact potential of a
Gaussian charge (width 1 bohr, the default model charge) with a neutralising background,
built by a 3D FFT on a 40³ grid (``ionflow.testing.charged_cells``) and averaged over
planes, with zero mean as in a DFT LOCPOT. Then:

- the electrostatic term equals the first-order Makov-Payne term (Ewald energy of a point
  charge) of :func:`point_charge_correction`: the charge is narrow against the cell;
- the alignment is the G = 0 term that the model potential carries and a zero-mean DFT
  potential does not, ``-q² π β² / (ε Ω)`` (Hartree atomic units): 0.6 % of the total;
  a rigid shift ΔV of the defect potential adds ``q ΔV``;
- the correction scales as q² and 1/ε.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice

from ionflow.analysis.formation import point_charge_correction
from ionflow.analysis.freysoldt import freysoldt_correction
from ionflow.errors import InputError
from ionflow.testing.charged_cells import BOHR_A, HARTREE_EV, gaussian_charge_potential, planar

N = 40


def gaussian_model_potential(lattice, q, eps, frac0):
    return dict(enumerate(planar(gaussian_charge_potential(lattice, q, eps, frac0, (N, N, N)))))


def host_potential():
    x = np.linspace(0, 2 * np.pi, N, endpoint=False)
    return {i: 3.0 * np.cos((i + 1) * x) - 1.5 for i in range(3)}


def g0_alignment(lattice, q, eps, beta_bohr=1.0):
    return -(q**2) * np.pi * beta_bohr**2 / (eps * lattice.volume / BOHR_A**3) * HARTREE_EV


@pytest.mark.parametrize(
    ("q", "eps", "frac"),
    [(1, 1.0, (0.0, 0.0, 0.0)), (-1, 5.0, (0.3, 0.4, 0.55)), (2, 5.0, (0.5, 0.5, 0.5))],
)
def test_gaussian_charge_matches_makov_payne(q, eps, frac):
    lattice = Lattice.cubic(10.0)
    host = host_potential()
    model = gaussian_model_potential(lattice, q, eps, frac)
    defect = {i: host[i] + model[i] for i in range(3)}
    r = freysoldt_correction(defect, host, lattice, q, eps, frac)
    mp = point_charge_correction(lattice, q, eps)
    assert mp == pytest.approx(2.8373 * q**2 * 14.399645 / (2 * eps * 10.0), rel=1e-4)
    assert r.electrostatic_eV == pytest.approx(mp, rel=0.01)
    # 0.1 %: pymatgen-analysis-defects builds its model potential with rounded constants
    assert r.alignment_eV == pytest.approx(g0_alignment(lattice, q, eps), rel=2e-3)
    assert abs(r.alignment_eV) < 0.01 * r.electrostatic_eV
    assert r.correction_eV == pytest.approx(r.electrostatic_eV + r.alignment_eV, abs=1e-9)
    assert np.allclose(r.alignment_per_axis_V, r.alignment_eV / q, atol=1e-9)


def test_scaling_with_charge_and_dielectric_constant():
    lattice = Lattice.cubic(12.0)
    frac = (0.25, 0.5, 0.75)
    host = host_potential()

    def corr(q, eps):
        model = gaussian_model_potential(lattice, q, eps, frac)
        return freysoldt_correction(
            {i: host[i] + model[i] for i in range(3)}, host, lattice, q, eps, frac
        )

    base = corr(1, 4.0)
    assert corr(2, 4.0).correction_eV == pytest.approx(4 * base.correction_eV, rel=1e-5)
    assert corr(-3, 4.0).electrostatic_eV == pytest.approx(9 * base.electrostatic_eV, rel=1e-5)
    assert corr(1, 8.0).correction_eV == pytest.approx(base.correction_eV / 2, rel=1e-5)
    assert corr(1, 8.0).alignment_eV == pytest.approx(base.alignment_eV / 2, rel=1e-4)


def test_rigid_potential_shift_enters_the_alignment():
    lattice = Lattice.cubic(10.0)
    host = host_potential()
    model = gaussian_model_potential(lattice, -2, 5.0, (0.5, 0.5, 0.5))
    shifted = {i: host[i] + model[i] + 0.1 for i in range(3)}
    r = freysoldt_correction(shifted, host, lattice, -2, 5.0, (0.5, 0.5, 0.5))
    assert r.alignment_eV == pytest.approx(g0_alignment(lattice, -2, 5.0) - 0.2, rel=1e-3)


def test_neutral_and_bad_inputs():
    lattice = Lattice.cubic(10.0)
    host = host_potential()
    r = freysoldt_correction(host, host, lattice, 0, 5.0, (0, 0, 0))
    assert (r.correction_eV, r.electrostatic_eV, r.alignment_eV) == (0.0, 0.0, 0.0)
    with pytest.raises(InputError, match="grids differ"):
        freysoldt_correction(
            {0: host[0][::2], 1: host[1], 2: host[2]}, host, lattice, 1, 5.0, (0, 0, 0)
        )
    with pytest.raises(InputError, match="must be positive"):
        freysoldt_correction(host, host, lattice, 1, -2.0, (0, 0, 0))
    bad = {0: host[0].copy(), 1: host[1], 2: host[2]}
    bad[0][3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        freysoldt_correction(bad, host, lattice, 1, 5.0, (0, 0, 0))
