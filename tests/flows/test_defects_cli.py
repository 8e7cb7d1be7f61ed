"""``ionflow defects generate`` / ``ionflow defects energies`` end to end (LJ engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from monty.serialization import dumpfn
from pymatgen.core import Structure
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.cli.defects import parse_defect_option
from ionflow.cli.main import main
from ionflow.errors import InputError
from ionflow.testing.md import LennardJonesEngine

A = 3.91
TOY = {"Li": -1.9, "Cl2": -3.6, "O2": -9.8, "Li2O": -14.8, "LiCl": -7.9, "Li3OCl": -22.8}


def test_parse_defect_option():
    assert parse_defect_option("schottky:Li,Cl@nearest") == {
        "type": "schottky",
        "species": ["Li", "Cl"],
        "separation": "nearest",
    }
    assert parse_defect_option("cluster:Li_i,O_Cl@3.5") == {
        "type": "cluster",
        "defects": ["Li_i", "O_Cl"],
        "separation": 3.5,
    }
    assert parse_defect_option("{type: vacancy, species: [La], compensation: Li_i}") == {
        "type": "vacancy",
        "species": ["La"],
        "compensation": "Li_i",
    }
    for bad in ("vacancy", "schottky:Li,Cl@closest", "{type: [}"):
        with pytest.raises(InputError):
            parse_defect_option(bad)


def test_generate_writes_files_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "cells"
    args = ["defects", "generate", "builtin:Li3OCl", "--matrix", "2 2 2", "-o", str(out)]
    rc = main([*args, "-d", "schottky:Li,Cl@all", "-d", "vacancy:Li", "--json"])
    assert rc == 0
    index = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in index] == ["V_Li+V_Cl_d2.76", "V_Li+V_Cl_d4.79", "V_Li"]
    assert list(index[0])[:7] == [
        "label",
        "kroger_vink",
        "composition",
        "n_atoms",
        "charge",
        "separation_A",
        "min_image_distance_A",
    ]
    assert index[0]["separation_A"] == pytest.approx(A / np.sqrt(2))
    assert index[0]["min_image_distance_A"] == pytest.approx(2 * A)
    cell = Structure.from_file(out / "V_Li+V_Cl_d2.76.vasp")
    assert len(cell) == 38
    assert json.loads((out / "index.json").read_text()) == index
    before = (out / "V_Li.vasp").read_text()
    # second run: refuses to overwrite, writes nothing, exit status 2
    assert main([*args, "-d", "vacancy:Li", "--format", "poscar"]) == 2
    assert "exists" in capsys.readouterr().err
    assert (out / "V_Li.vasp").read_text() == before
    assert main([*args, "-d", "vacancy:Li", "--force"]) == 0
    assert len(json.loads((out / "index.json").read_text())) == 1


def test_generate_bad_input(tmp_path, capsys):
    base = ["defects", "generate", "builtin:Li3OCl", "-o", str(tmp_path / "x")]
    assert main([*base, "-d", "vacancy:Br"]) == 2
    assert "no Br site" in capsys.readouterr().err
    assert main([*base, "-d", "cluster:V_Li,V_O"]) == 2
    assert "cannot be neutral" in capsys.readouterr().err
    assert main([*base, "-d", "vacancy:Li", "--supercell-min-distance", "40"]) == 2
    assert "raise max_atoms" in capsys.readouterr().err
    assert main(["defects", "generate", str(tmp_path / "nope.cif"), "-d", "vacancy:Li"]) == 2
    assert not (tmp_path / "x").exists()


def test_energies_runs_then_reads_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    dumpfn([ComputedEntry(f, e) for f, e in TOY.items()], tmp_path / "entries.json")
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: li3ocl_defects\n"
        "structure: {builtin: Li3OCl}\n"
        "engine: mlip\n"
        "supercell: {matrix: [2, 2, 2]}\n"
        "defects:\n"
        "  - {type: schottky, species: [Li, Cl], separation: nearest}\n"
        "relax: {fmax_eV_A: 0.2, max_steps: 30}\n"
        "formation: {entries: entries.json, condition: Li-rich, dielectric_constant: 10,\n"
        "            band_gap_eV: 5.0}\n"
    )
    work = ["--work-dir", str(tmp_path / "work")]
    assert main(["defects", "energies", str(study), *work, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # --json: one document on stdout
    labels = {d["label"]: d for d in doc["defects"]}
    assert set(labels) == {"V_Li+V_Cl_d2.76", "V_Li+V_Cl_d4.79", "V_Li", "V_Cl"}
    pair = labels["V_Li+V_Cl_d2.76"]
    assert pair["binding"]["coulomb_energy_eV"] < 0  # V_Li' and V_Cl^• attract
    assert "relaxed_structure" not in pair
    # the diagram at every limit of the toy Li-O-Cl phase diagram, neutral cells
    thermo = doc["thermodynamics"]
    assert [r["name"] for r in thermo["defects"]] == ["V_Li+V_Cl_d2.76"]
    # the document's own vertex is one of the limits, with the same E_f (within the 1 meV
    # bulk-stability shift of pymatgen-analysis-defects)
    mu = doc["chemical_potentials"]["mu_relative_eV"]
    [vertex] = [
        k
        for k, v in thermo["chempot_limits"].items()
        if all(abs(v[el] - mu[el]) < 2e-3 for el in ("Li", "O", "Cl"))
    ]
    row = thermo["defects"][0]
    raw = pair["raw_formation_energy_eV"]
    assert row["raw_formation_energy_at_vbm_eV"][vertex] == pytest.approx(raw, abs=2e-3)
    # the toy LJ pair costs less than nothing: no result, the raw value and the reason kept
    assert raw < 0
    assert pair["formation_energy_eV"] is None
    assert pair["formation_energy_determined"] is False
    assert pair["formation_energy_reason"].startswith(f"E_f = {raw:.3f} eV < 0 for the neutral")
    assert row["formation_energy_at_vbm_eV"][vertex] is None
    assert row["not_determined"][vertex].startswith("E_f = ")
    assert vertex not in [lim for lim, by in thermo["envelopes"].items() if by]
    # neutral parts of charged defects on an engine without charged cells: no E_b
    binding = pair["binding"]
    assert binding["binding_energy_eV"] is None
    assert binding["raw_binding_energy_eV"] == pytest.approx(
        raw - labels["V_Li"]["raw_formation_energy_eV"] - labels["V_Cl"]["raw_formation_energy_eV"]
    )
    assert "neutral cells on this engine" in binding["reason"]
    # second call reads the stored result instead of recomputing
    png = tmp_path / "fed.png"
    assert main(["defects", "energies", str(study), *work, "--plot", str(png)]) == 0
    assert png.stat().st_size > 5_000
    captured = capsys.readouterr()
    assert "formation energy at E_F = VBM per chemical-potential limit" in captured.out
    text = captured.out
    assert "read stored result" in captured.err  # status on stderr, results on stdout
    assert "V_Li+V_Cl_d2.76" in text
    assert f"{raw:8.3f}" not in text  # never printed as a result
    assert f"    E_f not determined: {pair['formation_energy_reason']}" in text
    raw_b = binding["raw_binding_energy_eV"]
    assert f"    E_b not determined: {binding['reason']} (raw {raw_b:+.3f} eV)" in text
    assert f"    V_Li+V_Cl_d2.76 at {vertex}: not determined: E_f = " in text


def test_li_series_cli(tmp_path, capsys):
    out = tmp_path / "series"
    args = [
        "defects",
        "li-series",
        "builtin:Li3OCl",
        "--counts",
        "23",
        "--compensation",
        "counter",
        "--counter",
        "Cl",
        "--matrix",
        "2 2 2",
        "--starts",
        "5",
        "-o",
        str(out),
    ]
    assert main([*args, "--json"]) == 0
    index = json.loads(capsys.readouterr().out)
    assert index[0]["label"] == "Li23_r1"
    assert index[0]["composition"] == "Li23Cl7O8"
    assert (out / "Li23_r1.vasp").is_file()
    assert main(args) == 2  # no overwrite without --force
    assert main(["defects", "li-series", "builtin:Li3OCl", "--counts", "x"]) == 2
