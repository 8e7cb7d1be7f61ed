"""Hop enumeration and NEB path preparation (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Lattice, Structure

from ionflow.errors import InputError
from ionflow.structures.hops import enumerate_hops, hop_from_endpoints
from ionflow.structures.neb_path import (
    check_images,
    closest_pair,
    interpolate_images,
    match_endpoints,
)


@pytest.fixture(scope="module")
def li3ocl_222():
    from ionflow.structures.prototypes import build_prototype
    from ionflow.structures.supercell import choose_supercell

    return choose_supercell(build_prototype("Li3OCl"), matrix=[2, 2, 2]).structure


@pytest.fixture(scope="module")
def vacancy_cell(li3ocl_222):
    from ionflow.structures.defects import generate_defects

    config = generate_defects(li3ocl_222, {"type": "vacancy", "species": ["Li"]})[0]
    return config.structure, config.defect_sites[0].frac_coords


def _count_neighbours(structure, centre_frac, species, r_min, r_max):
    centre = structure.lattice.get_cartesian_coords(centre_frac)
    return sum(
        1
        for site in structure.get_sites_in_sphere(centre, r_max)
        if site.specie.symbol == species and site.nn_distance > r_min
    )


def test_pristine_unit_cell_vacancy_hops(li3ocl):
    a = li3ocl.lattice.a
    hops = enumerate_hops(li3ocl, species="Li", cutoff_A=3.0)
    assert len(hops) == 1
    hop = hops[0]
    assert hop.kind == "vacancy"
    assert hop.length_A == pytest.approx(a / np.sqrt(2))
    # directed hops in the cell: 3 Li sites x 8 nearest Li neighbours (periodic images)
    n_li = sum(1 for s in li3ocl if s.specie.symbol == "Li")
    neighbours = sum(
        _count_neighbours(li3ocl, s.frac_coords, "Li", 0.1, 3.0)
        for s in li3ocl
        if s.specie.symbol == "Li"
    )
    assert hop.multiplicity == neighbours == n_li * 8
    # endpoints: one Li removed, the moving Li sits on the removed site at the end
    assert hop.initial.composition.formula == hop.final.composition.formula
    assert hop.initial.composition["Li"] == n_li - 1
    moved = hop.moving_indices[0]
    assert hop.final[moved].distance(hop.initial[moved]) == pytest.approx(a / np.sqrt(2))


def test_defect_cell_hops_match_neighbour_count_and_structure_matcher(vacancy_cell):
    cell, vac = vacancy_cell
    hops = enumerate_hops(cell, species="Li", cutoff_A=4.0, vacancies=[vac])
    lengths = [round(h.length_A, 3) for h in hops]
    assert lengths == sorted(lengths)
    # every Li within 4 Å of the vacancy whose straight path avoids the O (1 Å clearance):
    # 8 at a/sqrt(2) and 4 of the 6 at a (the 2 along c pass through an O)
    assert sum(h.multiplicity for h in hops) == 12
    assert [h.multiplicity for h in hops] == [8, 4]
    assert _count_neighbours(cell, vac, "Li", 0.1, 4.0) == 14
    # independent check of symmetry-distinctness: pymatgen's StructureMatcher groups the
    # midpoints (moving atom half-way) of all 12 explicit hops into the classes we found
    midpoints = []
    centre = cell.lattice.get_cartesian_coords(vac)
    for site in cell.get_sites_in_sphere(centre, 4.0):
        if site.specie.symbol != "Li" or site.nn_distance < 0.1:
            continue
        line = site.frac_coords + np.linspace(0, 1, 11)[:, None] * (vac - site.frac_coords)
        others = [i for i in range(len(cell)) if i != site.index]
        if cell.lattice.get_all_distances(line, cell.frac_coords[others]).min() < 1.0:
            continue
        mid = cell.copy()
        mid.replace(site.index, "Li", coords=(site.frac_coords + vac) / 2)
        midpoints.append(mid)
    assert len(midpoints) == 12
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    groups = matcher.group_structures(midpoints)
    assert sorted(len(g) for g in groups) == sorted(h.multiplicity for h in hops)
    for hop in hops:
        assert hop.label.startswith("V_Li hop")
        assert hop.final[hop.moving_indices[0]].distance_from_point(centre) < 1e-6


def test_interstitial_and_interstitialcy_hops(li3ocl_222):
    from ionflow.structures.defects import generate_defects

    config = generate_defects(li3ocl_222, {"type": "interstitial", "species": ["Li"]})[0]
    site = config.defect_sites[0]
    hops = enumerate_hops(config.structure, species="Li", cutoff_A=3.0, interstitials=[site.index])
    kinds = {h.kind for h in hops}
    assert kinds == {"interstitial", "interstitialcy"}
    for hop in hops:
        assert hop.initial.composition == hop.final.composition
        assert max(closest_pair(hop.final)[0], 0) >= 1.0  # destination clear of atoms
        dfrac = np.array(hop.end_frac_coords) - np.array(hop.start_frac_coords)
        steps = np.linalg.norm(dfrac @ config.structure.lattice.matrix, axis=1)
        assert np.all(steps <= 3.0 + 1e-9)
        if hop.kind == "interstitialcy":
            x, _lattice_atom = hop.moving_indices
            assert x == site.index
            # the interstitial takes the lattice atom's site
            assert np.allclose(
                np.mod(hop.end_frac_coords[0], 1), np.mod(hop.start_frac_coords[1], 1)
            )
        assert hop.multiplicity >= 1


def test_hop_errors(li3ocl):
    with pytest.raises(InputError, match="no Na atom"):
        enumerate_hops(li3ocl, species="Na")
    with pytest.raises(InputError, match="increase the cutoff"):
        enumerate_hops(li3ocl, cutoff_A=1.0)
    with pytest.raises(InputError, match="from an atom"):
        enumerate_hops(li3ocl, vacancies=[li3ocl[2].frac_coords])


def test_explicit_endpoints_reordered_when_unambiguous(vacancy_cell):
    cell, vac = vacancy_cell
    hop = enumerate_hops(cell, cutoff_A=3.0, vacancies=[vac])[0]
    perm = np.random.default_rng(1).permutation(len(hop.final))
    shuffled = Structure(
        hop.final.lattice, [hop.final[i].species for i in perm], hop.final.frac_coords[perm]
    )
    explicit = hop_from_endpoints(hop.initial, shuffled)
    assert explicit.moving_indices == hop.moving_indices
    assert explicit.length_A == pytest.approx(hop.length_A)
    assert np.allclose(explicit.final.frac_coords, hop.final.frac_coords)


def test_explicit_endpoints_errors(li3ocl):
    other = li3ocl.copy()
    other.remove_sites([2])
    with pytest.raises(InputError, match="differ in composition"):
        match_endpoints(li3ocl, other)
    bigger = li3ocl.copy()
    bigger.scale_lattice(li3ocl.volume * 1.2)
    with pytest.raises(InputError, match="lattices differ"):
        match_endpoints(li3ocl, bigger)
    with pytest.raises(InputError, match="same state"):
        hop_from_endpoints(li3ocl, li3ocl.copy())
    # two Li that fit either final position equally well, with a different species order
    lat = Lattice.cubic(10.0)
    initial = Structure(lat, ["Li", "Li", "Cl"], [[0, 0, 0], [0.3, 0, 0], [0.5, 0.5, 0.5]])
    final = Structure(lat, ["Cl", "Li", "Li"], [[0.5, 0.5, 0.5], [0.15, 0.1, 0], [0.15, -0.1, 0]])
    with pytest.raises(InputError, match="unambiguously"):
        match_endpoints(initial, final)


def test_interpolation_idpp_linear_and_overlap(vacancy_cell, monkeypatch):
    cell, vac = vacancy_cell
    hop = enumerate_hops(cell, cutoff_A=3.0, vacancies=[vac])[0]
    linear, used = interpolate_images(hop.initial, hop.final, 3, method="linear")
    assert used == "linear"
    assert len(linear) == 5
    idpp, used = interpolate_images(
        hop.initial, hop.final, 3, method="idpp", idpp_kwargs={"maxiter": 150}
    )
    assert used == "idpp"
    assert len(idpp) == 5
    # IDPP bends the path away from the O the straight line passes at 1.38 Å
    assert min(closest_pair(im)[0] for im in idpp) > min(closest_pair(im)[0] for im in linear)
    assert np.allclose(idpp[0].frac_coords, hop.initial.frac_coords)

    def broken(*args, **kwargs):
        raise ValueError("no convergence")

    monkeypatch.setattr("pymatgen.analysis.diffusion.neb.pathfinder.IDPPSolver.run", broken)
    _, used = interpolate_images(hop.initial, hop.final, 3, method="idpp")
    assert used == "linear"
    # an atom pushed straight through another one
    lat = Lattice.cubic(8.0)
    start = Structure(lat, ["Li", "O"], [[0.3, 0.5, 0.5], [0.5, 0.5, 0.5]])
    end = Structure(lat, ["Li", "O"], [[0.7, 0.5, 0.5], [0.5, 0.5, 0.5]])
    with pytest.raises(InputError, match=r"image 2: atoms 0 .* 0.00 Å apart"):
        interpolate_images(start, end, 3, method="linear")
    with pytest.raises(InputError, match="image 0"):
        check_images([Structure(lat, ["Li", "Li"], [[0, 0, 0], [0.01, 0, 0]])])
