"""Defect formation and binding energies with one engine.

``DefectFormationMaker.make(host, specs)`` generates every requested configuration (and,
for clusters, their isolated parts) when the flow is built, then::

    defects relax host cell            (cell + positions; optional)
      -> defects strain to relaxed lattice
      -> defects relax host supercell, defects relax <label> (one per configuration,
         plus isolated parts and farthest placements of clusters for binding energies)
    defects read locpot host supercell, defects read locpot <label>
                                       (vasp with charged cells: planar-averaged LOCPOT
                                        and/or OUTCAR site potentials, host VBM; with
                                        Freysoldt possible these cells run with
                                        LVHAR = True; "read site potentials" when the
                                        study asks for Kumagai)
    defects relax phase <label>        (competing phases, when computed with the engine)
      -> window entries
    -> defect formation energies <formula>  (runs even if some relaxations failed)

Charged cells are corrected as ``correction`` says (``formation.correction`` of a study)
when the engine writes potentials (vasp): ``auto`` (default) = Freysoldt where the LOCPOTs
were written, else Kumagai (eFNV) from the OUTCAR site potentials, the rule of ``ionflow
analyze defects``; ``freysoldt``; ``kumagai`` (no LVHAR; needs pydefect); ``none``. Other
engines get the point-charge (Makov-Payne) term (or none). ε (``dielectric_constant``) is
a user input and required for charged vasp cells. With vasp the VBM comes from the host
supercell run unless ``vbm_eV`` is set.

The output is a :class:`~ionflow.schemas.defects.DefectStudyDoc`.
``defects_flow_from_study`` builds it from a study file's ``defects``, ``supercell``,
``relax`` and ``formation`` sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker, OnMissing

import ionflow.engines as engines  # get_engine looked up at call time (the test seam)
from ionflow.analysis.defect_runs import check_correction
from ionflow.analysis.defect_thermo import plausible_charge_states
from ionflow.analysis.kumagai import pydefect_missing, require_pydefect
from ionflow.engines.registry import DEFAULT_ENGINE
from ionflow.errors import ConfigError, InputError
from ionflow.io.entries import read_entries
from ionflow.io.structures import read_structure_folder
from ionflow.makers.cost import set_cost
from ionflow.makers.defect_cells import strain_structures
from ionflow.makers.defect_charge import locpot_relax_maker, read_cell_potential_job
from ionflow.makers.defects import cluster_key, collect_defect_energies
from ionflow.makers.window import collect_entries
from ionflow.structures.defects import as_defect_spec, generate_defects, isolated_parts
from ionflow.structures.supercell import choose_supercell

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure
    from pymatgen.entries import Entry

    from ionflow.config.study import DefectSection, StudyConfig
    from ionflow.engines.base import EngineAdapter
    from ionflow.schemas.defects import DefectConfig

__all__ = ["DefectFormationMaker", "defects_flow_from_study", "isolated_parts"]


def _check_entries(entries: Sequence[Entry], host_formula: str, elements: set[str]) -> None:
    from pymatgen.core import Composition

    formulas = {e.composition.reduced_formula for e in entries}
    if Composition(host_formula).reduced_formula not in formulas:
        raise InputError(
            f"missing chemical potentials: the entries have no {host_formula} entry; add the "
            "host computed with the same settings"
        )
    elemental = {e.composition.elements[0].symbol for e in entries if e.composition.is_element}
    lacking = sorted(elements - elemental)
    if lacking:
        raise InputError(
            f"missing chemical potentials: no elemental {', '.join(lacking)} among the "
            "competing phases; add them"
        )


@dataclass
class DefectFormationMaker(Maker):
    """Formation (and binding) energies of a defect set with one engine.

    Parameters
    ----------
    name
        Flow name; ``" <host formula>"`` is appended.
    engine
        Engine adapter; None uses the MLIP engine (CHGNet).
    fmax_eV_A
        Force convergence of the relaxations (eV/Å).
    max_steps
        Maximum relaxation steps.
    relax_host_cell
        Relax the host cell first and strain every supercell to the relaxed lattice.
    condition
        Chemical-potential vertex (``"Li-rich"``, ``"Cl-poor"``, a vertex name).
    compatibility
        Energy corrections for the entries (``"auto"``, ``"MP2020"``, ``"none"``).
    dielectric_constant
        ε for charged-cell corrections and the screened Coulomb term (None: neither).
    fermi_level_eV, vbm_eV
        Fermi level above the VBM and the VBM (eV); only charged cells use them.
    binding
        Also compute, for each cluster, its isolated parts and its farthest-separated
        placement in the supercell, and the binding energies against both.
    charged_parts
        Isolated parts carry their effective charges (None: yes unless the engine is mlip).
    band_gap_eV
        Host band gap (eV) for the formation-energy diagram (None: 0 when every cell is
        neutral; transition levels are then listed wherever they fall).
    correction
        Charged-cell correction with an engine that writes potentials: ``auto``
        (Freysoldt where the LOCPOTs exist, else Kumagai from the site potentials),
        ``freysoldt``, ``kumagai`` or ``none``; other engines: point charge unless
        ``none``.
    engine_overrides
        Engine-specific relaxation settings passed through unchanged.
    """

    name: str = "defect formation"
    engine: EngineAdapter | None = None
    fmax_eV_A: float = 0.05
    max_steps: int = 300
    relax_host_cell: bool = True
    condition: str = "Li-rich"
    compatibility: str = "auto"
    dielectric_constant: float | None = None
    fermi_level_eV: float = 0.0
    vbm_eV: float | None = None
    binding: bool = True
    charged_parts: bool | None = None
    band_gap_eV: float | None = None
    correction: str = "auto"
    engine_overrides: dict[str, Any] = field(default_factory=dict)

    def make(
        self,
        host: Structure,
        specs: Sequence[DefectSection | dict[str, Any]],
        *,
        supercell_matrix: Any = None,
        min_image_distance_A: float | None = None,
        max_atoms: int = 200,
        entries: Sequence[Entry] | None = None,
        competing_phases: dict[str, Structure] | None = None,
    ) -> Flow:
        """Build the flow.

        Parameters
        ----------
        host
            Host cell.
        specs
            Defect specs (DefectSection or dicts).
        supercell_matrix, min_image_distance_A, max_atoms
            Supercell choice (see :func:`~ionflow.structures.supercell.choose_supercell`).
        entries
            Computed entries of the host, competing phases and elements.
        competing_phases
            ``{label: structure}`` computed with the engine instead (elements included;
            the host is added from its own relaxation).

        Returns
        -------
        Flow
            Output: the DefectStudyDoc.
        """
        if not specs:
            raise ConfigError("no defects given; add a 'defects:' list")
        if entries is None and not competing_phases:
            raise ConfigError(
                "missing chemical potentials: give formation.entries (a JSON/CSV file) or "
                "formation.competing_phases (a folder of structures to compute)"
            )
        engine = self.engine or engines.get_engine(DEFAULT_ENGINE)
        formula = host.composition.reduced_formula
        choice = choose_supercell(host, min_image_distance_A, max_atoms, supercell_matrix)
        configs: list[DefectConfig] = []
        far_configs: list[DefectConfig] = []
        names: dict[str, str] = {}
        for spec in _charge_state_specs(choice, specs, engine):
            found = generate_defects(choice, spec)
            if len(found[0].defect_sites) == 1:
                # the name the charge states of one site share: its label without a charge
                neutral = spec.model_copy(update={"charge": None})
                for config, base in zip(found, generate_defects(choice, neutral), strict=True):
                    names[config.label] = base.label
            configs.extend(found)
            if self.binding and len(found[0].defect_sites) > 1:
                far_spec = spec.model_copy(update={"separation": "farthest", "max_configs": None})
                far_configs.extend(generate_defects(choice, far_spec))
        labels = [c.label for c in configs]
        if len(set(labels)) != len(labels):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            raise ConfigError(f"two defect specs give the same configuration(s) {dup}")
        roles = ["requested"] * len(configs)
        part_labels: dict[str, list[str]] = {}
        farthest: dict[str, str] = {}
        clusters = [c for c in configs if len(c.defect_sites) > 1]
        if self.binding and clusters:
            charged_parts = self.charged_parts
            if charged_parts is None:
                charged_parts = "charged_cells" in engine.capabilities
            elif charged_parts and "charged_cells" not in engine.capabilities:
                raise ConfigError(
                    f"charged_parts: true needs an engine that runs charged cells; "
                    f"{engine.name} does not (its cells are neutral: drop charged_parts)"
                )
            parts, part_labels = isolated_parts(choice, clusters, charged_parts, configs)
            have = {c.label for c in configs + parts}
            references = [c for c in far_configs if c.label not in have]
            configs += parts + references
            roles += ["part"] * len(parts) + ["reference"] * len(references)
        farthest = {cluster_key(c): c.label for c in far_configs}
        charged = any(c.charge for c in configs)
        potentials = _potentials_read(engine, self.correction) if charged else None
        freysoldt = potentials in ("auto", "freysoldt")  # the charged cells write LOCPOTs
        if charged and self.vbm_eV is None and not potentials:
            raise ConfigError(
                "charged defect cells need the host VBM: set formation.vbm_eV (or use "
                "neutral cells / charged_parts: false)"
            )
        if potentials and not self.dielectric_constant:
            method = {"freysoldt": "Freysoldt", "kumagai": "Kumagai"}.get(
                potentials, "Freysoldt or Kumagai"
            )
            raise ConfigError(
                "charged defect cells need the static dielectric constant for the "
                f"{method} correction: set formation.dielectric_constant"
            )
        host_els = {el.symbol for el in host.composition.elements}
        extrinsic = sorted({el for c in configs for el in c.delta_n} - host_els)
        if entries is not None:
            _check_entries(entries, formula, host_els | set(extrinsic))
        else:
            elemental = {
                s.composition.elements[0].symbol
                for s in competing_phases.values()
                if s.composition.is_element
            }
            lacking = sorted((host_els | set(extrinsic)) - elemental)
            if lacking:
                raise InputError(
                    f"missing chemical potentials: no elemental {', '.join(lacking)} structure "
                    "among the competing phases; add them"
                )

        relax = engine.relax_maker(
            fmax_eV_A=self.fmax_eV_A,
            max_steps=self.max_steps,
            relax_cell=False,
            overrides=dict(self.engine_overrides),
        )
        cell_relax = engine.relax_maker(
            fmax_eV_A=self.fmax_eV_A,
            max_steps=self.max_steps,
            relax_cell=True,
            overrides=dict(self.engine_overrides),
        )
        # the host and charged cells write LOCPOT for the Freysoldt correction (engines
        # with the "locpot" capability only: no other engine gets LVHAR/NELECT keys);
        # for Kumagai or no correction they run charged without it (site potentials
        # need no key)
        locpot_relax = None
        if charged and "locpot" in engine.capabilities:
            locpot_relax = locpot_relax_maker(
                engine,
                fmax_eV_A=self.fmax_eV_A,
                max_steps=self.max_steps,
                overrides=dict(self.engine_overrides),
                potential=freysoldt,
            )
        jobs = []
        structures: list[Any] = [choice.structure] + [c.structure for c in configs]
        n_atoms = [len(s) for s in structures]  # the cells may become references below
        host_cell_job = None
        if self.relax_host_cell:
            host_cell_job = cell_relax.make(host)
            host_cell_job.name = f"defects relax host cell {formula}"
            set_cost(host_cell_job, len(host), self.max_steps)
            strain = strain_structures(structures, host_cell_job.output.structure, choice.matrix)
            jobs += [host_cell_job, strain]
            structures = [strain.output[i] for i in range(len(structures))]
        host_job = (locpot_relax if potentials else relax).make(structures[0])
        host_job.name = f"defects relax host supercell {formula}"
        set_cost(host_job, n_atoms[0], self.max_steps)
        jobs.append(host_job)
        relax_jobs, reads, host_potential = [], [], None
        read = "read locpot" if freysoldt else "read site potentials"
        if potentials:
            host_potential = read_cell_potential_job(
                host_job.output.dir_name, with_vbm=True, correction=potentials, host=True
            )
            host_potential.name = f"defects {read} host supercell {formula}"
        for config, structure, atoms in zip(configs, structures[1:], n_atoms[1:], strict=True):
            relax_job = (locpot_relax if locpot_relax and config.charge else relax).make(structure)
            relax_job.name = f"defects relax {config.label}"
            set_cost(relax_job, atoms, self.max_steps)
            relax_jobs.append(relax_job)
            reads.append(None)
            if potentials and config.charge:
                reads[-1] = read_cell_potential_job(
                    relax_job.output.dir_name, correction=potentials
                )
                reads[-1].name = f"defects {read} {config.label}"
        jobs += relax_jobs + [j for j in [host_potential, *reads] if j is not None]

        entries_ref: Any = list(entries) if entries is not None else None
        source = "entries file"
        if competing_phases:
            phase_jobs, phase_labels = [], []
            for label, structure in competing_phases.items():
                if structure.composition.reduced_formula == formula and host_cell_job:
                    continue
                phase_job = cell_relax.make(structure)
                phase_job.name = f"defects relax phase {label}"
                set_cost(phase_job, len(structure), self.max_steps)
                phase_jobs.append(phase_job)
                phase_labels.append(label)
            if host_cell_job is not None:
                phase_jobs.append(host_cell_job)
                phase_labels.append(formula)
            entries_job = collect_entries(
                [j.output.structure for j in phase_jobs],
                [j.output.entry for j in phase_jobs],
                phase_labels,
                engine.describe(),
            )
            entries_job.name = f"defects competing-phase entries {formula}"
            jobs += [j for j in phase_jobs if j is not host_cell_job] + [entries_job]
            entries_ref = entries_job.output
            source = f"computed: {engine.describe()}"

        collector = collect_defect_energies(
            host_job.output.output.energy,
            host_job.output.output.structure,
            [c.model_dump() for c in configs],
            [j.output.output.energy for j in relax_jobs],
            [j.output.output.structure for j in relax_jobs],
            entries_ref,
            {
                "host_formula": formula,
                "condition": self.condition,
                "extrinsic": extrinsic,
                "compatibility": self.compatibility,
                "roles": roles,
                "part_labels": part_labels,
                "farthest": farthest,
                "fermi_level_eV": self.fermi_level_eV,
                "vbm_eV": self.vbm_eV,
                "dielectric_constant": self.dielectric_constant,
                "engine": engine.describe(),
                "source": source,
                "freysoldt": freysoldt,
                "correction": potentials
                or ("none" if self.correction == "none" else "point_charge"),
                "names": names,
                "band_gap_eV": self.band_gap_eV,
                "charged_cells": "charged_cells" in engine.capabilities,
            },
            potentials=[j.output if j is not None else None for j in reads],
            host_potential=host_potential.output if host_potential is not None else None,
            potential_dirs=[
                r.output.dir_name if p is not None else None
                for r, p in zip(relax_jobs, reads, strict=True)
            ],
            host_dir=host_job.output.dir_name if potentials else None,
        )
        collector.name = f"defect formation energies {formula}"
        collector.config.on_missing_references = OnMissing.NONE
        jobs.append(collector)
        return Flow(jobs, output=collector.output, name=f"{self.name} {formula}")


def _potentials_read(engine: EngineAdapter, requested: str) -> str | None:
    """Which potentials the charged cells' runs are read for: a correction, or None.

    ``auto``, ``freysoldt`` or ``kumagai`` with an engine that writes the potentials it
    needs (capabilities ``locpot``: LOCPOT, ``site_potentials``: per-atom potentials);
    None: the point-charge term (other engines) or no correction (``none``). A choice
    the engine cannot serve, or ``kumagai`` without pydefect, is refused here (exit 2).
    """
    check_correction(requested)
    caps = engine.capabilities
    if requested == "none":
        return None
    needs = {"freysoldt": "locpot", "kumagai": "site_potentials"}
    if requested in needs and needs[requested] not in caps:
        raise ConfigError(
            f"formation.correction: {requested} needs an engine that writes "
            f"{'the LOCPOT' if requested == 'freysoldt' else 'site potentials'}; "
            f"{engine.name} does not (use auto)"
        )
    if requested == "kumagai":
        require_pydefect()
        return requested
    if requested == "auto":
        locpot, sites = "locpot" in caps, "site_potentials" in caps
        if locpot:
            return "auto" if sites else "freysoldt"
        return "kumagai" if sites and not pydefect_missing() else None
    return requested


def _charge_state_specs(
    choice: Any, specs: Sequence[DefectSection | dict[str, Any]], engine: EngineAdapter
) -> list[DefectSection]:
    """One spec per charge state of every spec with ``charges`` (the others unchanged)."""
    out = []
    for spec in specs:
        spec = as_defect_spec(spec)
        if spec.charges is None:
            out.append(spec)
            continue
        if "charged_cells" not in engine.capabilities:
            raise ConfigError(
                f"defect {spec.type} {spec.species or spec.defects}: 'charges' needs an "
                f"engine that runs charged cells; {engine.name} does not (its cells are "
                "neutral: drop 'charges')"
            )
        neutral = generate_defects(choice, spec.model_copy(update={"charges": None}))
        if len(neutral[0].defect_sites) != 1:
            raise ConfigError(
                f"defect {spec.type} {spec.species or spec.defects}: 'charges' applies to "
                "single defects; a cluster's charge is the sum of its defects' charges"
            )
        charges = spec.charges
        if charges == "auto":
            charges = plausible_charge_states(neutral[0].defect_sites[0].effective_charge)
        out += [spec.model_copy(update={"charges": None, "charge": q}) for q in charges]
    return out


def defects_flow_from_study(config: StudyConfig, engine: EngineAdapter, host: Structure) -> Flow:
    """Build the formation-energy flow of a study file.

    Parameters
    ----------
    config
        Study with ``defects`` and ``formation`` sections.
    engine
        The system's engine adapter (the study's ``engine_config`` file applied).
    host
        The host structure of the system (read once by the study builder).

    Returns
    -------
    Flow
        See :class:`DefectFormationMaker`.
    """
    form = config.formation
    if form is None:
        raise ConfigError(
            f"study {config.name!r} has no 'formation' section; add one with 'entries' or "
            "'competing_phases' (see configs/studies/)"
        )

    def resolve(path: Any) -> Any:
        return path if path is None or path.is_absolute() else config.source_dir / path

    entries = read_entries(resolve(form.entries)) if form.entries else None
    phases: dict[str, Any] = {}
    for folder in form.competing_phases:
        for label, structure in read_structure_folder(resolve(folder)).items():
            if label in phases:
                raise ConfigError(f"competing phase {label!r} appears in two folders")
            phases[label] = structure
    maker = DefectFormationMaker(
        engine=engine,
        fmax_eV_A=config.relax.fmax_eV_A,
        max_steps=config.relax.max_steps,
        relax_host_cell=form.relax_host_cell,
        condition=form.condition,
        compatibility=form.compatibility,
        dielectric_constant=form.dielectric_constant,
        fermi_level_eV=form.fermi_level_eV,
        vbm_eV=form.vbm_eV,
        binding=form.binding,
        charged_parts=form.charged_parts,
        band_gap_eV=form.band_gap_eV,
        correction=form.correction,
        engine_overrides=dict(config.engine_overrides),
    )
    sc = config.supercell
    return maker.make(
        host,
        config.defects,
        supercell_matrix=sc.matrix,
        min_image_distance_A=sc.min_image_distance_A,
        max_atoms=sc.max_atoms,
        entries=entries,
        competing_phases=phases or None,
    )
