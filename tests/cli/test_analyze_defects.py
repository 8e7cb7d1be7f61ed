"""``ionflow analyze defects`` on real VASP runs, against pymatgen-analysis-defects.

The runs are the library's own test files (Mg_Ga in GaN, charges -2..+1, with bulk and
Materials Project competing phases; ``tests/data/defects/README.md``). The reference is
built here with the library's public API (its ``Substitution`` defect, ``DefectEntry``,
``FormationEnergyDiagram``), the way its own tests do.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from monty.serialization import loadfn
from pymatgen.analysis.defects.core import PeriodicSite, Substitution
from pymatgen.analysis.defects.corrections.freysoldt import get_freysoldt_correction
from pymatgen.analysis.defects.thermo import (
    DefectEntry,
    FormationEnergyDiagram,
    MultiFormationEnergyDiagram,
)
from pymatgen.core import Element, Species, Structure
from pymatgen.io.vasp import Locpot, Poscar, Vasprun
from tests.conftest import REPO

from ionflow.analysis.defect_thermo import defect_thermodynamics, equilibrium_fermi_level
from ionflow.cli.main import main
from ionflow.io.defect_runs import load_vasp_defect_set
from ionflow.io.entries import read_entries

DATA = REPO / "tests" / "data" / "defects" / "gan_mg_ga"
CHARGES = (-2, -1, 0, 1)
ENTRIES = DATA / "stable_entries_Mg_Ga_N.json.gz"
EPS = 14.0


def _vasprun(folder, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Vasprun(str(folder / "vasprun.xml.gz"), parse_potcar_file=False, **kw)


@pytest.fixture(scope="module")
def reference():
    """pymatgen-analysis-defects on the same runs (uncorrected entries)."""
    bulk_vr = _vasprun(DATA / "bulk_sc")
    vbm = bulk_vr.get_band_structure().get_vbm()["energy"]
    gap = bulk_vr.get_band_structure().get_band_gap()["energy"]
    bulk_entry = bulk_vr.get_computed_entry(inc_structure=False)
    gan = Structure.from_file(DATA / "GaN.vasp")
    defect = Substitution(gan, PeriodicSite(Species("Mg"), gan[0].frac_coords, gan.lattice))
    entries = {
        q: DefectEntry(
            defect=defect,
            charge_state=q,
            sc_entry=_vasprun(
                DATA / f"q={q}", parse_eigen=False, parse_dos=False
            ).get_computed_entry(inc_structure=True),
        )
        for q in CHARGES
    }
    fed = FormationEnergyDiagram(
        bulk_entry=bulk_entry,
        defect_entries=list(entries.values()),
        vbm=vbm,
        band_gap=gap,
        pd_entries=loadfn(ENTRIES),
        inc_inf_values=False,
    )
    return {"fed": fed, "vbm": vbm, "gap": gap, "entries": entries, "bulk": bulk_vr}


@pytest.fixture(scope="module")
def cli_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("fed")
    args = ["analyze", "defects", "--bulk", str(DATA / "bulk_sc"), "--entries", str(ENTRIES)]
    for q in CHARGES:
        args += ["--defect", str(DATA / f"q={q}") + ("" if q else ":0")]
    return args, out


def _run_json(args, capsys):
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out)


def test_formation_energies_and_transition_levels_match_pymatgen_analysis_defects(
    reference, cli_json, capsys
):
    args, out = cli_json
    png = out / "fed.png"
    doc = _run_json([*args, "--plot", str(png)], capsys)
    fed = reference["fed"]
    assert doc["vbm_eV"] == pytest.approx(reference["vbm"], abs=1e-6)
    assert doc["band_gap_eV"] == pytest.approx(reference["gap"], abs=1e-6)
    # the same three limits (Mg3N2-N2, Mg2Ga5-Mg3N2, Ga-Mg2Ga5) with the same Δμ
    ours = sorted(tuple(sorted(v.items())) for v in doc["chempot_limits"].values())
    theirs = sorted(
        tuple(sorted((el.symbol, float(x)) for el, x in cp.items())) for cp in fed.chempot_limits
    )
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        assert [k for k, _ in a] == [k for k, _ in b]
        assert np.allclose([x for _, x in a], [x for _, x in b], atol=1e-6)
    assert {d["name"] for d in doc["defects"]} == {"Mg_Ga"}
    assert sorted(d["charge"] for d in doc["defects"]) == sorted(CHARGES)  # from NELECT
    assert all(d["correction_eV"] == 0 for d in doc["defects"])
    # OUTCAR site potentials are there (Kumagai under --correction auto), ε is not
    methods = {d["correction_method"] for d in doc["defects"] if d["charge"]}
    assert methods == {"none: no dielectric constant"}
    for limit, mus in doc["chempot_limits"].items():
        cp = {Element(el): v for el, v in mus.items()}
        e_vbm = {d["charge"]: d["formation_energy_at_vbm_eV"][limit] for d in doc["defects"]}
        # the lower envelope at any E_F in the gap: within 1 meV of the library's
        for ef in np.linspace(0, reference["gap"], 9):
            mine = min(e + q * ef for q, e in e_vbm.items())
            assert mine == pytest.approx(fed.get_formation_energy(ef, cp), abs=1e-3)
        # kinks of the envelope per limit: the library's get_transitions
        pts = np.array(fed.get_transitions(cp, 0.0, reference["gap"]))
        assert np.allclose(np.array(doc["envelopes"][limit]["Mg_Ga"]), pts, atol=1e-3)
        kinks = np.array(fed.get_transitions(cp, -10.0, 10.0))[1:-1, 0]
        levels = [t["fermi_level_eV"] for t in doc["transition_levels"]]
        assert np.allclose(levels, kinks, atol=1e-3)
    charges = [tuple(t["charges"]) for t in doc["transition_levels"]]
    assert charges == [(1, 0), (0, -1), (-1, -2)]
    assert png.stat().st_size > 10_000


def test_text_output_names_vbm_gap_limits_and_missing_correction(cli_json, capsys):
    args, _ = cli_json
    # Freysoldt asked for: no LOCPOTs here (the OUTCARs would give Kumagai under auto)
    args = [*args, "--correction", "freysoldt"]
    assert main([*args, "--dielectric", "14", "--temperature", "1000"]) == 0
    text = capsys.readouterr().out
    assert "VBM 4.5715 eV, band gap 3.8432 eV" in text
    assert "Mg3N2-N2" in text
    assert "Ga-Mg2Ga5" in text
    assert text.count("none: no LOCPOT") == 3  # q = -2, -1, +1
    assert "(+0/-1)" in text
    # the self-consistent Fermi level per limit (p-type: Mg acceptors balanced by holes)
    lines = [ln for ln in text.splitlines() if ln.startswith("equilibrium at 1000 K")]
    assert len(lines) == 3
    fermi = [float(ln.split("E_F ")[1].split(" eV")[0]) for ln in lines]
    assert all(0 < ef < 1.0 for ef in fermi)


def _write_locpots(tmp_path, charge):
    """Bulk and defect folders with small synthetic LOCPOTs (same grid)."""
    bulk_dir, defect_dir = tmp_path / "bulk", tmp_path / f"q{charge}"
    for src, dst in ((DATA / "bulk_sc", bulk_dir), (DATA / f"q={charge}", defect_dir)):
        dst.mkdir()
        shutil.copy(src / "vasprun.xml.gz", dst / "vasprun.xml.gz")
    bulk = _vasprun(bulk_dir, parse_eigen=False, parse_dos=False).final_structure
    defect = _vasprun(defect_dir, parse_eigen=False, parse_dos=False).final_structure
    # Mg sits at a = 0.25; with 21 planes along a it lies between two planes. On a plane
    # the library's alignment rolls the potential one plane too far (strict '<'), which
    # ionflow does not (tests/analysis/test_freysoldt.py: exact G=0 alignment there)
    ng = (21, 36, 18)
    frac = np.stack(np.meshgrid(*[np.arange(n) / n for n in ng], indexing="ij"), axis=-1).reshape(
        -1, 3
    )
    v_bulk = (np.cos(2 * np.pi * 2 * frac).sum(axis=1)).reshape(ng)
    mg = next(s.frac_coords for s in defect if s.specie.symbol == "Mg")
    d = frac - mg
    d -= np.round(d)
    r = np.linalg.norm(defect.lattice.get_cartesian_coords(d), axis=1).reshape(ng)
    v_def = v_bulk - charge * 14.4 / EPS * np.exp(-(r**2) / 4.0) + 0.05 * charge
    Locpot(Poscar(bulk), {"total": v_bulk}).write_file(bulk_dir / "LOCPOT")
    Locpot(Poscar(defect), {"total": v_def}).write_file(defect_dir / "LOCPOT")
    return bulk_dir, defect_dir, mg


def test_freysoldt_correction_matches_pymatgen_analysis_defects(reference, tmp_path, capsys):
    bulk_dir, defect_dir, mg = _write_locpots(tmp_path, -1)
    args = ["analyze", "defects", "--bulk", str(bulk_dir), "--defect", str(defect_dir)]
    args += ["--defect", str(DATA / "q=0"), "--entries", str(ENTRIES), "--dielectric", "14"]
    doc = _run_json(args, capsys)
    by_q = {d["charge"]: d for d in doc["defects"]}
    frey = get_freysoldt_correction(
        q=-1,
        dielectric=EPS,
        defect_locpot=Locpot.from_file(defect_dir / "LOCPOT"),
        bulk_locpot=Locpot.from_file(bulk_dir / "LOCPOT"),
        defect_frac_coords=mg,
    )
    assert by_q[-1]["correction_method"] == "freysoldt"
    assert by_q[-1]["correction_eV"] == pytest.approx(frey.correction_energy, abs=1e-5)
    assert abs(frey.correction_energy) > 0.05
    terms = by_q[-1]["correction_terms_eV"]
    assert terms["electrostatic"] == pytest.approx(frey.metadata["electrostatic"], abs=1e-5)
    assert terms["alignment"] == pytest.approx(frey.metadata["potential"], abs=1e-5)
    assert terms["electrostatic"] + terms["alignment"] == pytest.approx(by_q[-1]["correction_eV"])
    assert by_q[0]["correction_method"] == "none: neutral"
    # the corrected formation energies: the library's diagram with that correction
    ref = reference["entries"]
    corrected = DefectEntry(
        defect=ref[-1].defect,
        charge_state=-1,
        sc_entry=ref[-1].sc_entry,
        corrections={"freysoldt": frey.correction_energy},
    )
    fed = FormationEnergyDiagram(
        bulk_entry=reference["fed"].bulk_entry,
        defect_entries=[corrected, ref[0]],
        vbm=reference["vbm"],
        band_gap=reference["gap"],
        pd_entries=loadfn(ENTRIES),
    )
    for limit, mus in doc["chempot_limits"].items():
        cp = {Element(el): v for el, v in mus.items()}
        for ef in (0.0, 1.0, 3.0):
            mine = min(
                d["formation_energy_at_vbm_eV"][limit] + d["charge"] * ef for d in by_q.values()
            )
            assert mine == pytest.approx(fed.get_formation_energy(ef, cp), abs=1e-3)
        level = doc["transition_levels"][0]
        assert level["charges"] == [0, -1]
        kink = np.array(fed.get_transitions(cp, -10.0, 10.0))[1, 0]
        assert level["fermi_level_eV"] == pytest.approx(kink, abs=1e-3)


def test_self_consistent_fermi_level_matches_the_library_in_consistent_units(reference):
    bulk, defects = load_vasp_defect_set(
        DATA / "bulk_sc", [str(DATA / f"q={q}") for q in CHARGES], with_dos=True
    )
    thermo = defect_thermodynamics(
        bulk.energy_eV,
        bulk.structure,
        defects,
        read_entries(ENTRIES),
        bulk.vbm_eV,
        bulk.band_gap_eV,
    )
    volume_cm3 = bulk.structure.volume * 1e-24
    fed = thermo.diagrams["Mg_Ga"]
    for limit in thermo.chempot_limits:
        result = equilibrium_fermi_level(thermo, limit, 1000.0, bulk.dos)
        # neutral: Mg_Ga acceptors (mostly q = -1) balanced by holes
        charge = sum(q * c for (_, q), c in result.defect_concentrations_cm3.items())
        assert charge + result.holes_cm3 - result.electrons_cm3 == pytest.approx(
            0.0, abs=1e-6 * result.holes_cm3
        )
        assert 0 < result.fermi_level_eV < thermo.band_gap_eV
        # the library's solver adds defects per cell to carriers per cm^3; with the
        # multiplicity given per cm^3 (m / V) both are in cm^-3 and it agrees
        fed.defect.multiplicity = 16 / volume_cm3
        ef = MultiFormationEnergyDiagram([fed]).solve_for_fermi_level(
            thermo.limit_chempots(limit), 1000.0, bulk.dos
        )
        fed.defect.multiplicity = 16
        assert result.fermi_level_eV == pytest.approx(ef, abs=1e-4)


def test_bad_inputs_one_line_exit_2(tmp_path, capsys, shared_dir):
    base = ["analyze", "defects", "--bulk", str(DATA / "bulk_sc"), "--entries", str(ENTRIES)]
    # a charge that contradicts NELECT (the q=-1 run has NELECT 278, 277 when neutral)
    assert main([*base, "--defect", f"{DATA / 'q=-1'}:+1"]) == 2
    err = capsys.readouterr().err
    assert "contradicts NELECT 278" in err
    assert "charge -1" in err
    # a missing vasprun
    (tmp_path / "empty").mkdir()
    assert main([*base, "--defect", str(tmp_path / "empty")]) == 2
    assert "no vasprun.xml" in capsys.readouterr().err
    # a defect cell that is not a cell of this bulk (LiF primitive cell)
    lif = shared_dir / "data" / "relax" / "atomate_lif_pbesol_relax"
    (tmp_path / "lif").mkdir()
    shutil.copy(lif / "vasprun.xml.gz", tmp_path / "lif" / "vasprun.xml.gz")
    assert main([*base, "--defect", str(tmp_path / "lif")]) == 2
    err = capsys.readouterr().err
    assert "does not match the bulk supercell" in err
    assert len(err.strip().splitlines()) == 1
    # entries of another chemical system
    other = shared_dir / "data" / "entries" / "li_fe_o" / "pd_entries_test.csv"
    args = ["analyze", "defects", "--bulk", str(DATA / "bulk_sc"), "--entries", str(other)]
    assert main([*args, "--defect", str(DATA / "q=0")]) == 2
    err = capsys.readouterr().err
    assert "Fe-Li-O system" in err
    assert "Ga, Mg, N" in err


def test_not_determined_limits_print_as_such(capsys):
    """LiCl toy V_Li (tests/analysis/test_defect_thermo.py): -3.5 eV neutral at Cl-rich."""
    from tests.analysis.test_defect_thermo import _bulk, _entries, _vacancy

    from ionflow.cli.analyze_defects import _equilibrium_json, _print

    defects = [_vacancy(0, -61.0), _vacancy(-1, -59.3, 0.1)]
    thermo = defect_thermodynamics(-64.0, _bulk(), defects, _entries(), 1.0, 3.0)
    why = thermo.reason("V_Li", "Cl2")
    assert why.startswith("E_f = -3.500 eV < 0 for the neutral cell")
    _print(thermo, [("Cl2", f"formation energy of V_Li not determined ({why})")])
    out = capsys.readouterr().out
    # the Li-rich values are results (1.0 eV for q = 0), the Cl-rich ones are not
    cells = {
        "Li": f"{thermo.value_at_vbm('V_Li', 0, 'Li'):18.4f}",
        "Cl2": f"{'not determined':>18}",
    }
    assert thermo.value_at_vbm("V_Li", 0, "Li") == pytest.approx(1.0, abs=1e-3)
    row = "  V_Li          +0 " + " ".join(cells[lim] for lim in thermo.chempot_limits)
    assert row in out
    assert f"  V_Li at Cl2: not determined: {why}" in out
    assert "-3.5" not in out.replace(why, "")
    equilibrium = "equilibrium, Cl2: not determined: formation energy of V_Li not determined"
    assert f"{equilibrium} ({why})" in out
    data = _equilibrium_json([("Cl2", "because")])
    assert data == {"Cl2": {"fermi_level_eV": None, "not_determined": "because"}}
