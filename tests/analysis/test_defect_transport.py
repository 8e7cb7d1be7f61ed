"""Equilibrium defect concentration → conductivity, next to the MD cell's σ (hand numbers)."""

from __future__ import annotations

import math

import pytest
from tests.studies.test_compare import _doc, _system, _transport

from ionflow.analysis.defect_transport import (
    defect_limited_conductivity,
    equilibrium_concentration_cm3,
)
from ionflow.errors import InputError
from ionflow.makers.study import defect_rows
from ionflow.report.compare import compare_values, computed_value
from ionflow.report.design import comparison_rows, defect_transport_line, render_design_markdown
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


def test_not_determined_rows_in_the_report_and_comparison():
    """A negative E_f and a binding against neutral parts reach the report as reasons."""
    why_f = "E_f = -0.681 eV < 0 for the neutral cell: ..."
    why_b = "isolated parts are neutral cells on this engine, not the charged defects"
    stored = {
        "defects": [
            {"label": "V_Li", "formation_energy_eV": None, "raw_formation_energy_eV": -0.681,
             "formation_energy_reason": why_f},
            {"label": "V_Li+V_Cl_d4.79", "formation_energy_eV": 2.1,
             "raw_formation_energy_eV": 2.1,
             "binding": {"parts": ["V_Li", "V_Cl"], "binding_energy_eV": None,
                         "raw_binding_energy_eV": -1.4, "determined": False, "reason": why_b}},
            {"label": "V_Li+V_Cl_d2.76", "formation_energy_eV": 2.3},  # stored before raw
        ]
    }  # fmt: skip
    rows, _, _ = defect_rows(stored)
    by = {r.label: r for r in rows}
    assert by["V_Li"].formation_energy_eV is None
    assert by["V_Li"].raw_formation_energy_eV == -0.681
    assert by["V_Li"].formation_energy_reason == why_f
    assert by["V_Li+V_Cl_d4.79"].binding_energy_eV is None
    assert by["V_Li+V_Cl_d4.79"].binding_energy_reason == why_b
    assert by["V_Li+V_Cl_d2.76"].raw_formation_energy_eV == 2.3
    doc = _doc("li3ocl", [_system("defects", defects=rows)])
    v_li = computed_value(doc, "defects", "formation_energy_eV", "V_Li")
    assert v_li.value is None
    assert v_li.not_determined == why_f
    # the lowest-energy placement (by the computed value) is picked, its binding has none
    pair = computed_value(doc, "defects", "binding_energy_eV", "V_Li+V_Cl")
    assert pair.note == "V_Li+V_Cl_d4.79"
    assert pair.not_determined == why_b
    assert computed_value(doc, "defects", "formation_energy_eV", "V_Li+V_Cl").value == 2.1
    comparisons = compare_values(doc)
    json_rows = {(r["quantity"], r["selector"]): r for r in comparison_rows(comparisons)}
    assert json_rows[("formation_energy_eV", "V_Li")]["computed"] is None
    assert json_rows[("formation_energy_eV", "V_Li")]["not_determined"] == why_f
    text = render_design_markdown(doc, comparisons, [], {})
    assert f"- E_f(V_Li) = not determined: {why_f}" in text
    assert f"- E_f(V_Li+V_Cl_d4.79) = 2.100 eV, binding not determined: {why_b}" in text
    assert f"| 3.78 | DFT | not determined: {why_f} |  | V_Li |" in text
    # the MD cell's defect has no formation energy: no defect-limited σ either
    transport = _transport("v", 0.3)
    s = _system("v", transport=transport, defects=[by["V_Li"]], defect_labels=["V_Li"])
    s.defects[0].cell_volume_A3 = 480.0
    assert defect_transport_line(s, 900.0) == (
        f"- defect-limited σ: not determined: E_f(V_Li) not determined ({why_f})"
    )
