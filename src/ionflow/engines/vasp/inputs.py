"""VASP engine inputs: ionflow's MD input set, thermostat and INCAR defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atomate2.vasp.sets.core import MDSetGenerator

__all__ = [
    "LANGEVIN_GAMMA_PER_PS",
    "LOCPOT_INCAR",
    "MD_INCAR_DEFAULTS",
    "THERMOSTAT_INCAR",
    "IonflowMDSetGenerator",
]

#: ionflow thermostat -> VASP NVT settings (MDALGO 2: Nose-Hoover, 3: Langevin)
THERMOSTAT_INCAR: dict[str, dict[str, Any]] = {
    "nose-hoover": {"MDALGO": 2, "SMASS": 0},
    "langevin": {"MDALGO": 3},
}

#: Langevin friction of the atoms (1/ps), VASP's LANGEVIN_GAMMA per species
LANGEVIN_GAMMA_PER_PS = 10.0

#: AIMD defaults on top of atomate2's MD set (supercells: no spin, real-space projection);
#: KPOINTS is Gamma only. Override any of them with the engine's ``incar``.
MD_INCAR_DEFAULTS: dict[str, Any] = {"ISPIN": 1, "LREAL": "Auto"}


@dataclass
class IonflowMDSetGenerator(MDSetGenerator):
    """atomate2's MD input set with ionflow's thermostat choice.

    Parameters
    ----------
    thermostat
        ``nose-hoover`` (MDALGO 2) or ``langevin`` (MDALGO 3, one LANGEVIN_GAMMA per
        species, which only the structure can tell).
    """

    thermostat: str = "nose-hoover"

    @property
    def incar_updates(self) -> dict:
        """INCAR updates of atomate2's MD set plus the thermostat."""
        updates = dict(super().incar_updates)
        updates.update(THERMOSTAT_INCAR[self.thermostat])
        if self.thermostat == "langevin":
            updates.pop("SMASS", None)
            n_types = len(self.structure.composition.elements)
            updates["LANGEVIN_GAMMA"] = [LANGEVIN_GAMMA_PER_PS] * n_types
        return updates


#: INCAR keys of VASP runs whose LOCPOT feeds the Freysoldt correction
LOCPOT_INCAR: dict[str, Any] = {"LVHAR": True}
