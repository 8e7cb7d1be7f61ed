"""A whole composite (design) study end to end on a Lennard-Jones stand-in engine.

The LJ engine (``ionflow.testing.md``) runs the same atomate2 makers as CHGNet in
milliseconds, so every section (formation energies, MD transport, window) and the
collector, the stored StudyDoc, the report with the published comparison and
``ionflow report --compare-published`` are exercised for real. The physics is
meaningless; the test checks the plumbing and the bookkeeping.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pymatgen.core import Composition

from ionflow.config.study_file import load_study
from ionflow.report.compare import NO_DIFFUSION, compare_values, evaluate_trends
from ionflow.run.local import run_study
from ionflow.settings import get_settings
from ionflow.testing.md import LennardJonesEngine

REPO = Path(__file__).resolve().parents[2]

DESIGN = f"""
name: tiny_li3ocl
design: li3ocl
engine: mlip
common:
  structure: {{builtin: Li3OCl}}
  supercell: {{matrix: [2, 2, 2]}}
  relax: {{fmax_eV_A: 0.5, max_steps: 3}}
  md: {{temperatures_K: [1000, 1400], time_step_fs: 2.0, equilibration_steps: 10,
        production_steps: 60, sampling_interval: 2}}
systems:
  vacancy:
    notes: V_Li + V_Cl
    defects: [{{type: schottky, species: [Li, Cl], separation: nearest}}]
    formation: {{entries: {REPO}/configs/entries/li_o_cl_chgnet.json, relax_host_cell: false}}
    window: {{entries: {REPO}/configs/entries/li_o_cl_chgnet.json}}
  li_i_o_cl:
    defects: [{{type: substitution, species: [O, Cl], compensation: Li_i}}]
  absent:
    optional: true
    structure: {{file: does_not_exist.cif}}
quick:
  systems: {{li_i_o_cl: null}}
