"""The study file: one model, :class:`Study`, for every file in ``configs/``.

A study is a mapping of **systems**, each an ordinary set of study sections
(:class:`~ionflow.config.study.StudyConfig`: structure, supercell, defects, relax, and the
result sections ``formation``, ``neb``, ``md``, ``window``). A file without ``systems:``
is a study of one system, keyed ``main``::

    name: li3ocl_schottky             # one system
    structure: {builtin: Li3OCl}
    defects: [{type: schottky, species: [Li, Cl]}]
    md: {temperatures_K: [800, 1000, 1200]}
    quick: {md: {production_steps: 400}}     # optional: merged over the file by --quick

A file with ``systems:`` (the design studies in ``configs/studies/``) builds each system
from ``common`` merged with its own entry::

    name: li3ocl
    design: li3ocl              # key of the published numbers (ionflow.report.published)
    engine: vasp                # production settings: DFT on a cluster
    engine_config: ../engines/vasp.yaml   # optional engine file, relative to this file
    common: {structure: {builtin: Li3OCl}, supercell: {matrix: [3, 3, 3]}}
    systems:
      li_i_s_cl: {defects: [...], md: {...}, neb: {...}}
      antispinel: {structure: {file: ...}, optional: true}   # skipped if the file is missing
    quick:                      # `--quick`: merged over the file (MLIP, small cells, short MD)
      engine: mlip
      common: {supercell: {matrix: [2, 2, 2]}}
      systems: {li_i_s_cl: {md: {production_steps: 400}}, antispinel: null}  # null drops

Merging is recursive for mappings; lists and scalars replace; a system ``structure``
with its own ``file`` or ``builtin`` replaces the common one. ``optional`` (skip the
system when an input file it reads is missing) and ``notes`` are keys of a system entry;
everything else is a study section. A ``quick`` block that changes ``engine`` without
giving its own ``engine_config`` drops the production one (it is for the other engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ionflow.config.base import ConfigModel, deep_merge, format_validation_error, read_yaml
from ionflow.config.study import StudyConfig
from ionflow.errors import ConfigError

__all__ = ["SECTIONS", "Study", "StudySystem", "deep_merge", "load_study"]

#: result sections of a system, in the order their flows are built
SECTIONS = ("defects", "neb", "md", "window")

#: top-level keys of a file with ``systems:``
_DESIGN_KEYS = {
    "name",
    "description",
    "design",
    "engine",
    "engine_config",
    "common",
    "systems",
    "quick",
}
#: keys of a system entry that are not StudyConfig keys
_SYSTEM_KEYS = {"optional", "notes"}


class StudySystem(ConfigModel):
    """One system of a study: its sections and what it stands for."""

    key: str = Field(..., description="System key in the file ('main' for a one-system file).")
    study: StudyConfig = Field(
        ..., description="The system's sections (name '<study>-<key>', or the study's name)."
    )
    notes: str = Field("", description="What the system stands for in the published study.")

    @property
    def sections(self) -> list[str]:
        """Result sections the system asks for (``defects`` = formation energies)."""
        config = self.study
        present = {
            "defects": config.formation is not None,
            "neb": config.neb is not None,
            "md": config.md is not None,
            "window": config.window is not None,
        }
        return [s for s in SECTIONS if present[s]]


class Study(ConfigModel):
    """A validated study: the systems that will run, and the ones that will not."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.+-]+$", description="Study name.")
    description: str = Field("", description="Free text.")
    design: str | None = Field(
        None, description="Key of the published numbers to compare with (None: no comparison)."
    )
    quick: bool = Field(False, description="The --quick settings were applied.")
    source_file: str | None = Field(None, description="The study YAML file.")
    systems: list[StudySystem] = Field(..., min_length=1, description="Systems to run.")
    skipped: dict[str, str] = Field(
        default_factory=dict, description="System key -> why it does not run."
    )

    @property
    def engine(self) -> str | None:
        """Engine of the first system (None: the settings' default)."""
        return self.systems[0].study.engine

    def system(self, key: str) -> StudySystem:
        """Return the system with this key (ConfigError naming the known keys)."""
        for system in self.systems:
            if system.key == key:
                return system
        known = ", ".join(s.key for s in self.systems)
        raise ConfigError(f"study {self.name!r} has no system {key!r} (systems: {known})")

    def sections(self) -> list[str]:
        """Return the result sections asked for by any system, in build order."""
        present = {s for system in self.systems for s in system.sections}
        return [s for s in SECTIONS if s in present]

    @classmethod
    def of_one_system(cls, config: StudyConfig, **fields: Any) -> Study:
        """Wrap one system's sections as a study (key ``main``, the system's name)."""
        system = StudySystem(key="main", study=config, notes=config.description)
        return cls(name=config.name, description=config.description, systems=[system], **fields)


