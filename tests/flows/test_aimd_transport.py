"""Run-until-converged MD inside the transport study flow: D per T, Arrhenius, stop reasons."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.config.study import AnalysisSection
from ionflow.flows.transport import TransportStudyMaker
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.schemas.md import ConvergenceSettings
from ionflow.schemas.study import StudyMeta, TransportDoc
from ionflow.testing.md import LennardJonesEngine, memory_job_store, run_flow

pytestmark = pytest.mark.filterwarnings("ignore")


def test_converged_md_feeds_the_study_summary(tmp_path):
    cell = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.0), ["Li"], [[0, 0, 0]])
    cell.make_supercell([2, 2, 2])
    engine = LennardJonesEngine(calculator_kwargs={"sigma": 2.52, "epsilon": 0.02, "rc": 3.9})
    temps = [20.0, 1500.0, 2500.0]
    md = MultiTemperatureMDMaker(
        engine=engine,
        temperatures_K=temps,
        time_step_fs=2.0,
        equilibration_steps=20,
        production_steps=100,
        traj_interval=2,
        segment_steps=50,
        converge=ConvergenceSettings(target_rel_err=0.25, max_time_ps=0.4),
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    meta = StudyMeta(
        study="lj_converge",
        run_id="test",
        host_formula="Li",
        engine="mlip",
        temperatures_K=temps,
        work_dir=str(tmp_path),
    )
    study = TransportStudyMaker(
        engine=engine, md_maker=md, analysis=AnalysisSection(specie="Li"), relax=False
    )
    store = memory_job_store()
    doc = run_flow(study.make(cell, meta), store, tmp_path / "run")
    doc = doc if isinstance(doc, TransportDoc) else TransportDoc.model_validate(doc)
    # every temperature reported, each with why its production stopped
    assert [r.temperature_K for r in doc.md_runs] == temps
    reasons = {r.temperature_K: r.stop_reason for r in doc.md_runs}
    assert reasons[20.0] == "not_diffusing"
    assert reasons[1500.0] in {"converged", "max_time"}
    assert reasons[2500.0] in {"converged", "max_time"}
    assert not doc.missing_temperatures_K
    results = {r.temperature_K: r for r in doc.diffusion}
    assert results[20.0].diffusing is False
    assert results[2500.0].diffusivity_cm2_s > results[1500.0].diffusivity_cm2_s > 0
    # the analysed production is what the run document says was run
    for run in doc.md_runs:
        assert results[run.temperature_K].n_frames == run.production_steps // 2 + 1
    assert doc.arrhenius is not None
    assert set(doc.arrhenius.fitted_temperatures_K) == {1500.0, 2500.0}
    # no analysis job was added after a converge check: the check's result is used
    names = [d["name"] for d in store.docs_store.query({}, ["name"])]
    assert not [n for n in names if n.startswith("analyze")]
