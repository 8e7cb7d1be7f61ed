"""Real CHGNet CI-NEB of the nearest-neighbour Li vacancy hop in a 2x2x2 Li3OCl supercell.

The hop is symmetric (both endpoints are a V_Li in the same crystal), so forward and
backward barriers must agree; the published DFT values for Li3OCl vacancy hops are
0.31-0.37 eV, CHGNet gives about 0.25 eV, inside the 0.2-0.5 eV plausibility window.
Several minutes of CPU: marked slow.
"""

from __future__ import annotations

import pytest
from jobflow import run_locally

from ionflow.testing.md import memory_job_store

pytestmark = [pytest.mark.mlff, pytest.mark.slow]


def test_chgnet_ci_neb_li_vacancy_hop(tmp_path):
    import torch

    from ionflow.engines.mlip import MlipEngine
    from ionflow.makers.neb import NebFromEndpointsMaker
    from ionflow.structures.defects import generate_defects
    from ionflow.structures.hops import enumerate_hops
    from ionflow.structures.prototypes import build_prototype
    from ionflow.structures.supercell import choose_supercell

    torch.set_num_threads(1)
    host = choose_supercell(build_prototype("Li3OCl"), matrix=[2, 2, 2]).structure
    config = generate_defects(host, {"type": "vacancy", "species": ["Li"]})[0]
    hop = enumerate_hops(
        config.structure, cutoff_A=3.0, vacancies=[config.defect_sites[0].frac_coords]
    )[0]
    assert hop.multiplicity == 8
    maker = NebFromEndpointsMaker(
        engine=MlipEngine(), n_images=3, fmax_eV_A=0.05, relax_fmax_eV_A=0.03
    )
    flow = maker.make(hop.initial, hop.final, label=hop.label, hop=hop)
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, root_dir=tmp_path, log=False)
    doc = responses[flow.output.uuid][1].output
    assert doc.source == "mlip"
    assert doc.method == "CI-NEB"
    assert doc.interpolation == "idpp"
    assert doc.converged, doc.message
    assert doc.max_force_eV_A <= 0.05
    assert 0.2 <= doc.barrier_forward_eV <= 0.5
    assert doc.barrier_forward_eV == pytest.approx(doc.barrier_backward_eV, abs=0.01)
    assert doc.climbing_image == 2
    # tangential force vanishes at the climbing image (it sits on the saddle)
    assert abs(doc.tangential_forces_eV_A[2]) <= 0.05
    # the band's images are in the data store
    data = store.additional_stores["data"]
    assert data.count() >= 1
