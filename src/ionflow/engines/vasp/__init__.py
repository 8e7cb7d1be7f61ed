"""The VASP engine (atomate2's VASP makers under custodian).

- ``adapter.py``: :class:`VaspEngine` (relax, static, MD, NEB and LOCPOT relax makers);
- ``inputs.py``: ionflow's MD input set, thermostat and INCAR defaults, LOCPOT keys;
- ``custodian.py``: the one list of custodian handlers per kind of run, validators, job;
- ``neb.py``: :class:`VaspNebMaker` (VTST CI-NEB) and its collector job;
- ``segment.py``: the MD segment runner (CONTCAR restarts, frames in the data store).

``ionflow.engines.vasp`` was once a module; its names are re-exported here so stored
flows (``@module: ionflow.engines.vasp``) and old imports keep working.
"""

from ionflow.engines.vasp.adapter import VaspEngine, md_handlers
from ionflow.engines.vasp.inputs import (
    LANGEVIN_GAMMA_PER_PS,
    MD_INCAR_DEFAULTS,
    THERMOSTAT_INCAR,
    IonflowMDSetGenerator,
)

__all__ = [
    "LANGEVIN_GAMMA_PER_PS",
    "MD_INCAR_DEFAULTS",
    "THERMOSTAT_INCAR",
    "IonflowMDSetGenerator",
    "VaspEngine",
    "md_handlers",
]
