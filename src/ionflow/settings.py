"""Global ionflow settings.

One :class:`IonflowSettings` object holds where work goes (run directories, reports,
logs), which result store to open and how each engine is launched. Values come, in
increasing priority, from the defaults below, an optional YAML file
(``IONFLOW_CONFIG_FILE`` or ``~/.ionflow.yaml``) and ``IONFLOW_*`` environment
variables; nested values use ``__`` (``IONFLOW_VASP__CMD="srun vasp_std"``).

Settings are read lazily through :func:`get_settings`, never bound at import time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ionflow.errors import ConfigError
from ionflow.safe_yaml import load_yaml_file

__all__ = [
    "CP2K_DEFAULT_BASIS_DIR",
    "END_EPOCH_ENV",
    "WALLTIME_ENV",
    "Cp2kSettings",
    "IonflowSettings",
    "MlipSettings",
    "VaspSettings",
    "engine_sections",
    "get_settings",
    "job_walltime",
    "reset_settings",
]

DEFAULT_CONFIG_FILE = Path("~/.ionflow.yaml").expanduser()
#: environment of a queue job (exported by ionflow's queue script): walltime (s) and the
#: Unix time at which the queue will stop the job
WALLTIME_ENV = "IONFLOW_JOB_WALLTIME_S"
END_EPOCH_ENV = "IONFLOW_JOB_END_EPOCH"
#: CP2K's own basis/potential folder when neither the settings nor CP2K_DATA_DIR name one
CP2K_DEFAULT_BASIS_DIR = Path("/usr/share/cp2k")


def _env_number(environ: Any, *keys: str) -> float | None:
    for key in keys:
        value = str(environ.get(key) or "").strip()
        try:
            number = float(value)
        except ValueError:
            continue
        if number > 0:
            return number
    return None


def job_walltime(
    environ: Any = None, now: float | None = None
) -> tuple[float | None, float | None]:
    """Return (walltime s, remaining s) of the queue job this process runs in.

    Read from ``IONFLOW_JOB_WALLTIME_S``/``IONFLOW_JOB_END_EPOCH`` (ionflow's queue
    script), Slurm's ``SLURM_JOB_END_TIME`` (Slurm >= 23.02) or PBS's ``PBS_WALLTIME``
    (total only). (None, None) outside a queue job.
    """
    env = os.environ if environ is None else environ
    total = _env_number(env, WALLTIME_ENV, "PBS_WALLTIME")
    end = _env_number(env, END_EPOCH_ENV, "SLURM_JOB_END_TIME")
    remaining = None if end is None else end - (time.time() if now is None else now)
    return total, remaining


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _EngineSection(_Section):
    """Settings of one engine; the field holding it is named after the engine."""


class MlipSettings(_EngineSection):
    """Machine-learned potential engine (the embedded default)."""

    model: str = Field("CHGNet", description="Force-field name as atomate2 spells it.")
    device: str = Field("cpu", description="torch device for the potential.")
    n_threads: int | None = Field(
        None, ge=1, description="torch intra-op threads; None leaves torch's default."
    )


class VaspSettings(_EngineSection):
    """VASP engine, run through atomate2 and custodian."""

    cmd: str = Field("vasp_std", description="Command that runs VASP (may include mpirun/srun).")
    gamma_cmd: str = Field("vasp_gam", description="Command for Gamma-only VASP.")
    ncl_cmd: str = Field("vasp_ncl", description="Command for non-collinear VASP.")
    handle_unsuccessful: Literal["error", "fizzle", "continue"] = Field(
        "error", description="What to do with a finished but unconverged run."
    )
    wall_time_s: int | None = Field(
        None, ge=60, description="Queue walltime in s; enables custodian's WalltimeHandler."
    )


class Cp2kSettings(_EngineSection):
    """CP2K engine, run through atomate2 and custodian."""

    cmd: str = Field("cp2k.psmp", description="Command that runs CP2K (may include mpirun).")
    data_dir: Path | None = Field(
        None, description="pymatgen CP2K YAML data dir (PMG_CP2K_DATA_DIR)."
    )
    basis_dir: Path | None = Field(
        None,
        description="CP2K's own basis/potential folder (BASIS_MOLOPT, GTH_POTENTIALS); "
        "default $CP2K_DATA_DIR, else /usr/share/cp2k.",
    )

    def resolved_basis_dir(self) -> Path:
        """Return CP2K's basis/potential folder: this setting, $CP2K_DATA_DIR, the default."""
        if self.basis_dir is not None:
            return Path(self.basis_dir).expanduser()
        env = os.environ.get("CP2K_DATA_DIR")
        return Path(env).expanduser() if env else CP2K_DEFAULT_BASIS_DIR

    functional: str = Field(
        "PBE", description="Default XC functional (PMG_DEFAULT_CP2K_FUNCTIONAL)."
    )


