"""Host structures of the design studies: built-in prototypes, LLTO orderings, shipped CIFs."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from ionflow.errors import ConfigError, InputError
from ionflow.structures.llto import MIN_LI_LA_A, MIN_LI_LI_A, llto_cell
from ionflow.structures.prototypes import build_prototype

HOSTS = Path(__file__).resolve().parents[2] / "configs" / "structures" / "hosts"


def test_lacl3_is_ucl3_type_with_ninefold_la():
    s = build_prototype("LaCl3")
    assert s.composition.reduced_formula == "LaCl3"
    assert len(s) == 8
    assert SpacegroupAnalyzer(s, symprec=1e-3).get_space_group_number() == 176
    for i, site in enumerate(s):
        if site.specie.symbol != "La":
            continue
        shell = [n.nn_distance for n in s.get_neighbors(s[i], 3.3)]
        # tricapped trigonal prism: 6 + 3 Cl within 0.1 Å of each other, nothing else < 3.3 Å
        assert len(shell) == 9
        assert all(n.specie.symbol == "Cl" for n in s.get_neighbors(s[i], 3.3))
        assert max(shell) - min(shell) < 0.1
    bigger = build_prototype("LaCl3", 7.8)
    assert bigger.lattice.c / bigger.lattice.a == pytest.approx(s.lattice.c / s.lattice.a)


def test_lgps_is_an_ordering_of_pymatgens_bundled_structure():
    """Every site of the 50-atom LGPS cell is a site of pymatgen's disordered LGPS."""
    import pymatgen.util

    ref = Structure.from_file(
        Path(pymatgen.util.__file__).parent / "structures" / "Li10GeP2S12.json"
    )
    s = build_prototype("Li10GeP2S12")
    assert s.composition.formula == "Li20 Ge2 P4 S24"
    assert s.is_ordered
    assert len(s) == 50
    assert s.lattice.abc == pytest.approx(ref.lattice.abc)
    dist = ref.lattice.get_all_distances(s.frac_coords, ref.frac_coords)
    nearest = dist.argmin(axis=1)
    assert dist.min(axis=1).max() < 1e-3
    for site, j in zip(s, nearest, strict=True):  # each atom on a site its element may hold
        assert ref[j].species[site.specie] > 0
    # occupancies of the bundled structure, rounded: Li 16h 0.69 -> 8 of 16, 8f 0.64 -> 8 of 8
    # (pinned by the ordering), Ge/P 4d 0.52/0.48 -> 2 + 2, everything else full
    taken = {}
    for site, j in zip(s, nearest, strict=True):
        key = (site.specie.symbol, round(ref[j].species[site.specie], 3))
        taken[key] = taken.get(key, 0) + 1
    assert taken == {
        ("Li", 0.691): 8,
        ("Li", 0.643): 8,
        ("Li", 1.0): 4,
        ("Ge", 0.515): 2,
        ("P", 0.485): 2,
        ("P", 1.0): 2,
        ("S", 1.0): 24,
    }
    li = [i for i, site in enumerate(s) if site.specie.symbol == "Li"]
    d = s.distance_matrix[np.ix_(li, li)] + np.eye(len(li)) * 99
    assert d.min() == pytest.approx(2.32, abs=0.01)  # the ordering's documented Li-Li minimum


def test_prototype_parameters_are_checked():
    with pytest.raises(ConfigError, match="takes no parameters"):
        build_prototype("Li3OCl", x_li=0.3)
    with pytest.raises(ConfigError, match="unknown LLTO parameter"):
        build_prototype("LLTO", x=0.3)


def _ewald(structure: Structure, q_ti: float) -> float:
    from pymatgen.analysis.ewald import EwaldSummation

    s = structure.copy()
    s.add_oxidation_state_by_element({"Li": 1, "La": 3, "O": -2, "Ti": q_ti})
    return EwaldSummation(s).total_energy


