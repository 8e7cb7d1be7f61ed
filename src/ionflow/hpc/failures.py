"""Failed work on a launchpad: FIZZLED Fireworks and lost runs, grouped by error type; reruns.

A run is *lost* when its Firework is still RUNNING but nothing runs it any more: the queue
job ionflow's rocket recorded for the launch has ended (``TIMEOUT``, ``NODE_FAIL``,
``CANCELLED``, ...), or the process recorded for a launch outside a queue is gone, or (for
launches ionflow did not start) FireWorks' heartbeat is older than the expiration time.

Errors are classified from the launch's stored traceback and, when the launch folder holds
one, custodian's ``custodian.json`` (which handlers fired, whether custodian gave up).

A rerun continues rather than repeats (:mod:`ionflow.hpc.rerun_changes`): a VASP job
starts from the failed attempt's last CONTCAR with the INCAR corrections custodian had
made, and the job's metadata keeps the history of attempts (stored with its output).

A rerun never overwrites an earlier attempt: FireWorks archives the old launches (their
folders stay where they are), ionflow records every attempt in the ``ionflow_attempts``
collection and in the Firework's ``spec._ionflow_attempts`` (folders, errors), and if the
earlier attempt had already written its output to the JobStore, the rerun writes under the
next jobflow index instead of replacing it (jobflow reads the newest index).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ionflow.hpc.queue import ACTIVE_STATES, QueueError, queue_job_states
from ionflow.hpc.rerun_changes import apply_rerun_changes, rerun_changes
from ionflow.hpc.rocket import LAUNCH_RECORDS
from ionflow.io.custodian import read_custodian_log

if TYPE_CHECKING:
    from fireworks import LaunchPad
    from jobflow import JobStore

__all__ = [
    "ATTEMPT_RECORDS",
    "FailedRun",
    "classify_exception",
    "describe_changes",
    "find_failures",
    "format_changes",
    "group_failures",
    "read_custodian_log",
    "rerun_failures",
]

logger = logging.getLogger(__name__)

#: collection (in the launchpad database) with one document per rerun attempt
ATTEMPT_RECORDS = "ionflow_attempts"
#: heartbeat age (s) after which a RUNNING launch without a queue record counts as lost
DEFAULT_EXPIRATION_S = 4 * 3600


@dataclass
class FailedRun:
    """One Firework needing attention."""

    fw_id: int
    name: str
    state: str
    error_type: str
    error: str
    launch_id: int | None = None
    launch_dir: str | None = None
    queue_job_id: str | None = None
    queue_state: str | None = None
    study: str | None = None
    run_id: str | None = None
    attempts: int = 1
    custodian: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (the new structures summarised, not dumped)."""
        row = asdict(self)
        row["changes"] = describe_changes(self.changes)
        return row


