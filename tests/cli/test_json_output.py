"""Every ``--json`` command prints exactly one JSON document on stdout (issue 16, item 4).

Banners (CHGNet), progress and warnings go to stderr or into the document's ``warnings``.
``test_every_json_command_is_covered`` fails when a command gains ``--json`` without a
case here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
import yaml
from monty.serialization import dumpfn
from pymatgen.entries.computed_entries import ComputedEntry

from ionflow.cli.main import app, main

#: Commands with --json and the case below that runs them.
COVERED = {
    "analyze diffusion",
    "analyze arrhenius",
    "analyze window",
    "analyze neb",
    "analyze defects",
    "neb run",
    "defects generate",
    "defects li-series",
    "defects energies",
    "query",
    "aimd segments",
    "submit",
    "rerun",
}


def _json_commands() -> set[str]:
    found = set()

    def walk(cmd, prefix: str) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            path = f"{prefix} {name}".strip()
            walk(sub, path)
            if any("--json" in p.opts for p in getattr(sub, "params", [])):
                found.add(path)

    walk(typer.main.get_command(app), "")
    return found


def test_every_json_command_is_covered():
    assert _json_commands() == COVERED


def _one_document(capsys, argv: list[str]):
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out), out.err  # the whole of stdout is one document


@pytest.fixture
def xdatcar_run(tmp_path, random_walk, xdatcar_writer):
    """A small XDATCAR random walk with its INCAR (POTIM 2 fs, NBLOCK 5)."""
    folder = tmp_path / "md"
    folder.mkdir()
    walk = random_walk(n_frames=300, n_li=12, n_fw=4, diffusivity_cm2_s=2e-5)
    xdatcar_writer(folder / "XDATCAR", walk)
    (folder / "INCAR").write_text("POTIM = 2\nNBLOCK = 5\n")
    return folder / "XDATCAR"


def test_analyze_diffusion_and_arrhenius(capsys, xdatcar_run):
    doc, _ = _one_document(
        capsys, ["analyze", "diffusion", str(xdatcar_run), "-T", "900", "--json"]
    )
    assert (doc["md_time_step_fs"], doc["md_step_skip"]) == (2.0, 5)
    assert isinstance(doc["warnings"], list)
    doc, _ = _one_document(
        capsys, ["analyze", "arrhenius", f"900:{xdatcar_run}", f"1000:{xdatcar_run}", "--json"]
    )
    assert len(doc["results"]) == 2


def test_analyze_window_collects_warnings(capsys, shared_dir):
    csv = shared_dir / "data" / "entries" / "li_fe_o" / "pd_entries_test.csv"
    doc, err = _one_document(capsys, ["analyze", "window", str(csv), "-f", "LiFeO2", "--json"])
    assert doc["reduction_limit_V"] is not None
    assert len(doc["warnings"]) == len(set(doc["warnings"]))  # once each
    assert "UserWarning" not in err


def test_analyze_neb(capsys, shared_dir):
    root = shared_dir / "data" / "neb" / "atomate2_si_vacancy_neb"
    ends = [str(root / f"relax_endpoint_{i}" / "outputs") for i in (1, 2)]
    doc, _ = _one_document(
        capsys, ["analyze", "neb", str(root / "NEB" / "outputs"), "--endpoints", *ends, "--json"]
    )
    assert doc["barrier_forward_eV"] > 0


def test_analyze_defects(capsys):
    data = Path(__file__).parents[1] / "data" / "defects" / "gan_mg_ga"
    args = ["analyze", "defects", "--bulk", str(data / "bulk_sc")]
    args += ["--entries", str(data / "stable_entries_Mg_Ga_N.json.gz")]
    args += ["--defect", str(data / "q=0") + ":0", "--defect", str(data / "q=1"), "--json"]
    doc, _ = _one_document(capsys, args)
    assert doc["band_gap_eV"] > 0
    assert doc["defects"]


@pytest.mark.mlff
def test_neb_run_with_chgnet_keeps_its_banner_off_stdout(capsys, tmp_path):
    """CHGNet prints "CHGNet v… initialized" when loaded: it must not reach stdout."""
    pytest.importorskip("chgnet")
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: vli\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        "supercell: {matrix: [1, 1, 1]}\n"
        "defects: [{type: vacancy, species: [Li]}]\n"
        "neb: {cutoff_A: 4.0, max_hops: 1, n_images: 1, max_steps: 2, relax_endpoints: false}\n"
    )
    doc, _ = _one_document(
        capsys, ["neb", "run", str(study), "--work-dir", str(tmp_path / "w"), "--json"]
    )
    assert len(doc["nebs"]) == 1


def test_neb_dry_run_defects_and_li_series(capsys, tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: vli\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        "supercell: {matrix: [2, 2, 2]}\ndefects: [{type: vacancy, species: [Li]}]\n"
        "neb: {cutoff_A: 4.0}\n"
    )
    hops, _ = _one_document(capsys, ["neb", "run", str(study), "--dry-run", "--json"])
    assert hops
    out = tmp_path / "cells"
    index, _ = _one_document(
        capsys,
        ["defects", "generate", "builtin:Li3OCl", "-d", "vacancy:Li", "-o", str(out), "--json"],
    )
    assert index
    series = "defects li-series builtin:Li3OCl --counts 23 --compensation counter --counter Cl"
    series += " --starts 2 --keep 1 --json"
    series = [*series.split(), "--matrix", "2 2 2", "-o", str(tmp_path / "series")]
    index, _ = _one_document(capsys, series)
    assert index[0]["composition"] == "Li23Cl7O8"


def test_defects_energies_query_and_aimd_segments(capsys, tmp_path, monkeypatch):
    from ionflow.testing.md import LennardJonesEngine

    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    toy = {"Li": -1.9, "O2": -9.86, "Cl2": -3.6, "Li2O": -14.3, "LiCl": -6.9, "Li3OCl": -21.4}
    dumpfn([ComputedEntry(f, e) for f, e in toy.items()], tmp_path / "entries.json")
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: li3ocl_defects\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        "supercell: {matrix: [2, 2, 2]}\ndefects:\n  - {type: vacancy, species: [Li]}\n"
        "relax: {fmax_eV_A: 0.5, max_steps: 5}\n"
        "formation: {entries: entries.json, condition: Li-rich, dielectric_constant: 10}\n"
    )
    work = ["--work-dir", str(tmp_path / "work")]
    doc, _ = _one_document(capsys, ["defects", "energies", str(study), *work, "--json"])
    assert doc["defects"]
    rows, _ = _one_document(capsys, ["query", *work, "--json"])
    assert isinstance(rows, list)
    rows, _ = _one_document(capsys, ["aimd", "segments", "-w", str(tmp_path / "work"), "--json"])
    assert rows == []


def test_submit_and_rerun_dry_run(capsys, tmp_path):
    pytest.importorskip("fireworks")
    cluster = tmp_path / "local.yaml"
    cluster.write_text(
        yaml.safe_dump(
            {
                "name": "jsonlocal",
                "launchpad": {
                    "type": "mongomock_file",
                    "path": "{work_dir}/launchpad/launchpad.json",
                },
                "queue": {"type": "slurm", "walltime": "00:10:00"},
            }
        )
    )
    study = tmp_path / "study.yaml"
    shutil.copy(Path(__file__).parents[2] / "configs" / "studies" / "li3ocl.yaml", study)
    work = ["--work-dir", str(tmp_path / "work")]
    plan, _ = _one_document(
        capsys,
        ["submit", str(study), "--cluster", str(cluster), "--dry-run", "--quick", *work, "--json"],
    )
    assert plan
    added, _ = _one_document(
        capsys, ["submit", str(study), "--cluster", str(cluster), "--quick", *work, "--json"]
    )
    assert added
    listing, _ = _one_document(
        capsys, ["rerun", "--cluster", str(cluster), "--dry-run", *work, "--json"]
    )
    assert listing is not None