class IonflowSettings(BaseSettings):
    """All ionflow settings; see the module docstring for where they come from."""

    model_config = SettingsConfigDict(
        env_prefix="IONFLOW_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    config_file: Path | None = Field(
        None, description="YAML file these settings were read from (informational)."
    )
    work_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "ionflow_work",
        description="Top directory for run folders, reports, logs and the embedded store.",
    )
    store_config: Path | None = Field(
        None,
        description=(
            "Store YAML (see configs/stores/). None means the embedded on-disk montydb "
            "store in <work_dir>/store."
        ),
    )
    engine: str | None = Field(
        None,
        description=(
            "Default engine for studies that do not name one: an engine with a settings "
            "section here (checked against ionflow.engines.registry when used); None "
            "means the registry's default (ionflow.engines.registry.DEFAULT_ENGINE)."
        ),
    )
    mlip: MlipSettings = Field(default_factory=MlipSettings)
    vasp: VaspSettings = Field(default_factory=VaspSettings)
    cp2k: Cp2kSettings = Field(default_factory=Cp2kSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
    local_workers: int | None = Field(
        None,
        ge=1,
        description="Worker processes of a local run (`ionflow run`): jobs whose inputs are "
        "ready run side by side, each on cores // workers threads. None: one per core (at "
        "most 4) for an engine that computes in Python (a machine-learned potential), one for "
        "a DFT engine (it starts its own parallel processes) or an in-memory store.",
    )
    walltime_margin_s: float = Field(
        120.0,
        ge=0,
        description="Seconds an MD segment leaves free before its queue job's end (to store "
        "its output); the rest of the segment continues in a new queue job.",
    )

    @field_validator("engine")
    @classmethod
    def _engine_has_settings(cls, value: str | None) -> str | None:
        """Accept only an engine whose settings section exists (settings import no engines)."""
        sections = engine_sections()
        if value is not None and value not in sections:
            raise ValueError(
                f"engine {value!r} has no settings section; choose one of {', '.join(sections)}"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _load_yaml(cls, values: Any) -> Any:
        """Merge the YAML settings file under explicitly given values."""
        if not isinstance(values, dict):
            return values
        path = values.get("config_file") or os.environ.get("IONFLOW_CONFIG_FILE")
        path = Path(path).expanduser() if path else DEFAULT_CONFIG_FILE
        if not path.is_file():
            if values.get("config_file") or os.environ.get("IONFLOW_CONFIG_FILE"):
                raise ValueError(f"settings file {path} does not exist")
            return values
        try:
            file_values = load_yaml_file(path, "settings file") or {}
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(file_values, dict):
            raise ValueError(f"settings file {path} must hold a mapping of keys")
        file_values = {k.lower(): v for k, v in file_values.items()}
        merged = {**file_values, **values, "config_file": path}
        return merged

    @property
    def runs_dir(self) -> Path:
        """Directory holding one folder per job run."""
        return self.work_dir / "runs"

    @property
    def reports_dir(self) -> Path:
        """Directory holding one folder per study report."""
        return self.work_dir / "reports"

    @property
    def store_dir(self) -> Path:
        """Directory of the embedded montydb store."""
        return self.work_dir / "store"


_SETTINGS: IonflowSettings | None = None


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def engine_sections() -> tuple[str, ...]:
    """Return the names of the settings sections that belong to an engine (its name)."""
    return tuple(
        name
        for name, info in IonflowSettings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, _EngineSection)
    )


def get_settings(**overrides: Any) -> IonflowSettings:
    """Return the settings, built on first use (or anew when overrides are given).

    Parameters
    ----------
    **overrides
        Values that take priority over the file and the environment.

    Returns
    -------
    IonflowSettings
        The settings object.
    """
    global _SETTINGS
    if overrides or _SETTINGS is None:
        try:
            settings = IonflowSettings(**overrides)
        except ValidationError as exc:
            raise ConfigError(
                f"invalid ionflow settings: {_format_validation_error(exc)}"
            ) from None
        if overrides:
            return settings
        _SETTINGS = settings
    return _SETTINGS


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI's ``--work-dir`` use this)."""
    global _SETTINGS
    _SETTINGS = None
