"""Li-content series with low-electrostatic-energy orderings (Ewald ranking).

For each target Li count the mobile ions are distributed over the candidate positions
(the host's Li sites plus optional extra, e.g. vacant A-sites), with charge compensation:

- ``"electronic"``: a redox species (e.g. Ti in Li_xLa0.56TiO3) takes the balancing
  charge uniformly (fractional oxidation state; electrons/holes are not placed);
- ``"counter"``: a counter-cation (e.g. La) is removed / kept in proportion to the charge
  change (3 Li per La), its vacancies placed by the same energy ranking.

Orderings are ranked by the Ewald energy of point charges; symmetry-equivalent orderings
(under the host supercell's space group) are reported once. Because every ordering is
charge-neutral, the energy is an exact sum over pairs of occupied sites of one Ewald
matrix, so many quenched Monte Carlo starts (pair swaps) cost almost nothing; the lowest
distinct orderings are kept.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pymatgen.core import Species, Structure

from ionflow.errors import InputError
from ionflow.schemas.defects import LiContentConfig
from ionflow.structures.symmetry import SitePool
from ionflow.structures.tokens import host_oxidation_states

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ewald_matrix", "li_content_series"]


def ewald_matrix(structure: Structure) -> np.ndarray:
    """Pairwise Ewald interaction matrix (eV) of a decorated structure, point terms on the diagonal.

    For a neutral subset S of sites, ``E(S) = Σ_{i,j in S} M_ij`` is its Ewald energy.
    """
    from pymatgen.analysis.ewald import EwaldSummation

    ewald = EwaldSummation(structure)
    matrix = ewald.real_space_energy_matrix + ewald.reciprocal_space_energy_matrix
    return matrix + np.diag(ewald.point_energy_matrix)


def _quench(matrix: np.ndarray, occupied: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Move one occupant to an empty position of its group while the energy drops.

    With ``F_k = Σ_{b occupied} M_kb``, moving i → j changes the energy by
    ``2 F_j - 2 F_i - 2 M_ij + M_ii + M_jj``.
    """
    occ = occupied.copy()
    diag = np.diag(matrix)
    improved = True
    while improved:
        improved = False
        for group in groups:
            on, off = group[occ[group]], group[~occ[group]]
            if len(on) == 0 or len(off) == 0:
                continue
            field = 2 * matrix[:, occ].sum(axis=1)
            delta = (
                field[off][None, :]
                - field[on][:, None]
                - 2 * matrix[np.ix_(on, off)]
                + diag[on][:, None]
                + diag[off][None, :]
            )
            best = np.unravel_index(np.argmin(delta), delta.shape)
            if delta[best] < -1e-9:
                occ[on[best[0]]], occ[off[best[1]]] = False, True
                improved = True
    return occ


def _energy(matrix: np.ndarray, occ: np.ndarray) -> float:
    idx = np.flatnonzero(occ)
    return float(matrix[np.ix_(idx, idx)].sum())


