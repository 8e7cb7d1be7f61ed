"""Symmetry-distinct migration hops of a mobile species (pure, no jobflow).

A hop moves one atom (vacancy and direct interstitial hops) or two atoms (interstitialcy:
the interstitial knocks a lattice atom into a neighbouring interstitial site and takes its
place) by at most ``cutoff_A`` each. Hops are enumerated over a *pool* of positions: the
atoms of the mobile species, the vacant sites and the empty interstitial sites. Every
space-group operation (W, t) of the cell, including its internal lattice translations,
permutes the pool; a hop is mapped to (permuted pool indices, W·displacements), so two
hops are equivalent when some operation maps one onto the other. This works with periodic
images too (the same pair of sites joined through different cell faces).

- :func:`enumerate_hops` with ``vacancies`` / ``interstitials``: hops of the defects of a
  defect supercell, distinct under the defect cell's own symmetry; ``multiplicity`` is the
  number of equivalent hops of that defect.
- :func:`enumerate_hops` on a perfect cell (no defects given): vacancy hops between sites of
  the species; the vacancy is created at the destination. ``multiplicity`` counts the
  equivalent directed hops in the cell (a hop and its reverse are one hop type, so a
  hop between equivalent sites counts sites x neighbours, e.g. 24 x 8 in 2x2x2 Li3OCl).
- :func:`hop_from_endpoints` (from :mod:`ionflow.structures.neb_path`): a hop from two
  user-given endpoints.
- :func:`locate_defects`: vacancies and interstitials of an unrelaxed defect cell.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError
from ionflow.schemas.neb import HopDoc
from ionflow.structures.interstitials import interstitial_candidates
from ionflow.structures.neb_path import hop_from_endpoints

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Lattice, Structure

__all__ = ["enumerate_hops", "hop_from_endpoints", "locate_defects", "symmetry_operations"]

logger = logging.getLogger(__name__)

#: pool positions closer than this (Å) after an operation are the same entry
MATCH_TOL_A = 0.3
#: displacement vectors closer than this (Å) are the same
VECTOR_TOL_A = 0.2
_KIND_ORDER = {"vacancy": 0, "interstitial": 1, "interstitialcy": 2}


def symmetry_operations(
    structure: Structure, symprec: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Fractional rotations and translations of a cell's space group.

    Parameters
    ----------
    structure
        The cell (its internal lattice translations are included by spglib).
    symprec
        spglib tolerance (Å); relaxed cells need ~0.1.

    Returns
    -------
    tuple of numpy.ndarray
        (n_ops, 3, 3) rotations and (n_ops, 3) translations; identity only if spglib fails.
    """
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    try:
        ops = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_operations(
            cartesian=False
        )
    except Exception:  # spglib gives up on some distorted cells: no symmetry reduction
        logger.warning("no symmetry found for %s; hops are not reduced", structure.formula)
        ops = []
    if not ops:
        return np.eye(3)[None], np.zeros((1, 3))
    rot = np.array([op.rotation_matrix for op in ops])
    trans = np.array([op.translation_vector for op in ops])
    return rot, trans


class _Pool:
    """Positions and how every operation permutes them (ops that do not are dropped)."""

    def __init__(self, lattice: Lattice, frac: np.ndarray, rot: np.ndarray, trans: np.ndarray):
        self.lattice = lattice
        self.frac = np.asarray(frac, dtype=float).reshape(-1, 3)
        images = np.einsum("oij,nj->oni", rot, self.frac) + trans[:, None, :]
        diff = images[:, :, None, :] - self.frac[None, None, :, :]
        diff -= np.round(diff)
        dist = np.linalg.norm(diff @ lattice.matrix, axis=-1)  # (ops, n, n)
        perms = np.argmin(dist, axis=-1)
        ok = np.take_along_axis(dist, perms[..., None], axis=-1)[..., 0] < MATCH_TOL_A
        keep = ok.all(axis=1)
        keep[0] = True  # identity is first in spglib's list
        self.perms = perms[keep]
        self.rot = rot[keep]
        if not ok[0].all():
            self.perms[0] = np.arange(len(self.frac))
            self.rot[0] = np.eye(3)

    def orbit(self, idx: tuple[int, ...], vecs: np.ndarray, undirected: bool) -> dict:
        """All images of a hop: pool-index tuple -> list of Cartesian vector arrays."""
        out: dict[tuple[int, ...], list[np.ndarray]] = {}
        variants = [(idx, vecs)]
        if undirected:
            variants.append((idx[::-1], -vecs[::-1]))
        for ind, vv in variants:
            mapped = self.perms[:, list(ind)]  # (ops, k)
            rotated = np.einsum("oij,mj->omi", self.rot, vv) @ self.lattice.matrix
            for key, cart in zip(map(tuple, mapped.tolist()), rotated, strict=True):
                known = out.setdefault(key, [])
                if not any(np.abs(cart - c).max() < VECTOR_TOL_A for c in known):
                    known.append(cart)
        return out


