"""Labelled, charge-neutral defect supercells: single defects, pairs and clusters.

:func:`generate_defects` expands a spec (:class:`ionflow.schemas.defect_spec.DefectSection`, or a
dict with the same keys) into point-defect tokens (see :mod:`ionflow.structures.tokens`),
enumerates every symmetry-distinct placement of them in the supercell, sorts the placements
by separation and keeps those the spec asks for:

- the first token sits on one representative of each of its symmetry orbits; for a pair
  the second goes on every candidate site; for clusters of 3+ defects the others go on the
  ``cluster_neighbors`` candidate sites nearest the first;
- ``separation``: ``nearest`` → 1 configuration, ``farthest`` → 1, ``all`` → every
  symmetry-distinct one (truncated to ``max_configs``), a float → the one closest to it;
- a single defect ignores ``separation`` and gives each symmetry-distinct site (e.g. each
  interstitial site) up to ``max_configs``.
"""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from ionflow.errors import InputError, format_validation_error
from ionflow.schemas.defect_spec import DefectSection
from ionflow.schemas.defects import DefectConfig, DefectSite
from ionflow.structures.interstitials import interstitial_candidates
from ionflow.structures.supercell import SupercellChoice, min_image_distance
from ionflow.structures.symmetry import (
    SitePool,
    canonical_keys,
    orbit_representatives,
    orbit_size,
)
from ionflow.structures.tokens import PointDefect, expand_spec, host_oxidation_states, kroger_vink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["as_defect_spec", "cluster_label", "generate_defects", "isolated_parts"]


def as_defect_spec(spec: DefectSection | dict[str, Any]) -> DefectSection:
    """Validate a defect spec given as a dict (or pass a DefectSection through)."""
    if isinstance(spec, DefectSection):
        return spec
    try:
        return DefectSection.model_validate(spec)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, "defect spec").replace("\n", "; ")) from None


def cluster_label(tokens: list[str]) -> str:
    """Compact label of a token list, e.g. ``V_La+3Li_i`` (order of first appearance)."""
    counts: dict[str, int] = {}
    for tok in tokens:
        counts[tok] = counts.get(tok, 0) + 1
    return "+".join(f"{n if n > 1 else ''}{tok}" for tok, n in counts.items())


def _groups(tokens: list[str]) -> list[list[int]]:
    seen: dict[str, list[int]] = {}
    for i, tok in enumerate(tokens):
        seen.setdefault(tok, []).append(i)
    return list(seen.values())


def _enumerate(
    pool: SitePool, cands: list[list[int]], tokens: list[str], n_neighbors: int
) -> np.ndarray:
    """All placements with the first defect on orbit representatives (n_configs, n_roles)."""
    reps = orbit_representatives(pool, cands[0])
    rows: list[tuple[int, ...]] = []
    for r in reps:
        if len(tokens) == 1:
            rows.append((r,))
            continue
        lists = []
        for k in range(1, len(tokens)):
            others = [j for j in cands[k] if j != r]
            if len(tokens) > 2 and len(others) > n_neighbors:
                order = np.argsort(pool.distances(r, others), kind="stable")
                others = [others[i] for i in order[:n_neighbors]]
            lists.append(others)
        for combo in itertools.product(*lists):
            full = (r, *combo)
            if len(set(full)) != len(full):
                continue
            # interchangeable roles: keep one ordering only
            if any(
                tokens[a] == tokens[b] and full[a] > full[b]
                for a in range(1, len(full))
                for b in range(a + 1, len(full))
            ):
                continue
            rows.append(full)
    return np.array(rows, dtype=np.int64).reshape(-1, len(tokens))


def _select(items: list[dict[str, Any]], spec: DefectSection, single: bool) -> list[dict]:
    if single or spec.separation == "all":
        chosen = items
    elif spec.separation == "nearest":
        chosen = items[:1]
    elif spec.separation == "farthest":
        chosen = items[-1:]
    else:
        target = float(spec.separation)
        chosen = [min(items, key=lambda it: abs(it["separation"] - target))]
    return chosen[: spec.max_configs] if spec.max_configs else chosen


