"""Defect NEB study flow end to end on a Lennard-Jones argon crystal (seconds, no MLIP).

The flow (endpoint relaxations with atomate2's LJ relax maker, IDPP, CI-NEB through
atomate2's force-field NEB-from-images maker with ASE's LennardJones, collector,
percolation) runs for real; the checks are physical: the fcc vacancy hop has 12
equivalent copies, a symmetric band, and percolates in 3D at its own barrier.
"""

from __future__ import annotations

import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from ionflow.flows.neb import DefectNebMaker, summarize_nebs_result
from ionflow.makers.neb import MlipNebMaker, NebFromEndpointsMaker
from ionflow.testing.md import LennardJonesEngine, memory_job_store

LJ = {"sigma": 3.4, "epsilon": 0.0104, "rc": 6.5}


@pytest.fixture(scope="module")
def argon():
    host = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.26), ["Ar"], [[0, 0, 0]]) * 2
    cell = host.copy()
    cell.remove_sites([0])
    return host, cell


def _maker(max_steps=200, fmax=0.01):
    engine = LennardJonesEngine(calculator_kwargs=dict(LJ))
    band = MlipNebMaker(
        model="ase.calculators.lj.LennardJones",
        calculator_kwargs=dict(LJ),
        fmax_eV_A=fmax,
        max_steps=max_steps,
    )
    return NebFromEndpointsMaker(
        engine=engine, n_images=3, relax_fmax_eV_A=0.005, band=band, fmax_eV_A=fmax
    )


def test_vacancy_hop_study_percolates_in_3d(argon, tmp_path):
    host, cell = argon
    maker = DefectNebMaker(neb_maker=_maker(), species="Ar", cutoff_A=4.0)
    hops = maker.hops(cell, host)
    assert [h.label for h in hops] == ["V_Ar hop 1"]
    assert hops[0].multiplicity == 12  # fcc: 12 nearest neighbours of the vacancy
    flow = maker.make(cell, host, label="V_Ar")
    names = [job.name for job, _ in flow.iterflow()]
    assert names == [
        "relax V_Ar V_Ar hop 1 initial",
        "relax V_Ar V_Ar hop 1 final",
        "prepare neb path V_Ar V_Ar hop 1",
        "mlip neb V_Ar V_Ar hop 1",
        "summarize nebs V_Ar",
    ]
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path)
    doc = responses[flow.output.uuid][1].output
    assert doc.missing == []
    assert doc.unconverged == []
    (neb,) = doc.nebs
    assert neb.converged
    assert neb.max_force_eV_A <= 0.01
    assert neb.images is None  # stripped in the summary; the band job put them in "data"
    assert neb.barrier_forward_eV > 0
    assert neb.barrier_forward_eV == pytest.approx(neb.barrier_backward_eV, abs=2e-3)
    assert neb.climbing_image == 2
    # the spline through images and tangential forces peaks at (or just above) the CI
    assert neb.spline_barrier_forward_eV >= neb.barrier_forward_eV
    assert neb.spline_barrier_forward_eV == pytest.approx(neb.barrier_forward_eV, abs=5e-3)
    perc = doc.percolation
    assert perc.percolating
    assert perc.dimensionality == 3
    assert perc.barrier_eV == pytest.approx(max(neb.barrier_forward_eV, neb.barrier_backward_eV))
    assert perc.barriers_by_dimension_eV == [perc.barrier_eV] * 3


def test_unconverged_and_failed_bands_are_never_barriers(argon, tmp_path, monkeypatch):
    host, cell = argon
    maker = DefectNebMaker(neb_maker=_maker(max_steps=2), species="Ar", cutoff_A=5.3)
    hops = maker.hops(cell, host)
    assert [round(h.length_A, 2) for h in hops] == [3.72, 5.26]
    original = MlipNebMaker.run

    def crash_second(self, images, **kwargs):
        if kwargs.get("label", "").endswith("hop 2"):
            raise RuntimeError("simulated crash of the second band")
        return original(self, images, **kwargs)

    monkeypatch.setattr(MlipNebMaker, "run", crash_second)
    flow = maker.make(cell, host, label="V_Ar")
    # both hops start from the same vacancy cell: one relaxation of it, one per final
    relax_names = [job.name for job, _ in flow.iterflow() if job.name.startswith("relax")]
    assert relax_names == [
        "relax V_Ar V_Ar hop 1 initial",
        "relax V_Ar V_Ar hop 1 final",
        "relax V_Ar V_Ar hop 2 final",
    ]
    jobs = {job.name: job for job, _ in flow.iterflow()}
    shared = jobs["relax V_Ar V_Ar hop 1 initial"].uuid
    for n in (1, 2):
        start = jobs[f"prepare neb path V_Ar V_Ar hop {n}"].function_args[0]
        assert start.uuid == shared
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path)
    doc = responses[flow.output.uuid][1].output
    assert doc.missing == ["V_Ar hop 2"]
    assert doc.unconverged == ["V_Ar hop 1"]
    (neb,) = doc.nebs
    assert not neb.converged
    assert neb.barrier_forward_eV is None
    assert neb.barrier_backward_eV is None
    assert neb.max_force_eV_A > 0.01
    assert "unconverged" in neb.message
    assert not doc.percolation.percolating


def test_summary_of_nothing_is_explicit(argon):
    host, _ = argon
    doc = summarize_nebs_result([None], ["hop 1"], label="x", host=host)
    assert doc.missing == ["hop 1"]
    assert doc.percolation.percolating is False
    assert "no converged hop" in doc.percolation.message


def test_prescreen_band_starts_the_final_band(argon, tmp_path):
    host, cell = argon
    maker = _maker()
    maker.prescreen = MlipNebMaker(
        name="prescreen",
        model="ase.calculators.lj.LennardJones",
        calculator_kwargs=dict(LJ),
        fmax_eV_A=0.05,
    )
    hop = DefectNebMaker(neb_maker=maker, species="Ar", cutoff_A=4.0).hops(cell, host)[0]
    flow = maker.make(hop.initial, hop.final, label="hop", hop=hop)
    names = [job.name for job, _ in flow.iterflow()]
    assert names.index("prescreen neb hop") < names.index("mlip neb hop")
    pre_uuid = next(job.uuid for job, _ in flow.iterflow() if job.name == "prescreen neb hop")
    # the band started from the prescreen's final images (output reference wiring)
    band = next(job for job, _ in flow.iterflow() if job.name == "mlip neb hop")
    assert band.function_args[0].uuid == pre_uuid
    assert band.function_args[0].attributes == (("a", "images"),)
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path)
    pre = responses[pre_uuid][1].output
    doc = responses[flow.output.uuid][1].output
    assert pre.converged
    assert doc.converged
    assert doc.interpolation == "prescreen"
    assert doc.max_force_eV_A <= 0.01
    assert pre.max_force_eV_A <= 0.05
