"""Li3OCl window computed end to end with CHGNet (real run, about 20 s on one core)."""

from __future__ import annotations

import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element
from tests.conftest import REPO

from ionflow.flows.window import CompetingPhasesWindowMaker
from ionflow.io.structures import read_structure_folder

LI_O_CL = REPO / "configs" / "structures" / "window" / "li_o_cl"


@pytest.mark.mlff
def test_li3ocl_window_with_chgnet(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("chgnet")
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)

    structures = read_structure_folder(LI_O_CL)
    flow = CompetingPhasesWindowMaker(formula="Li3OCl", max_steps=200).make(structures)
    store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    responses = run_locally(flow, store=store, create_folders=False, ensure_success=True)
    doc = responses[flow.jobs[-1].uuid][1].output
    entries = responses[flow.jobs[-2].uuid][1].output

    assert doc.settings == ["mlip:CHGNet"]
    assert doc.compatibility == "none"  # CHGNet energies already carry MP2020 corrections
    assert doc.engine == {"engine": "mlip", "model": "CHGNet"}
    # the peroxide stays a peroxide after the CHGNet cell relaxation
    li2o2 = next(e.structure for e in entries if e.entry_id == "Li2O2")
    o_sites = [i for i, site in enumerate(li2o2) if site.specie.symbol == "O"]
    d_oo = min(li2o2.get_distance(i, j) for i in o_sites for j in o_sites if i != j)
    assert 1.35 < d_oo < 1.70

    # peer: pymatgen's element profile on the same CHGNet entries
    li = Element("Li")
    pd = PhaseDiagram(entries)
    mu0 = pd.el_refs[li].energy_per_atom
    ref = pd.get_element_profile(li, Composition("Li3OCl"))
    zero = [i for i, item in enumerate(ref) if abs(item["evolution"]) < 1e-6]
    assert zero, "pymatgen finds no Li-neutral equilibrium"
    assert doc.reduction_limit_V == pytest.approx(max(mu0 - ref[zero[0]]["chempot"], 0), abs=1e-3)
    assert doc.oxidation_limit_V == pytest.approx(mu0 - ref[zero[-1] + 1]["chempot"], abs=1e-3)
    expected = sorted(e.composition.reduced_formula for e in ref[zero[-1] + 1]["entries"])
    assert doc.oxidation_products == expected
    assert doc.oxidation_products  # products are named
    assert 0.0 <= doc.reduction_limit_V < doc.oxidation_limit_V < 5.0
    hull = pd.get_e_above_hull(
        min(
            (e for e in entries if e.composition.reduced_formula == "Li3ClO"),
            key=lambda e: e.energy_per_atom,
        )
    )
    assert doc.energy_above_hull_eV_atom == pytest.approx(hull, abs=1e-9)