def _resolve(path_value: Any, base: Path) -> Path:
    path = Path(path_value)
    return path if path.is_absolute() else (base / path).resolve()


def _input_paths(study: dict[str, Any], base: Path) -> list[Path]:
    """Files and folders a study section reads (structure, entries, competing phases)."""
    values = [(study.get("structure") or {}).get("file")]
    window = study.get("window") or {}
    values += [window.get("entries"), window.get("structures")]
    formation = study.get("formation") or {}
    values.append(formation.get("entries"))
    phases = formation.get("competing_phases")
    values += phases if isinstance(phases, list) else [phases]
    return [_resolve(v, base) for v in values if v]


def load_study(path: str | Path, quick: bool = False) -> Study:
    """Read any study file, apply ``quick`` if asked and validate every system.

    Parameters
    ----------
    path
        The study YAML (with or without ``systems:``).
    quick
        Merge the file's ``quick`` block (error if it has none).

    Returns
    -------
    Study
        The systems to run (optional systems whose structure file is missing, and systems
        set to null by ``quick``, are listed in ``skipped``).
    """
    path = Path(path)
    raw = read_yaml(path)
    if "systems" not in raw:
        return _load_one_system(path, raw, quick)
    unknown = sorted(set(raw) - _DESIGN_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} in a study with systems "
            f"(allowed: {', '.join(sorted(_DESIGN_KEYS))})"
        )
    if not isinstance(raw.get("systems"), dict) or not raw["systems"]:
        raise ConfigError(f"{path}: 'systems' must map system names to study sections")
    if quick:
        block = raw.get("quick")
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: --quick needs a 'quick:' block in the file")
        allowed = {"engine", "engine_config", "common", "systems", "description"}
        bad = sorted(set(block) - allowed)
        if bad:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(bad)} in 'quick'")
        drop = {"quick"}
        if "engine" in block and "engine_config" not in block:
            drop.add("engine_config")  # the production engine file is for the other engine
        raw = deep_merge({k: v for k, v in raw.items() if k not in drop}, block)
    base = path.resolve().parent
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: 'name' is required")
    common = raw.get("common") or {}
    if not isinstance(common, dict):
        raise ConfigError(f"{path}: 'common' must be a mapping of study sections")
    systems: list[StudySystem] = []
    skipped: dict[str, str] = {}
    for key, entry in raw["systems"].items():
        if entry is None:
            skipped[key] = "left out of --quick" if quick else "disabled (null)"
            continue
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: systems.{key} must be a mapping of study sections")
        own = {k: v for k, v in entry.items() if k not in _SYSTEM_KEYS}
        base_common = dict(common)
        if {"file", "builtin"} & set(own.get("structure") or {}):
            base_common.pop("structure", None)  # a new structure source replaces the common one
        merged = deep_merge(base_common, own)
        merged.setdefault("engine", raw.get("engine"))
        if raw.get("engine_config") is not None:
            merged.setdefault("engine_config", raw["engine_config"])
        merged["name"] = f"{name}-{key}"
        merged.setdefault("description", entry.get("notes", ""))
        absent = [p for p in _input_paths(merged, base) if not p.exists()]
        if entry.get("optional") and absent:
            skipped[key] = f"optional input {absent[0]} is not present"
            continue
        try:
            study = StudyConfig.model_validate({"source_dir": base, **merged})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"{path}: systems.{key}")) from None
        systems.append(StudySystem(key=key, study=study, notes=str(entry.get("notes", ""))))
    if not systems:
        raise ConfigError(f"{path}: no system left to run ({'; '.join(skipped.values())})")
    try:
        return Study(
            name=name,
            description=str(raw.get("description", "")),
            design=raw.get("design"),
            quick=quick,
            source_file=str(path.resolve()),
            systems=systems,
            skipped=skipped,
        )
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None


def _load_one_system(path: Path, raw: dict[str, Any], quick: bool) -> Study:
    """Load a file without ``systems:`` as one system ``main`` (``quick:`` merges over it)."""
    block = raw.pop("quick", None)
    if quick:
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: --quick needs a 'quick:' block in the file")
        raw = deep_merge(raw, block)
    elif block is not None and not isinstance(block, dict):
        raise ConfigError(f"{path}: 'quick' must be a mapping of study sections")
    try:
        config = StudyConfig.model_validate({"source_dir": path.resolve().parent, **raw})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    return Study.of_one_system(config, quick=quick, source_file=str(path.resolve()))
