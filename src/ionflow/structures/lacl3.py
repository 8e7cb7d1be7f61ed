"""La-deficient LaCl3 with Li in the 1D channels (Li3La5Cl18-type model cells).

UCl3-type LaCl3 (P6_3/m) has one empty channel per hexagonal cell along c, at (0, 0, z),
lined by Cl. Replacing La3+ by three Li+ (V_La + 3 Li_i) with the Li in these channels
gives the Li-conducting Li3La5Cl18-type frameworks of the design study. This module
builds such cells as a model (not published coordinates):

- La vacancies are spread out by farthest-point sampling over the La sites (the first
  one at La index 0), so no two vacancies cluster unless the cell forces it;
- the Li ions go to channel positions z = k/6 of every channel, chosen by the same
  Ewald ranking as the LLTO orderings (:mod:`ionflow.structures.llto`): formal charges
  Li+, La3+, Cl-, greedy placement then single-ion moves, Li-Li >= 2.4 Å.

The default ``repeat = (1, 1, 3)`` with one vacancy per six La gives Li3La5Cl18 (26 atoms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Structure

from ionflow.errors import InputError
from ionflow.structures.llto import MIN_LI_LI_A, ewald_pair_matrix, place_li

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["channel_sites", "li_lacl3_cell"]

#: channel positions per hexagonal cell along c (z = k / CHANNEL_SITES_PER_C)
CHANNEL_SITES_PER_C = 6


def channel_sites(repeat: Sequence[int]) -> np.ndarray:
    """Fractional positions (in the supercell) of the channel sites (0, 0, k/6) per cell."""
    na, nb, nc = (int(v) for v in repeat)
    sites = [
        [i / na, j / nb, (k + m / CHANNEL_SITES_PER_C) / nc]
        for i in range(na)
        for j in range(nb)
        for k in range(nc)
        for m in range(CHANNEL_SITES_PER_C)
    ]
    return np.array(sites)


def _spread(dist: np.ndarray, n: int) -> list[int]:
    """Farthest-point sampling: n indices, the first one 0."""
    chosen = [0]
    while len(chosen) < n:
        nearest = dist[:, chosen].min(axis=1)
        nearest[chosen] = -1.0
        chosen.append(int(np.argmax(nearest)))
    return chosen


def li_lacl3_cell(
    host: Structure, repeat: Sequence[int] = (1, 1, 3), vacancy_fraction: float = 1 / 6
) -> Structure:
    """Build a La-deficient LaCl3 supercell with 3 Li per La vacancy in the channels.

    Parameters
    ----------
    host
        The LaCl3 unit cell (``ionflow.structures.prototypes`` ``LaCl3``).
    repeat
        Supercell repeat (na, nb, nc) of the hexagonal cell.
    vacancy_fraction
        Fraction of La removed (1/6 gives Li3La5Cl18); rounded to whole ions, at least 1.

    Returns
    -------
    Structure
        The cell (Li first), ``properties["lacl3"]`` recording the vacancies and the Ewald
        energy (eV) of the Li arrangement.
    """
    reps = [int(v) for v in repeat]
    if len(reps) != 3 or min(reps) < 1:
        raise InputError(f"LaCl3 repeat {tuple(repeat)} must be three positive integers")
    cell = host.copy()
    cell.make_supercell(reps)
    la = [i for i, s in enumerate(cell) if s.specie.symbol == "La"]
    cl = [i for i, s in enumerate(cell) if s.specie.symbol == "Cl"]
    n_vac = max(1, round(vacancy_fraction * len(la)))
    if n_vac >= len(la):
        raise InputError(f"vacancy_fraction {vacancy_fraction} removes every La")
    la_frac = cell.frac_coords[la]
    vac = _spread(cell.lattice.get_all_distances(la_frac, la_frac), n_vac)
    keep_la = [la[i] for i in range(len(la)) if i not in vac]
    chan = channel_sites(reps)
    frac = np.vstack([cell.frac_coords[keep_la], cell.frac_coords[cl], chan])
    energy = ewald_pair_matrix(cell.lattice, frac)
    q = np.concatenate([np.full(len(keep_la), 3.0), np.full(len(cl), -1.0), np.zeros(len(chan))])
    start = len(keep_la) + len(cl)
    candidates = list(range(start, len(frac)))
    dist = cell.lattice.get_all_distances(frac, frac)
    clash = dist < MIN_LI_LI_A
    np.fill_diagonal(clash, True)
    blocked = np.zeros(len(frac), dtype=bool)
    placed = place_li(energy, q, candidates, 3 * n_vac, blocked, clash)
    if placed is None:
        raise InputError(
            f"{3 * n_vac} Li do not fit the channels of a {reps} LaCl3 cell; use a longer c repeat"
        )
    li, e_total = placed
    out = Structure(
        cell.lattice,
        ["Li"] * len(li) + ["La"] * len(keep_la) + ["Cl"] * len(cl),
        np.vstack([frac[li], frac[: len(keep_la)], frac[len(keep_la) : start]]),
    )
    out.properties["lacl3"] = {
        "repeat": reps,
        "la_vacancies_frac": [la_frac[i].tolist() for i in vac],
        "ewald_energy_eV": e_total,
    }
    return out
