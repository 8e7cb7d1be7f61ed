"""Electrochemical window: pymatgen agreement, analytic toy systems, bad input."""

from __future__ import annotations

import warnings

import pytest
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.entries.computed_entries import ComputedEntry
from pymatgen.entries.entry_tools import EntrySet

from ionflow.analysis.window import WindowWarning, stability_window
from ionflow.analysis.window_entries import (
    apply_compatibility,
    check_entry_settings,
    settings_label,
)
from ionflow.errors import InputError

LI = Element("Li")
MV = 1e-3  # agreement required with pymatgen (V)


@pytest.fixture(scope="module")
def li_fe_o(request):
    from tests.conftest import SHARED

    path = SHARED / "data" / "entries" / "li_fe_o" / "pd_entries_test.csv"
    if not path.is_file():
        pytest.fail(f"{path} missing")
    return list(EntrySet.from_csv(path))


def _quiet_window(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WindowWarning)
        return stability_window(*args, **kwargs)


# --- agreement with pymatgen's own grand-potential tools on a public entries file -------------


def test_limits_match_pymatgen_chempot_range(li_fe_o):
    """Every stable Li compound: limits equal PhaseDiagram.get_chempot_range_stability_phase."""
    pd = PhaseDiagram(li_fe_o)
    mu0 = pd.el_refs[LI].energy_per_atom
    compounds = [
        e.composition.reduced_formula
        for e in pd.stable_entries
        if LI in e.composition.elements and len(e.composition.elements) > 1
    ]
    assert len(compounds) >= 4
    for formula in compounds:
        mu_min, mu_max = pd.get_chempot_range_stability_phase(Composition(formula), LI)[LI]
        window = _quiet_window(li_fe_o, formula)
        assert window.is_stable
        assert window.reduction_limit_V == pytest.approx(max(mu0 - mu_max, 0.0), abs=MV)
        assert window.oxidation_limit_V == pytest.approx(mu0 - mu_min, abs=MV)
        # stable compounds: own-energy limits are the same
        assert window.reduction_limit_own_energy_V == pytest.approx(window.reduction_limit_V)
        assert window.oxidation_limit_own_energy_V == pytest.approx(window.oxidation_limit_V)


@pytest.mark.parametrize("formula", ["LiFeO2", "Li5FeO4", "Li2FeO3", "Li2O", "LiFe5O8", "Fe3O4"])
def test_profile_matches_pymatgen_element_profile(li_fe_o, formula):
    """Segments (start voltage, phases, Li uptake) equal PhaseDiagram.get_element_profile."""
    pd = PhaseDiagram(li_fe_o)
    mu0 = pd.el_refs[LI].energy_per_atom
    ref = pd.get_element_profile(LI, Composition(formula))
    window = _quiet_window(li_fe_o, formula)
    assert len(window.profile) == len(ref)
    for seg, item in zip(window.profile, ref, strict=True):
        assert seg.v_low_V == pytest.approx(max(mu0 - item["chempot"], 0.0), abs=MV)
        assert seg.phases == tuple(sorted(e.composition.reduced_formula for e in item["entries"]))
        assert seg.li_per_fu == pytest.approx(item["evolution"], abs=1e-6)
    # the window is where pymatgen's evolution is zero
    zero = [i for i, item in enumerate(ref) if abs(item["evolution"]) < 1e-6]
    assert window.reduction_limit_V == pytest.approx(mu0 - ref[zero[0]]["chempot"], abs=MV)
    if zero[-1] + 1 < len(ref):
        v_ox = mu0 - ref[zero[-1] + 1]["chempot"]
        assert window.oxidation_limit_V == pytest.approx(v_ox, abs=MV)
        assert window.oxidation.phases == tuple(
            sorted(e.composition.reduced_formula for e in ref[zero[-1] + 1]["entries"])
        )
    else:
        assert window.oxidation_limit_V is None


def test_metastable_compound_hull_distance_and_products(li_fe_o):
    pd = PhaseDiagram(li_fe_o)
    entry = min(
        (e for e in li_fe_o if e.composition.reduced_formula == "LiFe5O8"),
        key=lambda e: e.energy_per_atom,
    )
    with pytest.warns(WindowWarning, match="above the hull"):
        window = stability_window(li_fe_o, "LiFe5O8")
    assert window.e_above_hull_eV_atom == pytest.approx(pd.get_e_above_hull(entry), abs=1e-9)
    assert not window.is_stable
    assert {p.formula for p in window.decomposition} == {"Fe2O3", "LiFeO2"}
    # grand-potential decomposition energy is <= -E_hull everywhere, equal inside the window
    e_hull = window.e_above_hull_eV_atom
    mid = 0.5 * (window.reduction_limit_V + window.oxidation_limit_V)
    assert window.decomposition_energy_eV_atom(mid) == pytest.approx(-e_hull, abs=1e-9)
    for v in (0.0, 1.0, window.oxidation_limit_V + 0.5):
        assert window.decomposition_energy_eV_atom(v) <= -e_hull + 1e-9


