"""Documents and saved flows written by release 0.1 (schema version 1) still load.

The fixtures in tests/data/v1 were written by that release on the Lennard-Jones stand-in
engine (a design study, the transport summary of its system, and the flow a plain study
saved for `ionflow aimd resume`); see tests/data/v1/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jobflow import Flow
from maggma.stores import MemoryStore

from ionflow.errors import StoreError
from ionflow.makers.md_resume import load_flow
from ionflow.results import load_study_doc
from ionflow.schemas.study_doc import StudyDoc

V1 = Path(__file__).resolve().parents[1] / "data" / "v1"


def _raw(name: str) -> dict:
    return json.loads((V1 / name).read_text())


def test_v1_transport_summary_becomes_a_study_of_one_system():
    raw = _raw("transport_study_v1.json")
    doc = StudyDoc.from_stored(raw)
    assert (doc.kind, doc.schema_version) == ("study", "2")
    (system,) = doc.systems
    assert (system.key, system.sections) == ("main", ["md"])
    transport = doc.transport_only
    assert transport is not None
    assert transport.meta.study == raw["meta"]["study"] == doc.meta.study == "tiny_design-vacancy"
    assert [r.temperature_K for r in transport.diffusion] == [1000.0, 1400.0]
    assert [r.diffusivity_cm2_s for r in transport.diffusion] == [
        r["diffusivity_cm2_s"] for r in raw["diffusion"]
    ]
    assert system.n_atoms == raw["n_atoms"] == 38
    assert doc.report_dir == raw["report_dir"]


def test_v1_design_summary_keeps_its_systems():
    raw = _raw("design_study_v1.json")
    assert raw["kind"] == "design_study"
    doc = StudyDoc.from_stored(raw)
    assert doc.kind == "study"
    assert doc.meta.design == "li3ocl"
    (vacancy,) = doc.systems
    assert vacancy.key == "vacancy"
    assert vacancy.sections == ["md", "window"]
    assert vacancy.window.formula == "Li3ClO"
    assert vacancy.transport.meta.study == "tiny_design-vacancy"
    assert doc.transport_only is None  # two sections: the study report, not the transport one


def test_the_one_loader_reads_every_version_from_a_store():
    from jobflow import JobStore

    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    store.connect()
    for i, name in enumerate(["transport_study_v1.json", "design_study_v1.json"]):
        store.docs_store.update({"uuid": f"u{i}", "index": 1, "output": _raw(name)}, key="uuid")
    assert load_study_doc(store, "tiny_design").systems[0].key == "vacancy"
    # the system of a design study is a study of its own (its transport summary)
    alone = load_study_doc(store, "tiny_design-vacancy")
    assert alone.systems[0].key == "main"
    assert alone.transport_only is not None
    with pytest.raises(StoreError, match="stored studies: tiny_design, tiny_design-vacancy"):
        load_study_doc(store, "nope")


def test_v1_saved_flow_loads_with_every_job_function(tmp_path):
    flow = load_flow(V1 / "saved_flow_v1.json.gz")
    assert isinstance(flow, Flow)
    names = [job.name for job, _ in flow.iterflow()]
    assert names[0] == "relax cell"
    assert names[-1] == "summarize study"
    for job, _ in flow.iterflow():
        function = getattr(job.function, "original", job.function)
        assert callable(function), job.name
    modules = {getattr(job.function, "__module__", "") for job, _ in flow.iterflow()}
    assert {"ionflow.makers.md_segments", "ionflow.makers.transport"} <= modules
