"""The Firetask ionflow's Fireworks carry: jobflow's, with the JobStore travelling along.

jobflow's ``JobFiretask`` with ``store=None`` writes to ``jobflow.SETTINGS.JOB_STORE`` of
the process that runs it. ionflow's own rocket sets that to ionflow's store, but stock
FireWorks tools (``rlaunch``, ``qlaunch``) would use jobflow's default (an in-memory store
unless the node has a ``jobflow.yaml``), so the outputs would be silently lost.

:class:`IonflowJobFiretask` carries *where* the store is (``ionflow_store``: the work
directory and the store YAML; never credentials, which stay in the environment or the
private secrets file named by that YAML) and opens that store before running the job,
whatever launched it. The Fireworks a job adds at run time (MD continuations, convergence
extensions) get the same task, so they write to the same store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import jobflow
from fireworks import FWAction
from fireworks.utilities.fw_utilities import explicit_serialize
from jobflow.managers.fireworks import JobFiretask

from ionflow.settings import get_settings
from ionflow.stores import open_job_store

if TYPE_CHECKING:
    from fireworks import Workflow

    from ionflow.settings import IonflowSettings

__all__ = ["IonflowJobFiretask", "store_location", "use_ionflow_firetask"]

_OPEN_STORES: dict[tuple[str, str | None], Any] = {}


def store_location(settings: IonflowSettings) -> dict[str, str | None]:
    """Return where a node finds the store: work directory and store YAML (no secrets)."""
    config = settings.store_config
    return {
        "work_dir": str(Path(settings.work_dir).resolve()),
        "store_config": str(Path(config).resolve()) if config else None,
    }


def _job_store(location: dict[str, Any]) -> Any:
    key = (location["work_dir"], location.get("store_config"))
    if key not in _OPEN_STORES:
        overrides: dict[str, Any] = {"work_dir": Path(key[0])}
        if key[1]:
            overrides["store_config"] = Path(key[1])
        _OPEN_STORES[key] = open_job_store(get_settings(**overrides), create_indexes=True)
    return _OPEN_STORES[key]


@explicit_serialize
class IonflowJobFiretask(JobFiretask):
    """jobflow's ``JobFiretask`` that opens ionflow's store (``ionflow_store``) first."""

    required_params = ("job", "store")
    optional_params = ("ionflow_store",)

    def run_task(self, fw_spec: dict[str, Any]) -> FWAction:
        """Point jobflow at ionflow's store, run the job, keep the store for new Fireworks."""
        location = self.get("ionflow_store")
        previous = jobflow.SETTINGS.JOB_STORE
        if location and self.get("store") is None:
            jobflow.SETTINGS.JOB_STORE = _job_store(location)
        try:
            action = super().run_task(fw_spec)
        finally:
            jobflow.SETTINGS.JOB_STORE = previous
        for wf in [*(action.detours or []), *(action.additions or [])]:
            use_ionflow_firetask(wf, location)
        return action


def use_ionflow_firetask(wf: Workflow, location: dict[str, Any] | None) -> Workflow:
    """Replace every Firework's ``JobFiretask`` by :class:`IonflowJobFiretask` (in place)."""
    for fw in wf.fws:
        fw.tasks = [
            IonflowJobFiretask(job=t["job"], store=t.get("store"), ionflow_store=location)
            if isinstance(t, JobFiretask)
            else t
            for t in fw.tasks
        ]
    return wf