def _neighbours(lattice: Lattice, frac: np.ndarray, centre: np.ndarray, cutoff_A: float):
    """(index, unwrapped fractional position, distance) of points within the cutoff."""
    found = lattice.get_points_in_sphere(frac, lattice.get_cartesian_coords(centre), cutoff_A)
    rows = [(int(i), np.asarray(f, dtype=float), float(d)) for f, d, i, _ in found]
    return sorted(rows, key=lambda r: (round(r[2], 4), r[0]))


def _label(kind: str, species: str, number: int) -> str:
    prefix = {"vacancy": f"V_{species}", "interstitial": f"{species}_i"}.get(kind)
    if kind == "interstitialcy":
        return f"{species}_i interstitialcy {number}"
    return f"{prefix} hop {number}"


def enumerate_hops(
    structure: Structure,
    *,
    species: str = "Li",
    cutoff_A: float = 3.5,
    vacancies: Sequence[Sequence[float]] = (),
    interstitials: Sequence[int] = (),
    interstitial_sites: np.ndarray | None = None,
    kinds: Sequence[str] = ("vacancy", "interstitial", "interstitialcy"),
    min_distance_A: float = 1.0,
    path_clearance_A: float = 1.0,
    symprec: float = 0.1,
    max_hops: int | None = None,
) -> list[HopDoc]:
    """Enumerate the symmetry-distinct hops of a mobile species.

    Parameters
    ----------
    structure
        The cell: a defect supercell (give ``vacancies`` and/or ``interstitials``) or a
        perfect cell (vacancy hops between its ``species`` sites).
    species
        Mobile element.
    cutoff_A
        Longest single-atom jump (Å).
    vacancies
        Fractional coordinates of vacant ``species`` sites in ``structure``.
    interstitials
        Indices of interstitial ``species`` atoms in ``structure``.
    interstitial_sites
        Candidate interstitial positions (fractional, any occupation); None computes them
        (Voronoi) on the cell without its interstitial atoms. Positions closer than
        ``min_distance_A`` to an atom are occupied and skipped.
    kinds
        Hop kinds to enumerate.
    min_distance_A
        Smallest allowed distance (Å) of a destination from any other atom.
    path_clearance_A
        Skip hops whose straight line passes closer than this (Å) to a non-moving atom
        (a jump through an anion is not a hop to a neighbour); 0 keeps them all.
    symprec
        Symmetry tolerance (Å).
    max_hops
        Keep only this many hops (shortest first).

    Returns
    -------
    list of HopDoc
        Hops sorted by kind, then length; labels ``V_Li hop 1``, ``Li_i hop 2``, …

    Raises
    ------
    InputError
        Unknown species, bad defect positions, or no hop within the cutoff.
    """
    if cutoff_A <= 0:
        raise InputError(f"hop cutoff must be > 0 Å, got {cutoff_A}")
    unknown = set(kinds) - set(_KIND_ORDER)
    if unknown:
        raise InputError(f"unknown hop kind(s) {sorted(unknown)}; use {sorted(_KIND_ORDER)}")
    symbols = [site.specie.symbol for site in structure]
    mobile = [i for i, s in enumerate(symbols) if s == species]
    if not mobile:
        raise InputError(f"{structure.composition.reduced_formula} has no {species} atom")
    for i in interstitials:
        if not 0 <= i < len(structure) or symbols[i] != species:
            raise InputError(f"interstitial index {i} is not a {species} atom of the cell")
    lattice = structure.lattice
    vac = np.asarray(vacancies, dtype=float).reshape(-1, 3)
    if len(vac):
        d = lattice.get_all_distances(vac, structure.frac_coords)
        if d.min() < min_distance_A:
            raise InputError(
                f"vacancy at {vac[np.argmin(d.min(axis=1))].round(3).tolist()} is "
                f"{d.min():.2f} Å from an atom; give the position of the removed atom"
            )
    pristine = not len(vac) and not len(interstitials)
    rot, trans = symmetry_operations(structure, symprec)
    candidates: list[tuple[str, tuple[int, ...], np.ndarray, float]] = []

    inter = np.zeros((0, 3))
    if len(interstitials) and ({"interstitial", "interstitialcy"} & set(kinds)):
        if interstitial_sites is None:
            host = structure.copy()
            host.remove_sites(list(interstitials))
            interstitial_sites = interstitial_candidates(host, species, min_dist_A=min_distance_A)
        inter = np.asarray(interstitial_sites, dtype=float).reshape(-1, 3)
        d = lattice.get_all_distances(inter, structure.frac_coords)
        inter = inter[d.min(axis=1) >= min_distance_A]  # empty sites only
    n_mob, n_vac = len(mobile), len(vac)
    pool_frac = np.vstack([structure.frac_coords[mobile], vac, inter])
    pool = _Pool(lattice, pool_frac, rot, trans)
    pool_of_atom = {a: k for k, a in enumerate(mobile)}
    vac_ids = range(n_mob, n_mob + n_vac)
    site_ids = list(range(n_mob + n_vac, len(pool_frac)))

    def clear(dest: np.ndarray, movers: Sequence[int], start: np.ndarray | None = None) -> bool:
        """Destination free, and (with ``start``) the straight path clear of other atoms."""
        others = structure.frac_coords[[i for i in range(len(structure)) if i not in movers]]
        if len(others) == 0:
            return True
        if lattice.get_all_distances([dest], others)[0].min() < min_distance_A:
            return False
        if start is None or path_clearance_A <= 0:
            return True
        line = start + np.linspace(0.0, 1.0, 11)[:, None] * (dest - start)
        return bool(lattice.get_all_distances(line, others).min() >= path_clearance_A)

    if "vacancy" in kinds and pristine:
        for a in mobile:
            fa = pool_frac[pool_of_atom[a]]
            for b, fb, dist in _neighbours(lattice, structure.frac_coords[mobile], fa, cutoff_A):
                target = mobile[b]
                if target == a or dist < 1e-3 or not clear(fb, [a, target], fa):
                    continue
                # atom a moves into the vacancy made at site `target`
                candidates.append(
                    ("vacancy", (pool_of_atom[a], b), fb[None] - pool_frac[pool_of_atom[a]], dist)
                )
    elif "vacancy" in kinds:
        for v in vac_ids:
            for b, fb, dist in _neighbours(
                lattice, structure.frac_coords[mobile], pool_frac[v], cutoff_A
            ):
                if mobile[b] in interstitials or not clear(pool_frac[v], [mobile[b]], fb):
                    continue
                candidates.append(("vacancy", (b, v), (pool_frac[v] - fb)[None], dist))
    for x_atom in interstitials:
        x = pool_of_atom[x_atom]
        if "interstitial" in kinds and site_ids:
            for k, fy, dist in _neighbours(lattice, inter, pool_frac[x], cutoff_A):
                if dist > 1e-3 and clear(fy, [x_atom], pool_frac[x]):
                    candidates.append(
                        ("interstitial", (x, site_ids[k]), (fy - pool_frac[x])[None], dist)
                    )
        if "interstitialcy" in kinds and site_ids:
            for b, fl, d1 in _neighbours(
                lattice, structure.frac_coords[mobile], pool_frac[x], cutoff_A
            ):
                l_atom = mobile[b]
                if l_atom in interstitials:
                    continue
                for k, fy, d2 in _neighbours(lattice, inter, fl, cutoff_A):
                    back = fy - pool_frac[x]
                    back -= np.round(back)
                    if np.linalg.norm(back @ lattice.matrix) < MATCH_TOL_A:
                        continue  # lands back on the interstitial's own site
                    if d2 < 1e-3 or not clear(fy, [x_atom, l_atom], fl):
                        continue
                    if not clear(fl, [x_atom, l_atom], pool_frac[x]):
                        continue
                    vecs = np.array([fl - pool_frac[x], fy - fl])
                    candidates.append(("interstitialcy", (x, b, site_ids[k]), vecs, max(d1, d2)))

    candidates.sort(key=lambda c: (_KIND_ORDER[c[0]], round(c[3], 3), c[1]))
    seen: list[dict] = []
    reps = []
    for kind, idx, vecs, length in candidates:
        cart = vecs @ lattice.matrix
        if any(
            any(np.abs(cart - c).max() < VECTOR_TOL_A for c in orbit.get(idx, ())) for orbit in seen
        ):
            continue
        orbit = pool.orbit(idx, vecs, undirected=pristine)
        seen.append(orbit)
        reps.append((kind, idx, vecs, length, sum(len(v) for v in orbit.values())))
    if not reps:
        raise InputError(
            f"no {'/'.join(kinds)} hop of {species} within {cutoff_A} Å; increase the cutoff"
        )
    if max_hops is not None:
        reps = reps[:max_hops]
    counters: dict[str, int] = {}
    hops = []
    for kind, idx, vecs, length, mult in reps:
        counters[kind] = counters.get(kind, 0) + 1
        hops.append(
            _build_hop(
                structure,
                kind,
                species,
                idx,
                vecs,
                length,
                mult,
                mobile,
                pool_frac,
                pristine,
                _label(kind, species, counters[kind]),
            )
        )
    return hops


