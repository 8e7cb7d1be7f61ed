"""The engine adapter interface and the registry of engines."""

from __future__ import annotations

import dataclasses
import importlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = ["ENGINES", "EngineAdapter", "adapter_options", "get_engine"]

#: engine name -> "module:class" of its adapter
ENGINES: dict[str, str] = {
    "mlip": "ionflow.engines.mlip:MlipEngine",
    "vasp": "ionflow.engines.vasp:VaspEngine",
    "cp2k": "ionflow.engines.cp2k:Cp2kEngine",
}


class EngineAdapter(ABC):
    """What ionflow needs from a calculation code.

    Each method returns a jobflow Maker (usually an atomate2 one) whose ``make(structure,
    prev_dir=None)`` runs one calculation. ``overrides`` are engine-specific input-set
    settings passed through unchanged (INCAR keys, CP2K sections, ASE kwargs).
    """

    name: ClassVar[str]

    @abstractmethod
    def relax_maker(
        self,
        *,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        relax_cell: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return a maker for a geometry relaxation."""

    @abstractmethod
    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return a maker for a single-point energy."""

    @abstractmethod
    def md_maker(
        self,
        *,
        temperature_K: float,
        n_steps: int,
        time_step_fs: float,
        thermostat: str = "nose-hoover",
        seed: int | None = None,
        traj_interval: int = 1,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return a maker for one NVT MD run."""

    def describe(self) -> dict[str, Any]:
        """Return engine name and settings for provenance in result documents."""
        return {"engine": self.name}


def get_engine(name: str, **kwargs: Any) -> EngineAdapter:
    """Return the adapter for an engine.

    Parameters
    ----------
    name
        ``"mlip"``, ``"vasp"`` or ``"cp2k"``.
    **kwargs
        Passed to the adapter's constructor (unknown keys are a ``ConfigError``).

    Returns
    -------
    EngineAdapter
        The adapter.
    """
    try:
        target = ENGINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown engine {name!r}; choose one of {', '.join(sorted(ENGINES))}"
        ) from None
    cls = _adapter_class(target)
    known = adapter_options(name)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(
            f"engine {name!r} has no adapter option {', '.join(map(repr, unknown))}; "
            f"options: {', '.join(sorted(known))}"
        )
    return cls(**kwargs)


def _adapter_class(target: str) -> type[EngineAdapter]:
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)


def adapter_options(name: str) -> set[str]:
    """Return the constructor keywords of an engine's adapter (its dataclass fields).

    Parameters
    ----------
    name
        A key of :data:`ENGINES`.

    Returns
    -------
    set of str
        Keyword names ``get_engine(name, **kwargs)`` accepts.
    """
    cls = _adapter_class(ENGINES[name])
    return {f.name for f in dataclasses.fields(cls) if f.init}
