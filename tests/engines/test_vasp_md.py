"""VASP MD through the chained flow, replaying a real VASP MD run (Si64, 10 steps)."""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import run_locally
from pymatgen.io.vasp import Vasprun

from ionflow.engines.vasp import VaspEngine
from ionflow.errors import ConfigError
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.run.local import resume_run
from ionflow.testing.md import memory_job_store, run_flow
from ionflow.testing.vasp import VaspMDReplay

pytestmark = pytest.mark.filterwarnings("ignore")  # pymatgen POTCAR/VASP input warnings

RUN = "data/aimd/pmg_vasprun_md_si/vasprun.md.xml.gz"


@pytest.fixture
def replay(shared_dir, monkeypatch):
    fake = VaspMDReplay(shared_dir / RUN)
    monkeypatch.setattr("ionflow.engines.vasp.segment.run_vasp", fake)
    return fake


def _maker(tmp_path, segment_steps=4):
    # the reference run: NVT Nose (MDALGO 2, SMASS 1), 2000 K, POTIM 3 fs, 10 steps
    return MultiTemperatureMDMaker(
        engine=VaspEngine(write_input_set_kwargs={"potcar_spec": True}, vasp_cmd="vasp_std"),
        temperatures_K=[2000.0],
        time_step_fs=3.0,
        equilibration_steps=0,
        production_steps=10,
        traj_interval=1,
        segment_steps=segment_steps,
        seed=None,
        overrides={"SMASS": 1.0, "ISIF": 2},
        checkpoint_dir=str(tmp_path / "ckpt"),
    )


