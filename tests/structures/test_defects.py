"""Defect generators on hand-checkable cells (Li3OCl antiperovskite, rock salt)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.errors import InputError
from ionflow.structures.defects import generate_defects
from ionflow.structures.supercell import choose_supercell

A = 3.91


def _li3ocl() -> Structure:
    return Structure(
        Lattice.cubic(A),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def _rocksalt(a: float = 4.0) -> Structure:
    fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    shifted = [[(x + 0.5) % 1, y, z] for x, y, z in fcc]
    return Structure(Lattice.cubic(a), ["Na"] * 4 + ["Cl"] * 4, fcc + shifted)


@pytest.fixture(scope="module")
def li3ocl_222():
    return choose_supercell(_li3ocl(), matrix=[2, 2, 2])


def test_demo_schottky_nearest(li3ocl_222):
    assert li3ocl_222.n_atoms == 40
    assert li3ocl_222.min_image_distance_A == pytest.approx(2 * A)
    configs = generate_defects(
        li3ocl_222, {"type": "schottky", "species": ["Li", "Cl"], "separation": "nearest"}
    )
    assert len(configs) == 1
    cfg = configs[0]
    assert cfg.n_atoms == 38
    assert cfg.charge == 0
    assert cfg.structure.composition.as_dict() == {"Li": 23, "O": 8, "Cl": 7}
    assert cfg.separation_A == pytest.approx(A / np.sqrt(2))
    assert cfg.label == f"V_Li+V_Cl_d{A / np.sqrt(2):.2f}"
    assert cfg.kroger_vink == "V_Li' + V_Cl^•"
    assert cfg.delta_n == {"Li": -1, "Cl": -1}
    assert cfg.supercell_matrix == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    kinds = {(s.species, s.kind) for s in cfg.defect_sites}
    assert kinds == {("Li", "vacancy"), ("Cl", "vacancy")}
    # the two removed sites really are a/sqrt(2) apart in the host
    f1, f2 = (np.array(s.frac_coords) for s in cfg.defect_sites)
    d = li3ocl_222.structure.lattice.get_all_distances([f1], [f2])[0, 0]
    assert d == pytest.approx(A / np.sqrt(2))
    # 24 Li each with 4 Cl at a/sqrt(2): 96 equivalent placements
    assert cfg.multiplicity == 96


def test_schottky_all_sorted_and_farthest(li3ocl_222):
    spec = {"type": "schottky", "species": ["Li", "Cl"]}
    configs = generate_defects(li3ocl_222, {**spec, "separation": "all"})
    seps = [c.separation_A for c in configs]
    # in a 2a cell a Li-Cl vector is (±a/2, ±a/2, 0 or a): a/√2 and a·√(3/2)
    assert seps == pytest.approx([A / np.sqrt(2), A * np.sqrt(1.5)])
    # all placements are accounted for: 24 Li x 8 Cl
    assert sum(c.multiplicity for c in configs) == 24 * 8
    far = generate_defects(li3ocl_222, {**spec, "separation": "farthest"})
    assert far[0].separation_A == pytest.approx(A * np.sqrt(1.5))
    target = generate_defects(li3ocl_222, {**spec, "separation": 4.5})
    assert target[0].label == configs[1].label


def test_rocksalt_vacancy_and_schottky():
    cell = choose_supercell(_rocksalt(), matrix=[2, 2, 2])
    assert cell.n_atoms == 64
    vac = generate_defects(cell, {"type": "vacancy", "species": ["Na"]})
    assert len(vac) == 1
    assert vac[0].n_atoms == 63
    assert vac[0].kroger_vink == "V_Na^x"
    assert vac[0].multiplicity == 32
    pairs = generate_defects(
        cell, {"type": "schottky", "species": ["Na", "Cl"], "separation": "all"}
    )
    # Na-Cl distances in a 2x2x2 rock-salt cell (a = 4): a/2·√(1, 3, 5, 9→3 shells...)
    seps = [p.separation_A for p in pairs]
    assert seps[0] == pytest.approx(2.0)
    assert seps == sorted(seps)
    assert sum(p.multiplicity for p in pairs) == 32 * 32


def test_bad_species_and_neutrality(li3ocl_222):
    with pytest.raises(InputError, match="no Br site"):
        generate_defects(li3ocl_222, {"type": "vacancy", "species": ["Br"]})
    with pytest.raises(InputError, match="cannot be neutral"):
        generate_defects(li3ocl_222, {"type": "cluster", "defects": ["V_Li", "V_O"]})
    with pytest.raises(InputError, match="cannot be neutralised"):
        generate_defects(
            li3ocl_222, {"type": "substitution", "species": ["O", "Cl"], "compensation": "V_Li"}
        )
    with pytest.raises(InputError, match="not understood"):
        generate_defects(li3ocl_222, {"type": "cluster", "defects": ["Vac_Li"]})
    with pytest.raises(InputError, match="defect spec"):
        generate_defects(li3ocl_222, {"type": "vacancy", "species": ["Li"], "sepration": 3})


def _lacl3() -> Structure:
    """UCl3-type LaCl3 (P6_3/m): La 2c, Cl 6h (x = 0.3875, y = 0.3009)."""
    x, y = 0.3875, 0.3009
    la = [[1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]]
    cl = [
        [x, y, 0.25],
        [-y, x - y, 0.25],
        [-x + y, -x, 0.25],
        [-x, -y, 0.75],
        [y, -x + y, 0.75],
        [x - y, x, 0.75],
    ]
    return Structure(Lattice.hexagonal(7.483, 4.375), ["La"] * 2 + ["Cl"] * 6, la + cl)


def test_frenkel_multiplicities_cover_all_placements(li3ocl_222):
    inter = generate_defects(li3ocl_222, {"type": "interstitial", "species": ["Li"]})
    # Voronoi sites of the antiperovskite: 3 edge centres and 8 "tetrahedral" sites per cell
    assert sorted(c.multiplicity for c in inter) == [24, 64]
    assert [c.label for c in inter] == ["Li_i_1", "Li_i_2"]
    for c in inter:
        i = c.defect_sites[0].index
        assert min(c.structure.get_distance(i, j) for j in range(len(c.structure)) if j != i) > 0.9
    frenkel = generate_defects(
        li3ocl_222, {"type": "frenkel", "species": ["Li"], "separation": "all"}
    )
    # every (vacancy, interstitial) placement belongs to exactly one listed orbit
    assert sum(c.multiplicity for c in frenkel) == 24 * (24 + 64)
    seps = [c.separation_A for c in frenkel]
    assert seps == sorted(seps)
    assert len({c.label for c in frenkel}) == len(frenkel)
    some = generate_defects(
        li3ocl_222, {"type": "frenkel", "species": ["Li"], "separation": "all", "max_configs": 3}
    )
    assert [c.label for c in some] == [c.label for c in frenkel[:3]]


def test_compensated_substitutions(li3ocl_222):
    (o_cl,) = generate_defects(
        li3ocl_222,
        {"type": "substitution", "species": ["O", "Cl"], "compensation": "Li_i"},
    )
    assert o_cl.kroger_vink == "O_Cl' + Li_i^•"
    assert o_cl.delta_n == {"Cl": -1, "Li": 1, "O": 1}
    assert o_cl.structure.composition.as_dict() == {"Li": 25, "O": 9, "Cl": 7}
    (s_o,) = generate_defects(li3ocl_222, {"type": "substitution", "species": ["S", "O"]})
    assert s_o.kroger_vink == "S_O^x"  # isovalent
    assert s_o.separation_A is None
    (br,) = generate_defects(li3ocl_222, {"type": "substitution", "species": ["Br", "Cl"]})
    assert br.kroger_vink == "Br_Cl^x"
    assert br.multiplicity == 8


def test_charged_single_vacancy(li3ocl_222):
    (v,) = generate_defects(li3ocl_222, {"type": "vacancy", "species": ["Li"], "charge": -1})
    assert v.charge == -1
    assert v.structure.charge == -1
    assert v.kroger_vink == "V_Li'"
    assert v.label == "V_Li_q-1"


def test_la_vacancy_with_three_li_interstitials():
    cell = choose_supercell(_lacl3(), matrix=[1, 1, 2])
    assert cell.n_atoms == 16
    configs = generate_defects(
        cell,
        {"type": "vacancy", "species": ["La"], "compensation": "Li_i", "separation": "all"},
    )
    assert configs
    for c in configs:
        assert c.kroger_vink == "V_La''' + 3Li_i^•"
        assert c.delta_n == {"La": -1, "Li": 3}
        assert c.structure.composition.as_dict() == {"La": 3, "Cl": 12, "Li": 3}
        li = [s.index for s in c.defect_sites if s.kind == "interstitial"]
        assert len(set(li)) == 3
        # separation is the farthest Li_i from the La vacancy
        assert c.separation_A == pytest.approx(max(c.distances_A))
        assert c.label.startswith("V_La+3Li_i_d")
    seps = np.array([c.separation_A for c in configs])
    assert np.all(np.diff(seps) > -1e-6)
    with pytest.raises(InputError, match="cannot be neutralised"):
        generate_defects(cell, {"type": "vacancy", "species": ["La"], "compensation": "O_Cl"})
