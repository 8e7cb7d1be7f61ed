"""Schottky pairs in Li3OCl with CHGNet (real run; minutes on one core).

The full Table 1 set of the seed study runs with
``ionflow defects energies configs/studies/li3ocl_defects_table1.yaml`` (see the report).
"""

from __future__ import annotations

import pytest
from jobflow import run_locally
from tests.conftest import REPO

from ionflow.flows.defects import DefectFormationMaker
from ionflow.io.structures import read_structure_folder
from ionflow.structures.prototypes import build_prototype
from ionflow.testing.md import memory_job_store

LI_O_CL = REPO / "configs" / "structures" / "window" / "li_o_cl"


@pytest.mark.slow
@pytest.mark.mlff
def test_li3ocl_schottky_pairs_with_chgnet(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("chgnet")
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    from ionflow.engines import get_engine

    phases = read_structure_folder(LI_O_CL)
    maker = DefectFormationMaker(
        engine=get_engine("mlip"), fmax_eV_A=0.05, max_steps=200, dielectric_constant=8.0
    )
    spec = {"type": "schottky", "species": ["Li", "Cl"], "separation": "all"}
    flow = maker.make(
        build_prototype("Li3OCl"), [spec], supercell_matrix=[2, 2, 2], competing_phases=phases
    )
    responses = run_locally(
        flow, store=memory_job_store(), create_folders=False, ensure_success=True
    )
    doc = responses[flow.jobs[-1].uuid][1].output
    assert doc.missing == []
    by = {d.label: d for d in doc.defects}
    near, far = by["V_Li+V_Cl_d2.76"], by["V_Li+V_Cl_d4.79"]
    # Li-rich limit with Li metal: mu_Li is the metal's energy per atom
    assert doc.chemical_potentials.mu_relative_eV["Li"] == pytest.approx(0.0, abs=1e-6)
    # the pairs cost energy; the neutral isolated V_Cl part need not: CHGNet puts it below
    # zero at the Li-rich limit, where mu_Cl is low, so it is not a result (raw kept)
    assert near.formation_energy_eV > 0
    assert far.formation_energy_eV > 0
    v_cl = by["V_Cl"]
    if v_cl.raw_formation_energy_eV < 0:
        assert v_cl.formation_energy_eV is None
        assert "V_Cl has nominal charge +1" in v_cl.formation_energy_reason
    # relative to the neutral isolated vacancies (a hole and an electron), the pairs gain
    # the recombination energy; CHGNet's parts are neutral cells of V_Li' and V_Cl^•, so
    # the binding energy is not a result (raw kept)
    for pair in (near, far):
        assert pair.binding.raw_binding_energy_eV < 0
        assert pair.binding.binding_energy_eV is None
        assert pair.binding.reason.startswith("isolated parts are neutral cells on this engine")
    assert near.binding.binding_vs_farthest_eV == pytest.approx(
        near.formation_energy_eV - far.formation_energy_eV
    )
    assert far.binding.binding_vs_farthest_eV == 0.0
    # screened point charges: the closer pair attracts more
    assert near.binding.coulomb_energy_eV < far.binding.coulomb_energy_eV < 0
    # inside the host's stability region LiCl must not precipitate: mu_Li + mu_Cl <= E(LiCl)
    mus = doc.chemical_potentials.mu_eV
    entries = responses[flow.jobs[-2].uuid][1].output
    e_licl = next(e for e in entries if e.entry_id == "LiCl").energy_per_atom * 2
    assert mus["Li"] + mus["Cl"] <= e_licl + 1e-6
