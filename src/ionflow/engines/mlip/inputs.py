"""MLIP engine inputs: thermostat names and the overrides atomate2's force-field makers take."""

from __future__ import annotations

import dataclasses
from typing import Any

from ionflow.errors import ConfigError

__all__ = ["NOSE_HOOVER_TTIME_FS", "THERMOSTATS", "relax_overrides"]

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
