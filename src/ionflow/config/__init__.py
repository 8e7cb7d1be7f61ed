"""Validated config files: studies, stores, engines and clusters."""

from __future__ import annotations

from ionflow.config.base import ConfigModel, format_validation_error, load_yaml_model, read_yaml
from ionflow.config.study import StudyConfig, load_study

__all__ = [
    "ConfigModel",
    "StudyConfig",
    "format_validation_error",
    "load_study",
    "load_yaml_model",
    "read_yaml",
]
