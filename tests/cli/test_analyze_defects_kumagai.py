"""``ionflow analyze defects --correction kumagai`` against pymatgen-analysis-defects.

The runs are the library's own Mg_Ga in GaN test files with their OUTCARs
(``tests/data/defects/README.md``). The reference is the library's public eFNV path
(``get_structure_with_pot`` reading vasprun.xml and OUTCAR, ``get_efnv_correction``, on
pydefect) and its ``FormationEnergyDiagram`` built from ``DefectEntry`` objects that carry
that correction, the way its own tests do.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from monty.serialization import loadfn
from pymatgen.analysis.defects.core import PeriodicSite, Substitution
from pymatgen.analysis.defects.corrections import kumagai as library_kumagai
from pymatgen.analysis.defects.corrections.kumagai import (
    get_efnv_correction,
    get_structure_with_pot,
)
from pymatgen.analysis.defects.thermo import DefectEntry, FormationEnergyDiagram
from pymatgen.core import Element, Species, Structure
from tests.cli.test_analyze_defects import CHARGES, DATA, ENTRIES, _run_json, _vasprun

from ionflow.analysis.kumagai import PYDEFECT_INSTALL
from ionflow.cli.main import main

EPS = 14.0
#: pymatgen-analysis-defects' tests/test_corrections.py::test_kumagai (snapshot 39765d5):
#: q = +1 at the identity dielectric tensor, compared there within 1e-4 eV
LIBRARY_Q1_EPS1_EV = -0.4898778

BASE = ["analyze", "defects", "--bulk", str(DATA / "bulk_sc"), "--entries", str(ENTRIES)]


def _library_efnv(charges, eps):
    bulk = get_structure_with_pot(DATA / "bulk_sc")
    tensor = (eps * np.eye(3)).tolist()
    return {
        q: get_efnv_correction(q, get_structure_with_pot(DATA / f"q={q}"), bulk, tensor)
        for q in charges
    }


def _same_limit(mus, fed):
    """The library's chemical-potential limit with the same Δμ as ours."""
    for cp in fed.chempot_limits:
        if np.allclose([float(cp[Element(el)]) for el in mus], list(mus.values()), atol=1e-6):
            return cp
    raise AssertionError(f"no library limit with Δμ {mus}")


def test_kumagai_formation_energies_match_the_library_diagram(capsys):
    args = [*BASE, "--correction", "kumagai", "--dielectric", str(EPS)]
    for q in CHARGES:
        args += ["--defect", str(DATA / f"q={q}")]
    doc = _run_json(args, capsys)
    assert doc["correction_requested"] == "kumagai"
    assert doc["dielectric"] == EPS
    efnv = _library_efnv(CHARGES, EPS)
    by_q = {d["charge"]: d for d in doc["defects"]}
    assert sorted(by_q) == sorted(CHARGES)
    for q in CHARGES:
        d, ref = by_q[q], efnv[q]
        if q == 0:
            assert d["correction_method"] == "none: neutral"
            assert d["correction_eV"] == 0
            assert ref.correction_energy == pytest.approx(0.0, abs=1e-4)
            continue
        assert d["correction_method"] == "kumagai"
        assert d["correction_eV"] == pytest.approx(ref.correction_energy, abs=1e-6)
        terms, lib = d["correction_terms_eV"], ref.metadata["efnv_corr"]
        assert terms["point_charge"] == pytest.approx(lib.point_charge_correction, abs=1e-6)
        assert terms["alignment"] == pytest.approx(lib.alignment_correction, abs=1e-6)
        assert terms["point_charge"] + terms["alignment"] == pytest.approx(d["correction_eV"])
    # measured on these files at ε = 14: q -2 +0.334, -1 +0.297, +1 -0.305 eV
    assert min(abs(by_q[q]["correction_eV"]) for q in (-2, -1, 1)) > 0.25

    # the library's diagram from DefectEntries carrying its Kumagai correction
    bulk_vr = _vasprun(DATA / "bulk_sc")
    bs = bulk_vr.get_band_structure()
    vbm, gap = bs.get_vbm()["energy"], bs.get_band_gap()["energy"]
    gan = Structure.from_file(DATA / "GaN.vasp")
    defect = Substitution(gan, PeriodicSite(Species("Mg"), gan[0].frac_coords, gan.lattice))
    entries = [
        DefectEntry(
            defect=defect,
            charge_state=q,
            sc_entry=_vasprun(
                DATA / f"q={q}", parse_eigen=False, parse_dos=False
            ).get_computed_entry(inc_structure=True),
            corrections={"kumagai": efnv[q].correction_energy} if q else {},
        )
        for q in CHARGES
    ]
    common = {
        "bulk_entry": bulk_vr.get_computed_entry(inc_structure=False),
        "vbm": vbm,
        "band_gap": gap,
        "pd_entries": loadfn(ENTRIES),
        "inc_inf_values": False,
    }
    fed = FormationEnergyDiagram(defect_entries=entries, **common)
    assert len(doc["chempot_limits"]) == len(fed.chempot_limits) == 3
    for entry in entries:
        # one charge state alone: the library's formation energy at the VBM per limit
        single = FormationEnergyDiagram(defect_entries=[entry], **common)
        mine = by_q[entry.charge_state]["formation_energy_at_vbm_eV"]
        for limit, mus in doc["chempot_limits"].items():
            theirs = single.get_formation_energy(0.0, _same_limit(mus, single))
            assert mine[limit] == pytest.approx(theirs, abs=1e-3)
    for limit, mus in doc["chempot_limits"].items():
        cp = _same_limit(mus, fed)
        for ef in np.linspace(0, gap, 9):
            envelope = min(
                d["formation_energy_at_vbm_eV"][limit] + d["charge"] * ef for d in by_q.values()
            )
            assert envelope == pytest.approx(fed.get_formation_energy(ef, cp), abs=1e-3)
        kinks = np.array(fed.get_transitions(cp, -10.0, 10.0))[1:-1, 0]
        levels = [t["fermi_level_eV"] for t in doc["transition_levels"]]
        assert np.allclose(levels, kinks, atol=1e-3)


