"""The CP2K engine (atomate2's CP2K makers under custodian, cheap settings by default).

- ``adapter.py``: :class:`Cp2kEngine` (relax, static, MD and NEB makers);
- ``inputs.py``: cheap basis/DFT settings, pymatgen's CP2K data folder, input set generators;
- ``custodian.py``: the one list of custodian handlers per kind of run, validators, job;
- ``neb.py``: :class:`Cp2kNebMaker` (MOTION/BAND CI-NEB written by ionflow);
- ``segment.py``: the MD segment runner (``.restart`` file continuation);
- ``fixes.py``: narrow workarounds for CP2K bugs in pymatgen/atomate2/custodian.

``ionflow.engines.cp2k`` was once a module; its names are re-exported here so stored
flows (``@module: ionflow.engines.cp2k``) and old imports keep working.
"""

from ionflow.engines.cp2k.adapter import THERMOSTATS, Cp2kEngine, md_handlers
from ionflow.engines.cp2k.inputs import (
    CHEAP_BASIS,
    CP2K_SYSTEM_DATA_DIR,
    PROJECT,
    IonflowCp2kMDSetGenerator,
    IonflowCp2kRelaxSetGenerator,
    IonflowCp2kStaticSetGenerator,
    cheap_basis_and_potential,
    cheap_dft_settings,
    pymatgen_cp2k_settings,
    resolve_pmg_cp2k_data_dir,
)

__all__ = [
    "CHEAP_BASIS",
    "CP2K_SYSTEM_DATA_DIR",
    "PROJECT",
    "THERMOSTATS",
    "Cp2kEngine",
    "IonflowCp2kMDSetGenerator",
    "IonflowCp2kRelaxSetGenerator",
    "IonflowCp2kStaticSetGenerator",
    "cheap_basis_and_potential",
    "cheap_dft_settings",
    "md_handlers",
    "pymatgen_cp2k_settings",
    "resolve_pmg_cp2k_data_dir",
]
