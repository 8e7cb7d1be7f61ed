"""Engine config files (``configs/engines/*.yaml``).

An engine file names the engine, the keyword arguments of its adapter (model, commands,
custodian options) and input-set ``overrides`` passed through to atomate2 unchanged::

    engine: mlip
    adapter: {model: CHGNet}
    overrides: {}

A study refers to one with ``engine_config: ../engines/vasp.yaml`` (relative to the study
file); the study's own ``engine_overrides`` are applied on top of the file's ``overrides``
(:func:`ionflow.config.base.deep_merge`: mappings merge key by key) and the ``adapter``
keywords go to
``ionflow.engines.get_engine`` (:func:`engine_for_study`).

The engine adapter of a study is read in one place: every builder that needs a study's
engine (``ionflow run``, design studies, the composite sections, ``ionflow neb run``) calls
:func:`engine_for_study`, so the ``engine_config`` file of a study is honoured the same way
everywhere. Keyword arguments are layered:

1. ionflow settings (the adapter's ``settings_options``, e.g. the mlip model);
2. the engine file's ``adapter`` mapping;
3. keywords the caller knows from the cell (e.g. the adapter's ``charge_options``).

The input-set ``overrides`` of the engine file are already merged under the study's
``engine_overrides`` when the study is loaded (:class:`ionflow.config.study.StudyConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

import ionflow.engines as engines  # get_engine is looked up at call time (tests patch it)
from ionflow.config.base import ConfigModel, load_yaml_model
from ionflow.engines.registry import (
    adapter_class,
    adapter_options,
    check_engine_name,
    default_engine,
)

if TYPE_CHECKING:
    from ionflow.config.study import StudyConfig
    from ionflow.engines.base import EngineAdapter
    from ionflow.settings import IonflowSettings

__all__ = [
    "EngineConfig",
    "engine_for_study",
    "engine_kwargs_for_study",
    "engine_name_for_study",
    "load_engine_config",
]


class EngineConfig(ConfigModel):
    """One engine's configuration."""

    engine: str = Field(..., description="Engine name (ionflow.engines.registry).")
    description: str = Field("", description="Free text.")
    adapter: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the engine adapter."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Input-set overrides passed through to atomate2."
    )

    @field_validator("engine")
    @classmethod
    def _registered_engine(cls, value: str) -> str:
        return check_engine_name(value)

    @model_validator(mode="after")
    def _known_adapter_keys(self) -> EngineConfig:
        known = adapter_options(self.engine)
        unknown = sorted(set(self.adapter) - known)
        if unknown:
            raise ValueError(
                f"adapter: unknown key(s) {', '.join(unknown)} for engine {self.engine!r} "
                f"(options: {', '.join(sorted(known))})"
            )
        return self


def load_engine_config(path: str | Path) -> EngineConfig:
    """Read and validate an engine YAML file (``ConfigError`` naming the file and key)."""
    return load_yaml_model(path, EngineConfig)


def engine_name_for_study(config: StudyConfig, settings: IonflowSettings) -> str:
    """Return the study's engine, or the default engine when it names none."""
    return config.engine or default_engine(settings)


def engine_kwargs_for_study(
    config: StudyConfig, settings: IonflowSettings, **extra: Any
) -> dict[str, Any]:
    """Return the adapter keyword arguments of a study's engine.

    Parameters
    ----------
    config
        The validated study (its ``engine_config`` file, if any, exists and matches).
    settings
        ionflow settings.
    **extra
        Keywords that win over the file (e.g. ``charge`` computed from the cell).

    Returns
    -------
    dict
        Keywords for ``get_engine(name, **kwargs)``.
    """
    name = engine_name_for_study(config, settings)
    kwargs: dict[str, Any] = dict(adapter_class(name).settings_options(settings))
    if config.engine_config is not None:
        kwargs.update(load_engine_config(config.engine_config).adapter)
    kwargs.update(extra)
    return kwargs


def engine_for_study(config: StudyConfig, settings: IonflowSettings, **extra: Any) -> EngineAdapter:
    """Return the engine adapter of a study (see the module docstring for the layering).

    Parameters
    ----------
    config
        The validated study.
    settings
        ionflow settings.
    **extra
        Keywords that win over the engine file.

    Returns
    -------
    EngineAdapter
        The adapter, built through ``ionflow.engines.get_engine`` (looked up at call time,
        so tests can replace it in one place).
    """
    name = engine_name_for_study(config, settings)
    return engines.get_engine(name, **engine_kwargs_for_study(config, settings, **extra))
