"""Submit a study to a FireWorks launchpad and send rockets to the queue.

``submit`` builds the study's jobflow Flow with :func:`ionflow.study.build.build_study`
(the Flow ``ionflow run`` runs locally), converts it with jobflow's ``flow_to_workflow``
(no store object in the Fireworks: each carries where ionflow's store is, work directory
and store YAML, through :class:`~ionflow.hpc.firetask.IonflowJobFiretask`, so stock
``rlaunch``/``qlaunch`` store results there too and no credentials end up in the
launchpad) and adds it with the study metadata (name, run id,
host formula, defect labels, temperatures, engine, the cell of every system) on the
workflow and on every Firework (``spec._ionflow``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow.managers.fireworks import flow_to_workflow

from ionflow.errors import ConfigError
from ionflow.hpc.firetask import store_location, use_ionflow_firetask
from ionflow.hpc.launchpad import describe_launchpad, launchpad_session
from ionflow.hpc.queue import ACTIVE_STATES, queue_job_states, render_queue_script, submit_script
from ionflow.hpc.resources import assign_resources, check_resources
from ionflow.hpc.rocket import LAUNCH_RECORDS
from ionflow.stores import describe_store, get_store_config
from ionflow.study.build import build_study

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fireworks import Workflow

    from ionflow.config.study_file import Study
    from ionflow.hpc.config import ClusterConfig
    from ionflow.settings import IonflowSettings

__all__ = [
    "QUEUE_RECORDS",
    "LaunchResult",
    "SubmitPlan",
    "launch_jobs",
    "list_fireworks",
    "list_workflows",
    "plan_submission",
    "submit_flow",
    "submit_plan",
    "workflow_progress",
]

#: collection (in the launchpad database) of queue jobs ionflow submitted
QUEUE_RECORDS = "ionflow_queue_jobs"
FINAL_WF_STATES = ("COMPLETED", "FIZZLED", "DEFUSED", "ARCHIVED")


@dataclass
class SubmitPlan:
    """What ``ionflow submit`` adds to the launchpad, and the queue script it would use."""

    workflow: Workflow
    metadata: dict[str, Any]
    jobs: list[dict[str, Any]]
    queue_script: str
    launchpad: str
    fw_ids: list[int] = field(default_factory=list)
    queue_scripts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # submit refuses the plan; dry runs show
    flow: Any = None  # the jobflow Flow the workflow was made from (dry runs write its inputs)

    @property
    def workflow_id(self) -> int | None:
        """FireWorks id of the first Firework (FireWorks names a workflow by any of its ids)."""
        return min(self.fw_ids) if self.fw_ids else None


def plan_submission(
    study: Study,
    settings: IonflowSettings,
    cluster: ClusterConfig,
    run_id: str | None = None,
    only: Sequence[str] | None = None,
) -> SubmitPlan:
    """Build the FireWorks workflow of a study without touching the launchpad.

    Parameters
    ----------
    study
        The loaded study (any file in ``configs/``; ``--quick`` applied or not).
    settings
        ionflow settings (work dir, store).
    cluster
        Cluster config (FireWorker category, queue script).
    run_id
        Run id (default: a new one).
    only
        Submit only these sections (``defects``, ``neb``, ``md``, ``window``).

    Returns
    -------
    SubmitPlan
        The workflow with its metadata, job list and queue script.
    """
    built = build_study(study, settings, run_id=run_id, only=only)
    meta_dict = built.meta.model_dump(mode="json")
    flow = built.flow
    cells = []
    for plan in built.systems:
        neb = study.system(plan.key).study.neb if "neb" in plan.sections else None
        cells.append((plan.key, plan.n_atoms, neb.n_images if neb is not None else None))
    warnings, errors = check_resources(cluster, built.meta.engine, cells)
    kinds = assign_resources(flow, cluster)
    wf = flow_to_workflow(flow, store=None, name=f"{built.meta.study} {built.meta.run_id}")
    use_ionflow_firetask(wf, store_location(settings))
    systems = [
        {
            "key": plan.key,
            "study": plan.name,
            "sections": plan.sections,
            "host_formula": plan.host_formula,
            "cell_formula": plan.cell_formula,
            "n_atoms": plan.n_atoms,
            "defect_labels": list(plan.meta.defect_labels),
        }
        for plan in built.systems
    ]
    temperatures = sorted({t for plan in built.systems for t in plan.meta.temperatures_K})
    first_cell = next((s for s in systems if s["n_atoms"] is not None), systems[0])
    metadata = {
        **meta_dict,
        "defect_labels": sorted({label for s in systems for label in s["defect_labels"]}),
        "temperatures_K": temperatures,
        "cell_formula": first_cell["cell_formula"],
        "n_atoms": first_cell["n_atoms"],
        "system_cells": systems,
        "cluster": cluster.name,
        "store": describe_store(get_store_config(settings), settings.work_dir),
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    wf.metadata = {**(wf.metadata or {}), "ionflow": metadata}
    tag = {k: metadata[k] for k in ("study", "run_id", "host_formula", "engine")}
    tag |= {
        "defect_labels": metadata["defect_labels"],
        "temperatures_K": metadata["temperatures_K"],
    }
    names = {fw.fw_id: fw.name for fw in wf.fws}
    jobs = []
    for fw in wf.fws:
        fw.spec["_ionflow"] = tag
        if cluster.fworker.category:
            fw.spec.setdefault("_category", cluster.fworker.category)
        parents = sorted(names[p] for p in wf.links.parent_links.get(fw.fw_id, []))
        uuid = fw.tasks[0]["job"].uuid
        row = {"name": fw.name, "uuid": uuid, "parents": parents}
        if kinds:
            row["kind"] = kinds[uuid]
            row["resources"] = fw.spec["_queueadapter"]
        jobs.append(row)
    launch_dir = Path(cluster.queue.launch_dir.replace("{work_dir}", str(settings.work_dir)))
    script = render_queue_script(cluster, settings, launch_dir / "launcher_<timestamp>")
    scripts = {
        kind: render_queue_script(cluster, settings, launch_dir / "launcher_<timestamp>", kind=kind)
        for kind in sorted(set(kinds.values()))
    }
    return SubmitPlan(
        workflow=wf,
        metadata=metadata,
        jobs=jobs,
        queue_script=script,
        launchpad=describe_launchpad(cluster.launchpad, settings.work_dir),
        queue_scripts=scripts,
        warnings=warnings,
        errors=errors,
        flow=flow,
    )


def _active_runs_of_study(lp: Any, study: str) -> list[tuple[int, str, str]]:
    out = []
    for wf in lp.workflows.find(
        {"metadata.ionflow.study": study, "state": {"$nin": list(FINAL_WF_STATES)}},
        {"nodes": 1, "state": 1, "metadata.ionflow.run_id": 1},
    ):
        out.append((min(wf["nodes"]), wf["state"], wf["metadata"]["ionflow"]["run_id"]))
    return out


def submit_plan(
    plan: SubmitPlan,
    cluster: ClusterConfig,
    settings: IonflowSettings,
    allow_duplicate: bool = False,
) -> SubmitPlan:
    """Add the planned workflow to the launchpad (created if it does not exist yet).

    Raises
    ------
    ConfigError
        When the plan has errors (resources the jobs cannot run with), or a run of the
        same study is still active and ``allow_duplicate`` is False.
    """
    if plan.errors:
        raise ConfigError("; ".join(plan.errors))
    study = plan.metadata["study"]
    with launchpad_session(cluster.launchpad, settings.work_dir, create=True) as lp:
        active = _active_runs_of_study(lp, study)
        if active and not allow_duplicate:
            wf_id, state, run_id = active[0]
            raise ConfigError(
                f"study {study!r} already has an active run {run_id} (workflow {wf_id}, {state}); "
                "wait for it, `ionflow rerun` it, or pass --allow-duplicate"
            )
        id_map = lp.add_wf(plan.workflow)
    plan.fw_ids = sorted(int(v) for v in id_map.values())
    return plan


def submit_flow(
    flow: Any,
    cluster: ClusterConfig,
    settings: IonflowSettings,
    metadata: dict[str, Any] | None = None,
) -> list[int]:
    """Add any jobflow Flow (or Job) to the launchpad, e.g. a :mod:`~ionflow.hpc.probe`.

    Parameters
    ----------
    flow
        The flow or job.
    cluster
        Cluster config.
    settings
        ionflow settings.
    metadata
        Stored on the workflow under ``ionflow`` and on each Firework as ``spec._ionflow``.

    Returns
    -------
    list of int
        The Firework ids.
    """
    meta = dict(metadata or {})
    flow.update_metadata({"ionflow": meta})
    assign_resources(flow, cluster)
    wf = flow_to_workflow(flow, store=None)
    use_ionflow_firetask(wf, store_location(settings))
    wf.metadata = {**(wf.metadata or {}), "ionflow": meta}
    for fw in wf.fws:
        fw.spec["_ionflow"] = meta
        if cluster.fworker.category:
            fw.spec.setdefault("_category", cluster.fworker.category)
    with launchpad_session(cluster.launchpad, settings.work_dir, create=True) as lp:
        id_map = lp.add_wf(wf)
    return sorted(int(v) for v in id_map.values())


@dataclass
class LaunchResult:
    """Queue jobs sent by one :func:`launch_jobs` call."""

    job_ids: list[str]
    launch_dirs: list[Path]
    ready: int
    pending: int  # queue jobs queued or starting, not yet running a Firework
    kinds: list[str | None] = field(default_factory=list)  # job kind of each queue job


def _ready_count(lp: Any, cluster: ClusterConfig, kind: str | None = None) -> int:
    from fireworks import FWorker

    cfg = cluster.fworker
    category = kind or cfg.category or ""
    worker = FWorker(name=cfg.name, category=category, query=dict(cfg.query))
    return lp.fireworks.count_documents({**worker.query, "state": "READY"})


def launch_jobs(
    cluster: ClusterConfig,
    settings: IonflowSettings,
    max_jobs: int = 1,
    max_fws_per_job: int = 1,
) -> LaunchResult:
    """Send rockets to the queue for READY Fireworks not already covered by pending jobs.

    With ``resources`` in the cluster file, each job kind with READY Fireworks gets its
    own queue jobs (sized for that kind, running only that kind), up to ``max_jobs`` each.

    Parameters
    ----------
    cluster
        Cluster config.
    settings
        ionflow settings.
    max_jobs
        Most queue jobs to submit now (per job kind).
    max_fws_per_job
        Fireworks each queue job runs (0: until none is ready).

    Returns
    -------
    LaunchResult
        Job ids and launcher folders submitted, READY and PENDING counts seen.
    """
    kinds: list[str | None] = list(cluster.categories()) or [None]
    # one session (the file lock held): no rocket checks a Firework out between counting
    # the READY ones and the queue jobs already running one
    with launchpad_session(cluster.launchpad, settings.work_dir) as lp:
        records = list(lp.db[QUEUE_RECORDS].find({"cluster": cluster.name, "open": True}))
        states = queue_job_states(cluster.queue.type, [r["queue_job_id"] for r in records])
        active = [j for j, s in states.items() if s in ACTIVE_STATES]
        closed = [j for j, s in states.items() if s not in ACTIVE_STATES]
        ready = {kind: _ready_count(lp, cluster, kind) for kind in kinds}
        busy: set[str] = set()
        for rec in lp.db[LAUNCH_RECORDS].find({"queue_job_id": {"$in": active}}):
            if lp.launches.count_documents({"launch_id": rec["launch_id"], "state": "RUNNING"}):
                busy.add(rec["queue_job_id"])
    kind_of = {r["queue_job_id"]: r.get("kind") for r in records}
    # queued or starting jobs not yet running a Firework will each take one READY Firework
    waiting = [j for j in active if j not in busy]
    submitted: list[tuple[str, Path, str | None]] = []
    for kind in kinds:
        n_waiting = sum(1 for j in waiting if kind_of.get(j) == kind)
        n_new = max(0, min(max_jobs, ready[kind] - n_waiting))
        for _ in range(n_new):
            submitted.append((*submit_script(cluster, settings, max_fws_per_job, kind), kind))
    if submitted or closed:
        now = datetime.now(UTC).isoformat()
        with launchpad_session(cluster.launchpad, settings.work_dir) as lp:
            coll = lp.db[QUEUE_RECORDS]
            for jid in closed:
                coll.update_many({"queue_job_id": jid}, {"$set": {"open": False}})
            for jid, folder, kind in submitted:
                coll.insert_one(
                    {"cluster": cluster.name, "queue_job_id": jid, "launch_dir": str(folder),
                     "submitted_at": now, "open": True, "kind": kind}
                )  # fmt: skip
    return LaunchResult(
        job_ids=[j for j, _, _ in submitted],
        launch_dirs=[d for _, d, _ in submitted],
        ready=sum(ready.values()),
        pending=len(waiting),
        kinds=[k for _, _, k in submitted],
    )


def list_fireworks(lp: Any, study: str | None = None) -> list[dict[str, Any]]:
    """Return ionflow's Fireworks on a launchpad with their job uuid, state and study tag."""
    query: dict[str, Any] = {"spec._ionflow": {"$exists": True}}
    if study:
        query["spec._ionflow.study"] = study
    rows = []
    for fw in lp.fireworks.find(query, {"fw_id": 1, "name": 1, "state": 1, "spec": 1}):
        tasks = fw.get("spec", {}).get("_tasks") or [{}]
        job = tasks[0].get("job") if isinstance(tasks[0], dict) else None
        if not isinstance(job, dict) or "uuid" not in job:
            continue
        tag = fw["spec"]["_ionflow"]
        rows.append(
            {
                "fw_id": fw["fw_id"],
                "uuid": job["uuid"],
                "name": fw.get("name"),
                "state": fw["state"],
                **{k: tag.get(k) for k in ("study", "run_id", "host_formula", "engine")},
                "defect_labels": tag.get("defect_labels", []),
            }
        )
    return rows


