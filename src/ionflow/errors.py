"""Error types that the CLI turns into one-line messages.

Every error a user can cause with bad input (a file, a config key, a temperature,
a store) is raised as an :class:`IonflowError` subclass whose message names the
problem and, where possible, what to change. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "ConfigError",
    "EngineError",
    "InputError",
    "IonflowError",
    "StoreError",
    "format_validation_error",
]


class IonflowError(Exception):
    """Base class for errors caused by user input or the environment."""


class ConfigError(IonflowError):
    """A settings, study or cluster file is missing, unreadable or invalid."""


class InputError(IonflowError):
    """A structure, trajectory or other input file cannot be used."""


class StoreError(IonflowError):
    """The result store cannot be opened, read or written."""


class StoreMissingError(StoreError):
    """A read command asked for an on-disk store that does not exist (nothing was created)."""


class EngineError(IonflowError):
    """A calculation engine is missing or failed in a way ionflow cannot correct."""


def format_validation_error(exc: ValidationError, source: str) -> str:
    """Turn a pydantic error into one line per problem that names the key.

    Parameters
    ----------
    exc
        Raised by a model's validation; each of its errors becomes one line.
    source
        File name (or other label) to prefix the message with.

    Returns
    -------
    str
        A message such as ``study.yaml: md.temperatures_K.0: Input should be greater than 0``.
    """
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/ for examples)"
        lines.append(f"{source}: {loc}: {msg}")
    return "\n".join(lines)
