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
    run = read_run([a], stride=2)
    assert run.n_frames == 5  # 10 frames, every 2nd
    assert run.time_step_fs == 6.0
    assert (run.md_time_step_fs, run.md_step_skip) == (3.0, 1)
    with pytest.raises(InputError, match="same segment is given twice"):
        read_run([a, a])
    copy = tmp_path / "copy" / "vasprun.xml"
    copy.parent.mkdir()
    copy.write_text(text)
    with pytest.raises(InputError, match="same segment is given twice"):
        read_run([a, copy])
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


def _lisi_xdatcar(aimd_dir, tmp_path, incar: str | None = None):
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    path = folder / "XDATCAR"
    path.write_text(_text(aimd_dir / "pmg_xdatcar_lisi" / "XDATCAR_traj.gz"))
    if incar is not None:
        (folder / "INCAR").write_text(incar)
    return path


def test_time_step_and_step_skip_mean_what_they_mean_in_diffusion_analyzer(aimd_dir, tmp_path):
    """--time-step = MD step (POTIM), --step-skip = MD steps per stored frame (NBLOCK)."""
    path = _lisi_xdatcar(aimd_dir, tmp_path)
    run = read_run([path], time_step_fs=2.0, step_skip=50)
    assert run.time_step_fs == 100.0
    assert (run.md_time_step_fs, run.md_step_skip) == (2.0, 50)
    # without a file stating NBLOCK, a time step alone is ambiguous: refused
    with pytest.raises(InputError, match="--step-skip"):
        read_run([path], time_step_fs=2.0)
    with pytest.raises(InputError, match="--time-step"):
        read_run([path], step_skip=50)
    thin = read_run([path], time_step_fs=2.0, step_skip=50, stride=4)
    assert thin.n_frames == 25
    assert thin.time_step_fs == 400.0


def test_potim_and_nblock_are_read_beside_an_xdatcar(aimd_dir, tmp_path, si_vasprun):
    path = _lisi_xdatcar(
        aimd_dir, tmp_path, "SYSTEM = LiSi\nIBRION = 0\nPOTIM = 2.0 ! fs\nNBLOCK = 50\n"
    )
    run = read_run([path])
    assert run.time_step_fs == 100.0
    assert (run.md_time_step_fs, run.md_step_skip) == (2.0, 50)
    assert read_run([path], time_step_fs=2.0, step_skip=50).time_step_fs == 100.0
    with pytest.raises(InputError, match=r"--time-step 1 fs contradicts .*POTIM = 2 fs"):
        read_run([path], time_step_fs=1.0)
    with pytest.raises(InputError, match=r"--step-skip 10 contradicts the 50 MD step"):
        read_run([path], step_skip=10)
    # a vasprun.xml beside it (POTIM 3, NBLOCK not set = 1) serves as well
    (path.parent / "INCAR").unlink()
    (path.parent / "vasprun.xml").write_text(_text(si_vasprun))
    run = read_run([path])
    assert (run.time_step_fs, run.md_time_step_fs, run.md_step_skip) == (3.0, 3.0, 1)


def test_formats_with_time_check_the_given_values(random_walk, tmp_path):
    from monty.serialization import dumpfn
    from pymatgen.core import Structure
    from pymatgen.core.trajectory import Trajectory

    walk = random_walk(n_frames=12, n_li=3, n_fw=2)
    structs = [Structure(walk.lattice(0), walk.species, f) for f in walk.frac_coords]
    dumpfn(Trajectory.from_structures(structs, time_step=10.0), tmp_path / "traj.json")
    run = read_run([tmp_path / "traj.json"], time_step_fs=2.0)
    assert (run.time_step_fs, run.md_step_skip) == (10.0, 5)
    with pytest.raises(InputError, match=r"2 fs × --step-skip 3 = 6 fs .*contradicts 10 fs"):
        read_run([tmp_path / "traj.json"], time_step_fs=2.0, step_skip=3)
    with pytest.raises(InputError, match="not a multiple"):
        read_run([tmp_path / "traj.json"], time_step_fs=3.0)


def test_segments_in_reverse_order_are_put_in_order(aimd_dir):
    """Issue 19: run2 before run1 joins only the other way round: reordered, warned."""
    runs = [aimd_dir / f"li6ps5cl_500K_0p/run{i}/XDATCAR.gz" for i in (1, 2)]
    good = read_run(runs, time_step_fs=2.0, step_skip=50)
    swapped = read_run(runs[::-1], time_step_fs=2.0, step_skip=50)
    assert np.array_equal(swapped.frac_coords, good.frac_coords)
    assert any("reordered" in w for w in swapped.warnings)
    assert not any("reordered" in w for w in good.warnings)


def test_segments_that_do_not_join_are_refused(random_walk):
    from ionflow.analysis.segment_joins import order_segments
    from ionflow.analysis.trajectory import TrajectoryData

    walk = random_walk(n_frames=300, n_li=20, n_fw=4, diffusivity_cm2_s=3e-5, vibration_A=0.05)

    def seg(lo, hi):
        return TrajectoryData(
            walk.species, walk.frac_coords[lo:hi], walk.lattices, walk.time_step_fs, source=f"{lo}"
        )

    parts = [seg(0, 100), seg(100, 200), seg(200, 300)]
    ordered, notes = order_segments(parts)
    assert [p.source for p in ordered] == ["0", "100", "200"]
    assert notes == []
    ordered, notes = order_segments([parts[2], parts[0], parts[1]])
    assert [p.source for p in ordered] == ["0", "100", "200"]
    assert "reordered" in notes[0]
    with pytest.raises(InputError, match=r"segment 2 .* does not continue segment 1"):
        order_segments([parts[0], parts[2]])  # the middle segment is missing
    with pytest.raises(InputError, match="same segment is given twice"):
        order_segments([parts[0], parts[1], seg(0, 100)])
