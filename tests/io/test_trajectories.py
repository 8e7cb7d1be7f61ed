from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from ionflow.errors import InputError
from ionflow.io.trajectories import (
    read_ase,
    read_cp2k_xyz,
    read_pymatgen_json,
    read_run,
    read_trajectory,
    read_vasprun,
    read_xdatcar,
)


@pytest.fixture
def si_vasprun(aimd_dir):
    return aimd_dir / "pmg_vasprun_md_si" / "vasprun.md.xml.gz"


def test_vasprun_matches_pymatgen(si_vasprun):
    from pymatgen.io.vasp import Vasprun

    traj = read_vasprun(si_vasprun)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vr = Vasprun(si_vasprun, parse_dos=False, parse_eigen=False)
    ref = np.array([s["structure"].frac_coords for s in vr.ionic_steps])
    lat = np.array([s["structure"].lattice.matrix for s in vr.ionic_steps])
    assert traj.n_frames == len(vr.ionic_steps) == 10
    assert np.allclose(traj.frac_coords, ref)
    assert np.allclose(traj.lattice(0), lat[0])
    assert traj.time_step_fs == vr.parameters["POTIM"] == 3.0
    assert traj.temperature_K == 2000.0
    assert traj.species == [str(s) for s in vr.atomic_symbols]
    assert traj.warnings == []


def _text(path):
    with gzip.open(path, "rt") as fh:
        return fh.read()


