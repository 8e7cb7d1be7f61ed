"""Error types that the CLI turns into one-line messages.

Every error a user can cause with bad input (a file, a config key, a temperature,
a store) is raised as an :class:`IonflowError` subclass whose message names the
problem and, where possible, what to change. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EngineError",
    "InputError",
    "IonflowError",
    "StoreError",
]


class IonflowError(Exception):
    """Base class for errors caused by user input or the environment."""


class ConfigError(IonflowError):
    """A settings, study or cluster file is missing, unreadable or invalid."""


class InputError(IonflowError):
    """A structure, trajectory or other input file cannot be used."""


class StoreError(IonflowError):
    """The result store cannot be opened, read or written."""


class EngineError(IonflowError):
    """A calculation engine is missing or failed in a way ionflow cannot correct."""