# --- analytic toy systems ------------------------------------------------------------------

E_LI, E_X, E_Y = -1.9, -3.0, -2.0  # elemental energies (eV/atom); X = Se, Y = I
HF_LIX, HF_LI2X, HF_LIY = -3.0, -4.5, -4.0  # formation energies (eV per formula unit)


def _toy_entries(delta_eV: float | None = None) -> list[ComputedEntry]:
    entries = [
        ComputedEntry("Li", E_LI, entry_id="Li"),
        ComputedEntry("Se", E_X, entry_id="Se"),
        ComputedEntry("I", E_Y, entry_id="I"),
        ComputedEntry("LiSe", E_LI + E_X + HF_LIX, entry_id="LiSe"),
        ComputedEntry("Li2Se", 2 * E_LI + E_X + HF_LI2X, entry_id="Li2Se"),
        ComputedEntry("LiI", E_LI + E_Y + HF_LIY, entry_id="LiI"),
    ]
    if delta_eV is not None:
        e_lix_liy = entries[3].energy + entries[5].energy
        entries.append(ComputedEntry("Li2SeI", e_lix_liy + delta_eV, entry_id="Li2SeI"))
    return entries


def test_toy_binary_analytic_window():
    entries = _toy_entries()
    # LiSe + Li -> Li2Se is favourable below V_red; LiSe -> Se + Li above V_ox
    v_red = -((2 * E_LI + E_X + HF_LI2X) - (E_LI + E_X + HF_LIX) - E_LI)
    v_ox = (E_X + E_LI) - (E_LI + E_X + HF_LIX)
    window = stability_window(entries, "LiSe")
    assert window.mobile_reference_eV_atom == E_LI
    assert window.e_above_hull_eV_atom == pytest.approx(0.0, abs=1e-12)
    assert window.reduction_limit_V == pytest.approx(v_red, abs=1e-9)
    assert window.oxidation_limit_V == pytest.approx(v_ox, abs=1e-9)
    assert window.reduction.phases == ("Li2Se",)
    assert window.reduction.li_per_fu == pytest.approx(1.0)
    assert window.oxidation.phases == ("Se",)
    assert window.oxidation.reaction == "LiSe -> Se + Li"
    # Li2Se is stable against Li metal and oxidised to LiSe at v_red
    li2se = stability_window(entries, "Li2Se")
    assert li2se.reduction_limit_V == 0.0
    assert li2se.reduction is None
    assert li2se.oxidation_limit_V == pytest.approx(v_red, abs=1e-9)
    assert li2se.oxidation.reaction == "Li2Se -> LiSe + Li"
    # grand reaction energy at 0 V: Li2Se is the product, per atom of LiSe
    assert window.decomposition_energy_eV_atom(0.0) == pytest.approx(-v_red / 2, abs=1e-9)


def test_toy_metastable_ternary_window_and_own_energy_limits():
    delta = 0.12  # eV per Li2SeI formula unit above LiSe + LiI
    entries = _toy_entries(delta)
    v_red = -(HF_LI2X - HF_LIX)  # LiSe + Li -> Li2Se
    v_ox = -HF_LIX  # LiSe -> Se + Li (LiI is stable from 0 to 4 V)
    with pytest.warns(WindowWarning, match="above the hull"):
        window = stability_window(entries, "Li2SeI")
    assert window.e_above_hull_eV_atom == pytest.approx(delta / 4, abs=1e-9)
    assert {p.formula for p in window.decomposition} == {"LiSe", "LiI"}
    assert window.reduction_limit_V == pytest.approx(v_red, abs=1e-9)
    assert window.oxidation_limit_V == pytest.approx(v_ox, abs=1e-9)
    assert window.reduction.phases == ("Li2Se", "LiI")
    assert window.oxidation.phases == ("LiI", "Se")
    # the compound's own reactions (one Li each) are shifted by its excess energy
    assert window.reduction_limit_own_energy_V == pytest.approx(v_red + delta, abs=1e-9)
    assert window.oxidation_limit_own_energy_V == pytest.approx(v_ox - delta, abs=1e-9)
    with pytest.warns(WindowWarning, match="meaningless"):
        stability_window(entries, "Li2SeI", max_e_above_hull_eV_atom=0.01)


