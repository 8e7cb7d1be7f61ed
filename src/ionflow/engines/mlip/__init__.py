"""The MLIP engine (CHGNet or another atomate2 force field, or any ASE calculator).

- ``adapter.py``: :class:`MlipEngine` (relax, static, MD and NEB makers);
- ``inputs.py``: thermostat names and the overrides atomate2's force-field makers take;
- ``neb.py``: :class:`MlipNebMaker` (ASE CI-NEB from images);
- ``segment.py`` and ``dynamics.py``: the MD segment runner (ASE dynamics with restarts).

No custodian: the runs are in-process. ``ionflow.engines.mlip`` was once a module; its
names are re-exported here so stored flows and old imports keep working.
"""

from ionflow.engines.mlip.adapter import MlipEngine
from ionflow.engines.mlip.inputs import NOSE_HOOVER_TTIME_FS, THERMOSTATS, relax_overrides

__all__ = ["NOSE_HOOVER_TTIME_FS", "THERMOSTATS", "MlipEngine", "relax_overrides"]