def _build_hop(
    structure: Structure,
    kind: str,
    species: str,
    idx: tuple[int, ...],
    vecs: np.ndarray,
    length: float,
    multiplicity: int,
    mobile: list[int],
    pool_frac: np.ndarray,
    pristine: bool,
    label: str,
) -> HopDoc:
    """Endpoints of one hop (same atom order in both)."""
    initial = structure.copy()
    if kind == "vacancy":
        atom = mobile[idx[0]]
        start = pool_frac[idx[0]]
        end = start + vecs[0]
        if pristine:
            removed = mobile[idx[1]]
            initial.remove_sites([removed])
            atom -= int(removed < atom)
        movers, starts, ends = [atom], [start], [end]
        defect_start, defect_end = end, start
    elif kind == "interstitial":
        atom = mobile[idx[0]]
        start = pool_frac[idx[0]]
        movers, starts, ends = [atom], [start], [start + vecs[0]]
        defect_start, defect_end = start, ends[0]
    else:
        x_atom, l_atom = mobile[idx[0]], mobile[idx[1]]
        fx = pool_frac[idx[0]]
        fl = fx + vecs[0]
        movers, starts, ends = [x_atom, l_atom], [fx, pool_frac[idx[1]]], [fl, fl + vecs[1]]
        defect_start, defect_end = fx, fl + vecs[1]
    final = initial.copy()
    for atom, end in zip(movers, ends, strict=True):
        final.replace(atom, species, coords=np.mod(end, 1.0), coords_are_cartesian=False)
    return HopDoc(
        label=label,
        kind=kind,  # type: ignore[arg-type]
        species=species,
        moving_indices=movers,
        start_frac_coords=[list(map(float, s)) for s in starts],
        end_frac_coords=[list(map(float, e)) for e in ends],
        length_A=float(np.linalg.norm((ends[0] - starts[0]) @ structure.lattice.matrix)),
        multiplicity=int(multiplicity),
        defect_start_frac=[float(v) for v in defect_start],
        defect_end_frac=[float(v) for v in defect_end],
        initial=initial,
        final=final,
    )