def test_q1_at_eps_1_is_the_library_test_value_and_auto_picks_kumagai(capsys):
    """No LOCPOTs here, OUTCARs present: the default ``auto`` applies eFNV."""
    args = [*BASE, "--defect", str(DATA / "q=1"), "--defect", str(DATA / "q=0")]
    doc = _run_json([*args, "--dielectric", "1"], capsys)
    assert doc["correction_requested"] == "auto"
    by_q = {d["charge"]: d for d in doc["defects"]}
    assert by_q[1]["correction_method"] == "kumagai"
    assert by_q[1]["correction_eV"] == pytest.approx(LIBRARY_Q1_EPS1_EV, abs=1e-4)
    ref = _library_efnv([1], 1.0)[1]
    assert by_q[1]["correction_eV"] == pytest.approx(ref.correction_energy, abs=1e-6)
    assert by_q[0]["correction_method"] == "none: neutral"
    # the text output names the method and its two terms
    assert main([*args, "--dielectric", "1"]) == 0
    text = capsys.readouterr().out
    terms = by_q[1]["correction_terms_eV"]
    assert (
        f"kumagai {by_q[1]['correction_eV']:+.4f} eV, point_charge {terms['point_charge']:+.4f}, "
        f"alignment {terms['alignment']:+.4f}"
    ) in text


def test_missing_outcar_gives_the_none_reason(tmp_path, capsys):
    bare_defect, bare_bulk = tmp_path / "q1", tmp_path / "bulk"
    for src, dst in ((DATA / "q=1", bare_defect), (DATA / "bulk_sc", bare_bulk)):
        dst.mkdir()
        shutil.copy(src / "vasprun.xml.gz", dst / "vasprun.xml.gz")
    eps = ["--dielectric", str(EPS)]
    cases = [
        (BASE, bare_defect, "kumagai", "none: no OUTCAR site potentials"),
        (BASE, bare_defect, "auto", "none: no LOCPOT or OUTCAR site potentials"),
        (
            ["analyze", "defects", "--bulk", str(bare_bulk), "--entries", str(ENTRIES)],
            DATA / "q=1",
            "kumagai",
            "none: no OUTCAR site potentials of the bulk",
        ),
        (BASE, DATA / "q=1", "none", "none: not requested"),
    ]
    for base, folder, mode, reason in cases:
        doc = _run_json([*base, "--defect", str(folder), "--correction", mode, *eps], capsys)
        (d,) = doc["defects"]
        assert (d["correction_method"], d["correction_eV"]) == (reason, 0), mode
        assert d["correction_terms_eV"] == {}
    # OUTCARs but no ε: none, and why
    doc = _run_json([*BASE, "--defect", str(DATA / "q=1")], capsys)
    assert doc["defects"][0]["correction_method"] == "none: no dielectric constant"
    # the text output says it in the correction column
    assert main([*BASE, "--defect", str(bare_defect), "--correction", "kumagai", *eps]) == 0
    assert "none: no OUTCAR site potentials" in capsys.readouterr().out


def test_without_pydefect_kumagai_exits_2_naming_the_install_command(monkeypatch, capsys):
    """pydefect not importable: as the library's module is when its import fails."""
    monkeypatch.setattr(library_kumagai, "__has_pydefect__", False)
    args = [*BASE, "--defect", str(DATA / "q=1"), "--dielectric", str(EPS)]
    assert main([*args, "--correction", "kumagai"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "Kumagai (eFNV) correction needs pydefect and vise" in lines[0]
    assert lines[0].endswith("pip install --no-deps pydefect==0.10.1 vise==0.9.6")
    assert PYDEFECT_INSTALL == "pip install --no-deps pydefect==0.10.1 vise==0.9.6"
    # auto: no correction, and the reason says what to install
    doc = _run_json(args, capsys)
    assert doc["defects"][0]["correction_method"] == (
        f"none: no LOCPOT; Kumagai: pydefect/vise are not installed ({PYDEFECT_INSTALL})"
    )
    assert doc["defects"][0]["correction_eV"] == 0


def test_unknown_correction_is_one_line_exit_2(capsys):
    assert main([*BASE, "--defect", str(DATA / "q=1"), "--correction", "fnv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "correction 'fnv': choose one of auto, freysoldt, kumagai, none" in err[0]
