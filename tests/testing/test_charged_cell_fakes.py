"""The fakes behind the defect-flow tests: their outputs parse as the cell they were given."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Incar, Locpot, Poscar, Vasprun

from ionflow.testing.charged_cells import VaspCellFake, gaussian_charge_potential, planar
from ionflow.testing.cp2k_replay import Cp2kCellFake, read_cp2k_input_cell


def test_gaussian_potential_has_zero_mean_and_its_centre_at_the_charge():
    lattice = Lattice.cubic(8.0)
    grid = gaussian_charge_potential(lattice, 2, 4.0, (0.25, 0.5, 0.75), (32, 32, 32))
    assert abs(grid.mean()) < 1e-12
    # electron potential energy of a positive charge: deepest at the charge
    assert np.unravel_index(np.argmin(grid), grid.shape) == (8, 16, 24)
    assert np.allclose(planar(grid)[0].mean(), 0.0, atol=1e-12)


def test_vasp_fake_writes_the_cell_it_was_given(shared_dir, tmp_path, monkeypatch):
    ref = shared_dir / "data" / "relax" / "atomate_lif_pbesol_relax"
    cell = Structure.from_file(ref / "CONTCAR") * (2, 1, 1)
    cell.remove_sites([0])
    monkeypatch.chdir(tmp_path)
    Poscar(cell).write_file("POSCAR")
    Incar({"ISIF": 2, "NELECT": 3 + 2 * 7 + 1, "LVHAR": True}).write_file("INCAR")
    fake = VaspCellFake(
        ref,
        lambda s, q: -2.5 * len(s) + q,
        lambda s, q: np.full((8, 8, 8), float(q)),
        {"Li": 3, "F": 7},
    )
    fake()
    run = Vasprun("vasprun.xml", parse_potcar_file=False)
    assert run.final_energy == pytest.approx(-2.5 * 3 - 1)
    assert [s.specie.symbol for s in run.final_structure] == ["Li", "F", "F"]
    assert np.allclose(run.final_structure.frac_coords, cell.frac_coords, atol=1e-7)
    ref_run = Vasprun(str(ref / "vasprun.xml.gz"), parse_potcar_file=False, parse_dos=False)
    assert run.eigenvalue_band_properties[2] == ref_run.eigenvalue_band_properties[2]
    assert fake.calls[0]["charge"] == -1
    assert np.allclose(Locpot.from_file("LOCPOT").data["total"], -1.0)
    # no LVHAR, no LOCPOT
    (tmp_path / "LOCPOT").unlink()
    Incar({"ISIF": 2}).write_file("INCAR")
    fake()
    assert not (tmp_path / "LOCPOT").exists()


def test_cp2k_fake_writes_the_cell_it_was_given(shared_dir, tmp_path, monkeypatch):
    from pymatgen.io.cp2k.outputs import Cp2kOutput

    ref = shared_dir / "data" / "cp2k" / "atomate2_si_geo_opt" / "cp2k.out"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cp2k.inp").write_text(
        "&FORCE_EVAL\n &DFT\n  CHARGE 1\n &END DFT\n &SUBSYS\n  &CELL\n   A 4.0 0.0 0.0\n"
        "   B 0.0 4.0 0.0\n   C 0.0 0.0 4.0\n  &END CELL\n  &KIND Li_1\n   ELEMENT Li\n"
        "  &END KIND\n  &KIND O_1\n   ELEMENT O\n  &END KIND\n  &COORD\n   Li_1 0.0 0.0 0.0\n"
        "   Li_1 2.0 2.0 0.0\n   O_1 2.0 0.0 2.0\n  &END COORD\n &END SUBSYS\n&END FORCE_EVAL\n"
        "&GLOBAL\n RUN_TYPE GEO_OPT\n&END GLOBAL\n"
    )
    structure, charge, _ = read_cp2k_input_cell(tmp_path / "cp2k.inp")
    assert charge == 1
    fake = Cp2kCellFake(ref, lambda s, q: -12.0 * len(s) - q)
    fake()
    out = Cp2kOutput(str(tmp_path / "cp2k.out"), auto_load=True)
    assert out.final_energy == pytest.approx(-37.0, abs=1e-8)
    assert [s.specie.symbol for s in out.final_structure] == ["Li", "Li", "O"]
    assert np.allclose(out.final_structure.cart_coords, structure.cart_coords, atol=1e-6)
    assert len(out.data["forces"][-1]) == 3
    # an input without coordinates is refused
    (tmp_path / "cp2k.inp").write_text("&GLOBAL\n RUN_TYPE GEO_OPT\n&END GLOBAL\n")
    with pytest.raises(ValueError, match="no &CELL or &COORD"):
        fake()
