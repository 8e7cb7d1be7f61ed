"""Defect thermodynamics on a toy charged vacancy with hand-computed numbers.

Host LiCl (rock salt, 8 formula units = 16 atoms in the supercell): Li metal -2.0 eV/atom,
Cl2 -1.5 eV/atom, LiCl -8.0 eV per formula unit, so ΔH_f(LiCl) = -8 + 2 + 1.5 = -4.5 eV.
The two limits of the LiCl region: Li-rich (Δμ_Li = 0, Δμ_Cl = -4.5) and Cl-rich
(Δμ_Li = -4.5, Δμ_Cl = 0). E_bulk = -64 eV, VBM 1.0 eV, gap 3.0 eV.

V_Li (one Li removed, μ_Li = -2 + Δμ_Li):
- q = 0: E = -61.0 → E_f = -61 + 64 + (-2 + Δμ_Li) = 1.0 + Δμ_Li;
- q = -1: E = -59.3, correction +0.1 → E_f(VBM) = -59.3 + 0.1 + 64 - 2 + Δμ_Li - 1.0
  = 1.8 + Δμ_Li; the (0/-1) level is at E_F = 1.8 - 1.0 = 0.8 eV.

pymatgen-analysis-defects puts the bulk 1 meV (total, per supercell entry) below the hull,
which moves Δμ by 1e-3 / 8 eV per formula unit: tolerance 1e-3 eV.
"""

from __future__ import annotations

import math

import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.analysis.defect_thermo import (
    A3_TO_CM3,
    ChargedDefect,
    as_json_dict,
    defect_concentrations_cm3,
    defect_thermodynamics,
    equilibrium_fermi_level,
    equilibrium_not_determined,
)
from ionflow.errors import InputError

KB = 8.617333262e-5


