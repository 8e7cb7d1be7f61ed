"""Ordered Li_xLa_yTiO3 (LLTO) supercells with Ewald-ranked La and Li arrangements.

LLTO is an A-site-deficient perovskite whose La ions order into alternating La-rich and
La-poor (001) layers (tetragonal/orthorhombic a_p x a_p x 2a_p superstructure). The
builder starts from that layered cell (lattice parameters and layer occupancies of
ICSD 92234, La0.595Li0.215TiO3: La 0.90 at z = 0, 0.29 at z = 1/2; see
``configs/structures/README.md``), repeats it, puts the La ions on the A sites of the
two layers and then places the Li ions.

Li candidate positions are the empty A sites and the centres of the square O4 windows
between neighbouring A sites (in-plane and between layers), where Li sits in LLTO. A
window next to a La ion (1.93 Å away) and any two Li closer than ``min_li_li_A`` are
excluded. The arrangement is chosen by electrostatics: with formal charges (Li+, La3+,
O2-, Ti carrying the rest, so Ti is partly reduced when x > 3(2/3 - y)), the Ewald energy
of every candidate arrangement is a quadratic form of one pair matrix, minimised by a
greedy placement followed by single-ion moves; every La arrangement of the La-poor layer
is tried. This gives the low-electrostatic-energy orderings a Li-content series needs
(issue 5: "Ewald ranking rather than one random pick") deterministically and in seconds.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Lattice, Structure

from ionflow.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "LLTO_A_A",
    "LLTO_C_A",
    "MIN_LI_LI_A",
    "ewald_pair_matrix",
    "llto_cell",
    "llto_series",
    "place_li",
]

#: pseudo-cubic a and doubled c (Å) of the layered LLTO cell (ICSD 92234, mean of a and b)
LLTO_A_A = 3.866
LLTO_C_A = 7.773
#: smallest Li-Li and Li-La distances (Å) allowed between placed ions
MIN_LI_LI_A = 2.4
MIN_LI_LA_A = 3.0


def _candidate_sites(nx: int, ny: int) -> dict[str, np.ndarray]:
    """Fractional positions in an nx x ny x 1 repeat of the a_p x a_p x 2a_p cell."""
    ij = np.array([(i, j) for i in range(nx) for j in range(ny)], dtype=float)
    size = np.array([nx, ny], dtype=float)

    def layer(offset_xy: Sequence[float], z: float) -> np.ndarray:
        xy = (ij + np.asarray(offset_xy)) / size
        return np.column_stack([xy, np.full(len(xy), z)])

    return {
        "Ti": np.vstack([layer((0.5, 0.5), 0.25), layer((0.5, 0.5), 0.75)]),
        "O": np.vstack(
            [
                layer((0.5, 0.5), 0.0),
                layer((0.5, 0.5), 0.5),
                *(layer(off, z) for z in (0.25, 0.75) for off in ((0.0, 0.5), (0.5, 0.0))),
            ]
        ),
        "A_rich": layer((0.0, 0.0), 0.0),
        "A_poor": layer((0.0, 0.0), 0.5),
        "windows": np.vstack(
            [
                *(layer(off, z) for z in (0.0, 0.5) for off in ((0.5, 0.0), (0.0, 0.5))),
                layer((0.0, 0.0), 0.25),
                layer((0.0, 0.0), 0.75),
            ]
        ),
    }


def ewald_pair_matrix(lattice: Lattice, frac: np.ndarray) -> np.ndarray:
    """Ewald interaction of unit charges on every pair of positions (eV)."""
    from pymatgen.analysis.ewald import EwaldSummation

    probe = Structure(lattice, ["H"] * len(frac), frac, site_properties=None)
    probe.add_oxidation_state_by_element({"H": 1})
    return np.asarray(EwaldSummation(probe, compute_forces=False).total_energy_matrix)


def place_li(
    energy: np.ndarray,
    base_q: np.ndarray,
    candidates: list[int],
    n_li: int,
    blocked: np.ndarray,
    clash: np.ndarray,
) -> tuple[list[int], float] | None:
    """Greedy placement then single-ion moves; None when n_li ions do not fit."""
    field = energy @ base_q  # potential of the framework at every position
    chosen: list[int] = []
    allowed = np.array([not blocked[c] for c in candidates])
    for _ in range(n_li):
        pot = np.array([field[c] + sum(energy[c, k] for k in chosen) for c in candidates])
        pot[~allowed] = np.inf
        if not np.isfinite(pot).any():
            return None
        pick = candidates[int(np.argmin(pot))]
        chosen.append(pick)
        allowed &= ~clash[pick, candidates]
    improved = True
    while improved:
        improved = False
        for slot, site in enumerate(list(chosen)):
            others = [k for k in chosen if k != site]
            free = np.ones(len(candidates), dtype=bool)
            for k in others:
                free &= ~clash[k, candidates]
            free &= np.array([not blocked[c] for c in candidates])
            pot = np.array([field[c] + sum(energy[c, k] for k in others) for c in candidates])
            pot[~free] = np.inf
            best = int(np.argmin(pot))
            if pot[best] < field[site] + sum(energy[site, k] for k in others) - 1e-9:
                chosen[slot] = candidates[best]
                improved = True
    q = base_q.copy()
    q[chosen] = 1.0
    return sorted(chosen), float(q @ energy @ q)


def llto_cell(
    x_li: float = 1 / 3,
    repeat: Sequence[int] = (3, 3),
    y_la: float = 0.56,
    n_la_rich: int | None = None,
    a_A: float = LLTO_A_A,
    c_A: float = LLTO_C_A,
) -> Structure:
    """Build an ordered Li_xLa_yTiO3 supercell with the lowest-Ewald-energy arrangement.

    Parameters
    ----------
    x_li
        Li per Ti (0.33 bulk LLTO ... 0.66 near an interface); rounded to whole ions.
    repeat
        In-plane repeat (nx, ny) of the a_p x a_p x 2a_p layered cell (2 nx ny Ti).
    y_la
        La per Ti; rounded to whole ions (0.56 gives 10 La for the (3, 3) repeat).
    n_la_rich
        La ions in the La-rich (z = 0) layer, the rest go to the La-poor (z = 1/2) layer;
        None uses the ICSD 92234 occupancy of the rich layer (0.90), which for (3, 3)
        gives 8 + 2 La.
    a_A, c_A
        Lattice parameters of the layered cell (Å).

    Returns
    -------
    Structure
        The ordered supercell (Li, La, Ti, O), with ``properties["llto"]`` recording x,
        y, the Ti oxidation state used and the Ewald energy (eV) of the arrangement.
    """
    nx, ny = (int(v) for v in repeat)
    if nx < 1 or ny < 1:
        raise InputError(f"LLTO repeat {tuple(repeat)} must be positive integers")
    n_a = nx * ny
    n_ti = 2 * n_a
    n_la = round(float(y_la) * n_ti)
    n_rich = min(n_la, round(0.90 * n_a)) if n_la_rich is None else int(n_la_rich)
    n_poor = n_la - n_rich
    if not (0 <= n_rich <= n_a and 0 <= n_poor <= n_a):
        raise InputError(f"La counts {n_rich}, {n_poor} do not fit {n_a} A sites per layer")
    n_li = round(float(x_li) * n_ti)
    if n_li < 0 or abs(n_li / n_ti - x_li) > 0.5 / n_ti + 1e-9:
        raise InputError(f"x_li = {x_li} is not representable with {n_ti} Ti")
    q_ti = (2 * 3 * n_ti - n_li - 3 * (n_rich + n_poor)) / n_ti
    if not 2.0 <= q_ti <= 4.0 + 1e-9:
        raise InputError(
            f"Li{n_li}La{n_rich + n_poor}Ti{n_ti}O{3 * n_ti} needs Ti{q_ti:+.2f}; choose x_li "
            "or the La counts so that Ti stays between +2 and +4"
        )
    sites = _candidate_sites(nx, ny)
    lattice = (
        Lattice.tetragonal(a_A * nx, c_A)
        if nx == ny
        else Lattice.orthorhombic(a_A * nx, a_A * ny, c_A)
    )
    order = ["Ti", "O", "A_rich", "A_poor", "windows"]
    frac = np.vstack([sites[k] for k in order])
    start = np.cumsum([0] + [len(sites[k]) for k in order])
    idx = {k: list(range(start[i], start[i + 1])) for i, k in enumerate(order)}
    energy = ewald_pair_matrix(lattice, frac)
    dist = lattice.get_all_distances(frac, frac)
    clash = dist < MIN_LI_LI_A
    np.fill_diagonal(clash, True)

    base = np.zeros(len(frac))
    base[idx["Ti"]] = q_ti
    base[idx["O"]] = -2.0
    rich_la = idx["A_rich"][1 : 1 + n_rich] if n_rich < n_a else idx["A_rich"]
    best: tuple[float, list[int], list[int]] | None = None
    for poor_la in itertools.combinations(idx["A_poor"], n_poor):
        la = list(rich_la) + list(poor_la)
        q = base.copy()
        q[la] = 3.0
        blocked = (dist[:, la] < MIN_LI_LA_A).any(axis=1) if la else np.zeros(len(frac), bool)
        candidates = [i for k in ("A_rich", "A_poor", "windows") for i in idx[k] if i not in la]
        placed = place_li(energy, q, candidates, n_li, blocked, clash)
        if placed is None:
            continue
        li, e_total = placed
        if best is None or e_total < best[0] - 1e-9:
            best = (e_total, la, li)
    if best is None:
        raise InputError(
            f"{n_li} Li do not fit the {nx}x{ny} LLTO cell with Li-Li >= {MIN_LI_LI_A} Å; "
            "use a larger repeat or a lower x_li"
        )
    e_total, la, li = best
    species = ["Li"] * len(li) + ["La"] * len(la) + ["Ti"] * n_ti + ["O"] * (3 * n_ti)
    coords = np.vstack([frac[li], frac[la], frac[idx["Ti"]], frac[idx["O"]]])
    cell = Structure(lattice, species, coords)
    cell.properties["llto"] = {
        "x_li": n_li / n_ti,
        "y_la": (n_rich + n_poor) / n_ti,
        "ti_oxidation_state": q_ti,
        "ewald_energy_eV": e_total,
        "repeat": [nx, ny],
    }
    return cell


def llto_series(
    x_values: Sequence[float] = (1 / 3, 4 / 9, 5 / 9, 2 / 3), repeat: Sequence[int] = (3, 3)
) -> list[Structure]:
    """Li-content series Li_xLa0.56TiO3 on one La framework (x from bulk to interface).

    Parameters
    ----------
    x_values
        Li per Ti of each member.
    repeat
        In-plane repeat of the layered cell.

    Returns
    -------
    list of Structure
        One Ewald-ranked ordered cell per x.
    """
    return [llto_cell(x, repeat=repeat) for x in x_values]
