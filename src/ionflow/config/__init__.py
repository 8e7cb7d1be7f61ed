"""Validated config files: studies, stores, engines and clusters."""

from __future__ import annotations

from ionflow.config.base import ConfigModel, format_validation_error, load_yaml_model, read_yaml
from ionflow.config.study import StudyConfig, load_system
from ionflow.config.study_file import Study, StudySystem, load_study

__all__ = [
    "ConfigModel",
    "Study",
    "StudyConfig",
    "StudySystem",
    "format_validation_error",
    "load_study",
    "load_system",
    "load_yaml_model",
    "read_yaml",
]
