"""Design-study files: several systems of one study, production and ``--quick`` settings.

A design study (``configs/studies/*.yaml``) bundles the systems of one published study
(e.g. the Li_i+S_Cl, Li_i+O_Cl and Schottky cells of Li3OCl), each an ordinary study
(:class:`~ionflow.config.study.StudyConfig`) built from ``common`` merged with its own
entry under ``systems``::

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
system when an input file it reads is missing) and ``notes`` are design-level keys of a
system; everything else is a study section. A ``quick`` block that changes ``engine``
without giving its own ``engine_config`` drops the production one (it is for the other
engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from ionflow.config.base import ConfigModel, deep_merge, format_validation_error, read_yaml
from ionflow.config.study import StudyConfig
from ionflow.errors import ConfigError

__all__ = ["DesignStudy", "DesignSystem", "deep_merge", "is_design_file", "load_design"]

#: top-level keys of a design file
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


class DesignSystem(ConfigModel):
    """One system of a design study: its study config and design-level flags."""

    key: str = Field(..., description="System key in the design file (e.g. 'li_i_s_cl').")
    study: StudyConfig = Field(..., description="The system's study (name '<design>-<key>').")
    notes: str = Field("", description="What the system stands for in the published study.")


class DesignStudy(ConfigModel):
    """A validated design study with the systems that will run."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.+-]+$", description="Design study name.")
    description: str = Field("", description="Free text.")
    design: str | None = Field(
        None, description="Key of the published numbers to compare with (None: no comparison)."
    )
    quick: bool = Field(False, description="The --quick settings were applied.")
    source_file: str | None = Field(None, description="The design YAML file.")
    systems: list[DesignSystem] = Field(..., min_length=1, description="Systems to run.")
    skipped: dict[str, str] = Field(
        default_factory=dict, description="System key -> why it does not run."
    )


def is_design_file(path: str | Path) -> bool:
    """Return True if the YAML file is a design study (has a ``systems`` mapping)."""
    data = read_yaml(path)
    return isinstance(data.get("systems"), dict)


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


def load_design(path: str | Path, quick: bool = False) -> DesignStudy:
    """Read a design file, apply ``quick`` if asked and validate every system.

    Parameters
    ----------
    path
        The design YAML.
    quick
        Merge the file's ``quick`` block (error if it has none).

    Returns
    -------
    DesignStudy
        The systems to run (optional systems whose structure file is missing, and systems
        set to null by ``quick``, are listed in ``skipped``).
    """
    path = Path(path)
    raw = read_yaml(path)
    unknown = sorted(set(raw) - _DESIGN_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} in a design study "
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
    systems: list[DesignSystem] = []
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
        systems.append(DesignSystem(key=key, study=study, notes=str(entry.get("notes", ""))))
    if not systems:
        raise ConfigError(f"{path}: no system left to run ({'; '.join(skipped.values())})")
    try:
        return DesignStudy(
            name=name,
            description=str(raw.get("description", "")),
            design=raw.get("design"),
            quick=quick,
            source_file=str(path),
            systems=systems,
            skipped=skipped,
        )
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
