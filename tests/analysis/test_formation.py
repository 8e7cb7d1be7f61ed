"""Formation/binding energies, chemical potentials and point charges on hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.analysis.formation import (
    COULOMB_EV_A,
    binding_energy,
    chemical_potentials,
    formation_energy,
    formation_not_determined,
    lower_envelope_max,
    point_charge_correction,
    screened_coulomb_energy,
)
from ionflow.errors import InputError

#: Madelung constant of a point charge in a simple-cubic lattice with a uniform background
#: (Makov & Payne 1995, alpha = 2.8373)
ALPHA_SC = 2.837297


def test_formation_energy_bookkeeping():
    # Schottky V_Li + V_Cl: E_f = E_d - E_h + mu_Li + mu_Cl
    e_f = formation_energy(-95.0, -100.0, {"Li": -1, "Cl": -1}, {"Li": -2.0, "Cl": -1.5})
    assert e_f == pytest.approx(-95.0 + 100.0 - 2.0 - 1.5)
    # Li_i + O_Cl: adds Li and O, removes Cl
    e_f = formation_energy(
        -110.0, -100.0, {"Li": 1, "O": 1, "Cl": -1}, {"Li": -2.0, "O": -5.0, "Cl": -1.5}
    )
    assert e_f == pytest.approx(-10.0 + 2.0 + 5.0 - 1.5)
    # charged: + q (E_F + E_VBM) + correction
    e_f = formation_energy(
        -98.0,
        -100.0,
        {"Li": -1},
        {"Li": -2.0},
        charge=-1,
        fermi_level_eV=0.5,
        vbm_eV=3.0,
        correction_eV=0.2,
    )
    assert e_f == pytest.approx(2.0 - 2.0 - 3.5 + 0.2)


def test_formation_energy_bad_input():
    with pytest.raises(InputError, match="missing chemical potential for S"):
        formation_energy(-1.0, -2.0, {"S": 1, "O": -1}, {"O": -5.0})
    with pytest.raises(InputError, match="VBM"):
        formation_energy(-1.0, -2.0, {"Li": -1}, {"Li": -2.0}, charge=-1)
    with pytest.raises(InputError, match="nan"):
        formation_energy(float("nan"), -2.0, {}, {})


def test_binding_energy_and_coulomb():
    assert binding_energy(1.4, [0.9, 0.8]) == pytest.approx(-0.3)
    with pytest.raises(InputError):
        binding_energy(1.0, [])
    e = screened_coulomb_energy([-1, 1], [[0, 0, 0], [2.0, 0, 0]], 10.0)
    assert e == pytest.approx(-COULOMB_EV_A / 20.0)
    # three charges: V_La''' + 3 Li_i^• on a line at 1 Å spacing, eps = 1
    e = screened_coulomb_energy([-3, 1, 1, 1], [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 2, 0]], 1)
    pairs = -3 / 1 - 3 / 1 - 3 / 2 + 1 / 2 + 1 / np.sqrt(5) + 1 / np.sqrt(5)
    assert e == pytest.approx(COULOMB_EV_A * pairs)
    # minimum image: 9 Å apart in a 10 Å box is 1 Å apart
    lat = Lattice.cubic(10.0)
    e = screened_coulomb_energy([1, 1], [[0.5, 0, 0], [9.5, 0, 0]], 2.0, lattice=lat)
    assert e == pytest.approx(COULOMB_EV_A / 2.0)


@pytest.mark.parametrize(("length_A", "charge", "eps"), [(5.0, 1, 1.0), (10.0, -2, 8.0)])
def test_point_charge_correction_is_madelung(length_A, charge, eps):
    corr = point_charge_correction(Lattice.cubic(length_A), charge, eps)
    assert corr == pytest.approx(charge**2 * ALPHA_SC * COULOMB_EV_A / (2 * eps * length_A))
    assert point_charge_correction(Lattice.cubic(length_A), 0, eps) == 0.0


def _entries(e_licl: float = -4.0) -> list[ComputedEntry]:
    # Li-Cl(-S) system; elements at -1 eV/atom (Li, Cl) and -3 eV/atom (S)
    return [
        ComputedEntry("Li", -1.0),
        ComputedEntry("Cl2", -2.0),
        ComputedEntry("LiCl", e_licl),
        ComputedEntry("Li2Cl", -5.3),
        ComputedEntry("S", -3.0),
        ComputedEntry("Li2S", -6.5),
    ]


def test_chemical_potentials_two_vertices():
    entries = _entries()
    rich = chemical_potentials(entries, "LiCl", "Li-rich")
    # Li-rich vertex LiCl-Li2Cl: mu_Li + mu_Cl = -4, 2 mu_Li + mu_Cl = -5.3
    assert rich.mu_eV["Li"] == pytest.approx(-1.3)
    assert rich.mu_eV["Cl"] == pytest.approx(-2.7)
    assert set(rich.competing_phases) == {"LiCl", "Li2Cl"}
    # Li-poor vertex LiCl-Cl2: mu_Cl = -1, mu_Li = -3
    poor = chemical_potentials(entries, "LiCl", "Li-poor")
    assert poor.mu_eV == pytest.approx({"Li": -3.0, "Cl": -1.0})
    assert poor.mu_relative_eV == pytest.approx({"Li": -2.0, "Cl": 0.0})
    assert poor.host_e_above_hull_eV_atom == 0.0
    assert chemical_potentials(entries, "LiCl", "Cl-rich").mu_eV == poor.mu_eV
    # extrinsic S limited by Li2S at the Li-rich vertex: -6.5 - 2 (-1.3) = -3.9 < -3 (S)
    doped = chemical_potentials(entries, "LiCl", "Li-rich", extrinsic=["S"])
    assert doped.mu_eV["S"] == pytest.approx(-3.9)
    assert "Li2S" in doped.competing_phases
    # at the Li-poor vertex Li2S would need mu_S = -0.5 > -3: elemental S limits
    assert chemical_potentials(entries, "LiCl", "Li-poor", extrinsic=["S"]).mu_eV[
        "S"
    ] == pytest.approx(-3.0)


def test_chemical_potentials_host_above_hull():
    # LiCl at -2.0 eV/f.u. lies above the Li2Cl-Cl2 tie line
    mus = chemical_potentials(_entries(e_licl=-2.0), "LiCl", "Li-poor")
    # formation energies per atom: Li2Cl -0.7667 at x_Cl = 1/3, Cl2 0 at x = 1
    hull_form = (-2.3 / 3) * (1 - 0.5) / (1 - 1 / 3)
    assert mus.host_e_above_hull_eV_atom == pytest.approx(0.0 - hull_form)
    # the host is placed (1e-4 eV/atom) below the hull; Li-poor vertex: mu_Cl = -1
    assert mus.mu_eV["Cl"] == pytest.approx(-1.0)
    assert mus.mu_eV["Li"] + mus.mu_eV["Cl"] == pytest.approx(2 * (-1.0 + hull_form - 1e-4))


def test_chemical_potentials_errors():
    entries = _entries()
    with pytest.raises(InputError, match="no elemental S"):
        chemical_potentials(entries[:4], "LiCl", "Li-rich", extrinsic=["S"])
    with pytest.raises(InputError, match="no LiBr entry"):
        chemical_potentials([*entries, ComputedEntry("Br", 0.0)], "LiBr", "Li-rich")
    with pytest.raises(InputError, match="unknown chemical-potential condition"):
        chemical_potentials(entries, "LiCl", "reducing")


def test_lower_envelope_max_hand_computed():
    # q = +1 from -1.0 at the VBM, q = -1 from 0.5: they cross at E_F = 0.75 eV at -0.25 eV
    lines = [(1, -1.0), (-1, 0.5)]
    assert lower_envelope_max(lines, 2.0) == pytest.approx(-0.25)
    # a gap ending before the crossing: the envelope is q = +1 up to the CBM
    assert lower_envelope_max(lines, 0.5) == pytest.approx(-0.5)
    assert lower_envelope_max([(0, 1.2)], 0.0) == pytest.approx(1.2)
    with pytest.raises(InputError, match="no formation energies"):
        lower_envelope_max([], 1.0)


def test_negative_formation_energies_not_determined():
    # a neutral cell below 0: its E_f does not depend on E_F, so negative everywhere
    why = formation_not_determined([(0, -0.681)], None)
    assert why.startswith("E_f = -0.681 eV < 0 for the neutral cell: the host would be unstable")
    assert "neutral machine-learned-potential cell of a charged defect" in why
    assert formation_not_determined([(0, 0.2)], None) is None
    # zero within numerical noise (1e-15 eV, or the library's 1 meV bulk shift) is a result
    assert formation_not_determined([(0, -1e-15)], None) is None
    assert formation_not_determined([(0, -0.9e-3)], None) is None
    assert formation_not_determined([(0, -1.1e-3)], None).startswith("E_f = -0.001 eV")
    # a donor below 0 at the VBM but positive above E_F = 0.5 eV: a result
    assert formation_not_determined([(1, -0.5)], 3.0) is None
    # ... and without a band gap a charged state is not judged
    assert formation_not_determined([(1, -0.5)], None) is None
    # below 0 across the whole gap: +1 and -1 cross at -0.25 eV (see above)
    why = formation_not_determined([(1, -1.0), (-1, 0.5)], 2.0)
    assert why.startswith("E_f < 0 at every Fermi level in the 2.000 eV gap (at most -0.250 eV)")
    # -1 from 1.5 eV instead: the lines cross at E_F = 1.25 eV at +0.25 eV, a result
    assert lower_envelope_max([(1, -1.0), (-1, 1.5)], 2.0) == pytest.approx(0.25)
    assert formation_not_determined([(1, -1.0), (-1, 1.5)], 2.0) is None
    # a negative neutral state decides even when charged states are positive at the VBM
    assert formation_not_determined([(1, 2.0), (0, -0.1)], 3.0).startswith("E_f = -0.100 eV")