def describe_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Return the rerun changes without the structures themselves (for listings)."""
    return {k: v for k, v in changes.items() if k not in ("structure", "images")}


def format_changes(changes: dict[str, Any]) -> str:
    """One line: what the rerun changes (INCAR keys, start geometry), or 'as before'."""
    parts = []
    if changes.get("incar_set"):
        parts.append("INCAR " + ", ".join(f"{k}={v}" for k, v in changes["incar_set"].items()))
    if changes.get("incar_unset"):
        parts.append("INCAR without " + ", ".join(changes["incar_unset"]))
    if changes.get("structure_from"):
        parts.append(f"starts from the CONTCAR of {changes['structure_from']}")
    if changes.get("images_from"):
        parts.append(f"images from the CONTCARs of {changes['images_from']}")
    return "; ".join(parts) or "same inputs as before"


def classify_exception(stacktrace: str | None) -> tuple[str, str]:
    """Return (error type, one-line message) from a Python traceback's last line."""
    if not stacktrace:
        return "unknown", "no traceback stored"
    lines = [ln for ln in stacktrace.strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else ""
    exc, _, message = last.partition(":")
    if " " in exc or not exc:
        return "unknown", last[:300]
    return exc.rsplit(".", 1)[-1], message.strip()[:300]


def _custodian_summary(corrections: list[dict[str, Any]]) -> str:
    seen: dict[str, int] = {}
    for corr in corrections:
        for err in corr["errors"]:
            seen[err] = seen.get(err, 0) + 1
    return ", ".join(f"{e} x{n}" if n > 1 else e for e, n in seen.items())


def _launch_error(launch: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
    action = launch.get("action") or {}
    stored = action.get("stored_data") or {}
    trace = (stored.get("_exception") or {}).get("_stacktrace")
    error_type, message = classify_exception(trace)
    corrections = read_custodian_log(launch.get("launch_dir"))
    if corrections:
        error_type = f"custodian: {_custodian_summary(corrections)} ({error_type})"
    return error_type, message, corrections


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _heartbeat_s(launch: dict[str, Any]) -> float | None:
    for entry in reversed(launch.get("state_history", [])):
        if entry.get("state") == "RUNNING":
            stamp = entry.get("updated_on") or entry.get("created_on")
            if stamp:
                when = datetime.fromisoformat(str(stamp))
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return (datetime.now(UTC) - when).total_seconds()
    return None


def _lost_runs(
    lp: LaunchPad, fw_query: dict[str, Any], expiration_s: float
) -> list[tuple[dict, dict, str, str, str | None]]:
    """Return (firework, launch, error type, message, queue state) of each lost run."""
    fws = {d["fw_id"]: d for d in lp.fireworks.find({**fw_query, "state": "RUNNING"})}
    if not fws:
        return []
    launches = list(lp.launches.find({"fw_id": {"$in": list(fws)}, "state": "RUNNING"}))
    records = {
        r["launch_id"]: r
        for r in lp.db[LAUNCH_RECORDS].find(
            {"launch_id": {"$in": [x["launch_id"] for x in launches]}}
        )
    }
    by_queue: dict[str, list[str]] = {}
    for rec in records.values():
        if rec.get("queue_job_id"):
            by_queue.setdefault(rec["queue_type"], []).append(str(rec["queue_job_id"]))
    states: dict[str, str] = {}
    for queue_type, ids in by_queue.items():
        try:
            states |= queue_job_states(queue_type, ids)
        except QueueError as exc:  # e.g. asked from a laptop: fall back to heartbeats
            logger.warning("%s; judging those runs by their heartbeat instead", exc)
    lost = []
    here = socket.gethostname()
    for launch in launches:
        rec = records.get(launch["launch_id"])
        fw = fws[launch["fw_id"]]
        if rec and rec.get("queue_job_id") and str(rec["queue_job_id"]) in states:
            qstate = states.get(str(rec["queue_job_id"]), "UNKNOWN")
            if qstate not in ACTIVE_STATES:
                msg = f"queue job {rec['queue_job_id']} ended ({qstate}) while the Firework ran"
                lost.append((fw, launch, f"lost: queue {qstate}", msg, qstate))
        elif rec and rec.get("host") == here and not _pid_alive(int(rec.get("pid", 0))):
            msg = f"rocket process {rec['pid']} on {here} is gone"
            lost.append((fw, launch, "lost: process gone", msg, None))
        else:
            age = _heartbeat_s(launch)
            if age is not None and age > expiration_s:
                msg = f"no heartbeat for {age:.0f} s (limit {expiration_s:g} s)"
                lost.append((fw, launch, "lost: no heartbeat", msg, None))
    return lost


def find_failures(
    lp: LaunchPad,
    states: tuple[str, ...] = ("FIZZLED", "LOST"),
    study: str | None = None,
    fw_ids: list[int] | None = None,
    expiration_s: float = DEFAULT_EXPIRATION_S,
) -> list[FailedRun]:
    """Return FIZZLED Fireworks and lost runs on a launchpad.

    Parameters
    ----------
    lp
        An open LaunchPad (inside :func:`~ionflow.hpc.launchpad.launchpad_session`).
    states
        ``"FIZZLED"`` and/or ``"LOST"``.
    study
        Only Fireworks of this ionflow study.
    fw_ids
        Only these Fireworks.
    expiration_s
        Heartbeat age after which a RUNNING launch without a queue record is lost (s).

    Returns
    -------
    list of FailedRun
        Sorted by Firework id.
    """
    query: dict[str, Any] = {}
    if study:
        query["spec._ionflow.study"] = study
    if fw_ids:
        query["fw_id"] = {"$in": [int(i) for i in fw_ids]}
    out: list[FailedRun] = []
    attempts = {
        d["_id"]: d["n"]
        for d in lp.db[ATTEMPT_RECORDS].aggregate([{"$group": {"_id": "$fw_id", "n": {"$sum": 1}}}])
    }
    if "FIZZLED" in states:
        for fw in lp.fireworks.find({**query, "state": "FIZZLED"}):
            launch = (
                lp.launches.find_one({"launch_id": fw["launches"][-1]}) if fw["launches"] else {}
            )
            error_type, message, corrections = _launch_error(launch or {})
            out.append(_failed(fw, launch or {}, "FIZZLED", error_type, message, attempts))
            out[-1].custodian = corrections
            out[-1].changes = rerun_changes(fw, (launch or {}).get("launch_dir"))
    if "LOST" in states:
        for fw, launch, error_type, message, qstate in _lost_runs(lp, query, expiration_s):
            run = _failed(fw, launch, "LOST", error_type, message, attempts)
            rec = lp.db[LAUNCH_RECORDS].find_one({"launch_id": launch["launch_id"]}) or {}
            run.queue_job_id, run.queue_state = rec.get("queue_job_id"), qstate
            run.changes = rerun_changes(fw, launch.get("launch_dir"))
            out.append(run)
    return sorted(out, key=lambda r: r.fw_id)


def _failed(
    fw: dict, launch: dict, state: str, error_type: str, message: str, attempts: dict[int, int]
) -> FailedRun:
    tag = fw.get("spec", {}).get("_ionflow", {})
    return FailedRun(
        fw_id=fw["fw_id"],
        name=fw.get("name", ""),
        state=state,
        error_type=error_type,
        error=message,
        launch_id=launch.get("launch_id"),
        launch_dir=launch.get("launch_dir"),
        study=tag.get("study"),
        run_id=tag.get("run_id"),
        attempts=attempts.get(fw["fw_id"], 0) + 1,
    )


def group_failures(failures: list[FailedRun]) -> dict[str, list[FailedRun]]:
    """Group failures by error type, most frequent first."""
    groups: dict[str, list[FailedRun]] = {}
    for run in failures:
        groups.setdefault(run.error_type, []).append(run)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def _keep_earlier_output(lp: LaunchPad, fw_id: int, store: JobStore | None) -> int | None:
    """If the earlier attempt stored an output, make the rerun write the next index."""
    if store is None:
        return None
    doc = lp.fireworks.find_one({"fw_id": fw_id}, {"spec._tasks": 1})
    tasks = doc.get("spec", {}).get("_tasks", []) if doc else []
    job = tasks[0].get("job") if tasks and isinstance(tasks[0], dict) else None
    if not isinstance(job, dict) or "uuid" not in job:
        return None
    stored = [d["index"] for d in store.docs_store.query({"uuid": job["uuid"]}, ["index"])]
    if not stored:
        return None
    new_index = max(stored) + 1
    lp.fireworks.update_one({"fw_id": fw_id}, {"$set": {"spec._tasks.0.job.index": new_index}})
    return new_index


def rerun_failures(
    lp: LaunchPad, failures: list[FailedRun], store: JobStore | None = None
) -> list[dict[str, Any]]:
    """Set failed or lost Fireworks back to READY, keeping every earlier attempt.

    Parameters
    ----------
    lp
        An open LaunchPad.
    failures
        Runs to rerun (from :func:`find_failures`).
    store
        Connected JobStore; when given, an output an earlier attempt stored is kept and the
        rerun writes the next jobflow index.

    Returns
    -------
    list of dict
        One attempt record per rerun Firework.
    """
    records = []
    now = datetime.now(UTC).isoformat()
    for run in failures:
        if run.state == "LOST" and run.launch_id is not None:
            lp.mark_fizzled(run.launch_id)  # the launch keeps its state history
        kept_index = _keep_earlier_output(lp, run.fw_id, store)
        record = {
            "fw_id": run.fw_id,
            "attempt": run.attempts,
            "launch_id": run.launch_id,
            "launch_dir": run.launch_dir,
            "state": run.state,
            "error_type": run.error_type,
            "error": run.error,
            "queue_job_id": run.queue_job_id,
            "output_index_after_rerun": kept_index,
            "rerun_at": now,
            "rerun_by": f"{os.environ.get('USER', '?')}@{socket.gethostname()}",
            "changes": describe_changes(run.changes),
        }
        lp.db[ATTEMPT_RECORDS].insert_one(dict(record))
        history = {k: record[k] for k in ("attempt", "launch_dir", "error_type", "rerun_at")}
        apply_rerun_changes(lp, run.fw_id, run.changes, {**history, **record["changes"]})
        history = lp.fireworks.find_one({"fw_id": run.fw_id}, {"spec._ionflow_attempts": 1})
        previous = (history or {}).get("spec", {}).get("_ionflow_attempts", [])
        link = {k: record[k] for k in ("attempt", "launch_id", "launch_dir", "error_type")}
        lp.update_spec([run.fw_id], {"_ionflow_attempts": [*previous, link]})
        lp.rerun_fw(run.fw_id)
        records.append(record)
    return records
