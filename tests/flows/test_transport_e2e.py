"""End-to-end test of the vertical slice on the embedded default (CHGNet + montydb).

Tiny settings: the 38-atom Li3OCl Schottky cell, a short relaxation and two short MD runs
at high temperature. Asserts the stored document, the report files and that a second
process reads the results from the on-disk store.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pymatgen.core import Composition

from ionflow.config import load_study
from ionflow.run.local import run_study
from ionflow.settings import get_settings
from ionflow.testing.processes import cli_json, run_cli

pytestmark = pytest.mark.mlff

STUDY = """
name: tiny_slice
structure: {builtin: Li3OCl}
engine: mlip
supercell: {matrix: [2, 2, 2]}
defects:
  - {type: schottky, species: [Li, Cl], separation: nearest}
relax: {fmax_eV_A: 0.2, max_steps: 15}
md:
  temperatures_K: [1000, 1600]
  time_step_fs: 2.0
  equilibration_steps: 10
  production_steps: 150
  sampling_interval: 1
  seed: 7
analysis: {specie: Li}
"""


@pytest.fixture(scope="module")
def slice_run(tmp_path_factory):
    """Run the tiny study once for the whole module."""
    from ionflow.settings import reset_settings

    work = tmp_path_factory.mktemp("slice") / "work"
    study = work.parent / "tiny.yaml"
    study.write_text(STUDY)
    reset_settings()
    settings = get_settings(work_dir=work)
    doc = run_study(load_study(study), settings, echo=lambda m: None).doc.transport_only
    return doc, settings, study


def test_document_fields_finite(slice_run):
    doc, _, _ = slice_run
    assert doc.meta.study == "tiny_slice"
    assert doc.n_atoms == 38
    assert Composition(doc.cell_formula) == Composition("Li23O8Cl7")
    assert doc.meta.defect_labels
    assert "V_Li" in doc.meta.defect_labels[0]
    assert [r.temperature_K for r in doc.diffusion] == [1000.0, 1600.0]
    assert doc.missing_temperatures_K == []
    assert math.isfinite(doc.relaxed_energy_eV)
    assert doc.relaxed_energy_eV < 0
    for r in doc.diffusion:
        assert r.n_mobile == 23
        assert r.time_step_fs == pytest.approx(2.0)
        assert r.n_frames == 151
        for value in (r.diffusivity_cm2_s, r.volume_A3):
            assert value is not None
            assert math.isfinite(value)
        # a σ only from a positive D (issue 16), else an upper bound when not diffusing
        assert (r.conductivity_mS_cm is not None) == (r.diffusivity_cm2_s > 0)
        assert r.diffusing or r.conductivity_upper_bound_mS_cm is not None
    hot = doc.diffusion[-1]
    assert hot.diffusivity_cm2_s > 0
    # MSD at the hottest temperature exceeds the coldest one (more motion at higher T)
    assert hot.msd_A2[-1] > doc.diffusion[0].msd_A2[-1]


def test_arrhenius_positive(slice_run):
    doc, _, _ = slice_run
    fit = doc.arrhenius
    assert fit is not None
    if fit.activation_energy_eV is None:
        # honest outcome on runs this short: say why instead of fitting noise
        assert fit.warnings
    else:
        assert fit.activation_energy_eV > 0
        assert math.isfinite(fit.conductivity_at_target_mS_cm)


def test_report_written(slice_run):
    doc, settings, _ = slice_run
    report = Path(doc.report_dir)
    assert report.parent.parent == settings.reports_dir
    text = (report / "report.md").read_text()
    assert "tiny_slice" in text
    assert "1600" in text
    assert (report / "msd.png").stat().st_size > 5000
    assert (report / "arrhenius.png").stat().st_size > 5000
    stored = json.loads((report / "summary.json").read_text())
    assert stored["meta"]["run_id"] == doc.meta.run_id


def test_trajectories_in_data_store_not_docs(slice_run):
    from ionflow.stores import open_job_store as open_store

    _, settings, _ = slice_run
    store = open_store(settings)
    try:
        n_blobs = store.additional_stores["data"].count()
        md_docs = list(store.query({"output.kind": "md_segment"}, properties=["output.trajectory"]))
    finally:
        store.close()
    assert n_blobs >= 2
    assert len(md_docs) == 4  # per temperature: an equilibration and a production segment
    for d in md_docs:
        traj = d["output"]["trajectory"]
        assert "blob_uuid" in traj  # a reference to the data store, not the frames


def test_second_process_reads_store(slice_run):
    doc, settings, _ = slice_run
    rows = cli_json(["query"], settings.work_dir)
    assert [r["run_id"] for r in rows] == [doc.meta.run_id]
    assert Composition(rows[0]["cell_formula"]) == Composition("Li23O8Cl7")
    names = {r["job"] for r in cli_json(["query", "jobs"], settings.work_dir)}
    rerendered = settings.work_dir / "rerendered"
    assert {
        "relax cell",
        "md 1000K production 1",
        "md 1600K production 1",
        "summarize study",
    } <= names
    rep = run_cli(["report", "tiny_slice", "--out", str(rerendered)], settings.work_dir)
    assert "report:" in rep.stdout
    assert (
        (rerendered / "report.md").read_text().startswith("# ionflow transport report: tiny_slice")
    )