def generate_defects(
    supercell: Structure | SupercellChoice,
    spec: DefectSection | dict[str, Any],
    *,
    supercell_matrix: list[list[int]] | None = None,
    symprec: float = 0.01,
) -> list[DefectConfig]:
    """Generate labelled defect supercells for one spec.

    Parameters
    ----------
    supercell
        Host supercell (or a :class:`SupercellChoice`, which also supplies the matrix).
    spec
        Defect spec: a DefectSection or a dict such as
        ``{"type": "schottky", "species": ["Li", "Cl"], "separation": "nearest"}``.
    supercell_matrix
        Matrix that built ``supercell`` from the host cell, recorded as provenance.
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    list of DefectConfig
        Sorted by separation (single defects: by site), each charge-neutral unless the spec
        sets ``charge``.

    Raises
    ------
    InputError
        Unknown species or site, a cluster that cannot be neutral, a bad spec.
    """
    if isinstance(supercell, SupercellChoice):
        supercell_matrix = supercell_matrix or supercell.matrix
        supercell = supercell.structure
    spec = as_defect_spec(spec)
    if not supercell.is_ordered:
        raise InputError("the host supercell is disordered; order it first (Li-content series)")
    oxi = host_oxidation_states(supercell, spec.oxidation_states)
    tokens = expand_spec(spec, oxi)
    defects = [PointDefect(t) for t in tokens]
    host_symbols = [site.specie.symbol for site in supercell]
    present = sorted(set(host_symbols))
    for d in defects:
        if d.host_species is not None and d.host_species not in present:
            raise InputError(
                f"defect {d.token}: the host has no {d.host_species} site "
                f"(species present: {', '.join(present)})"
            )
    eff = [d.effective_charge(oxi) for d in defects]
    if any(abs(q - round(q)) > 1e-6 for q in eff):
        raise InputError(
            f"{' + '.join(tokens)}: non-integer effective charges {eff} from oxidation states "
            f"{oxi}; give integer oxidation_states in the defect spec"
        )
    eff_int = [round(q) for q in eff]
    total = sum(eff_int)
    single = len(tokens) == 1
    if single:
        charge = spec.charge if spec.charge is not None else 0
    else:
        if spec.charge is None and total != 0:
            raise InputError(
                f"{kroger_vink(tokens, eff_int)} has a net charge of {total:+d}, so the cell "
                "cannot be neutral; add 'compensation: <defect>' or more defects, or set "
                f"'charge: {total}' for a charged cell"
            )
        if spec.charge is not None and spec.charge != total:
            raise InputError(
                f"{kroger_vink(tokens, eff_int)} carries {total:+d} but charge={spec.charge} "
                "was requested; a cluster's charge must equal the sum of its defects' charges"
            )
        charge = total

    n_host = len(supercell)
    frac = supercell.frac_coords
    inter_species = next((d.species for d in defects if d.kind == "interstitial"), None)
    if inter_species is not None:
        inter = interstitial_candidates(
            supercell, inter_species, min_dist_A=spec.interstitial_min_dist_A
        )
        frac = np.vstack([frac, inter])
    pool = SitePool(supercell, frac, symprec=symprec)
    cands = [
        list(range(n_host, len(frac)))
        if d.kind == "interstitial"
        else [i for i, s in enumerate(host_symbols) if s == d.host_species]
        for d in defects
    ]
    configs = _enumerate(pool, cands, tokens, spec.cluster_neighbors)
    if len(configs) == 0:
        raise InputError(f"{' + '.join(tokens)}: no placement fits in this supercell")
    groups = _groups(tokens)
    keys = canonical_keys(pool, configs, groups)
    _, first = np.unique(keys, return_index=True)
    items = []
    for idx in sorted(first):
        config = [int(i) for i in configs[idx]]
        dists = [] if single else [float(x) for x in pool.distances(config[0], config[1:])]
        items.append(
            {
                "config": config,
                "distances": dists,
                "separation": max(dists) if dists else None,
                "key": int(keys[idx]),
            }
        )
    if not single:
        items.sort(key=lambda it: (round(it["separation"], 4), round(sum(it["distances"]), 4)))
    base = spec.label or cluster_label(tokens)
    labels: dict[str, int] = {}
    for k, it in enumerate(items):
        if single:
            label = base if len(items) == 1 else f"{base}_{k + 1}"
            if spec.charge is not None:
                label += f"_q{charge:+d}"
        else:
            label = f"{base}_d{it['separation']:.2f}"
        labels[label] = labels.get(label, 0) + 1
        it["label"] = label if labels[label] == 1 else f"{label}_c{labels[label]}"

    marks = [charge] if single else eff_int
    kv = kroger_vink(tokens, marks)
    dist_image = min_image_distance(supercell.lattice)
    return [
        _build(
            supercell,
            spec,
            tokens,
            defects,
            eff_int,
            it,
            pool,
            groups,
            charge,
            kv,
            dist_image,
            supercell_matrix,
        )
        for it in _select(items, spec, single)
    ]