def _reference(shared_dir):
    vr = Vasprun(str(shared_dir / RUN), parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    frac = np.array([s["structure"].frac_coords for s in vr.ionic_steps])
    frac = np.concatenate([frac, vr.final_structure.frac_coords[None]])
    energies = np.array([s["e_fr_energy"] for s in vr.ionic_steps])
    return frac, energies


def _same_positions(a, b):
    d = np.asarray(a) - np.asarray(b)
    return np.abs(d - np.round(d)).max()


def test_chained_replay_reproduces_the_run(tmp_path, replay, shared_dir):
    out = run_flow(_maker(tmp_path).make(replay.structure(0)), memory_job_store(), tmp_path / "r")
    # three segments of 4, 4 and 2 steps, each continuing from the previous CONTCAR
    assert [(c["first_step"], c["nsw"]) for c in replay.calls] == [(0, 4), (4, 4), (8, 2)]
    trajs = out["trajectories"][0]
    frames = _frames(trajs)
    ref_frac, ref_energy = _reference(shared_dir)
    np.testing.assert_array_equal(frames["steps"], np.arange(11))
    np.testing.assert_allclose(frames["time_fs"], 3.0 * np.arange(11))
    assert _same_positions(frames["frac_coords"], ref_frac) < 1e-7
    # energies: every frame that was an ionic block of its segment matches the vasprun
    for step, energy in zip(frames["steps"], frames["energy_eV"], strict=True):
        if energy is not None:
            assert energy == pytest.approx(ref_energy[step])
    assert sum(e is not None for e in frames["energy_eV"]) >= 8
    run = out["runs"][0]
    assert (run.segments, run.engine, run.segment_steps) == (3, "vasp", 4)


def _frames(trajs):
    props = [p for t in trajs for p in t.frame_properties]
    return {
        "frac_coords": np.concatenate([np.asarray(t.coords) for t in trajs]),
        "steps": np.array([p["step"] for p in props]),
        "time_fs": np.array([p["time_fs"] for p in props]),
        "energy_eV": [p.get("energy_eV") for p in props],
    }


def test_ml_force_field_data_follows_the_chain(tmp_path, replay):
    maker = _maker(tmp_path, segment_steps=5)
    maker.overrides = {**maker.overrides, "ML_LMLFF": True, "ML_MODE": "train"}
    run_flow(maker.make(replay.structure(0)), memory_job_store(), tmp_path / "ml")
    assert [c["ml_ab"] for c in replay.calls] == [None, "ML_AB after step 5\n"]


def test_crashed_segment_resumes_from_contcar(tmp_path, replay, shared_dir, monkeypatch):
    flow = _maker(tmp_path, segment_steps=5).make(replay.structure(0))
    store = memory_job_store()
    replay.crash_after = None
    calls = []

    def crash_second(**kwargs):
        replay.crash_after = 2 if len(calls) == 1 else None
        calls.append(1)
        replay(**kwargs)

    with monkeypatch.context() as patch:
        patch.setattr("ionflow.engines.vasp.segment.run_vasp", crash_second)
        run_locally(flow, store=store, create_folders=True, root_dir=tmp_path / "a", log=False)
    # segment 1 died after 2 of its 5 steps; resume continues at step 7 with NSW 3
    replay.crash_after = None
    resume_run(flow, store, tmp_path / "b", echo=lambda m: None)
    assert [(c["first_step"], c["nsw"]) for c in replay.calls] == [(0, 5), (5, 5), (7, 3)]
    seg1 = store.query_one({"name": "md 2000K production 1"}, properties=["output"])["output"]
    assert seg1["attempts"] == 2
    assert seg1["resumed_from_step"] == 7
    store.connect()
    uuids = [d["uuid"] for d in store.query({"name": {"$regex": "^md 2000K"}}, ["uuid", "name"])]
    assert len(uuids) == 2
    from pymatgen.core.trajectory import Trajectory

    trajs = sorted(
        (Trajectory.from_dict(store.get_output(u, load=True)["trajectory"]) for u in uuids),
        key=lambda t: t.frame_properties[0]["step"],
    )
    frames = _frames(trajs)
    ref_frac, _ = _reference(shared_dir)
    np.testing.assert_array_equal(frames["steps"], np.arange(11))
    assert _same_positions(frames["frac_coords"], ref_frac) < 1e-7


def test_fake_rejects_wrong_inputs(tmp_path, replay, monkeypatch):
    # a wrong temperature reaches the fake as TEBEG and fails the job
    maker = _maker(tmp_path)
    maker.temperatures_K = [1500.0]
    flow = maker.make(replay.structure(0))
    with pytest.raises(RuntimeError):
        run_locally(
            flow,
            store=memory_job_store(),
            create_folders=True,
            root_dir=tmp_path / "w",
            ensure_success=True,
            log=False,
        )
    assert replay.calls == []
    # a POSCAR that is not a step of the reference run is rejected
    monkeypatch.chdir(tmp_path)
    from atomate2.vasp.files import write_vasp_input_set

    gen = VaspEngine().md_maker(
        temperature_K=2000, n_steps=2, time_step_fs=3.0, overrides={"SMASS": 1.0}
    )
    moved = replay.structure(3)
    moved.translate_sites([0], [0.01, 0, 0])
    write_vasp_input_set(moved, gen.input_set_generator, potcar_spec=True)
    with pytest.raises(AssertionError, match="matches no step"):
        replay()


def test_berendsen_is_not_a_vasp_thermostat():
    with pytest.raises(ConfigError, match="not available for VASP"):
        VaspEngine().md_maker(temperature_K=900, n_steps=10, time_step_fs=1, thermostat="berendsen")


def test_langevin_sets_one_gamma_per_species(li3ocl):
    maker = VaspEngine().md_maker(
        temperature_K=900, n_steps=10, time_step_fs=1.0, thermostat="langevin", seed=3
    )
    incar = maker.input_set_generator.get_input_set(li3ocl, potcar_spec=True).incar
    assert incar["MDALGO"] == 3
    assert incar["LANGEVIN_GAMMA"] == [10.0, 10.0, 10.0]
    assert incar["RANDOM_SEED"] == [3, 0, 0]
    assert (incar["TEBEG"], incar["TEEND"], incar["NSW"], incar["IBRION"]) == (900, 900, 10, 0)
    assert (incar["ISPIN"], incar["LREAL"]) == (1, "Auto")
    kpoints = maker.input_set_generator.get_input_set(li3ocl, potcar_spec=True).kpoints
    assert tuple(kpoints.kpts[0]) == (1, 1, 1)
