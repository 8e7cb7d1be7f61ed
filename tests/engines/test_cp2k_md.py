"""CP2K MD for real (Debian's cp2k.psmp): two chained segments continued from the restart file."""

from __future__ import annotations

import numpy as np
import pytest

from ionflow.engines.cp2k import Cp2kEngine, cheap_basis_and_potential
from ionflow.engines.cp2k.segment import _restart_species
from ionflow.errors import ConfigError
from ionflow.io.cp2k import read_xyz_frames
from ionflow.makers.md import MultiTemperatureMDMaker
from ionflow.testing.cp2k import cp2k_available, ensure_pmg_cp2k_data
from ionflow.testing.md import concatenate_frames, memory_job_store, run_flow

pytestmark = pytest.mark.filterwarnings("ignore")


def test_cheap_basis_matches_pseudopotential_valence():
    got = cheap_basis_and_potential({"Li", "O", "Cl", "S", "Ta"})
    assert got["Li"] == {"basis": "SZV-MOLOPT-SR-GTH", "potential": "GTH-PBE-q3"}
    assert got["O"]["potential"] == "GTH-PBE-q6"
    assert got["Cl"]["potential"] == "GTH-PBE-q7"
    assert got["S"]["potential"] == "GTH-PBE-q6"
    assert got["Ta"]["potential"] == "GTH-PBE-q13"
    with pytest.raises(ConfigError, match="La"):
        cheap_basis_and_potential({"La"})


def test_only_nose_hoover_survives_custodian(tmp_path):
    engine = Cp2kEngine(data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="nose-hoover"):
        engine.md_maker(temperature_K=600, n_steps=2, time_step_fs=1.0, thermostat="langevin")


def test_xyz_reader_drops_truncated_frame(tmp_path):
    path = tmp_path / "t.xyz"
    frame = "2\n i =        {i}, time = 0, E = 0\nLi 0 0 {z}\nO 1 1 1\n"
    path.write_text(frame.format(i=0, z=0.0) + frame.format(i=1, z=0.5) + "2\n i = 2\nLi 0 0")
    steps, xyz, species = read_xyz_frames(path)
    assert steps.tolist() == [0, 1]
    assert xyz[1, 0, 2] == 0.5
    assert species == ["Li", "O"]


@pytest.mark.cp2k
@pytest.mark.slow
def test_two_segments_continue_from_restart_file(tmp_path, li3ocl, monkeypatch):
    assert cp2k_available(), "cp2k.psmp and /usr/share/cp2k are required (apt install cp2k)"
    data_dir = ensure_pmg_cp2k_data()
    monkeypatch.setenv("IONFLOW_CP2K__DATA_DIR", str(data_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from ionflow.settings import reset_settings

    reset_settings()

    def maker(segment_steps, name):
        return MultiTemperatureMDMaker(
            engine=Cp2kEngine(),
            temperatures_K=[600.0],
            time_step_fs=1.0,
            equilibration_steps=0,
            production_steps=4,
            traj_interval=1,
            segment_steps=segment_steps,
            checkpoint_dir=str(tmp_path / name),
        )

    chained = run_flow(maker(2, "c").make(li3ocl), memory_job_store(), tmp_path / "chain")
    trajs = chained["trajectories"][0]
    assert len(trajs) == 2
    frames = concatenate_frames(trajs)
    np.testing.assert_array_equal(frames["steps"], np.arange(5))
    np.testing.assert_allclose(frames["time_fs"], np.arange(5.0))
    # the second segment ran from the first one's restart file, wavefunction included
    job_dirs = sorted((tmp_path / "chain").iterdir())
    second = next(d for d in job_dirs if (d / "previous.restart").exists())
    assert "&EXT_RESTART" in (second / "cp2k.inp").read_text()
    assert (second / "CP2K-RESTART.wfn").exists()
    assert _restart_species((second / "previous.restart").read_text()) == [
        s.specie.symbol for s in li3ocl
    ]
    # continuing positions, velocities and thermostat: the chain follows one 4-step run
    # (up to SCF tolerance); redrawn velocities would be off by ~1e-2 Å after 2 fs
    single = run_flow(maker(None, "s").make(li3ocl), memory_job_store(), tmp_path / "single")
    ref = concatenate_frames(single["trajectories"][0])
    lattice = li3ocl.lattice.matrix
    diff = (frames["frac_coords"] - ref["frac_coords"]) @ lattice
    assert np.abs(diff).max() < 1e-3
    assert np.abs(frames["velocities_A_fs"] - ref["velocities_A_fs"]).max() < 1e-4
    temps = [p["temperature_K"] for t in trajs for p in t.frame_properties]
    assert temps[0] == pytest.approx(600.0)


@pytest.mark.cp2k
@pytest.mark.slow
def test_static_task_document_of_an_rks_run(tmp_path, li3ocl, monkeypatch):
    # atomate2's own static job + TaskDocument: the RKS cleanup_dft fix (CP2K_NOTES bug 2)
    assert cp2k_available(), "cp2k.psmp and /usr/share/cp2k are required (apt install cp2k)"
    monkeypatch.setenv("IONFLOW_CP2K__DATA_DIR", str(ensure_pmg_cp2k_data()))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from ionflow.settings import reset_settings

    reset_settings()
    engine = Cp2kEngine()
    from ionflow.engines.cp2k import pymatgen_cp2k_settings, resolve_pmg_cp2k_data_dir

    with pymatgen_cp2k_settings(resolve_pmg_cp2k_data_dir(), "PBE"):
        job = engine.static_maker().make(li3ocl)
        out = run_flow(job, memory_job_store(), tmp_path)
    assert out.output.energy < 0
    dft = out.calcs_reversed[0].input.dft
    assert not dft.get("UKS", dft.get("uks", False))  # an RKS run, parsed and read back


def test_generators_stored_under_the_old_module_still_load(tmp_path):
    """Workflows stored before the splits name ``ionflow.engines.cp2k`` or ``.cp2k_inputs``."""
    from monty.json import MontyDecoder

    from ionflow.engines.cp2k.inputs import IonflowCp2kMDSetGenerator

    engine = Cp2kEngine(data_dir=str(tmp_path))
    maker = engine.md_maker(temperature_K=600, n_steps=7, time_step_fs=0.5)
    stored = maker.input_set_generator.as_dict()
    assert stored["@module"] == "ionflow.engines.cp2k.inputs"
    for old in ("ionflow.engines.cp2k", "ionflow.engines.cp2k_inputs"):
        stored["@module"] = old
        loaded = MontyDecoder().process_decoded(stored)
        assert isinstance(loaded, IonflowCp2kMDSetGenerator)
        assert (loaded.temperature_K, loaded.n_steps, loaded.time_step_fs) == (600.0, 7, 0.5)
        assert loaded.pmg_data_dir == str(tmp_path)