def test_truncated_vasprun_keeps_complete_frames(si_vasprun, tmp_path):
    text = _text(si_vasprun)
    # cut in the middle of the 7th <calculation>
    cut = [i for i in range(len(text)) if text.startswith("<calculation>", i)][6] + 500
    plain = tmp_path / "vasprun.xml"
    plain.write_text(text[:cut])
    traj = read_vasprun(plain)
    assert traj.n_frames == 6
    assert any("truncated" in w and "6 complete" in w for w in traj.warnings)
    # a gzip stream cut short behaves the same
    raw = gzip.compress(text.encode())
    cut_gz = tmp_path / "vasprun.xml.gz"
    cut_gz.write_bytes(raw[: len(raw) * 2 // 3])
    traj_gz = read_trajectory(cut_gz)
    assert 1 <= traj_gz.n_frames < 10
    assert traj_gz.warnings


def test_corrupt_or_wrong_vasprun_is_a_clear_error(tmp_path, shared_dir):
    bad = tmp_path / "vasprun.xml"
    bad.write_text("<modeling><generator>garbage & more")
    with pytest.raises(InputError, match="vasprun"):
        read_vasprun(bad)
    relax = shared_dir / "data" / "relax" / "atomate_lif_pbesol_relax" / "vasprun.xml.gz"
    with pytest.raises(InputError, match="IBRION"):
        read_vasprun(relax)


def test_xdatcar_matches_pymatgen_and_needs_time_step(aimd_dir):
    from pymatgen.io.vasp import Xdatcar

    path = aimd_dir / "pmg_xdatcar_lisi" / "XDATCAR_traj.gz"
    traj = read_xdatcar(path, time_step_fs=2.0)
    ref = Xdatcar(path)
    assert traj.n_frames == len(ref.structures) == 100
    assert np.allclose(traj.frac_coords, [s.frac_coords for s in ref.structures])
    assert np.allclose(traj.lattice(0), ref.structures[0].lattice.matrix)
    assert traj.species == [s.specie.symbol for s in ref.structures[0]]
    with pytest.raises(InputError, match="time step"):
        read_xdatcar(path)


def test_truncated_xdatcar(aimd_dir, tmp_path):
    lines = _text(aimd_dir / "pmg_xdatcar_lisi" / "XDATCAR_traj.gz").splitlines()
    # header 7 lines + 3 frames of (1 + 76) lines + half a frame
    part = tmp_path / "XDATCAR"
    part.write_text("\n".join(lines[: 7 + 3 * 77 + 30]) + "\n")
    traj = read_xdatcar(part, time_step_fs=1.0)
    assert traj.n_frames == 3
    assert any("truncated" in w for w in traj.warnings)


def test_cp2k_xyz_with_input_cell(shared_dir):
    import ase.io

    path = shared_dir / "data" / "cp2k" / "nomad_h2o_md" / "H2O-32-pos-1.xyz"
    traj = read_cp2k_xyz(path)
    frames = ase.io.read(path, index=":")
    assert traj.n_frames == len(frames) == 11
    cart = np.einsum("tai,ij->taj", traj.frac_coords, traj.lattice(0))
    assert np.allclose(cart, [f.positions for f in frames])
    assert np.allclose(traj.lattice(0), np.eye(3) * 9.8528)
    assert traj.time_step_fs == pytest.approx(0.5)
    assert traj.temperature_K == 300.0
    assert traj.species == ["O", "O", "H", "H", "H", "H"]


def test_cp2k_xyz_without_cell_is_an_error(shared_dir, tmp_path):
    src = shared_dir / "data" / "cp2k" / "nomad_h2o_md" / "H2O-32-pos-1.xyz"
    copy = tmp_path / "H2O-32-pos-1.xyz"
    copy.write_text(src.read_text())
    with pytest.raises(InputError, match="no cell"):
        read_cp2k_xyz(copy)


def test_ase_traj_and_pymatgen_json_round_trip(random_walk, tmp_path):
    from ase import Atoms
    from ase.io.trajectory import Trajectory as AseTrajectory
    from monty.serialization import dumpfn
    from pymatgen.core import Structure
    from pymatgen.core.trajectory import Trajectory

    walk = random_walk(n_frames=12, n_li=3, n_fw=2)
    path = tmp_path / "md.traj"
    with AseTrajectory(path, "w") as out:
        for f in walk.frac_coords:
            out.write(Atoms(walk.species, scaled_positions=f, cell=walk.lattice(0), pbc=True))
    traj = read_ase(path, time_step_fs=5.0)
    assert np.allclose(traj.frac_coords % 1.0, walk.frac_coords % 1.0)
    with pytest.raises(InputError, match="time-step"):
        read_ase(path)
    structs = [Structure(walk.lattice(0), walk.species, f) for f in walk.frac_coords]
    pmg = Trajectory.from_structures(structs, time_step=5.0)
    dumpfn(pmg, tmp_path / "traj.json.gz")
    back = read_trajectory(tmp_path / "traj.json.gz")
    assert back.time_step_fs == 5.0
    assert np.allclose(back.frac_coords, walk.frac_coords)
    dumpfn({"not": "a trajectory"}, tmp_path / "other.json")
    with pytest.raises(InputError, match="not a pymatgen Trajectory"):
        read_pymatgen_json(tmp_path / "other.json")


def test_read_run_concatenates_and_rejects_mixed_temperatures(si_vasprun, tmp_path):
    text = _text(si_vasprun)
    a, b = tmp_path / "a" / "vasprun.xml", tmp_path / "b" / "vasprun.xml"
    a.parent.mkdir()
    b.parent.mkdir()
    a.write_text(text)
    b.write_text(text.replace("2000.00000000", "1500.00000000"))
    with pytest.raises(InputError, match="different temperatures"):
        read_run([a, b])
    run = read_run([a, a], step_skip=2)
    assert run.n_frames == 10  # 20 frames, every 2nd
    assert run.time_step_fs == 6.0
    with pytest.raises(InputError, match="does not exist"):
        read_run([tmp_path / "missing.xml"])


def test_line_scanner_and_xml_parser_agree(si_vasprun):
    from ionflow.io.vasp import _iterparse_vasprun, _scan_vasprun

    fast = _scan_vasprun(si_vasprun, "x")
    strict = _iterparse_vasprun(si_vasprun, "x")
    assert fast[0] == strict[0]
    assert fast[1] == strict[1]
    assert np.array_equal(np.array(fast[2]), np.array(strict[2]))
    assert np.array_equal(np.array(fast[3]), np.array(strict[3]))


def test_damaged_calculation_in_the_middle_stops_without_a_gap(si_vasprun, tmp_path):
    text = _text(si_vasprun)
    starts = [i for i in range(len(text)) if text.startswith("<calculation>", i)]
    fourth = text[starts[3] : starts[4]]
    broken = fourth.replace('<varray name="positions" >', '<varray name="garbled" >')
    damaged = tmp_path / "vasprun.xml"
    damaged.write_text(text[: starts[3]] + broken + text[starts[4] :])
    traj = read_vasprun(damaged)
    assert traj.n_frames == 3
    assert any("without a structure" in w for w in traj.warnings)