def _build(
    host: Structure,
    spec: DefectSection,
    tokens: list[str],
    defects: list[PointDefect],
    eff: list[int],
    item: dict[str, Any],
    pool: SitePool,
    groups: list[list[int]],
    charge: int,
    kv: str,
    dist_image: float,
    supercell_matrix: list[list[int]] | None,
) -> DefectConfig:
    structure = host.copy()
    structure.remove_oxidation_states()
    removed, sites = [], []
    delta: dict[str, int] = {}
    n_host = len(host)
    n_added = 0
    for d, q, idx in zip(defects, eff, item["config"], strict=True):
        fc = pool.frac_coords[idx]
        index = None
        if d.kind == "vacancy":
            removed.append(idx)
            delta[d.species] = delta.get(d.species, 0) - 1
        elif d.kind == "substitution":
            structure.replace(idx, d.species)
            delta[d.species] = delta.get(d.species, 0) + 1
            delta[d.host_species] = delta.get(d.host_species, 0) - 1
            index = idx
        else:
            structure.append(d.species, fc)
            delta[d.species] = delta.get(d.species, 0) + 1
            index = n_host + n_added
            n_added += 1
        sites.append(
            DefectSite(
                kind=d.kind,
                species=d.species,
                host_species=d.host_species,
                frac_coords=[float(x) for x in fc],
                token=d.token,
                effective_charge=q,
                index=index,
            )
        )
    # indices after the vacancies are removed (all removed sites are host sites)
    for site in sites:
        if site.index is not None:
            site.index -= sum(r < site.index for r in removed)
    structure.remove_sites(sorted(removed))
    if charge:
        with warnings.catch_warnings():  # pymatgen warns when charge != sum of oxi states
            warnings.simplefilter("ignore", UserWarning)
            structure.set_charge(charge)
    return DefectConfig(
        label=item["label"],
        kroger_vink=kv,
        defect_type=spec.type,
        structure=structure,
        host_formula=host.composition.reduced_formula,
        composition=structure.composition.formula.replace(" ", ""),
        n_atoms=len(structure),
        charge=charge,
        separation_A=item["separation"],
        distances_A=item["distances"],
        defect_sites=sites,
        delta_n={k: v for k, v in sorted(delta.items()) if v},
        multiplicity=orbit_size(pool, item["config"], groups),
        min_image_distance_A=dist_image,
        supercell_matrix=supercell_matrix,
    )


def isolated_parts(
    supercell: Any,
    clusters: Sequence[DefectConfig],
    charged: bool,
    existing: Sequence[DefectConfig] = (),
) -> tuple[list[DefectConfig], dict[str, list[str]]]:
    """Single-defect configurations of every token appearing in the clusters.

    Parameters
    ----------
    supercell
        Host supercell (Structure or SupercellChoice).
    clusters
        Cluster configurations (two or more defects).
    charged
        Give each part its nominal effective charge (DFT); else neutral cells (MLIP).
    existing
        Configurations already in the flow; a part with the same label is reused.

    Returns
    -------
    parts, part_labels
        New configurations to compute, and token → labels of its configurations.
    """
    have = {c.label: c for c in existing}
    parts: list[DefectConfig] = []
    part_labels: dict[str, list[str]] = {}
    for cluster in clusters:
        for site in cluster.defect_sites:
            if site.token in part_labels:
                continue
            d = PointDefect(site.token)
            spec: dict[str, Any] = {
                "type": d.kind,
                "species": [d.species] if d.kind != "substitution" else [d.species, d.host_species],
                "separation": "all",
            }
            if charged:
                spec["charge"] = site.effective_charge
            configs = generate_defects(supercell, spec)
            part_labels[site.token] = [c.label for c in configs]
            parts.extend(c for c in configs if c.label not in have)
            have.update({c.label: c for c in configs})
    return parts, part_labels