"""


@pytest.fixture(scope="module")
def design_run(tmp_path_factory):
    """Run the tiny design once on the LJ engine."""
    from ionflow.settings import reset_settings

    mp = pytest.MonkeyPatch()
    mp.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    root = tmp_path_factory.mktemp("design")
    path = root / "tiny.yaml"
    path.write_text(DESIGN)
    reset_settings()
    settings = get_settings(work_dir=root / "work")
    lines: list[str] = []
    try:
        doc = run_study(load_study(path), settings, echo=lines.append).doc
    finally:
        mp.undo()
    return doc, settings, path, lines


def test_design_document_has_every_section(design_run):
    doc, _, _, lines = design_run
    assert doc.kind == "study"
    assert doc.schema_version == "2"
    assert doc.meta.design == "li3ocl"
    assert [s.key for s in doc.systems] == ["vacancy", "li_i_o_cl"]
    assert "absent" in doc.meta.skipped
    assert any("not run: absent" in line for line in lines)
    vac = doc.system("vacancy")
    assert vac.sections == ["defects", "md", "window"]
    assert vac.missing_sections == []
    assert vac.transport is not None
    assert vac.transport.meta.study == "tiny_li3ocl-vacancy"
    assert [r.temperature_K for r in vac.transport.diffusion] == [1000.0, 1400.0]
    assert Composition(vac.cell_formula) == Composition("Li23O8Cl7")
    assert vac.n_atoms == 38
    # formation energies: the Schottky pair and its two isolated parts
    requested = [d for d in vac.defects if d.role == "requested"]
    assert len(requested) == 1
    assert requested[0].label.startswith("V_Li+V_Cl")
    parts = {d.label for d in vac.defects if d.role == "part"}
    assert {"V_Li", "V_Cl"} <= parts
    assert all(math.isfinite(d.raw_formation_energy_eV) for d in vac.defects)
    # a negative (toy LJ) formation energy is not a result: None with its reason
    for d in vac.defects:
        if d.raw_formation_energy_eV < 0:
            assert d.formation_energy_eV is None
            assert d.formation_energy_reason.startswith("E_f = ")
        else:
            assert d.formation_energy_eV == d.raw_formation_energy_eV
    # neutral parts of V_Li' and V_Cl^• on an mlip-type engine: no binding energy
    assert requested[0].binding_energy_eV is None
    assert requested[0].binding_energy_reason.startswith("isolated parts are neutral cells")
    assert vac.window is not None
    assert vac.window.formula == "Li3ClO"
    other = doc.system("li_i_o_cl")
    assert other.sections == ["md"]
    assert other.defect_labels[0].startswith("O_Cl+Li_i")


def test_report_and_comparison_files(design_run):
    doc, _, _, _ = design_run
    folder = Path(doc.report_dir)
    text = (folder / "report.md").read_text()
    assert "## Which published trends hold" in text
    assert "## Computed vs published numbers" in text
    assert "(arrhenius_systems.png)" in text
    assert (folder / "arrhenius_systems.png").stat().st_size > 1000
    payload = json.loads((folder / "comparison.json").read_text())
    rows = {(r["system"], r["quantity"], r["selector"]) for r in payload["values"]}
    assert ("li_i_s_cl", "conductivity_300K_mS_cm", None) in rows
    by_key = {t["key"]: t for t in payload["trends"]}
    # li_i_s_cl was not part of this run: the S-doping trend cannot be judged
    assert by_key["s_doping_sigma"]["status"] == "not computed"
    assert "li_i_s_cl" in by_key["s_doping_sigma"]["detail"]


def test_comparison_values_follow_the_document(design_run):
    doc, _, _, _ = design_run
    pairs = {
        (c.published.system, c.published.quantity, c.published.selector): c
        for c in compare_values(doc)
    }
    sigma = pairs[("vacancy", "conductivity_300K_mS_cm", None)].computed
    fit = doc.system("vacancy").transport.arrhenius
    if fit is not None and fit.conductivity_at_target_mS_cm is not None:
        assert sigma.value == pytest.approx(fit.conductivity_at_target_mS_cm)
    else:
        assert sigma.value in (None, NO_DIFFUSION)
    # the Schottky formation energy: no 'defects' system here, so the vacancy system's row
    e_f = pairs[("defects", "formation_energy_eV", "V_Li+V_Cl")].computed
    row = next(d for d in doc.system("vacancy").defects if d.role == "requested")
    assert e_f.value == (
        None if row.formation_energy_eV is None else pytest.approx(row.formation_energy_eV)
    )
    assert e_f.not_determined == row.formation_energy_reason
    assert "(system vacancy)" in e_f.note
    binding = pairs[("defects", "binding_energy_eV", "V_Li+V_Cl")].computed
    assert binding.value is None
    assert binding.not_determined == row.binding_energy_reason
    assert pairs[("defects", "formation_energy_eV", "S_O")].computed.value is None
    results = {t.trend.key: t.status for t in evaluate_trends(doc)}
    assert set(results) >= {"s_doping_sigma", "sigma_ordering", "formation_ordering"}


def test_report_rerenders_from_the_store(design_run, tmp_path):
    from ionflow.cli.main import main

    doc, settings, _, _ = design_run
    out = tmp_path / "again"
    code = main(
        [
            "report",
            doc.meta.study,
            "--compare-published",
            "--out",
            str(out),
            "--work-dir",
            str(settings.work_dir),
        ]
    )
    assert code == 0
    assert (out / "report.md").read_text().startswith(f"# ionflow design study: {doc.meta.study}")
    # the per-system transport documents are ordinary stored studies too
    code = main(
        [
            "report",
            "tiny_li3ocl-vacancy",
            "--out",
            str(tmp_path / "t"),
            "--work-dir",
            str(settings.work_dir),
        ]
    )
    assert code == 0
    assert (tmp_path / "t" / "report.md").is_file()


def test_unknown_design_name_is_a_store_error(design_run, capsys):
    from ionflow.cli.main import main

    _, settings, _, _ = design_run
    code = main(["report", "nope", "--compare-published", "--work-dir", str(settings.work_dir)])
    assert code == 2
    assert "stored studies: tiny_li3ocl" in capsys.readouterr().err


def test_plain_study_with_more_than_md_runs_as_a_composite(tmp_path, monkeypatch):
    """`ionflow run` of an ordinary study file with md + window: one StudyDoc."""
    from ionflow.cli.main import main
    from ionflow.study.build import build_study

    monkeypatch.setattr("ionflow.engines.get_engine", lambda name, **kw: LennardJonesEngine())
    path = tmp_path / "plain.yaml"
    path.write_text(
        "name: plain_combo\nstructure: {builtin: Li3OCl}\nengine: mlip\n"
        "supercell: {matrix: [2, 2, 2]}\nrelax: {fmax_eV_A: 0.5, max_steps: 2}\n"
        "md: {temperatures_K: [1200], time_step_fs: 2.0, equilibration_steps: 4,"
        " production_steps: 20, sampling_interval: 2}\n"
        f"window: {{entries: {REPO}/configs/entries/li_o_cl_chgnet.json}}\n"
    )
    settings = get_settings(work_dir=tmp_path / "work")
    study = load_study(path)
    built = build_study(study, settings, run_id="r")
    flow, meta = built.flow, built.meta
    assert meta.study == "plain_combo"
    assert built.system("main").n_atoms == 40
    assert [j.name for j, _ in flow.iterflow()][-1] == "summarize study plain_combo"
    doc = run_study(study, settings, echo=lambda m: None).doc
    assert doc.kind == "study"
    (main_system,) = doc.systems
    assert main_system.key == "main"
    assert main_system.sections == ["md", "window"]
    assert main_system.window.formula == "Li3ClO"
    assert main_system.transport.meta.study == "plain_combo"
    # the system's transport summary is an ordinary stored study
    code = main(["query", "--json", "--work-dir", str(settings.work_dir)])
    assert code == 0
