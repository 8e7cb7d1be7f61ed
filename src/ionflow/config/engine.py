"""Engine config files (``configs/engines/*.yaml``).

An engine file names the engine, the keyword arguments of its adapter (model, commands,
custodian options) and input-set ``overrides`` passed through to atomate2 unchanged::

    engine: mlip
    adapter: {model: CHGNet}
    overrides: {}

A study refers to one with ``engine_config: ../engines/vasp.yaml``; the study's own
``engine_overrides`` are applied on top of the file's ``overrides``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

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


def load_engine_config(path: str | Path) -> EngineConfig:
    """Read and validate an engine YAML file."""
    return load_yaml_model(path, EngineConfig)