def li_content_series(
    structure: Structure,
    li_counts: Sequence[int],
    *,
    specie: str = "Li",
    compensation: Literal["electronic", "counter"] = "electronic",
    redox_species: str | None = None,
    counter_species: str | None = None,
    extra_sites: Sequence[Sequence[float]] = (),
    oxidation_states: dict[str, float] | None = None,
    n_starts: int = 50,
    n_keep: int = 3,
    seed: int = 0,
) -> list[LiContentConfig]:
    """Low-Ewald-energy orderings for each Li count.

    Parameters
    ----------
    structure
        Ordered host supercell (its Li sites are candidate positions).
    li_counts
        Target numbers of Li atoms in the supercell.
    specie
        Mobile species.
    compensation
        ``"electronic"`` (``redox_species`` takes the charge) or ``"counter"``
        (``counter_species`` atoms are removed/kept in proportion).
    redox_species, counter_species
        See ``compensation``.
    extra_sites
        Extra candidate positions for Li (fractional coordinates), e.g. vacant A-sites.
    oxidation_states
        Oxidation states to use instead of pymatgen's guess.
    n_starts
        Random starts of the quenched swap search per Li count.
    n_keep
        Distinct lowest-energy orderings kept per Li count.
    seed
        Random seed (results are deterministic for a seed).

    Returns
    -------
    list of LiContentConfig
        Sorted by Li count, then Ewald energy.
    """
    oxi = host_oxidation_states(structure, oxidation_states)
    if specie not in oxi:
        raise InputError(f"{specie} is not in the structure ({', '.join(oxi)})")
    base = structure.copy()
    base.remove_oxidation_states()
    li_idx = [i for i, s in enumerate(base) if s.specie.symbol == specie]
    pool = base.copy()
    for fc in extra_sites:
        pool.append(specie, fc)
    li_pool = np.array(li_idx + list(range(len(base), len(pool))))
    symmetry = SitePool(base, pool.frac_coords)
    z_li = oxi[specie]
    rng = np.random.default_rng(seed)
    n_fu = base.composition.get_reduced_formula_and_factor()[1]
    results: list[LiContentConfig] = []
    for n_li in sorted(set(li_counts)):
        if not 0 <= n_li <= len(li_pool):
            raise InputError(
                f"{n_li} {specie} do not fit on {len(li_pool)} candidate positions; add "
                "extra_sites or lower the count"
            )
        dq = (n_li - len(li_idx)) * z_li
        charges = {el: float(z) for el, z in oxi.items()}
        groups = [li_pool]
        n_counter_keep = None
        if compensation == "electronic":
            if dq and (redox_species is None or redox_species not in oxi):
                raise InputError(
                    f"changing {specie} by {n_li - len(li_idx):+d} needs a redox_species present "
                    "in the structure (e.g. Ti), or compensation 'counter'"
                )
            if dq:
                n_redox = sum(s.specie.symbol == redox_species for s in base)
                charges[redox_species] = oxi[redox_species] - dq / n_redox
        elif compensation == "counter":
            if counter_species is None or counter_species not in oxi:
                raise InputError("compensation 'counter' needs counter_species in the structure")
            n_remove = dq / oxi[counter_species]
            if abs(n_remove - round(n_remove)) > 1e-6:
                raise InputError(
                    f"{n_li} {specie}: the charge change {dq:+g} is not a whole number of "
                    f"{counter_species} (charge {oxi[counter_species]:+g}); pick Li counts in "
                    f"steps of {abs(oxi[counter_species] / z_li):g}"
                )
            counter_idx = np.array(
                [i for i, s in enumerate(base) if s.specie.symbol == counter_species]
            )
            n_counter_keep = len(counter_idx) - round(n_remove)
            if not 0 <= n_counter_keep <= len(counter_idx):
                raise InputError(
                    f"{n_li} {specie} would need {round(n_remove)} {counter_species} removed "
                    f"but only {len(counter_idx)} exist (and none can be added)"
                )
            groups.append(counter_idx)
        else:
            raise InputError(f"unknown compensation {compensation!r}; use electronic or counter")
        decorated = Structure(
            pool.lattice,
            [Species(s.specie.symbol, charges[s.specie.symbol]) for s in pool],
            pool.frac_coords,
        )
        matrix = ewald_matrix(decorated)
        fixed = np.ones(len(pool), dtype=bool)
        fixed[li_pool] = False
        if n_counter_keep is not None:
            fixed[groups[1]] = False
        found: dict[tuple[int, ...], tuple[tuple[int, ...], float]] = {}
        for _ in range(max(1, n_starts)):
            occ = fixed.copy()
            occ[rng.choice(li_pool, n_li, replace=False)] = True
            if n_counter_keep is not None:
                occ[rng.choice(groups[1], n_counter_keep, replace=False)] = True
            occ = _quench(matrix, occ, groups)
            sites = np.flatnonzero(occ)
            # symmetry-equivalent orderings share one canonical key
            images = np.sort(symmetry.perms[:, sites], axis=1)
            canon = tuple(images[np.lexsort(images.T[::-1])[0]])
            found.setdefault(canon, (tuple(sites), _energy(matrix, occ)))
        ranked = sorted(found.values(), key=lambda kv: kv[1])[:n_keep]
        e_min = ranked[0][1]
        for rank, (key, energy) in enumerate(ranked, start=1):
            if not math.isfinite(energy):
                raise InputError("Ewald energy is not finite (overlapping sites?)")
            cell = Structure.from_sites([pool[i] for i in key])
            comp = cell.composition
            results.append(
                LiContentConfig(
                    label=f"{specie}{n_li}_r{rank}",
                    n_li=n_li,
                    x=n_li / n_fu,
                    structure=cell,
                    composition=comp.formula.replace(" ", ""),
                    ewald_energy_eV=energy,
                    ewald_above_min_eV=energy - e_min,
                    rank=rank,
                    compensation=compensation,
                    charges=charges,
                )
            )
    return results