def list_workflows(lp: Any, study: str | None = None) -> list[dict[str, Any]]:
    """Return ionflow's workflows on a launchpad: first Firework id, state and metadata."""
    query: dict[str, Any] = {"metadata.ionflow": {"$exists": True}}
    if study:
        query["metadata.ionflow.study"] = study
    rows = []
    for wf in lp.workflows.find(query, {"nodes": 1, "state": 1, "metadata.ionflow": 1}):
        rows.append({"fw_id": min(wf["nodes"]), "state": wf["state"], **wf["metadata"]["ionflow"]})
    return rows


def workflow_progress(
    cluster: ClusterConfig, settings: IonflowSettings, fw_id: int
) -> dict[str, int]:
    """Return the number of Fireworks per state in the workflow holding ``fw_id``."""
    with launchpad_session(cluster.launchpad, settings.work_dir) as lp:
        wf = lp.workflows.find_one({"nodes": fw_id}, {"nodes": 1})
        if wf is None:
            raise ConfigError(f"no workflow holds Firework {fw_id}")
        counts: dict[str, int] = {}
        for doc in lp.fireworks.find({"fw_id": {"$in": wf["nodes"]}}, {"state": 1}):
            counts[doc["state"]] = counts.get(doc["state"], 0) + 1
    return counts


def wait_for_workflow(
    cluster: ClusterConfig,
    settings: IonflowSettings,
    fw_id: int,
    timeout_s: float,
    poll_s: float = 5.0,
    max_fws_per_job: int = 0,
    echo: Any = None,
) -> dict[str, int]:
    """Keep rockets queued until the workflow holding ``fw_id`` has no runnable Firework left."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = workflow_progress(cluster, settings, fw_id)
        active = sum(counts.get(s, 0) for s in ("READY", "RESERVED", "RUNNING", "WAITING"))
        if not active or time.monotonic() > deadline:
            return counts
        if counts.get("READY"):
            result = launch_jobs(cluster, settings, max_jobs=1, max_fws_per_job=max_fws_per_job)
            if echo and result.job_ids:
                echo(f"queued job {', '.join(result.job_ids)} ({counts})")
        time.sleep(poll_s)
