"""Old home of the MLIP and VASP band makers, kept so stored flows still load.

Saved flows reference ``MlipNebMaker``, ``VaspNebMaker`` and the ``collect_vasp_neb`` job
by this module path (jobflow/monty ``@module``); they live in ``ionflow.engines.<engine>.neb``.
"""

from ionflow.engines.mlip.neb import MlipNebMaker
from ionflow.engines.vasp.neb import VaspNebMaker, collect_vasp_neb

__all__ = ["MlipNebMaker", "VaspNebMaker", "collect_vasp_neb"]
