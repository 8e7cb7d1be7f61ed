"""The study file: one YAML document describing a whole ionflow study.

Example (``configs/studies/demo_li3ocl.yaml``)::

    name: li3ocl_schottky_demo
    structure: {builtin: Li3OCl}
    engine: mlip
    supercell: {matrix: [2, 2, 2]}
    defects:
      - {type: schottky, species: [Li, Cl], separation: nearest}
    md: {temperatures_K: [1000, 1200, 1400], time_step_fs: 2, production_steps: 500}
    analysis: {specie: Li}

Relative paths are resolved against the study file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ionflow.config.base import ConfigModel, deep_merge, load_yaml_model
from ionflow.config.bounds import (
    MAX_MD_STEPS,
    MAX_NEB_IMAGES,
    MAX_SEGMENTS,
    MAX_TEMPERATURE_K,
    MAX_TEMPERATURES,
)
from ionflow.config.engine import load_engine_config
from ionflow.engines.registry import engine_names
from ionflow.errors import ConfigError
from ionflow.schemas.defect_spec import DefectSection
from ionflow.schemas.md import ConvergenceSettings

# DefectSection is defined in ionflow.schemas.defect_spec (structures need it, and
# structures sit below config) and stays importable from here.
__all__ = [
    "AnalysisSection",
    "DefectSection",
    "FormationSection",
    "MdSection",
    "NebSection",
    "RelaxSection",
    "StructureSection",
    "StudyConfig",
    "SupercellSection",
    "WindowSection",
    "load_system",
]


class StructureSection(ConfigModel):
    """Where the host structure comes from: a file or a built-in prototype."""

    file: Path | None = Field(
        None, description="Structure file (CIF, POSCAR, ...) pymatgen can read."
    )
    builtin: str | None = Field(
        None, description="Built-in prototype name (see ionflow.structures.prototypes)."
    )
    lattice_parameter_A: float | None = Field(
        None, gt=0, description="Override the prototype's lattice parameter (Å)."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Builder parameters of the built-in prototype (LLTO: x_li, y_la, repeat).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> StructureSection:
        if (self.file is None) == (self.builtin is None):
            raise ValueError("give exactly one of 'file' or 'builtin'")
        if self.parameters and self.builtin is None:
            raise ValueError("'parameters' only applies to a 'builtin' structure")
        return self


class SupercellSection(ConfigModel):
    """Supercell choice: an explicit matrix or a minimum image distance and an atom budget."""

    matrix: list[int] | list[list[int]] | None = Field(
        None, description="Diagonal [a, b, c] or full 3x3 integer supercell matrix."
    )
    min_image_distance_A: float | None = Field(
        None, gt=0, description="Smallest allowed distance between periodic images (Å)."
    )
    max_atoms: int = Field(200, gt=0, description="Atom budget for the automatic choice.")


class FormationSection(ConfigModel):
    """Defect formation and binding energies (``ionflow defects energies``)."""

    entries: Path | None = Field(
        None, description="Entries JSON/CSV of the host, competing phases and elements."
    )
    competing_phases: list[Path] = Field(
        default_factory=list,
        description="Folder(s) of competing-phase structures computed with the engine.",
    )
    condition: str = Field(
        "Li-rich", description="Chemical-potential vertex: '<El>-rich', '<El>-poor' or a name."
    )
    compatibility: Literal["auto", "MP2020", "none"] = Field(
        "auto", description="Energy corrections applied to the entries."
    )
    dielectric_constant: float | None = Field(
        None,
        gt=0,
        description="Static dielectric constant ε (user input): screened Coulomb term and "
        "charged-cell correction (see correction; point charge with engines that write no "
        "potentials; required for charged cells of engines that do).",
    )
    correction: Literal["auto", "freysoldt", "kumagai", "none"] = Field(
        "auto",
        description="Charged-cell correction with an engine that writes potentials: 'auto' "
        "(Freysoldt where the LOCPOTs exist, else Kumagai/eFNV from the OUTCAR site "
        "potentials, as 'ionflow analyze defects'), 'freysoldt', 'kumagai' (no LVHAR; needs "
        "pydefect) or 'none'. Other engines: the point-charge term unless 'none'.",
    )
    fermi_level_eV: float = Field(0.0, description="E_F above the VBM for charged defects (eV).")
    band_gap_eV: float | None = Field(
        None,
        ge=0,
        description="Host band gap (eV): the range of the formation-energy diagram and "
        "transition levels (None: levels are listed wherever they fall).",
    )
    vbm_eV: float | None = Field(
        None,
        description="Host VBM (eV) for charged defects; with vasp it is read from the host "
        "supercell run unless set here (then this value wins).",
    )
    binding: bool = Field(True, description="Compute isolated parts and cluster binding energies.")
    charged_parts: bool | None = Field(
        None,
        description="Isolated parts of a cluster carry their effective charges (None: yes "
        "unless the engine is mlip; false: neutral parts, as the seed's Li3OCl table).",
    )
    relax_host_cell: bool = Field(
        True, description="Relax the host cell first and strain all supercells to it."
    )

    @field_validator("competing_phases", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | Path) else value


class RelaxSection(ConfigModel):
    """Relaxation of the (defect) supercell before MD or NEB."""

    enabled: bool = Field(True, description="Relax positions before anything else.")
    fmax_eV_A: float = Field(0.05, gt=0, description="Force convergence (eV/Å).")
    max_steps: int = Field(300, gt=0, description="Maximum optimizer steps.")
    relax_cell: bool = Field(False, description="Also relax the cell (off for defect cells).")


class MdSection(ConfigModel):
    """NVT molecular dynamics, one run per temperature."""

    temperatures_K: list[float] = Field(
        ..., min_length=1, max_length=MAX_TEMPERATURES, description="MD temperatures (K)."
    )
    time_step_fs: float = Field(2.0, gt=0, le=10, description="Integration time step (fs).")
    equilibration_steps: int = Field(
        100, ge=0, le=MAX_MD_STEPS, description="Steps run first and excluded from analysis."
    )
    production_steps: int = Field(
        1000, gt=0, le=MAX_MD_STEPS, description="Steps analysed per temperature."
    )
    sampling_interval: int = Field(1, gt=0, description="Store every n-th step as a frame.")
    thermostat: Literal["nose-hoover", "langevin", "berendsen"] = Field(
        "nose-hoover", description="NVT thermostat."
    )
    seed: int = Field(42, description="Random seed for initial velocities.")
    segments: int = Field(
        1, ge=1, le=MAX_SEGMENTS, description="Split production into this many chained segments."
    )
    segment_steps: int | None = Field(
        None,
        gt=0,
        le=MAX_MD_STEPS,
        description="MD steps per chained segment (fit it to the queue walltime); overrides "
        "'segments'.",
    )
    heating_steps: int = Field(
        0,
        ge=0,
        le=MAX_MD_STEPS,
        description="Leading equilibration steps that ramp up from heating_start_K.",
    )
    heating_start_K: float = Field(
        300.0, gt=0, le=MAX_TEMPERATURE_K, description="Start of the heating ramp (K)."
    )
    checkpoint_every: int = Field(
        50, gt=0, description="Stored frames between checkpoints of a running segment."
    )
    converge: ConvergenceSettings | None = Field(
        None,
        description="Run until converged: {target_rel_err, max_time_ps, extend_segments, "
        "not_diffusing_checks}; production_steps is then the initial production.",
    )

    @model_validator(mode="after")
    def _check_segment_count(self) -> MdSection:
        if self.segment_steps is not None:
            n = -(-self.production_steps // self.segment_steps)
            if n > MAX_SEGMENTS:
                raise ValueError(
                    f"production_steps {self.production_steps} / segment_steps "
                    f"{self.segment_steps} makes {n} chained segments per temperature "
                    f"(at most {MAX_SEGMENTS}); raise segment_steps"
                )
        return self

    @field_validator("temperatures_K")
    @classmethod
    def _check_temperatures(cls, temps: list[float]) -> list[float]:
        for t in temps:
            if not 0 < t <= MAX_TEMPERATURE_K:
                raise ValueError(f"temperature {t:g} K is outside 0 < T <= {MAX_TEMPERATURE_K:g} K")
        if len(set(temps)) != len(temps):
            raise ValueError(f"duplicate temperatures in {temps}")
        return sorted(temps)


class AnalysisSection(ConfigModel):
    """Transport analysis options."""

    specie: str = Field("Li", description="Mobile species analysed.")
    target_temperature_K: float = Field(
        300.0, gt=0, le=MAX_TEMPERATURE_K, description="Extrapolation temperature (K)."
    )
    min_time_ps: float | None = Field(
        None, ge=0, description="Start of the MSD fit window (ps); None picks it automatically."
    )
    drift: Literal["framework", "all", "none"] = Field(
        "framework", description="Which atoms define the drift removed from displacements."
    )


class NebSection(ConfigModel):
    """Nudged-elastic-band settings (see ionflow.flows.neb).

    Without ``endpoints``: every symmetry-distinct hop of the mobile-species vacancies and
    interstitials of the defect cell (vacancy hops of the perfect cell if it has none).
    With ``endpoints: [initial.vasp, final.vasp]``: one band between the two files.
    """

    n_images: int = Field(5, ge=1, le=MAX_NEB_IMAGES, description="Intermediate images.")
    climb: bool = Field(True, description="Climbing image.")
    fmax_eV_A: float = Field(0.05, gt=0, description="Force convergence (eV/Å).")
    spring_constant_eV_A2: float = Field(5.0, gt=0, description="Spring constant (eV/Å²).")
    max_steps: int = Field(300, gt=0, description="Band optimiser steps.")
    interpolation: Literal["idpp", "linear"] = Field(
        "idpp", description="Starting band: IDPP (linear fallback) or linear."
    )
    min_distance_A: float = Field(
        0.7, gt=0, description="Smallest interatomic distance allowed in any image (Å)."
    )
    relax_endpoints: bool = Field(True, description="Relax both endpoints before the band.")
    relax_fmax_eV_A: float = Field(0.02, gt=0, description="Endpoint force convergence (eV/Å).")
    species: str | None = Field(None, description="Mobile element (default: analysis.specie).")
    cutoff_A: float = Field(3.5, gt=0, description="Longest single-atom jump (Å).")
    hop_kinds: list[Literal["vacancy", "interstitial", "interstitialcy"]] = Field(
        default_factory=lambda: ["vacancy", "interstitial", "interstitialcy"],
        min_length=1,
        description="Hop kinds to enumerate.",
    )
    max_hops: int | None = Field(None, ge=1, description="Keep only the shortest hops.")
    endpoints: list[Path] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Explicit [initial, final] endpoint files (relative to the study file).",
    )
    engine_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Engine-specific band settings (INCAR keys, ...)."
    )
    mlip_prescreen: bool = Field(
        False,
        description="DFT engines: run a CHGNet band first and start the DFT band from it.",
    )


class WindowSection(ConfigModel):
    """Electrochemical stability window from the Li grand potential (see ionflow.flows.window).

    Give ``entries`` (a JSON/CSV of computed entries) or ``structures`` (a folder of
    competing-phase structures, Li metal included, computed with the study's engine).
    """

    entries: Path | None = Field(None, description="Entries JSON/CSV of the competing phases.")
    structures: Path | None = Field(
        None,
        description="Folder of competing-phase structure files (CIF/POSCAR/JSON) to compute "
        "with the study's engine; relative to the study file.",
    )
    formula: str | None = Field(None, description="Formula to analyse (default: host).")
    mobile: str = Field("Li", description="Open element.")
    compatibility: Literal["auto", "MP2020", "none"] = Field(
        "auto",
        description="Energy corrections: MP2020 for VASP GGA/GGA+U entries (auto), or none.",
    )
    max_e_above_hull_eV_atom: float = Field(
        0.05, ge=0, description="Hull distance (eV/atom) above which the window is flagged."
    )

    @model_validator(mode="after")
    def _one_entries_source(self) -> WindowSection:
        if (self.entries is None) == (self.structures is None):
            raise ValueError("give exactly one of 'entries' or 'structures'")
        return self


class StudyConfig(ConfigModel):
    """A whole study as described by one YAML file."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.+-]+$", description="Study name.")
    description: str = Field("", description="Free text.")
    source_dir: Path = Field(Path("."), description="Folder relative paths resolve against.")
    structure: StructureSection
    engine: str | None = Field(
        None, description="Engine (a name in ionflow.engines.registry); None: the settings'."
    )
    engine_config: Path | None = Field(
        None,
        description="Engine file (configs/engines/*.yaml), relative to the study file: adapter "
        "keyword arguments (commands, walltime, basis, ...) and input-set overrides. Its "
        "engine must match 'engine' (which it sets when the study names none).",
    )
    engine_overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Engine-specific input-set overrides passed through (INCAR keys, CP2K "
        "settings, ASE kwargs). Applied on top of the engine file's 'overrides' (mappings "
        "merge key by key); after loading this holds the merged result.",
    )
    supercell: SupercellSection = Field(default_factory=SupercellSection)
    defects: list[DefectSection] = Field(default_factory=list)
    formation: FormationSection | None = None
    relax: RelaxSection = Field(default_factory=RelaxSection)
    md: MdSection | None = None
    analysis: AnalysisSection = Field(default_factory=AnalysisSection)
    neb: NebSection | None = None
    window: WindowSection | None = None

    @field_validator("engine")
    @classmethod
    def _check_engine(cls, value: str | None) -> str | None:
        if value is not None and value not in engine_names():
            raise ValueError(f"unknown engine {value!r}; choose one of {', '.join(engine_names())}")
        return value

    @field_validator("engine_config")
    @classmethod
    def _check_engine_config(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base = info.data.get("source_dir", Path("."))
        path = (value if value.is_absolute() else base / value).resolve()
        if not path.is_file():
            raise ValueError(f"engine file {path} does not exist")
        try:
            engine_file = load_engine_config(path)
        except ConfigError as exc:
            raise ValueError(f"engine file is not valid: {exc}") from None
        engine = info.data.get("engine")
        if engine is not None and engine != engine_file.engine:
            raise ValueError(
                f"engine file {path} is for engine {engine_file.engine!r} but the study's "
                f"engine is {engine!r}; use configs/engines/{engine}.yaml or change 'engine'"
            )
        return path

    @model_validator(mode="after")
    def _resolve_paths(self) -> StudyConfig:
        base = self.source_dir
        if self.structure.file is not None and not self.structure.file.is_absolute():
            self.structure.file = (base / self.structure.file).resolve()
        window = self.window
        if window is not None and window.entries is not None and not window.entries.is_absolute():
            window.entries = (base / window.entries).resolve()
        return self

    @model_validator(mode="after")
    def _apply_engine_file(self) -> StudyConfig:
        # validate_assignment re-runs this validator on each assignment: assign only on change
        if self.engine_config is None:
            return self
        engine_file = load_engine_config(self.engine_config)
        if self.engine is None:
            self.engine = engine_file.engine
        merged = deep_merge(engine_file.overrides, self.engine_overrides)
        if merged != self.engine_overrides:
            self.engine_overrides = merged
        return self


def load_system(path: str | Path) -> StudyConfig:
    """Read and validate a study YAML file.

    Parameters
    ----------
    path
        The study file.

    Returns
    -------
    StudyConfig
        The validated study; relative paths resolved against the file's folder.
    """
    path = Path(path)
    return load_yaml_model(path, StudyConfig, source_dir=path.resolve().parent)
