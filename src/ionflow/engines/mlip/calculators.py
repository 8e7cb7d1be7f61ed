"""One force-field model per process, shared by every MLIP job (relax, MD, NEB).

atomate2's force-field makers load their model when a job first asks for
``maker.calculator``; every job is a new maker, so a study that relaxes two endpoints,
runs a band and then MD loaded CHGNet once per job (~1-3 s and ~100 MB each, and the
relaxation, NEB and MD of one hop loaded it three times). :func:`shared_calculator`
keeps one calculator per (model, keyword arguments) for the life of the process; the
``Shared*`` makers below are atomate2's makers with that lookup, which is all they change.

:func:`lean_calculator` returns a second calculator on the same model that computes only
what ASE asks for (CHGNet computes stress and magnetic moments on every call otherwise).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from atomate2.forcefields.jobs import ForceFieldRelaxMaker, ForceFieldStaticMaker

from ionflow.engines.mlip.quiet import banners_to_stderr

__all__ = [
    "SharedForceFieldRelaxMaker",
    "SharedForceFieldStaticMaker",
    "calculator_copy",
    "clear_shared_calculators",
    "lean_calculator",
    "shared_calculator",
]

_CALCULATORS: dict[tuple[str, str, bool], Any] = {}
_LEAN_CLASSES: dict[type, type] = {}


def _key(maker: Any, lean: bool) -> tuple[str, str, bool]:
    meta = getattr(maker, "calculator_meta", None) or getattr(maker, "force_field_name", "")
    if not meta:
        meta = type(maker).__name__  # e.g. atomate2's Lennard-Jones MD maker
    kwargs = json.dumps(getattr(maker, "calculator_kwargs", {}) or {}, sort_keys=True, default=str)
    return str(meta), kwargs, lean


def shared_calculator(maker: Any, *, lean: bool = False) -> Any:
    """Return the process-wide calculator of an atomate2 ASE maker's model.

    Parameters
    ----------
    maker
        Any atomate2 ASE maker (its ``_get_calculator`` builds the calculator once).
    lean
        Return the variant that computes only the requested properties (MD, NEB bands).

    Returns
    -------
    ase.calculators.calculator.Calculator
        The shared calculator; the lean variant shares the full one's model.
    """
    key = _key(maker, lean)
    if key not in _CALCULATORS:
        full_key = _key(maker, False)
        if full_key not in _CALCULATORS:
            with banners_to_stderr():  # chgnet prints its load banner; --json owns stdout
                _CALCULATORS[full_key] = _loader(type(maker))(maker)
        if lean:
            _CALCULATORS[key] = lean_calculator(_CALCULATORS[full_key])
    return _CALCULATORS[key]


def _loader(cls: type) -> Any:
    """Return the maker class's own calculator loader (atomate2's ``ase_calculator``)."""
    for base in cls.__mro__:
        if "_get_calculator" in base.__dict__ and not issubclass(base, _Shared):
            return base.__dict__["_get_calculator"]
    raise TypeError(f"{cls.__name__} has no calculator loader")


def clear_shared_calculators() -> None:
    """Forget the loaded models (benchmarks time a cold start with it)."""
    _CALCULATORS.clear()


def lean_calculator(calc: Any) -> Any:
    """Return a CHGNet calculator on the same model that computes only what ASE asks for.

    chgnet 0.3/0.4's ``CHGNetCalculator.calculate`` ignores ASE's ``properties`` and always
    predicts energy, forces, stress and magnetic moments (task ``"efsm"``). NVT dynamics
    and NEB bands ask only for energy and forces; skipping the stress derivative and the
    magmom head makes each call ~25-40 % cheaper (38-atom Li3OCl cell). Stress or magmoms
    asked for later trigger a full calculation through ASE's usual cache check. The
    calculator given is not changed (a shallow copy shares its model); other calculators
    are returned as they are.
    """
    if type(calc).__name__ != "CHGNetCalculator" or getattr(calc, "_ionflow_lean", False):
        return calc
    cls = type(calc)
    if cls not in _LEAN_CLASSES:

        def calculate(self, atoms=None, properties=None, system_changes=None, task=None):
            if task is None:
                wanted = set(properties or ("energy", "forces", "stress", "magmoms"))
                task = "ef" if wanted <= {"energy", "free_energy", "forces"} else "efsm"
            cls.calculate(self, atoms, properties, system_changes, task=task)

        _LEAN_CLASSES[cls] = type(
            f"Lean{cls.__name__}", (cls,), {"calculate": calculate, "_ionflow_lean": True}
        )
    return calculator_copy(calc, _LEAN_CLASSES[cls])


def calculator_copy(calc: Any, cls: type | None = None) -> Any:
    """Return a shallow copy of a calculator with its own results cache (same model).

    NEB images each need their own cache (a shared one is invalidated by every other
    image, so the endpoint energies would be recomputed at every step).
    """
    new = copy.copy(calc)
    if cls is not None:
        new.__class__ = cls
    new.results = {}
    new.atoms = None
    return new


class _Shared:
    """Mix-in: the maker's calculator is the process-wide one of its model."""

    def _get_calculator(self) -> Any:
        return shared_calculator(self)


@dataclass
class SharedForceFieldRelaxMaker(_Shared, ForceFieldRelaxMaker):
    """atomate2's ForceFieldRelaxMaker with the model loaded once per process."""


@dataclass
class SharedForceFieldStaticMaker(_Shared, ForceFieldStaticMaker):
    """atomate2's ForceFieldStaticMaker with the model loaded once per process."""
