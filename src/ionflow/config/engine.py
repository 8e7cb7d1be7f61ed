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
``ionflow.engines.get_engine`` (:func:`ionflow.engines.study_engine.engine_for_study`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ionflow.config.base import ConfigModel, load_yaml_model

__all__ = ["EngineConfig", "load_engine_config"]


class EngineConfig(ConfigModel):
    """One engine's configuration."""

    engine: Literal["mlip", "vasp", "cp2k"] = Field(..., description="Engine name.")
    description: str = Field("", description="Free text.")
    adapter: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the engine adapter."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Input-set overrides passed through to atomate2."
    )

    @model_validator(mode="after")
    def _known_adapter_keys(self) -> EngineConfig:
        from ionflow.engines.base import adapter_options

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