def test_zero_width_window_for_composition_inside_a_three_phase_facet():
    # Li2Se2I = LiSe + Se + LiI: these coexist only where LiSe and Se do, at V = -HF_LIX
    entries = _toy_entries()
    hull = entries[3].energy + entries[1].energy + entries[5].energy
    entries.append(ComputedEntry("Li2Se2I", hull + 0.1, entry_id="Li2Se2I"))
    with pytest.warns(WindowWarning, match="zero-width window"):
        window = stability_window(entries, "Li2Se2I")
    assert window.reduction_limit_V == pytest.approx(-HF_LIX, abs=1e-9)
    assert window.oxidation_limit_V == pytest.approx(-HF_LIX, abs=1e-9)
    assert window.reduction.li_per_fu > 0 > window.oxidation.li_per_fu


def test_li_free_compound_has_no_oxidation_limit():
    window = _quiet_window(_toy_entries(), "Se")
    assert window.oxidation_limit_V is None
    assert window.reduction_limit_V == pytest.approx(-HF_LIX, abs=1e-9)


# --- bad input -----------------------------------------------------------------------------


def test_formula_outside_chemical_space():
    with pytest.raises(InputError, match="outside the entries' chemical space"):
        stability_window(_toy_entries(), "NaCl")


def test_missing_li_reference():
    entries = [e for e in _toy_entries() if e.entry_id != "Li"]
    with pytest.raises(InputError, match="no Li metal entry"):
        stability_window(entries, "LiSe")


def test_missing_compound_entry_and_bad_formula():
    with pytest.raises(InputError, match="no entry for Li3Se"):
        stability_window(_toy_entries(), "Li3Se")
    with pytest.raises(InputError, match="cannot read formula"):
        stability_window(_toy_entries(), "Xx2Q")
    with pytest.raises(InputError, match="contains only Li"):
        stability_window(_toy_entries(), "Li")


def _vasp(formula, energy, run_type="GGA", **params):
    return ComputedEntry(formula, energy, parameters={"run_type": run_type, **params})


def test_mixed_calculation_settings_are_refused():
    mlip = ComputedEntry("Li", -1.9, parameters={"ionflow_engine": "mlip", "model": "CHGNet"})
    assert settings_label(mlip) == "mlip:CHGNet"
    with pytest.raises(InputError, match="incompatible calculation settings"):
        check_entry_settings([mlip, _vasp("Li2O", -14.3)])
    with pytest.raises(InputError, match="incompatible"):
        check_entry_settings([_vasp("Li", -1.9), _vasp("Li2O", -14.3, "r2SCAN")])
    assert check_entry_settings([_vasp("Li", -1.9), _vasp("Fe2O3", -67.8, "GGA+U")]) == []
    notes = check_entry_settings([mlip, ComputedEntry("Li2O", -14.0)])
    assert len(notes) == 1
    assert "no calculation settings" in notes[0]
    with pytest.raises(InputError, match="MP2020 corrections apply"):
        apply_compatibility([mlip], "MP2020")
    assert apply_compatibility([mlip], "auto")[1] == "none"


POTCARS = {
    "Fe": {"titel": "PAW_PBE Fe_pv 06Sep2000", "hash": "994537de5c4122b7f1b77fb604476db4"},
    "O": {"titel": "PAW_PBE O 08Apr2002", "hash": "7a25bc5b9a5393f46600a4939d357982"},
}


def test_mp2020_applied_like_pymatgen():
    from pymatgen.entries.compatibility import MaterialsProject2020Compatibility

    params = {
        "hubbards": {"Fe": 5.3, "O": 0.0},
        "potcar_spec": [POTCARS["Fe"], POTCARS["O"]],
        "is_hubbard": True,
    }
    fe2o3 = _vasp("Fe2O3", -67.8, "GGA+U", **params)
    corrected, scheme = apply_compatibility([fe2o3], "auto")
    assert scheme == "MP2020"
    ref = MaterialsProject2020Compatibility().process_entries([fe2o3.copy()])[0]
    assert corrected[0].energy == pytest.approx(ref.energy, abs=1e-9)
    assert corrected[0].correction < 0
    assert fe2o3.correction == 0  # inputs untouched
    wrong_u = _vasp("Fe2O3", -67.8, "GGA+U", **{**params, "hubbards": {"Fe": 2.0, "O": 0.0}})
    with pytest.raises(InputError, match="rejected 1 entries"):
        apply_compatibility([wrong_u], "MP2020")
