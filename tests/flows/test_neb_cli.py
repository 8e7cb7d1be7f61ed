"""``ionflow neb run``: hop listing (--dry-run), explicit endpoints, bad input."""

from __future__ import annotations

import json

import pytest

from ionflow.cli.main import main

STUDY = """name: vli
structure: {{builtin: Li3OCl}}
engine: mlip
supercell: {{matrix: [2, 2, 2]}}
{defects}
neb: {neb}
"""


def _write(tmp_path, defects="defects: [{type: vacancy, species: [Li]}]", neb="{cutoff_A: 4.0}"):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY.format(defects=defects, neb=neb))
    return path


def test_dry_run_lists_symmetry_distinct_hops(tmp_path, capsys):
    assert main(["neb", "run", str(_write(tmp_path)), "--dry-run", "--json"]) == 0
    hops = json.loads(capsys.readouterr().out)
    assert [h["label"] for h in hops] == ["V_Li hop 1", "V_Li hop 2"]
    assert [h["multiplicity"] for h in hops] == [8, 4]
    assert hops[0]["length_A"] == pytest.approx(3.91 / 2**0.5, abs=1e-3)


def test_dry_run_interstitial_cell(tmp_path, capsys):
    study = _write(
        tmp_path,
        defects="defects: [{type: interstitial, species: [Li], max_configs: 1}]",
        neb="{cutoff_A: 2.0, hop_kinds: [interstitial]}",
    )
    assert main(["neb", "run", str(study), "--dry-run", "--json"]) == 0
    hops = json.loads(capsys.readouterr().out)
    assert hops
    assert {h["kind"] for h in hops} == {"interstitial"}
    assert all(h["length_A"] <= 2.0 for h in hops)


def test_explicit_endpoints(tmp_path, capsys, li3ocl):
    ini = li3ocl.copy()
    ini.remove_sites([2])
    fin = ini.copy()
    fin.replace(2, "Li", coords=[0.5, 0.5, 0.0])  # Li (0.5, 0, 0.5) into the vacancy
    ini.to(filename=str(tmp_path / "ini.vasp"), fmt="poscar")
    fin.to(filename=str(tmp_path / "fin.vasp"), fmt="poscar")
    study = _write(tmp_path, defects="", neb="{endpoints: [ini.vasp, fin.vasp]}")
    assert main(["neb", "run", str(study), "--dry-run", "--json"]) == 0
    (hop,) = json.loads(capsys.readouterr().out)
    assert hop["kind"] == "explicit"
    assert hop["length_A"] == pytest.approx(3.91 / 2**0.5, abs=1e-3)


@pytest.mark.parametrize(
    ("neb", "message"),
    [
        ("{endpoints: [missing.vasp, other.vasp]}", "does not exist"),
        ("{n_images: 0}", "n_images"),
        ("{spring: 5}", "unknown key"),
    ],
)
def test_bad_neb_sections(tmp_path, capsys, neb, message):
    assert main(["neb", "run", str(_write(tmp_path, neb=neb)), "--dry-run"]) == 2
    assert message in capsys.readouterr().err


def test_no_neb_section_and_bad_endpoints(tmp_path, capsys, li3ocl):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nstructure: {builtin: Li3OCl}\n")
    assert main(["neb", "run", str(path), "--dry-run"]) == 2
    assert "no 'neb' section" in capsys.readouterr().err
    smaller = li3ocl.copy()
    smaller.remove_sites([2])
    li3ocl.to(filename=str(tmp_path / "a.vasp"), fmt="poscar")
    smaller.to(filename=str(tmp_path / "b.vasp"), fmt="poscar")
    study = _write(tmp_path, defects="", neb="{endpoints: [a.vasp, b.vasp]}")
    assert main(["neb", "run", str(study), "--dry-run"]) == 2
    assert "differ in composition" in capsys.readouterr().err


def test_neb_run_json_is_one_document_on_stdout(tmp_path, capsys, monkeypatch):
    """A real (LJ) band: --json prints only the NEB document; progress goes to stderr."""
    from ionflow.testing.md import LennardJonesEngine

    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    neb = "{cutoff_A: 4.0, max_hops: 1, n_images: 1, max_steps: 5, relax_endpoints: false}"
    study = _write(tmp_path, neb=neb)
    work = ["--work-dir", str(tmp_path / "work")]
    assert main(["neb", "run", str(study), *work, "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert len(doc["nebs"]) == 1
    assert doc["nebs"][0]["hop"]["kind"] == "vacancy"
    assert doc["nebs"][0]["n_images"] == 1  # intermediate images, as VASP's IMAGES
    assert len(doc["nebs"][0]["energies_eV"]) == 3  # with both endpoints
    assert "running" in captured.err
