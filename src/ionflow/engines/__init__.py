"""Engine adapters: one per calculation code, all with the same interface.

``get_engine(name, **kwargs)`` returns an :class:`EngineAdapter` whose methods return
atomate2 makers configured for that code. ionflow's own makers (``ionflow.makers``) hold
an adapter, so the job skeleton (run → parse → ionflow document) is written once; the MD
segment skeleton every engine shares is :mod:`ionflow.engines.segments`.

Layout
------
- ``registry.py``: **the only list of engine names** (name → adapter class, imported on
  first use), :func:`engine_names`, :func:`get_engine`, capability look-ups;
- ``base.py``: the :class:`EngineAdapter` interface and its capabilities;
- ``segments.py``, ``commands.py``: shared by every engine (segment skeleton, run-time
  commands from the settings); ``band.py``: the band maker of engines that run a whole
  CI-NEB band in one job (:class:`~ionflow.engines.band.OneJobNebMaker`);
- one folder per engine (``mlip/``, ``vasp/``, ``cp2k/``) holding everything specific to it:

  - ``adapter.py``: the adapter (relax, static, MD and NEB makers, capabilities,
    custodian methods, ``segment_runners``);
  - ``inputs.py``: input sets and settings;
  - ``custodian.py``: custodian handlers per kind of run, validators, job (codes run
    under custodian only);
  - ``segment.py``: the MD segment runner (restarts, frames);
  - ``neb.py``: the CI-NEB band maker.

Code outside this package never compares engine names: it asks the adapter (a method,
``"neb" in engine.capabilities``, ``engine.custodian_handlers("md", walltime_s)``).
This package imports only ``io``/``analysis``/``structures``/``schemas`` and the core
(``errors``, ``settings``, ``dicts``), never ``makers``, ``flows``, ``config`` or ``hpc``.

Adding an engine (e.g. Quantum ESPRESSO)
----------------------------------------
1. Create ``engines/qe/`` with ``__init__.py`` (docstring, re-export the adapter),
   ``adapter.py`` (``class QeEngine(EngineAdapter)``: a dataclass whose fields are the
   engine file's ``adapter`` keys, all with defaults; ``name``, ``capabilities``, the
   three maker methods (``_relax_maker(relax, overrides)``, ``static_maker``,
   ``_md_maker(md, overrides)``: the keyword interface is the base class's), and
   whatever of ``_neb_maker(neb, overrides)``,
   ``_locpot_relax_maker(relax, overrides, potential)``,
   ``custodian_*``, ``segment_runners``, ``settings_options``, ``charge_options`` it
   supports), and
   ``inputs.py``/``custodian.py``/``segment.py``/``neb.py`` as needed.
2. Add one line to :data:`ionflow.engines.registry.ENGINES`:
   ``"qe": "ionflow.engines.qe.adapter:QeEngine"``.
3. Add its test fake (a replay of real outputs, like ``ionflow.testing.vasp``).

A command read from ionflow's settings on the compute node (``SettingsCommand``) also
needs a settings section named after the engine with a ``cmd`` key (``settings.py``).
When a module moves, leave a re-export at the old path: saved flows name Makers, ``@job``
functions and MSONable classes by module path.
"""

from __future__ import annotations

from ionflow.engines.base import EngineAdapter
from ionflow.engines.registry import engine_names, engines_with, get_engine, has_capability

__all__ = ["EngineAdapter", "engine_names", "engines_with", "get_engine", "has_capability"]
