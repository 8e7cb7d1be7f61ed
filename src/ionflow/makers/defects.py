"""Jobs of the defect formation-energy flow and the plain functions behind them.

- :func:`defect_study_doc`: formation energies (charged cells corrected as
  :func:`ionflow.makers.defect_charge.charged_cell_correction` decides: Freysoldt, Kumagai,
  point charge or none), binding energies of clusters against their isolated parts, screened
  Coulomb terms at the relaxed separation. A formation energy negative across the gap is
  not a result (:func:`ionflow.analysis.formation.formation_not_determined`), nor a
  binding energy against isolated parts computed as neutral cells of charged defects
  (an engine without charged cells, or ``charged_parts: false``); the raw numbers stay in
  the document (``raw_formation_energy_eV``, ``raw_binding_energy_eV``);
- :func:`collect_defect_energies`: the collector job (tolerates failed relaxations).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import job
from monty.json import MontyDecoder
from pymatgen.core import Structure

from ionflow.analysis.defect_thermo import ChargedDefect, as_json_dict, defect_thermodynamics
from ionflow.analysis.formation import (
    binding_energy,
    chemical_potentials,
    formation_energy,
    formation_not_determined,
    screened_coulomb_energy,
)
from ionflow.analysis.window_entries import apply_compatibility, check_entry_settings
from ionflow.errors import InputError
from ionflow.makers.defect_cells import as_structure
from ionflow.makers.defect_charge import charged_cell_correction
from ionflow.schemas.defects import (
    CellPotentialDoc,
    ChargeStateRow,
    ChemicalPotentialSet,
    DefectConfig,
    DefectEnergyDoc,
    DefectStudyDoc,
    DefectThermoDoc,
    PairBinding,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.entries import Entry

    from ionflow.analysis.defect_thermo import DefectThermo

__all__ = [
    "cluster_key",
    "collect_defect_energies",
    "defect_positions_cart",
    "defect_study_doc",
    "defect_thermo_doc",
]

logger = logging.getLogger(__name__)


def defect_positions_cart(config: DefectConfig, relaxed: Structure | None) -> np.ndarray:
    """Cartesian position of each point defect (relaxed atom, else the original site).

    Vacancies keep their original site; interstitial and substituted atoms are read from
    the relaxed structure when it is given.
    """
    lattice = relaxed.lattice if relaxed is not None else config.structure.lattice
    positions = []
    for site in config.defect_sites:
        if relaxed is not None and site.index is not None:
            positions.append(relaxed[site.index].coords)
        else:
            positions.append(lattice.get_cartesian_coords(site.frac_coords))
    return np.array(positions)


def cluster_key(config: DefectConfig) -> str:
    """Key shared by all placements of one cluster, e.g. ``Li_i+O_Cl`` (tokens sorted)."""
    return "+".join(sorted(site.token for site in config.defect_sites))


def _max_separation(config: DefectConfig, relaxed: Structure) -> float | None:
    if len(config.defect_sites) < 2:
        return None
    pos = defect_positions_cart(config, relaxed)
    frac = relaxed.lattice.get_fractional_coords(pos)
    return float(relaxed.lattice.get_all_distances(frac[:1], frac[1:]).max())


def _part_energies(
    docs: dict[str, DefectEnergyDoc], part_labels: dict[str, list[str]]
) -> dict[str, DefectEnergyDoc]:
    """Lowest-energy isolated configuration per token (e.g. the best Li_i site)."""
    best: dict[str, DefectEnergyDoc] = {}
    for token, labels in part_labels.items():
        found = [docs[label] for label in labels if label in docs]
        if found:
            best[token] = min(found, key=lambda d: d.raw_formation_energy_eV)
    return best


def _judge_formation(
    docs: dict[str, DefectEnergyDoc],
    configs: dict[str, DefectConfig],
    names: dict[str, str],
    band_gap_eV: float | None,
    charged_cells: bool,
) -> None:
    """Mark formation energies that are not a result (negative across the gap), in place.

    The charge states of one defect (same name) are judged together: E_f at the VBM is
    ``E_f - q E_F`` of each; a neutral cell of a defect whose nominal charge is not zero
    is named in the reason.
    """
    groups: dict[str, list[DefectEnergyDoc]] = {}
    for label, doc in docs.items():
        groups.setdefault(names.get(label, label), []).append(doc)
    for group in groups.values():
        lines = [(d.charge, d.raw_formation_energy_eV - d.charge * d.fermi_level_eV) for d in group]
        why = formation_not_determined(lines, band_gap_eV)
        if not why:
            continue
        for d in group:
            sites = configs[d.label].defect_sites
            why_here = why
            if d.charge == 0 and len(sites) == 1 and sites[0].effective_charge:
                engine = " (this engine holds no charge)" if not charged_cells else ""
                why_here = (
                    f"{why}; here the cell is neutral while {sites[0].token} has nominal charge "
                    f"{sites[0].effective_charge:+d}{engine}"
                )
            d.formation_energy_eV = None
            d.formation_energy_determined = False
            d.formation_energy_reason = why_here


def _binding_not_determined(
    parts: Sequence[DefectEnergyDoc], configs: dict[str, DefectConfig], charged_cells: bool
) -> str | None:
    """Why a binding energy against these isolated parts is not a result, or None.

    The parts must carry the charges of the defects they stand for: a neutral cell of a
    charged defect (an engine without charged cells, or ``charged_parts: false``) compares
    the charged pair with other physics.
    """
    neutral = []
    for part in parts:
        site = configs[part.label].defect_sites[0]
        if site.effective_charge and (part.charge != site.effective_charge or not charged_cells):
            neutral.append(f"{site.token} {site.effective_charge:+d}")
    if not neutral:
        return None
    if not charged_cells:
        return (
            "isolated parts are neutral cells on this engine, not the charged defects "
            f"({', '.join(neutral)})"
        )
    return (
        f"isolated parts {', '.join(neutral)} were computed as neutral cells "
        "(charged_parts: false), not the charged defects"
    )


def defect_study_doc(
    host_energy_eV: float,
    host_structure: Structure,
    configs: Sequence[DefectConfig],
    energies_eV: Sequence[float | None],
    relaxed: Sequence[Structure | None],
    chempots: ChemicalPotentialSet,
    *,
    roles: Sequence[str] | None = None,
    part_labels: dict[str, list[str]] | None = None,
    farthest: dict[str, str] | None = None,
    fermi_level_eV: float = 0.0,
    vbm_eV: float | None = None,
    dielectric_constant: float | None = None,
    engine: dict[str, Any] | None = None,
    freysoldt: bool = False,
    correction: str | None = None,
    potentials: Sequence[CellPotentialDoc | dict | None] | None = None,
    host_potential: CellPotentialDoc | dict | None = None,
    vbm_source: str = "user",
    potential_dirs: Sequence[str | None] | None = None,
    host_dir: str | None = None,
    names: dict[str, str] | None = None,
    band_gap_eV: float | None = None,
    charged_cells: bool = True,
) -> DefectStudyDoc:
    """Build the study document from relaxed energies (pure function).

    Parameters
    ----------
    host_energy_eV, host_structure
        Relaxed host supercell energy (eV) and structure.
    configs
        Generated defect configurations (requested ones and isolated parts).
    energies_eV, relaxed
        Relaxed total energy (eV) and structure per configuration; None when it failed.
    chempots
        Chemical potentials.
    roles
        ``"requested"`` or ``"part"`` per configuration (default: all requested).
    part_labels
        Token (``V_Li``) → labels of the isolated configurations computed for it.
    farthest
        :func:`cluster_key` → label of the farthest-separated configuration of that cluster.
    fermi_level_eV, vbm_eV
        Fermi level above the VBM and the VBM (eV), for charged cells.
    dielectric_constant
        ε for the charged-cell correction and the screened Coulomb term (None: neither).
    engine
        Engine description for provenance.
    freysoldt
        Correct charged cells with the Freysoldt scheme from ``potentials`` and
        ``host_potential`` (engine vasp); else the point-charge (Makov-Payne) term. Used
        when ``correction`` is None (documents built before the choice).
    correction
        ``auto``, ``freysoldt``, ``kumagai`` (an engine that writes potentials: from
        ``potentials`` and ``host_potential``), ``point_charge`` or ``none``
        (:func:`~ionflow.makers.defect_charge.charged_cell_correction`).
    potentials, host_potential
        Potentials read per configuration (None for neutral cells) and of the host:
        planar-averaged LOCPOTs and/or OUTCAR site potentials.
    vbm_source
        Where ``vbm_eV`` came from (recorded in the document).
    potential_dirs, host_dir
        Run folders of the cells whose LOCPOT is read (named when one is missing).
    names
        Label -> defect name shared by its charge states (others: their label); the
        charge states of one defect are judged together.
    band_gap_eV
        Host band gap (eV); None: only neutral cells are judged.
    charged_cells
        The engine runs charged cells (its ``charged_cells`` capability); without it every
        cell is neutral, and binding energies against charged defects are not determined.

    Returns
    -------
    DefectStudyDoc
        One DefectEnergyDoc per finished configuration, missing labels listed.
    """
    roles = list(roles or ["requested"] * len(configs))
    host_structure = as_structure(host_structure)
    if correction is None:
        correction = "freysoldt" if freysoldt else "point_charge"
    docs: dict[str, DefectEnergyDoc] = {}
    missing, warnings = [], []
    no_eps: list[str] = []
    rows = zip(configs, energies_eV, relaxed, roles, strict=True)
    for i, (config, energy, structure, role) in enumerate(rows):
        structure = as_structure(structure) if structure is not None else None
        if energy is None or structure is None or not math.isfinite(energy):
            missing.append(config.label)
            continue
        frac = structure.lattice.get_fractional_coords(defect_positions_cart(config, structure)[0])
        try:
            corr = charged_cell_correction(
                config,
                structure,
                frac,
                dielectric_constant,
                correction,
                potentials[i] if potentials else None,
                host_potential,
                potential_dirs[i] if potential_dirs else None,
                host_dir,
                host_structure,
            )
            e_f = formation_energy(
                energy,
                host_energy_eV,
                config.delta_n,
                chempots.mu_eV,
                charge=config.charge,
                fermi_level_eV=fermi_level_eV,
                vbm_eV=vbm_eV,
                correction_eV=corr.correction_eV,
            )
        except InputError as exc:
            missing.append(config.label)
            warnings.append(f"{config.label}: {exc}")
            continue
        if config.charge and not dielectric_constant:
            no_eps.append(config.label)
        docs[config.label] = DefectEnergyDoc(
            **config.cell_fields(),
            relaxed_separation_A=_max_separation(config, structure),
            energy_defect_eV=energy,
            energy_host_eV=host_energy_eV,
            chemical_potentials=chempots,
            fermi_level_eV=fermi_level_eV if config.charge else 0.0,
            vbm_eV=vbm_eV if config.charge else None,
            **dataclasses.asdict(corr),
            formation_energy_eV=e_f,
            raw_formation_energy_eV=e_f,
            engine=engine or {},
            relaxed_structure=structure,
            role=role,
            defect_sites=config.defect_sites,
        )
    if no_eps:
        warnings.append(
            f"charged cells {', '.join(no_eps)} have no finite-size correction: set the "
            "dielectric constant"
        )
    by_label = {c.label: c for c in configs}
    _judge_formation(docs, by_label, names or {}, band_gap_eV, charged_cells)
    parts = _part_energies(docs, part_labels or {})
    for label, doc in docs.items():
        config = by_label[label]
        if len(config.defect_sites) < 2 or not part_labels:
            continue
        tokens = [s.token for s in config.defect_sites]
        if not all(t in parts for t in tokens):
            warnings.append(f"{label}: no binding energy (an isolated part failed or is missing)")
            continue
        coulomb = None
        if dielectric_constant:
            coulomb = screened_coulomb_energy(
                [s.effective_charge for s in config.defect_sites],
                defect_positions_cart(config, doc.relaxed_structure),
                dielectric_constant,
                lattice=doc.relaxed_structure.lattice,
            )
        far_label = (farthest or {}).get(cluster_key(config))
        far = docs.get(far_label) if far_label else None
        # both differences are independent of μ and E_F: the raw energies are used
        raw = binding_energy(
            doc.raw_formation_energy_eV, [parts[t].raw_formation_energy_eV for t in tokens]
        )
        why = _binding_not_determined([parts[t] for t in tokens], by_label, charged_cells)
        doc.binding = PairBinding(
            farthest_label=far_label if far else None,
            binding_vs_farthest_eV=(
                doc.raw_formation_energy_eV - far.raw_formation_energy_eV if far else None
            ),
            parts=[parts[t].label for t in tokens],
            binding_energy_eV=None if why else raw,
            raw_binding_energy_eV=raw,
            determined=why is None,
            reason=why,
            coulomb_energy_eV=coulomb,
            relaxed_separation_A=doc.relaxed_separation_A,
            dielectric_constant=dielectric_constant,
        )
    if chempots.host_e_above_hull_eV_atom > 0:
        warnings.append(
            f"the host is {chempots.host_e_above_hull_eV_atom * 1000:.1f} meV/atom above the "
            "hull of the competing phases; it was placed on the hull to define μ"
        )
    first = configs[0] if configs else None
    return DefectStudyDoc(
        host_formula=host_structure.composition.reduced_formula,
        energy_host_eV=host_energy_eV,
        n_atoms_host=len(host_structure),
        chemical_potentials=chempots,
        defects=list(docs.values()),
        missing=missing,
        engine=engine or {},
        supercell_matrix=first.supercell_matrix if first else None,
        min_image_distance_A=first.min_image_distance_A if first else None,
        dielectric_constant=dielectric_constant,
        vbm_eV=vbm_eV,
        vbm_source=vbm_source if vbm_eV is not None else "",
        warnings=warnings,
    )


#: what each correction method means, for the document
_CORRECTIONS = {
    "freysoldt": "Freysoldt (planar-averaged LOCPOTs of defect and host, ε)",
    "kumagai": "Kumagai/eFNV (OUTCAR site potentials of defect and host, ε)",
    "point_charge": "first-order point charge (Makov-Payne; the engine writes no LOCPOT)",
    "none": "none (neutral cells, charged cells without ε, or correction: none)",
}


def defect_thermo_doc(
    study: DefectStudyDoc,
    entries: Sequence[Entry],
    host_structure: Structure,
    names: dict[str, str],
    band_gap_eV: float | None,
) -> DefectThermoDoc:
    """Build the formation energy against E_F at every chemical-potential limit.

    Parameters
    ----------
    study
        The study document (energies and corrections per configuration).
    entries
        Competing-phase entries (compatibility applied).
    host_structure
        Relaxed host supercell.
    names
        Label -> defect name shared by its charge states (others: their label).
    band_gap_eV
        Host band gap (None: 0; the levels are listed wherever they fall).

    Returns
    -------
    DefectThermoDoc
        Limits, per-charge formation energies at the VBM, transition levels, envelopes.
    """
    rows = [d for d in study.defects if d.role == "requested"]
    if not rows:
        raise InputError("no requested defect finished")
    charged = any(d.charge for d in rows)
    if charged and study.vbm_eV is None:
        raise InputError("charged cells without a host VBM")
    vbm = study.vbm_eV if charged else 0.0
    thermo = defect_thermodynamics(
        study.energy_host_eV,
        host_structure,
        [
            ChargedDefect(
                name=names.get(d.label, d.label),
                charge=d.charge,
                energy_eV=d.energy_defect_eV,
                element_changes=d.delta_n,
                correction_eV=d.correction_eV,
                correction_method=d.correction_method,
                multiplicity=d.multiplicity,
            )
            for d in rows
        ],
        entries,
        vbm,
        band_gap_eV or 0.0,
        band_gap_known=band_gap_eV is not None,
    )
    data = as_json_dict(thermo)
    methods = sorted({d.correction_method for d in rows})
    engine = study.engine.get("engine", "")
    return DefectThermoDoc(
        vbm_eV=vbm,
        band_gap_eV=band_gap_eV,
        chempot_limits=data["chempot_limits"],
        defects=[
            ChargeStateRow(
                name=names.get(d.label, d.label),
                label=d.label,
                charge=d.charge,
                correction_method=d.correction_method,
                **_thermo_row_values(thermo, names.get(d.label, d.label), d.charge),
            )
            for d in rows
        ],
        transition_levels=data["transition_levels"],
        envelopes=data["envelopes"],
        corrections=f"{engine}: " + "; ".join(_CORRECTIONS[m] for m in methods),
    )


def _thermo_row_values(thermo: DefectThermo, name: str, charge: int) -> dict[str, Any]:
    """Return the per-limit values of one charge state: results (None where not), raw, why."""
    return {
        "formation_energy_at_vbm_eV": {
            lim: thermo.value_at_vbm(name, charge, lim) for lim in thermo.chempot_limits
        },
        "raw_formation_energy_at_vbm_eV": thermo.formation_at_vbm_eV[(name, charge)],
        "not_determined": dict(thermo.not_determined.get(name, {})),
    }


def _decode_entries(entries: Sequence[Any]) -> list[Entry]:
    decoder = MontyDecoder()
    return [decoder.process_decoded(e) if isinstance(e, dict) else e for e in entries]


@job(name="defect formation energies")
def collect_defect_energies(
    host_energy_eV: float | None,
    host_structure: Structure | None,
    configs: list[dict[str, Any]],
    energies_eV: list[float | None],
    relaxed: list[Structure | None],
    entries: list[Any] | None,
    settings: dict[str, Any],
    potentials: list[Any] | None = None,
    host_potential: Any = None,
    potential_dirs: list[str | None] | None = None,
    host_dir: str | None = None,
) -> DefectStudyDoc:
    """Job: chemical potentials from the entries, then :func:`defect_study_doc`.

    Parameters
    ----------
    host_energy_eV, host_structure
        Relaxed host supercell (a failed host relaxation makes the whole set fail).
    configs
        ``DefectConfig.model_dump()`` per configuration (requested ones, then parts).
    energies_eV, relaxed
        Relaxation outputs (None for failed jobs; the job runs with missing references).
    entries
        Computed entries of the competing phases (host included).
    settings
        ``host_formula``, ``condition``, ``extrinsic``, ``compatibility``, ``roles``,
        ``part_labels``, ``fermi_level_eV``, ``vbm_eV``, ``dielectric_constant``,
        ``engine``, ``source``, ``freysoldt``, ``correction`` (``auto``, ``freysoldt``,
        ``kumagai``, ``point_charge``, ``none``; absent: from ``freysoldt``), ``names``,
        ``band_gap_eV``, ``charged_cells`` (the engine's capability; default True).
    potentials, host_potential
        Outputs of the ``defects read locpot`` jobs (engine vasp; None where a cell is
        neutral or the job failed). A user ``vbm_eV`` wins over the host run's VBM.
    potential_dirs, host_dir
        Run folders those outputs were read from.

    Returns
    -------
    DefectStudyDoc
        The study document.
    """
    if host_energy_eV is None or host_structure is None:
        raise InputError("the host supercell relaxation failed; no formation energy possible")
    if not entries or any(e is None for e in entries):
        raise InputError(
            "missing chemical potentials: a competing-phase calculation failed or no entries "
            "were given"
        )
    entries = _decode_entries(entries)
    notes = check_entry_settings(entries)
    entries, _ = apply_compatibility(entries, settings.get("compatibility", "auto"))
    mus = chemical_potentials(
        entries,
        settings["host_formula"],
        settings.get("condition", "Li-rich"),
        extrinsic=settings.get("extrinsic", []),
        source=settings.get("source", ""),
    )
    vbm, vbm_source = settings.get("vbm_eV"), "user"
    if vbm is None and host_potential is not None:
        host_potential = CellPotentialDoc.model_validate(host_potential)
        vbm, vbm_source = host_potential.vbm_eV, host_potential.vbm_source
    doc = defect_study_doc(
        host_energy_eV,
        host_structure,
        [DefectConfig.model_validate(c) for c in configs],
        energies_eV,
        relaxed,
        mus,
        roles=settings.get("roles"),
        part_labels=settings.get("part_labels"),
        farthest=settings.get("farthest"),
        fermi_level_eV=settings.get("fermi_level_eV", 0.0),
        vbm_eV=vbm,
        dielectric_constant=settings.get("dielectric_constant"),
        engine=settings.get("engine"),
        freysoldt=settings.get("freysoldt", False),
        correction=settings.get("correction"),
        potentials=potentials,
        host_potential=host_potential,
        vbm_source=vbm_source,
        potential_dirs=potential_dirs,
        host_dir=host_dir,
        names=settings.get("names") or {},
        band_gap_eV=settings.get("band_gap_eV"),
        charged_cells=settings.get("charged_cells", True),
    )
    doc.warnings.extend(notes)
    try:
        doc.thermodynamics = defect_thermo_doc(
            doc,
            entries,
            as_structure(host_structure),
            settings.get("names") or {},
            settings.get("band_gap_eV"),
        )
    except InputError as exc:
        doc.warnings.append(f"no formation-energy diagram: {exc}")
    return doc