def locate_defects(
    cell: Structure, host: Structure, species: str = "Li", tol_A: float = 0.5
) -> tuple[list[list[float]], list[int]]:
    """Find the vacancies and interstitials of ``species`` in an unrelaxed defect cell.

    Parameters
    ----------
    cell
        Defect supercell (same lattice as ``host``, unrelaxed positions).
    host
        The perfect supercell it was made from.
    species
        Mobile element.
    tol_A
        Distance (Å) within which an atom sits on a host site.

    Returns
    -------
    tuple
        Fractional coordinates of the vacant ``species`` sites, and indices (in ``cell``)
        of the ``species`` atoms that sit on no host site.
    """
    if not np.allclose(cell.lattice.matrix, host.lattice.matrix, atol=1e-3):
        raise InputError("the defect cell and the host supercell have different lattices")
    host_sites = [i for i, s in enumerate(host) if s.specie.symbol == species]
    atoms = [i for i, s in enumerate(cell) if s.specie.symbol == species]
    vacancies: list[list[float]] = []
    interstitials: list[int] = []
    if host_sites and len(cell):
        d = cell.lattice.get_all_distances(host.frac_coords[host_sites], cell.frac_coords)
        vacancies = [
            [float(x) for x in host.frac_coords[i]]
            for i, row in zip(host_sites, d, strict=True)
            if row.min() > tol_A
        ]
    if atoms:
        d = cell.lattice.get_all_distances(cell.frac_coords[atoms], host.frac_coords[host_sites])
        interstitials = [
            i for i, row in zip(atoms, d, strict=True) if row.size == 0 or row.min() > tol_A
        ]
    return vacancies, interstitials