@pytest.mark.parametrize("x_li", [0.5, 0.625])
def test_llto_ordering_is_neutral_valid_and_lowest(x_li):
    cell = build_prototype("LLTO", x_li=x_li, repeat=[2, 2])
    info = cell.properties["llto"]
    comp = cell.composition
    assert comp["Ti"] == 8
    assert comp["O"] == 24
    assert comp["Li"] == round(8 * x_li)
    assert comp["La"] == round(0.56 * 8)
    # charge neutrality with the recorded Ti oxidation state
    charge = comp["Li"] + 3 * comp["La"] + info["ti_oxidation_state"] * 8 - 2 * 24
    assert charge == pytest.approx(0, abs=1e-9)
    # the stored energy is the Ewald energy of the structure (independent pymatgen call)
    assert info["ewald_energy_eV"] == pytest.approx(
        _ewald(cell, info["ti_oxidation_state"]), rel=1e-6
    )
    li = [i for i, s in enumerate(cell) if s.specie.symbol == "Li"]
    la = [i for i, s in enumerate(cell) if s.specie.symbol == "La"]
    d = cell.distance_matrix
    assert d[np.ix_(li, la)].min() >= MIN_LI_LA_A - 1e-6
    if len(li) > 1:
        dl = d[np.ix_(li, li)] + np.eye(len(li)) * 99
        assert dl.min() >= MIN_LI_LI_A - 1e-6
    # moving any one Li to another free A site of the same framework raises the energy
    others = [s for s in cell if s.specie.symbol != "Li"]
    a_sites = [(i / 2, j / 2, z) for i, j, z in itertools.product(range(2), range(2), (0.0, 0.5))]
    occupied = [tuple(np.round(cell[k].frac_coords % 1, 3)) for k in li + la]
    free = [p for p in a_sites if tuple(np.round(np.array(p) % 1, 3)) not in occupied]
    for k, target in itertools.product(li, free):
        moved = cell.copy()
        moved.replace(k, "Li", coords=target)
        dm = moved.distance_matrix[k]
        if min(dm[j] for j in range(len(moved)) if j != k) < 1.5:
            continue
        assert _ewald(moved, info["ti_oxidation_state"]) >= info["ewald_energy_eV"] - 1e-6
    assert len(others) == len(cell) - len(li)


def test_llto_rejects_impossible_contents():
    with pytest.raises(InputError, match="Ti"):
        llto_cell(x_li=0.0, y_la=0.3, repeat=(2, 2))
    with pytest.raises(InputError, match="do not fit"):
        llto_cell(x_li=2.0, repeat=(2, 2))


def test_lita2po8_host_file():
    s = Structure.from_file(HOSTS / "LiTa2PO8.cif")
    assert len(s) == 48
    assert s.composition.reduced_formula == "LiTa2PO8"
    assert SpacegroupAnalyzer(s, symprec=0.01).get_space_group_symbol() == "C2/c"
    d = s.distance_matrix + np.eye(len(s)) * 99
    assert d.min() > 1.4  # P-O in the (noisy) published positions; nothing overlaps


def test_la_deficient_lacl3_has_li_in_channels():
    from pymatgen.analysis.ewald import EwaldSummation

    cell = build_prototype("LaCl3-Li", repeat=[1, 1, 3])
    assert cell.composition.reduced_formula == "Li3La5Cl18"
    li = [s for s in cell if s.specie.symbol == "Li"]
    # every Li on the channel axis (0, 0, z) of the hexagonal cell
    for site in li:
        assert np.allclose(site.frac_coords[:2] % 1.0, 0.0, atol=1e-8)
    charged = cell.copy()
    charged.add_oxidation_state_by_element({"Li": 1, "La": 3, "Cl": -1})
    assert cell.properties["lacl3"]["ewald_energy_eV"] == pytest.approx(
        EwaldSummation(charged).total_energy, rel=1e-6
    )
    with pytest.raises(InputError, match="removes every La"):
        build_prototype("LaCl3-Li", repeat=[1, 1, 1], vacancy_fraction=1.0)
