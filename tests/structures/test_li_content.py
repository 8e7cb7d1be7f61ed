"""Li-content series: Ewald ranking checked against brute force with pymatgen's Ewald sum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pymatgen.analysis.ewald import EwaldSummation
from pymatgen.core import Lattice, Species, Structure

from ionflow.errors import InputError
from ionflow.structures.li_content import li_content_series

A = 4.2
TETRA = [[0.125, 0.25, 0.25], [0.375, 0.75, 0.25], [0.625, 0.25, 0.75], [0.875, 0.75, 0.75]]


def _rocksalt(a: float, cation: str, anion: str) -> Structure:
    """Conventional rock-salt cell (4 + 4 sites), built without the space-group machinery."""
    fcc = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
    shifted = [[(x + 0.5) % 1, y, z] for x, y, z in fcc]
    return Structure(Lattice.cubic(a), [cation] * 4 + [anion] * 4, fcc + shifted)


def _host() -> Structure:
    """Rock salt (2x1x1 conventional): 4 Li, 4 Ti on cation sites, 8 O."""
    cell = _rocksalt(A, "Na", "O")
    cell.make_supercell([2, 1, 1])
    cations = [i for i, s in enumerate(cell) if s.specie.symbol == "Na"]
    for k, i in enumerate(cations):
        cell.replace(i, "Li" if k % 2 == 0 else "Ti")
    return cell


def _ewald(structure: Structure, charges: dict[str, float]) -> float:
    dec = Structure(
        structure.lattice,
        [Species(s.specie.symbol, charges[s.specie.symbol]) for s in structure],
        structure.frac_coords,
    )
    return EwaldSummation(dec).total_energy


def test_best_ordering_matches_brute_force():
    host = _host()
    oxi = {"Li": 1, "Ti": 3, "O": -2}
    series = li_content_series(
        host, [4], extra_sites=TETRA, oxidation_states=oxi, n_starts=30, n_keep=3
    )
    assert [c.rank for c in series] == list(range(1, len(series) + 1))
    # every reported energy is the true Ewald energy of the returned structure
    for config in series:
        assert config.ewald_energy_eV == pytest.approx(_ewald(config.structure, oxi), abs=1e-6)
        assert config.structure.composition["Li"] == 4
    # brute force over all 70 ways to put 4 Li on 8 positions
    li_sites = [s.frac_coords for s in host if s.specie.symbol == "Li"] + [
        np.array(t) for t in TETRA
    ]
    frame = host.copy()
    frame.remove_species(["Li"])
    energies = []
    for combo in itertools.combinations(range(8), 4):
        cell = frame.copy()
        for k in combo:
            cell.append("Li", li_sites[k])
        energies.append(_ewald(cell, oxi))
    assert series[0].ewald_energy_eV == pytest.approx(min(energies), abs=1e-6)
    assert series[0].ewald_above_min_eV == 0.0
    assert all(c.ewald_energy_eV >= series[0].ewald_energy_eV for c in series)


def test_electronic_compensation_charges():
    host = _host()
    oxi = {"Li": 1, "Ti": 3, "O": -2}
    series = li_content_series(
        host,
        [2, 6],
        extra_sites=TETRA,
        oxidation_states=oxi,
        redox_species="Ti",
        n_starts=10,
        n_keep=1,
    )
    by_n = {c.n_li: c for c in series}
    # 2 Li removed: Ti takes +0.5 each (4 Ti); 2 Li added: Ti at +2.5
    assert by_n[2].charges["Ti"] == pytest.approx(3.5)
    assert by_n[6].charges["Ti"] == pytest.approx(2.5)
    for c in series:
        total = sum(c.charges[s.specie.symbol] for s in c.structure)
        assert total == pytest.approx(0.0, abs=1e-9)
    assert by_n[2].x == pytest.approx(2 / 4)  # host LiTiO2 x 4 formula units


def test_counter_compensation_and_errors():
    host = _host()
    oxi = {"Li": 1, "Ti": 3, "O": -2}
    # 3 more Li remove one Ti3+ (used here as the counter-cation)
    series = li_content_series(
        host,
        [7],
        extra_sites=TETRA,
        oxidation_states=oxi,
        compensation="counter",
        counter_species="Ti",
        n_starts=10,
    )
    comp = series[0].structure.composition
    assert (comp["Li"], comp["Ti"]) == (7, 3)
    assert series[0].ewald_energy_eV == pytest.approx(_ewald(series[0].structure, oxi), abs=1e-6)
    with pytest.raises(InputError, match="whole number"):
        li_content_series(
            host,
            [5],
            extra_sites=TETRA,
            oxidation_states=oxi,
            compensation="counter",
            counter_species="Ti",
        )
    with pytest.raises(InputError, match="redox_species"):
        li_content_series(host, [3], oxidation_states=oxi)
    with pytest.raises(InputError, match="do not fit"):
        li_content_series(host, [9], oxidation_states=oxi, redox_species="Ti")


def test_schottky_pair_prefers_nearest_and_dedupes_symmetry():
    cell = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    cell.make_supercell([2, 2, 2])
    series = li_content_series(
        cell, [23], compensation="counter", counter_species="Cl", n_starts=8, n_keep=5
    )
    best = series[0].structure
    # the missing Li and Cl sit at the nearest Li-Cl distance a/sqrt(2)
    missing = []
    for species in ("Li", "Cl"):
        have = [s.frac_coords for s in best if s.specie.symbol == species]
        ref = [s.frac_coords for s in cell if s.specie.symbol == species]
        d = cell.lattice.get_all_distances(ref, have).min(axis=1)
        missing.append(ref[int(np.argmax(d))])
    gap = cell.lattice.get_all_distances([missing[0]], [missing[1]])[0, 0]
    assert gap == pytest.approx(3.91 / np.sqrt(2))
    # symmetry-equivalent orderings are reported once: energies are all different
    energies = [c.ewald_energy_eV for c in series]
    assert len(set(np.round(energies, 6))) == len(energies)
