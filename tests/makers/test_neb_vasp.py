"""VASP NEB flow replayed on real outputs (atomate2's Si vacancy CI-NEB).

The fake stands in for the VASP executable only: it checks the INCAR ionflow wrote (VTST
CI-NEB keys, IMAGES, EDIFFG/SPRING from the maker) and copies the reference outputs of the
matching calculation (endpoint relaxations, NEB images) into the job folder. The flow
itself (relax endpoints, IDPP, atomate2's NebFromImagesMaker, collector) runs for real;
its numbers must equal pymatgen's NEBAnalysis on the same files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Structure
from pymatgen.io.vasp import Incar

from ionflow.errors import InputError


class FakeVasp:
    """``run_vasp`` stand-in keyed on the folder layout atomate2 wrote."""

    def __init__(self, root: Path, incar_checks: dict[str, dict]):
        self.root = root
        self.incar_checks = incar_checks
        self.calls: list[str] = []

    def __call__(self, *args, **kwargs) -> None:
        cwd = Path.cwd()
        incar = Incar.from_file(cwd / "INCAR")
        if (cwd / "01").is_dir():
            kind, src = "neb", self.root / "NEB" / "outputs"
        else:
            start = Structure.from_file(cwd / "POSCAR")
            # which endpoint: the reference relaxation whose input matches this POSCAR
            kind = src = None
            for k in (1, 2):
                ref = Structure.from_file(
                    self.root / f"relax_endpoint_{k}" / "outputs" / "POSCAR.gz"
                )
                # same sites in any order (ionflow reorders the final endpoint to match)
                dist = ref.lattice.get_all_distances(ref.frac_coords, start.frac_coords)
                if len(ref) == len(start) and dist.min(axis=1).max() < 1e-3:
                    kind, src = f"relax {k}", self.root / f"relax_endpoint_{k}" / "outputs"
            assert kind is not None, "POSCAR matches no reference endpoint"
        for key, value in self.incar_checks[kind.split()[0]].items():
            assert incar.get(key) == value, f"{kind}: INCAR {key}={incar.get(key)} != {value}"
        self.calls.append(kind)
        if kind == "neb":
            for image in sorted(p for p in src.iterdir() if p.is_dir()):
                for f in image.iterdir():
                    if f.name.split(".")[0] in ("OUTCAR", "CONTCAR", "vasprun"):
                        shutil.copy(f, cwd / image.name / f.name)
        else:
            for name in ("OUTCAR.gz", "CONTCAR.gz", "vasprun.xml.gz"):
                shutil.copy(src / name, cwd / name)


@pytest.fixture
def si_root(shared_dir):
    return shared_dir / "data" / "neb" / "atomate2_si_vacancy_neb"


@pytest.fixture
def memory_store():
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def test_vasp_neb_flow_replays_real_outputs(si_root, memory_store, monkeypatch, tmp_path):
    from pymatgen.analysis.transition_state import NEBAnalysis

    from ionflow.engines.vasp import VaspEngine
    from ionflow.makers.neb import NebFromEndpointsMaker

    fake = FakeVasp(
        si_root,
        {
            "relax": {"EDIFFG": -0.02, "ISIF": 2},
            "neb": {
                "IMAGES": 3,
                "LCLIMB": True,
                "IOPT": 1,
                "IBRION": 3,
                "POTIM": 0,
                "EDIFFG": -0.02,
                "SPRING": -5,
            },
        },
    )
    monkeypatch.setattr("atomate2.vasp.jobs.base.run_vasp", fake)
    monkeypatch.setattr("atomate2.vasp.jobs.neb.run_vasp", fake)
    monkeypatch.chdir(tmp_path)
    ends = [
        Structure.from_file(si_root / f"relax_endpoint_{k}" / "outputs" / "POSCAR.gz")
        for k in (1, 2)
    ]
    engine = VaspEngine(write_input_set_kwargs={"potcar_spec": True})
    maker = NebFromEndpointsMaker(
        engine=engine, n_images=3, fmax_eV_A=0.02, relax_fmax_eV_A=0.02, interpolation="linear"
    )
    flow = maker.make(ends[0], ends[1], label="Si vac hop")
    names = [j.name for j in flow.jobs]
    assert names[:3] == [
        "relax Si vac hop initial",
        "relax Si vac hop final",
        "prepare neb path Si vac hop",
    ]
    responses = run_locally(flow, store=memory_store, create_folders=True, ensure_success=True)
    assert sorted(fake.calls) == ["neb", "relax 1", "relax 2"]
    doc = responses[flow.output.uuid][1].output

    ref = NEBAnalysis.from_dir(
        si_root / "NEB" / "outputs",
        relaxation_dirs=tuple(si_root / f"relax_endpoint_{k}" / "outputs" for k in (1, 2)),
    )
    assert doc.source == "vasp"
    assert doc.method == "CI-NEB"
    assert doc.converged
    assert np.allclose(doc.energies_eV, ref.energies, atol=1e-10)
    assert np.allclose(doc.tangential_forces_eV_A, ref.forces, atol=1e-10)
    assert doc.barrier_forward_eV == pytest.approx(ref.relative_energies.max(), abs=1e-10)
    assert doc.barrier_backward_eV == pytest.approx(
        ref.energies.max() - ref.energies[-1], abs=1e-10
    )
    assert doc.climbing_image == 2
    assert np.allclose(doc.reaction_coordinate_A, ref.r, atol=1e-3)
    assert doc.interpolation == "linear"
    # the final images went to the data store, not the docs store
    stored = memory_store.query_one({"uuid": flow.output.uuid}, load=False)
    assert "@class" in stored["output"]["images"] or "blob_uuid" in stored["output"]["images"]


def test_vasp_neb_maker_needs_image_count():
    from jobflow import Job

    from ionflow.engines.vasp import VaspEngine
    from ionflow.errors import ConfigError
    from ionflow.makers.neb import NebFromEndpointsMaker, VaspNebMaker
    from ionflow.structures.prototypes import build_prototype

    job = Job(lambda: None)
    with pytest.raises(ConfigError, match="n_images"):
        VaspNebMaker().make(job.output)
    host = build_prototype("Li3OCl")
    smaller = host.copy()
    smaller.remove_sites([2])
    maker = NebFromEndpointsMaker(engine=VaspEngine())
    with pytest.raises(InputError, match="differ in composition"):
        maker.make(host, smaller)
