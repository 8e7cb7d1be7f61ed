"""Explicit registration of the FireWorks objects ionflow stores and loads.

FireWorks resolves a serialised object whose ``_fw_name`` is a bare class name
(``ScriptTask``, ``CommonAdapter``) by importing every module below its
``USER_PACKAGES`` until one defines that name (``fw_serializers.load_object``). That
walk imports FireWorks' own test modules (``fireworks/user_objects/firetasks/tests/``),
which use pytest marks; inside a process that carries pytest's ``--strict-markers``
configuration the import raises pytest's ``Failed`` (a ``BaseException``) and kills the
process. A forked worker on a cluster node pays the same walk on every first load.

:func:`register_fireworks_objects` fills FireWorks' name → module cache for every object
ionflow's launchpads, rockets and queue adapters load, so ``load_object`` finds each one
at its known location and never walks a package. jobflow's ``JobFiretask`` is stored
with an explicit ``{{module.Class}}`` name and needs no entry. Work-around for
FireWorks 2.1.x (``load_object`` has no registry other than this cache).
"""

from __future__ import annotations

__all__ = ["FW_OBJECT_MODULES", "register_fireworks_objects"]

#: ``_fw_name`` → defining module, for every bare-named object ionflow stores or loads
FW_OBJECT_MODULES: dict[str, str] = {
    "ScriptTask": "fireworks.user_objects.firetasks.script_task",
    "PyTask": "fireworks.user_objects.firetasks.script_task",
    "FileWriteTask": "fireworks.user_objects.firetasks.fileio_tasks",
    "CommonAdapter": "fireworks.user_objects.queue_adapters.common_adapter",
}


def register_fireworks_objects() -> None:
    """Tell FireWorks where each object ionflow uses lives (idempotent, cheap)."""
    from fireworks.utilities import fw_serializers

    for name, module in FW_OBJECT_MODULES.items():
        fw_serializers.SAVED_FW_MODULES.setdefault(name, module)
