"""Formation-energy flow with the Lennard-Jones test engine: plumbing and bookkeeping."""

from __future__ import annotations

import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.analysis.formation import chemical_potentials
from ionflow.errors import ConfigError, InputError
from ionflow.flows.defects import DefectFormationMaker
from ionflow.schemas.defects import ChargeStateRow
from ionflow.testing.md import LennardJonesEngine, memory_job_store

A = 3.91
SCHOTTKY = {"type": "schottky", "species": ["Li", "Cl"], "separation": "nearest"}

#: toy entries (eV per formula unit); only their bookkeeping is tested
TOY = {"Li": -1.9, "Cl2": -3.6, "O2": -9.8, "Li2O": -14.8, "LiCl": -7.9, "Li3OCl": -22.8}


def _li3ocl() -> Structure:
    return Structure(
        Lattice.cubic(A),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def _entries() -> list[ComputedEntry]:
    return [ComputedEntry(f, e) for f, e in TOY.items()]


def _run(flow, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=False, ensure_success=False)
    return responses[flow.jobs[-1].uuid][1].output, responses


def test_schottky_flow_bookkeeping(tmp_path, monkeypatch):
    maker = DefectFormationMaker(engine=LennardJonesEngine(), max_steps=60, fmax_eV_A=0.1)
    flow = maker.make(_li3ocl(), [SCHOTTKY], supercell_matrix=[2, 2, 2], entries=_entries())
    names = [j.name for j in flow.jobs]
    assert names[0] == "defects relax host cell Li3ClO"
    assert "defects relax host supercell Li3ClO" in names
    assert "defects relax V_Li+V_Cl_d2.76" in names
    # isolated parts for the binding energy, neutral for an mlip-type engine
    assert {"defects relax V_Li", "defects relax V_Cl"} <= set(names)
    assert "defects relax V_Li+V_Cl_d4.79" in names  # farthest placement, for E_b
    assert names[-1] == "defect formation energies Li3ClO"

    doc, _ = _run(flow, tmp_path, monkeypatch)
    assert doc.missing == []
    mus = chemical_potentials(_entries(), "Li3OCl", "Li-rich")
    assert doc.chemical_potentials.mu_eV == pytest.approx(mus.mu_eV)
    by_label = {d.label: d for d in doc.defects}
    pair = by_label["V_Li+V_Cl_d2.76"]
    assert pair.role == "requested"
    assert pair.n_atoms == 38
    expected = pair.energy_defect_eV - doc.energy_host_eV + mus.mu_eV["Li"] + mus.mu_eV["Cl"]
    assert pair.raw_formation_energy_eV == pytest.approx(expected)
    # the toy LJ energies make the neutral pair cost less than nothing: not a result
    assert expected < 0
    assert pair.formation_energy_eV is None
    assert not pair.formation_energy_determined
    assert pair.formation_energy_reason.startswith(f"E_f = {expected:.3f} eV < 0")
    v_li, v_cl = by_label["V_Li"], by_label["V_Cl"]
    assert v_li.role == v_cl.role == "part"
    assert v_li.charge == v_cl.charge == 0
    assert pair.binding.parts == ["V_Li", "V_Cl"]
    raw_b = (
        pair.raw_formation_energy_eV - v_li.raw_formation_energy_eV - v_cl.raw_formation_energy_eV
    )
    assert pair.binding.raw_binding_energy_eV == pytest.approx(raw_b)
    # the parts are neutral cells of V_Li' and V_Cl^• (an engine without charged cells)
    assert pair.binding.binding_energy_eV is None
    assert not pair.binding.determined
    assert pair.binding.reason.startswith("isolated parts are neutral cells on this engine")
    assert pair.binding.coulomb_energy_eV is None  # no dielectric constant given
    far = by_label["V_Li+V_Cl_d4.79"]
    assert far.role == "reference"
    assert pair.binding.farthest_label == far.label
    # same composition and charge: independent of μ, so it stays a result
    assert pair.binding.binding_vs_farthest_eV == pytest.approx(
        pair.raw_formation_energy_eV - far.raw_formation_energy_eV
    )
    # strained to the LJ-relaxed lattice: the host supercell is twice the relaxed cell
    assert doc.n_atoms_host == 40
    assert pair.relaxed_structure.lattice.a == pytest.approx(
        pair.relaxed_structure.lattice.b, rel=1e-6
    )


def test_failed_relaxation_is_listed_not_fatal(tmp_path, monkeypatch):
    maker = DefectFormationMaker(
        engine=LennardJonesEngine(),
        max_steps=40,
        fmax_eV_A=0.2,
        relax_host_cell=False,
        binding=False,
        dielectric_constant=10.0,
    )
    flow = maker.make(_li3ocl(), [SCHOTTKY], supercell_matrix=[2, 2, 2], entries=_entries())
    relax = next(j for j in flow.jobs if j.name == "defects relax V_Li+V_Cl_d2.76")

    def broken(*args, **kwargs):
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(relax, "function", broken)
    doc, _ = _run(flow, tmp_path, monkeypatch)
    assert doc.missing == ["V_Li+V_Cl_d2.76"]
    assert doc.defects == []


def test_bad_inputs_fail_at_build_time():
    maker = DefectFormationMaker(engine=LennardJonesEngine())
    with pytest.raises(ConfigError, match="missing chemical potentials"):
        maker.make(_li3ocl(), [SCHOTTKY], supercell_matrix=[2, 2, 2])
    no_li = [e for e in _entries() if e.composition.reduced_formula != "Li"]
    with pytest.raises(InputError, match="no elemental Li"):
        maker.make(_li3ocl(), [SCHOTTKY], supercell_matrix=[2, 2, 2], entries=no_li)
    s_o = {"type": "substitution", "species": ["S", "O"]}
    with pytest.raises(InputError, match="no elemental S"):
        maker.make(_li3ocl(), [s_o], supercell_matrix=[2, 2, 2], entries=_entries())
    forced = DefectFormationMaker(engine=LennardJonesEngine(), charged_parts=True)
    with pytest.raises(ConfigError, match="charged_parts: true needs an engine that runs"):
        forced.make(_li3ocl(), [SCHOTTKY], supercell_matrix=[2, 2, 2], entries=_entries())
    charged = {"type": "vacancy", "species": ["Li"], "charge": -1}
    with pytest.raises(ConfigError, match="VBM"):
        maker.make(_li3ocl(), [charged], supercell_matrix=[2, 2, 2], entries=_entries())
    with pytest.raises(InputError, match="max_atoms"):
        maker.make(
            _li3ocl(), [SCHOTTKY], min_image_distance_A=30, max_atoms=100, entries=_entries()
        )


def test_study_doc_charged_cells_and_binding():
    from ionflow.analysis.formation import point_charge_correction
    from ionflow.makers.defects import defect_study_doc
    from ionflow.schemas.defects import ChemicalPotentialSet
    from ionflow.structures.defects import generate_defects
    from ionflow.structures.supercell import choose_supercell

    choice = choose_supercell(_li3ocl(), matrix=[2, 2, 2])
    pair = generate_defects(choice, {**SCHOTTKY, "separation": "farthest"})[0]
    v_li = generate_defects(choice, {"type": "vacancy", "species": ["Li"], "charge": -1})[0]
    v_cl = generate_defects(choice, {"type": "vacancy", "species": ["Cl"], "charge": 1})[0]
    mus = ChemicalPotentialSet(condition="test", mu_eV={"Li": -2.0, "Cl": -1.5})
    e_host = -200.0
    energies = [-190.0, -196.0, -197.0]
    doc = defect_study_doc(
        e_host,
        choice.structure,
        [pair, v_li, v_cl],
        energies,
        [pair.structure, v_li.structure, v_cl.structure],
        mus,
        roles=["requested", "part", "part"],
        part_labels={"V_Li": [v_li.label], "V_Cl": [v_cl.label]},
        fermi_level_eV=0.3,
        vbm_eV=2.0,
        dielectric_constant=5.0,
    )
    by = {d.label: d for d in doc.defects}
    corr = point_charge_correction(choice.structure.lattice, 1, 5.0)
    assert by["V_Li_q-1"].correction_eV == pytest.approx(corr)  # q^2 = 1 for both signs
    assert by["V_Li_q-1"].correction_method == "point_charge"
    assert by["V_Li_q-1"].correction_electrostatic_eV is None
    assert by[pair.label].correction_method == "none"
    assert doc.vbm_eV == 2.0
    from ionflow.cli.defects import _table

    text = "\n".join(_table(doc))
    assert f"q -1: point_charge correction {corr:+.3f} eV" in text
    assert "charged cells: VBM 2.000 eV (user), E_F - VBM 0.300 eV" in text
    assert by["V_Li_q-1"].formation_energy_eV == pytest.approx(-196 + 200 - 2.0 - 2.3 + corr)
    assert by["V_Cl_q+1"].formation_energy_eV == pytest.approx(-197 + 200 - 1.5 + 2.3 + corr)
    e_pair = by[pair.label].formation_energy_eV
    assert e_pair == pytest.approx(-190 + 200 - 3.5)
    b = by[pair.label].binding
    # the Fermi-level terms of the parts cancel in the binding energy
    assert b.binding_energy_eV == pytest.approx(e_pair - (-0.3 + 3.8 + 2 * corr))
    # the parts carry their charges (an engine with charged cells): a result
    assert b.determined
    assert b.reason is None
    assert b.raw_binding_energy_eV == b.binding_energy_eV
    # V_Li' at -0.3 + corr eV (E_F = 0.3): below 0 only near the VBM without a gap: a result
    assert by["V_Li_q-1"].formation_energy_determined
    # unrelaxed structures: the screened Coulomb term at the generated separation
    assert b.relaxed_separation_A == pytest.approx(pair.separation_A)
    assert b.coulomb_energy_eV == pytest.approx(-14.399645 / (5.0 * pair.separation_A))


def _neutral_schottky_doc(charged_cells: bool):
    """V_Li+V_Cl with neutral parts, hand-computed (μ_Li -2.0, μ_Cl -1.5, host -200 eV).

    E_f: pair -190 + 200 + 2.0 + 1.5 = 13.5 - 7 = 6.5 eV (both atoms removed: -Σ n μ = -3.5);
    V_Li (requested and part) -198.2 + 200 - 2.0 = -0.2 eV; V_Cl -197 + 200 - 1.5 = 1.5 eV;
    raw binding 6.5 - (-0.2) - 1.5 = 5.2 eV.
    """
    from ionflow.makers.defects import defect_study_doc
    from ionflow.schemas.defects import ChemicalPotentialSet
    from ionflow.structures.defects import generate_defects
    from ionflow.structures.supercell import choose_supercell

    choice = choose_supercell(_li3ocl(), matrix=[2, 2, 2])
    pair = generate_defects(choice, {**SCHOTTKY, "separation": "farthest"})[0]
    v_li = generate_defects(choice, {"type": "vacancy", "species": ["Li"]})[0]
    v_cl = generate_defects(choice, {"type": "vacancy", "species": ["Cl"]})[0]
    mus = ChemicalPotentialSet(condition="test", mu_eV={"Li": -2.0, "Cl": -1.5})
    return defect_study_doc(
        -200.0,
        choice.structure,
        [pair, v_li, v_cl],
        [-190.0, -198.2, -197.0],
        [pair.structure, v_li.structure, v_cl.structure],
        mus,
        roles=["requested", "requested", "part"],
        part_labels={"V_Li": [v_li.label], "V_Cl": [v_cl.label]},
        band_gap_eV=5.0,
        charged_cells=charged_cells,
    )


def test_negative_formation_and_neutral_parts_are_not_determined():
    from ionflow.cli.defects import _table, published_lines

    doc = _neutral_schottky_doc(charged_cells=False)
    by = {d.label: d for d in doc.defects}
    pair = next(d for d in doc.defects if "+" in d.label)
    v_li, v_cl = by["V_Li"], by["V_Cl"]
    assert pair.formation_energy_eV == pytest.approx(6.5)
    assert pair.formation_energy_determined
    assert v_cl.formation_energy_eV == pytest.approx(1.5)
    # V_Li below 0: not a result, the raw value and the reason kept
    assert v_li.formation_energy_eV is None
    assert v_li.raw_formation_energy_eV == pytest.approx(-0.2)
    assert not v_li.formation_energy_determined
    assert v_li.formation_energy_reason.startswith("E_f = -0.200 eV < 0 for the neutral cell")
    assert v_li.formation_energy_reason.endswith(
        "here the cell is neutral while V_Li has nominal charge -1 (this engine holds no charge)"
    )
    b = pair.binding
    assert b.binding_energy_eV is None
    assert b.raw_binding_energy_eV == pytest.approx(5.2)
    assert not b.determined
    assert b.reason == (
        "isolated parts are neutral cells on this engine, not the charged defects "
        "(V_Li -1, V_Cl +1)"
    )
    # stored and read back: the same fields
    data = doc.model_dump(mode="json", exclude={"defects": {"__all__": {"relaxed_structure"}}})
    again = type(doc).model_validate(data)
    assert again.defects[1].formation_energy_eV is None
    assert again.defects[1].raw_formation_energy_eV == pytest.approx(-0.2)
    text = "\n".join(_table(doc))
    assert f"    E_f not determined: {v_li.formation_energy_reason}" in text
    assert f"    E_b not determined: {b.reason} (raw +5.200 eV)" in text
    assert "-0.200 " not in text.replace("E_f = -0.200 eV", "")  # only inside the reason
    rows = "\n".join(published_lines(doc, "li3ocl"))
    assert (
        f"    V_Li         formation energy       3.778 not determined: "
        f"{v_li.formation_energy_reason}" in rows
    )
    assert f"    V_Li+V_Cl    formation energy       1.398     6.500  +5.102  {pair.label}" in rows
    assert (
        f"    V_Li+V_Cl    binding energy        -0.074 not determined: {b.reason} "
        "(raw +5.200 eV)" in rows
    )


def test_neutral_parts_on_a_charged_engine_and_stored_v1_documents():
    # an engine with charged cells but charged_parts: false: the parts are still neutral
    doc = _neutral_schottky_doc(charged_cells=True)
    pair = next(d for d in doc.defects if "+" in d.label)
    assert pair.binding.binding_energy_eV is None
    assert "(charged_parts: false), not the charged defects" in pair.binding.reason
    v_li = next(d for d in doc.defects if d.label == "V_Li")
    assert "this engine holds no charge" not in v_li.formation_energy_reason
    # a document stored before the raw fields: its values were results and stay so
    old = pair.model_dump(mode="json", exclude={"relaxed_structure"})
    for key in (
        "raw_formation_energy_eV",
        "formation_energy_determined",
        "formation_energy_reason",
    ):
        old.pop(key)
    old["formation_energy_eV"] = 6.5
    old["binding"] = {"parts": ["V_Li", "V_Cl"], "binding_energy_eV": -0.1}
    read = type(pair).model_validate(old)
    assert read.raw_formation_energy_eV == 6.5
    assert read.formation_energy_determined
    assert read.binding.raw_binding_energy_eV == -0.1
    assert read.binding.determined
    # ... except a neutral cell's negative E_f (the previous release printed V_Cl -0.681 eV)
    old.update(formation_energy_eV=-0.681, charge=0)
    read = type(pair).model_validate(old)
    assert read.formation_energy_eV is None
    assert read.raw_formation_energy_eV == -0.681
    assert not read.formation_energy_determined
    assert read.formation_energy_reason.startswith("E_f = -0.681 eV < 0 for the neutral cell: ")
    # zero within the tolerance stays a result
    old.update(formation_energy_eV=-0.0005)
    assert type(pair).model_validate(old).formation_energy_eV == -0.0005
    # and the per-limit rows of the charge-state table
    row = ChargeStateRow.model_validate({
        "name": "V_Li", "label": "V_Li", "charge": 0, "correction_method": "none",
        "formation_energy_at_vbm_eV": {"Li2O2-LiCl-S": -0.591, "Li-Li2O-Li2S": 2.356},
    })  # fmt: skip
    assert row.formation_energy_at_vbm_eV == {"Li2O2-LiCl-S": None, "Li-Li2O-Li2S": 2.356}
    assert row.raw_formation_energy_at_vbm_eV["Li2O2-LiCl-S"] == -0.591
    assert row.not_determined["Li2O2-LiCl-S"].startswith("E_f = -0.591 eV < 0")