def _bulk():
    cell = Structure(Lattice.cubic(5.64), ["Li", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return cell * (2, 2, 2)


def _entries():
    return [
        ComputedEntry("Li", -2.0),
        ComputedEntry("Cl2", -3.0),
        ComputedEntry("LiCl", -8.0),
    ]


def _vacancy(q, energy, corr=0.0):
    return ChargedDefect(
        name="V_Li",
        charge=q,
        energy_eV=energy,
        element_changes={"Li": -1},
        correction_eV=corr,
        correction_method="point_charge" if corr else "none: neutral",
        multiplicity=8,
    )


def test_charged_vacancy_hand_computed():
    bulk = _bulk()
    defects = [_vacancy(0, -61.0), _vacancy(-1, -59.3, 0.1)]
    thermo = defect_thermodynamics(-64.0, bulk, defects, _entries(), vbm_eV=1.0, band_gap_eV=3.0)
    assert set(thermo.chempot_limits) == {"Li", "Cl2"}  # named by the competing phase
    li_rich, cl_rich = thermo.chempot_limits["Li"], thermo.chempot_limits["Cl2"]
    assert li_rich["Li"] == pytest.approx(0.0, abs=1e-3)
    assert li_rich["Cl"] == pytest.approx(-4.5, abs=1e-3)
    assert cl_rich["Li"] == pytest.approx(-4.5, abs=1e-3)
    assert cl_rich["Cl"] == pytest.approx(0.0, abs=1e-3)
    e0, e1 = thermo.formation_at_vbm_eV[("V_Li", 0)], thermo.formation_at_vbm_eV[("V_Li", -1)]
    assert e0["Li"] == pytest.approx(1.0, abs=1e-3)
    assert e0["Cl2"] == pytest.approx(1.0 - 4.5, abs=1e-3)
    assert e1["Li"] == pytest.approx(1.8, abs=1e-3)
    assert e1["Cl2"] == pytest.approx(1.8 - 4.5, abs=1e-3)
    [level] = thermo.transition_levels
    assert level.charges == (0, -1)
    assert level.fermi_level_eV == pytest.approx(0.8, abs=1e-9)
    # the Li-rich envelope: q = 0 from the VBM to 0.8 eV, then q = -1 down to the CBM
    pts = thermo.envelopes["Li"]["V_Li"]
    assert pts[0] == pytest.approx((0.0, 1.0), abs=1e-3)
    assert pts[1] == pytest.approx((0.8, 1.0), abs=1e-3)
    assert pts[2] == pytest.approx((3.0, 1.8 - 3.0), abs=1e-3)
    # dilute-limit concentrations at E_F = 0.5 eV, 600 K: 8 sites per 8 LiCl cells
    conc = defect_concentrations_cm3(thermo, "Li", 0.5, 600.0)
    volume_cm3 = bulk.volume * A3_TO_CM3
    expect0 = 8 / (1 + math.exp(e0["Li"] / (KB * 600))) / volume_cm3
    expect1 = 8 / (1 + math.exp((e1["Li"] - 0.5) / (KB * 600))) / volume_cm3
    assert conc[("V_Li", 0)] == pytest.approx(expect0, rel=1e-3)
    assert conc[("V_Li", -1)] == pytest.approx(expect1, rel=1e-3)
    assert conc[("V_Li", 0)] == pytest.approx(
        8 * math.exp(-1.0 / (KB * 600)) / (bulk.volume * 1e-24), rel=5e-3
    )


def test_negative_across_the_gap_is_not_determined():
    """Cl-rich: V_Li^0 at 1.0 - 4.5 = -3.5 eV, so V_Li is not a result there (raw kept)."""
    bulk = _bulk()
    defects = [_vacancy(0, -61.0), _vacancy(-1, -59.3, 0.1)]
    thermo = defect_thermodynamics(-64.0, bulk, defects, _entries(), vbm_eV=1.0, band_gap_eV=3.0)
    assert set(thermo.not_determined) == {"V_Li"}
    assert set(thermo.not_determined["V_Li"]) == {"Cl2"}
    assert thermo.reason("V_Li", "Cl2").startswith("E_f = -3.500 eV < 0 for the neutral cell")
    assert thermo.reason("V_Li", "Li") is None
    assert thermo.value_at_vbm("V_Li", 0, "Cl2") is None
    assert thermo.value_at_vbm("V_Li", -1, "Li") == pytest.approx(1.8, abs=1e-3)
    assert "V_Li" not in thermo.envelopes["Cl2"]
    assert "V_Li" in thermo.envelopes["Li"]
    data = as_json_dict(thermo)
    by_q = {d["charge"]: d for d in data["defects"]}
    assert by_q[0]["formation_energy_at_vbm_eV"]["Cl2"] is None
    assert by_q[-1]["formation_energy_at_vbm_eV"]["Cl2"] is None
    assert by_q[0]["raw_formation_energy_at_vbm_eV"]["Cl2"] == pytest.approx(-3.5, abs=1e-3)
    assert by_q[-1]["raw_formation_energy_at_vbm_eV"]["Cl2"] == pytest.approx(-2.7, abs=1e-3)
    assert by_q[0]["formation_energy_at_vbm_eV"]["Li"] == pytest.approx(1.0, abs=1e-3)
    assert set(by_q[0]["not_determined"]) == {"Cl2"}
    # no equilibrium where a defect's formation energy is not a result
    assert "V_Li not determined" in equilibrium_not_determined(thermo, "Cl2")
    assert equilibrium_not_determined(thermo, "Li") is None
    with pytest.raises(InputError, match="Cl2: no equilibrium Fermi level"):
        equilibrium_fermi_level(thermo, "Cl2", 1000.0, dos=None)
    # only the acceptor: at Li-rich 1.8 - E_F reaches -1.2 eV at the CBM but is positive
    # near the VBM (a result); at Cl-rich -2.7 - E_F is negative across the whole gap
    only = defect_thermodynamics(
        -64.0, bulk, [_vacancy(-1, -59.3, 0.1)], _entries(), vbm_eV=1.0, band_gap_eV=3.0
    )
    assert only.reason("V_Li", "Li") is None
    assert only.reason("V_Li", "Cl2").startswith(
        "E_f < 0 at every Fermi level in the 3.000 eV gap (at most -2.700 eV)"
    )
    # a stand-in gap (unknown): charged states are not judged
    unknown = defect_thermodynamics(
        -64.0, bulk, [_vacancy(-1, -59.3, 0.1)], _entries(), 1.0, 0.0, band_gap_known=False
    )
    assert unknown.not_determined == {}


def test_bad_inputs():
    bulk = _bulk()
    with pytest.raises(InputError, match="lack"):
        defect_thermodynamics(
            -64.0,
            bulk,
            [ChargedDefect("S_Cl", 0, -60.0, {"S": 1, "Cl": -1})],
            _entries(),
            1.0,
            3.0,
        )
    with pytest.raises(InputError, match="given twice"):
        defect_thermodynamics(
            -64.0, bulk, [_vacancy(0, -61.0), _vacancy(0, -61.1)], _entries(), 1.0, 3.0
        )
    with pytest.raises(InputError, match="band gap"):
        defect_thermodynamics(-64.0, bulk, [_vacancy(0, -61.0)], _entries(), 1.0, float("nan"))
