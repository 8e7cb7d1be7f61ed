"""The registry of engines: the only list of engine names in ionflow.

Each line maps an engine name to the ``module:class`` of its adapter, imported only when
the engine is used (an engine's code and its extras load on first use). Everything else
asks the adapter (its methods and :attr:`~ionflow.engines.base.EngineAdapter.capabilities`)
instead of comparing engine names.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from ionflow.engines.base import EngineAdapter
    from ionflow.settings import IonflowSettings

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "adapter_class",
    "adapter_options",
    "check_engine_name",
    "default_engine",
    "engine_names",
    "engines_with",
    "get_engine",
    "has_capability",
]

#: engine name -> "module:class" of its adapter (one line per engine)
ENGINES: dict[str, str] = {
    "mlip": "ionflow.engines.mlip.adapter:MlipEngine",
    "vasp": "ionflow.engines.vasp.adapter:VaspEngine",
    "cp2k": "ionflow.engines.cp2k.adapter:Cp2kEngine",
}

#: engine of code and studies that name none, when the ``engine`` setting is unset (None)
DEFAULT_ENGINE: str = "mlip"


def default_engine(settings: IonflowSettings) -> str:
    """Return the settings' ``engine``, or :data:`DEFAULT_ENGINE` when it is unset.

    Parameters
    ----------
    settings
        ionflow settings (a layer below this registry, so it holds no engine name itself).

    Returns
    -------
    str
        A registered engine name.
    """
    return check_engine_name(settings.engine or DEFAULT_ENGINE)


def engine_names() -> tuple[str, ...]:
    """Return the registered engine names, in registry order."""
    return tuple(ENGINES)


def check_engine_name(name: str) -> str:
    """Return ``name`` if it is a registered engine, else raise a ``ConfigError``.

    Parameters
    ----------
    name
        Engine name from a study, an engine file or the settings.

    Returns
    -------
    str
        The name.
    """
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose one of {', '.join(sorted(ENGINES))}")
    return name


def adapter_class(name: str) -> type[EngineAdapter]:
    """Return the adapter class of a registered engine (imports its module).

    Parameters
    ----------
    name
        A registered engine name.

    Returns
    -------
    type
        The :class:`~ionflow.engines.base.EngineAdapter` subclass.
    """
    module_name, cls_name = ENGINES[check_engine_name(name)].split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def adapter_options(name: str) -> set[str]:
    """Return the keywords ``get_engine(name, **kwargs)`` accepts (the adapter's fields)."""
    return {f.name for f in dataclasses.fields(adapter_class(name)) if f.init}


def get_engine(name: str, **kwargs: Any) -> EngineAdapter:
    """Return the adapter for an engine.

    Parameters
    ----------
    name
        A registered engine name (:func:`engine_names`).
    **kwargs
        Passed to the adapter's constructor (unknown keys are a ``ConfigError``).

    Returns
    -------
    EngineAdapter
        The adapter.
    """
    unknown = sorted(set(kwargs) - adapter_options(name))
    if unknown:
        raise ConfigError(
            f"engine {name!r} has no adapter option {', '.join(map(repr, unknown))}; "
            f"options: {', '.join(sorted(adapter_options(name)))}"
        )
    return adapter_class(name)(**kwargs)


def has_capability(name: str, capability: str) -> bool:
    """Return whether a registered engine declares ``capability`` (e.g. ``"neb"``)."""
    return capability in adapter_class(name).capabilities


def engines_with(capability: str) -> tuple[str, ...]:
    """Return the registered engines that declare ``capability``, in registry order.

    An engine whose module cannot be imported (its extras are not installed) is left out.
    """
    names = []
    for name in ENGINES:
        try:
            if has_capability(name, capability):
                names.append(name)
        except ImportError:
            continue
    return tuple(names)
