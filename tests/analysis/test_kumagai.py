"""Kumagai (eFNV) correction (analysis layer): analytic cases, bad input, which method.

A simple-cubic cell (L = 10 Å) with one substituted site: the point-charge term is the
first-order Makov-Payne term ``q² α_M / (2 ε L)`` (α_M = 2.8373), and a rigid shift c of
the defect cell's OUTCAR site potentials adds ``q c`` to the alignment term.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.defect_runs import CORRECTIONS, choose_correction
from ionflow.analysis.formation import point_charge_correction
from ionflow.analysis.kumagai import kumagai_correction
from ionflow.errors import InputError

L_A = 10.0
NO_FILES = "none: no LOCPOT or OUTCAR site potentials"
NO_OUTCAR = "none: no OUTCAR site potentials"


def _cells():
    frac = np.stack(np.meshgrid(*[np.arange(4) / 4] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    bulk = Structure(Lattice.cubic(L_A), ["Na"] * len(frac), frac)
    defect = bulk.copy()
    defect.replace(0, "Mg")
    return bulk, defect


@pytest.mark.parametrize(("q", "eps"), [(1, 1.0), (-2, 5.0)])
def test_point_charge_term_is_makov_payne_and_a_shift_enters_the_alignment(q, eps):
    bulk, defect = _cells()
    host = np.full(len(bulk), -30.0)
    r0 = kumagai_correction(defect, bulk, host, host, q, eps)
    mp = point_charge_correction(bulk.lattice, q, eps)
    assert mp == pytest.approx(2.8373 * q**2 * 14.399645 / (2 * eps * L_A), rel=1e-4)
    assert r0.point_charge_eV == pytest.approx(mp, rel=1e-4)
    assert r0.correction_eV == pytest.approx(r0.point_charge_eV + r0.alignment_eV, abs=1e-12)
    assert 0 < r0.sampled_sites < len(bulk)
    assert r0.defect_region_radius_A == pytest.approx(L_A / 2, rel=1e-6)  # half the face distance
    # OUTCAR potentials of the defect cell higher by c: alignment + q c (the library negates)
    shifted = kumagai_correction(defect, bulk, host + 0.1, host, q, eps)
    assert shifted.point_charge_eV == pytest.approx(r0.point_charge_eV, abs=1e-12)
    assert shifted.alignment_eV - r0.alignment_eV == pytest.approx(q * 0.1, abs=1e-9)
    # ε as three equal diagonal values or a tensor: the same
    same = kumagai_correction(defect, bulk, host, host, q, [eps] * 3)
    assert same.correction_eV == pytest.approx(r0.correction_eV, abs=1e-9)


def test_neutral_is_zero_and_bad_inputs_name_the_problem():
    bulk, defect = _cells()
    host = np.full(len(bulk), -30.0)
    r = kumagai_correction(defect, bulk, host + 0.3, host, 0, 5.0)
    assert (r.correction_eV, r.point_charge_eV, r.alignment_eV) == (0.0, 0.0, 0.0)
    with pytest.raises(InputError, match="63 OUTCAR site potentials for 64 atoms"):
        kumagai_correction(defect, bulk, host[:-1], host, 1, 5.0)
    with pytest.raises(InputError, match="NaN/inf"):
        kumagai_correction(defect, bulk, host * np.nan, host, 1, 5.0)
    strained = defect.copy()
    strained.scale_lattice(defect.volume * 1.01)
    with pytest.raises(InputError, match="exact lattice"):
        kumagai_correction(strained, bulk, host, host, 1, 5.0)
    with pytest.raises(InputError, match="must be positive"):
        kumagai_correction(defect, bulk, host, host, 1, -3.0)


@pytest.mark.parametrize(
    ("requested", "charge", "locpot", "sites", "eps", "method"),
    [
        ("auto", 0, (True, True), (True, True), True, "none: neutral"),
        ("auto", 1, (True, True), (True, True), True, "freysoldt"),
        ("auto", 1, (False, True), (True, True), True, "kumagai"),
        ("auto", 1, (True, False), (True, True), True, "kumagai"),
        ("auto", -1, (False, False), (False, False), True, NO_FILES),
        ("auto", -1, (False, False), (True, False), True, NO_FILES + " of the bulk"),
        ("auto", 1, (False, False), (True, True), False, "none: no dielectric constant"),
        ("freysoldt", 1, (False, False), (True, True), True, "none: no LOCPOT"),
        ("freysoldt", 1, (True, False), (True, True), True, "none: no LOCPOT of the bulk"),
        ("freysoldt", 1, (True, True), (False, False), False, "none: no dielectric constant"),
        ("kumagai", 1, (True, True), (True, True), True, "kumagai"),
        ("kumagai", 2, (True, True), (False, True), True, NO_OUTCAR),
        ("kumagai", 2, (True, True), (True, False), True, NO_OUTCAR + " of the bulk"),
        ("none", 1, (True, True), (True, True), True, "none: not requested"),
    ],
)  # fmt: skip
def test_choose_correction(requested, charge, locpot, sites, eps, method):
    assert requested in CORRECTIONS
    got = choose_correction(
        requested, charge, has_locpot=locpot, has_site_potentials=sites, dielectric_known=eps
    )
    assert got == method


def test_choose_correction_refuses_an_unknown_method():
    with pytest.raises(InputError, match="choose one of auto, freysoldt, kumagai, none"):
        choose_correction(
            "fnv", 1, has_locpot=(True, True), has_site_potentials=(True, True),
            dielectric_known=True,
        )  # fmt: skip
