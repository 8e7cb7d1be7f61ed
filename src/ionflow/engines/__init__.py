"""Engine adapters: one per calculation code, all with the same interface.

``get_engine("mlip" | "vasp" | "cp2k")`` returns an :class:`EngineAdapter` whose methods
return atomate2 makers configured for that code. ionflow's own makers (``ionflow.makers``)
hold an adapter, so the job skeleton (run → parse → ionflow document) is written once.
"""

from __future__ import annotations

from ionflow.engines.base import EngineAdapter, get_engine

__all__ = ["EngineAdapter", "get_engine"]
