"""Shared base model and YAML loading helpers for ionflow config files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ionflow.dicts import deep_merge
from ionflow.errors import ConfigError, format_validation_error
from ionflow.safe_yaml import load_yaml_file

# deep_merge (ionflow.dicts) and format_validation_error (ionflow.errors) are re-exported.
__all__ = ["ConfigModel", "deep_merge", "format_validation_error", "load_yaml_model", "read_yaml"]

M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base for config sections: unknown keys are errors, assignments are validated.

    NaN and infinity are refused in every number (``.nan`` and ``.inf`` are valid YAML).
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False
    )


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a file with a clear error on failure.

    Parameters
    ----------
    path
        YAML file.

    Returns
    -------
    dict
        The mapping in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file does not exist")
    data = load_yaml_file(path)
    if data is None:
        raise ConfigError(f"{path}: file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def load_yaml_model(path: str | Path, model: type[M], **context: Any) -> M:
    """Read a YAML file and validate it into ``model``.

    Parameters
    ----------
    path
        YAML file.
    model
        pydantic model class.
    **context
        Extra keys merged under the file's own (e.g. ``source_dir``).

    Returns
    -------
    BaseModel
        The validated model.
    """
    data = read_yaml(path)
    try:
        return model.model_validate({**context, **data})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
