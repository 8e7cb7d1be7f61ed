"""Equilibrium defect concentration → conductivity, next to the MD cell's σ (hand numbers)."""

from __future__ import annotations

import math

import pytest
from tests.studies.test_compare import _system, _transport

from ionflow.analysis.defect_transport import (
    defect_limited_conductivity,
    equilibrium_concentration_cm3,
)
from ionflow.errors import InputError
from ionflow.report.design import defect_transport_line
from ionflow.schemas.study_doc import DefectRow

KB = 8.617333262e-5


def test_concentration_and_conductivity_hand_computed():
    # E_f = 1 eV, 8 sites per 480 Å^3 supercell, 1000 K
    c = equilibrium_concentration_cm3(1.0, 8, 480.0, 1000.0)
    assert c == pytest.approx(8 * math.exp(-1.0 / (KB * 1000.0)) / 480e-24, rel=1e-6)
    assert c == pytest.approx(1.5198e17, rel=1e-3)
    # MD cell: one defect in 960 Å^3, σ_MD = 2 mS/cm; σ = c q μ scales with c
    link = defect_limited_conductivity(2.0, 1, 960.0, 1.0, 8, 480.0, 1000.0)
    assert link.concentration_md_cm3 == pytest.approx(1 / 960e-24)
    assert link.conductivity_eq_mS_cm == pytest.approx(2.0 * c * 960e-24, rel=1e-9)
    # σ = n q² D / (k T) with D the carrier's: both sides use the same D, so the ratio holds
    with pytest.raises(InputError):
        defect_limited_conductivity(-1.0, 1, 960.0, 1.0, 8, 480.0, 1000.0)


def test_report_line_links_formation_energy_and_md():
    transport = _transport("li_i", 0.3)
    row = DefectRow(label="Li_i", formation_energy_eV=1.2, multiplicity=4, cell_volume_A3=480.0)
    s = _system("li_i", transport=transport, defects=[row], defect_labels=["Li_i"])
    line = defect_transport_line(s, 900.0)
    sigma_md = transport.arrhenius.conductivity_at_target_mS_cm
    c_eq = 4 * math.exp(-1.2 / (KB * 900.0)) / 480e-24
    c_md = 1 / 480e-24  # the MD cell volume of the helper: 480 Å^3
    assert f"{c_eq:.3g} cm⁻³ vs {c_md:.3g} cm⁻³" in line
    assert f"= {sigma_md * c_eq / c_md:.3g} mS/cm" in line
    assert f"the MD cell's {sigma_md:.3g} mS/cm" in line
    # no formation energy for the MD cell's defect: no line
    assert (
        defect_transport_line(_system("x", transport=transport, defect_labels=["V_Li"]), 900)
        is None
    )
