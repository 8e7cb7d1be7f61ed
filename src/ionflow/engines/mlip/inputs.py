"""MLIP engine inputs: thermostat names and the overrides atomate2's force-field makers take."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from ionflow.engines.base import MDRequest

__all__ = ["NOSE_HOOVER_TTIME_FS", "THERMOSTATS", "ase_md_fields", "relax_overrides"]

#: ionflow thermostat name -> atomate2/ASE dynamics name for NVT
THERMOSTATS = {"langevin": "langevin", "nose-hoover": "nose-hoover", "berendsen": "berendsen"}

#: Nosé–Hoover coupling time (fs) used with ASE's NPT class in NVT mode
NOSE_HOOVER_TTIME_FS = 25.0


def _init_fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def relax_overrides(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return the overrides a ForceFieldRelaxMaker accepts (MD-only keys left out).

    Parameters
    ----------
    overrides
        ForceFieldRelaxMaker and/or ForceFieldMDMaker keyword arguments.

    Returns
    -------
    dict
        The keys ForceFieldRelaxMaker has, without ``name`` (ionflow names its jobs).

    Raises
    ------
    ConfigError
        For a key neither maker has.
    """
    from atomate2.forcefields.jobs import ForceFieldRelaxMaker
    from atomate2.forcefields.md import ForceFieldMDMaker

    overrides = dict(overrides or {})
    relax_keys = _init_fields(ForceFieldRelaxMaker) - {"name"}
    unknown = sorted(set(overrides) - relax_keys - _init_fields(ForceFieldMDMaker))
    if unknown:
        raise ConfigError(
            f"mlip engine override {', '.join(map(repr, unknown))} is not a field of "
            "atomate2's ForceFieldRelaxMaker or ForceFieldMDMaker"
        )
    return {key: value for key, value in overrides.items() if key in relax_keys}


def ase_md_fields(md: MDRequest, calculator_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of an atomate2 ``AseMDMaker`` for one NVT run.

    Parameters
    ----------
    md
        The MD run asked of the engine (its thermostat is the caller's to map).
    calculator_kwargs
        Passed to the ASE calculator (copied).

    Returns
    -------
    dict
        ``calculator_kwargs``, NVT ensemble, temperature, steps, time step, frame interval,
        velocity seed and zero linear momentum.
    """
    return {
        "calculator_kwargs": dict(calculator_kwargs),
        "ensemble": "nvt",
        "temperature": md.temperature_K,
        "n_steps": md.n_steps,
        "time_step": md.time_step_fs,
        "traj_interval": md.traj_interval,
        "mb_velocity_seed": md.seed,
        "zero_linear_momentum": True,
    }
