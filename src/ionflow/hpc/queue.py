"""Queue scripts (FireWorks CommonAdapter for Slurm and PBS), submission and job states.

The script exports what the rocket on the node needs (work dir, store config, engine
commands, scratch) and runs ``python -m ionflow.hpc.rocket --cluster <file>``. Credentials
are never written into a script: the rocket reads them from the environment or the
private secrets file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError, IonflowError
from ionflow.settings import END_EPOCH_ENV, WALLTIME_ENV

if TYPE_CHECKING:
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    from ionflow.hpc.config import ClusterConfig, QueueConfig
    from ionflow.settings import IonflowSettings

__all__ = [
    "ACTIVE_STATES",
    "QueueError",
    "build_qadapter",
    "queue_job_states",
    "render_queue_script",
    "resource_keys",
    "rocket_command",
    "submit_script",
]

#: queue states of a job that has not finished (Slurm names; PBS letters are mapped to them)
ACTIVE_STATES = frozenset(
    {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED"}
)
_PBS_STATES = {
    "Q": "PENDING",
    "H": "PENDING",
    "W": "PENDING",
    "T": "PENDING",
    "R": "RUNNING",
    "E": "COMPLETING",
    "S": "SUSPENDED",
    "F": "FINISHED",
    "X": "FINISHED",
}


class QueueError(IonflowError):
    """The queue system refused a job or cannot be asked about one."""


def rocket_command(cluster: ClusterConfig, max_fws: int = 1, kind: str | None = None) -> str:
    """Return the shell command that runs ionflow's rocket on the node.

    ``kind`` restricts the rocket to Fireworks of that job kind (its FireWorks category).
    """
    if not cluster.source:
        raise ConfigError("the cluster config has no file (load it with load_cluster_config)")
    python = cluster.queue.python or sys.executable
    cmd = f"{shlex.quote(python)} -m ionflow.hpc.rocket --cluster {shlex.quote(cluster.source)}"
    if max_fws != 1:
        cmd += f" --max-fws {int(max_fws)}"
    if kind:
        cmd += f" --category {shlex.quote(kind)}"
    return cmd


def _exports(
    cluster: ClusterConfig, settings: IonflowSettings, queue: QueueConfig
) -> dict[str, str]:
    out = {"IONFLOW_WORK_DIR": str(settings.work_dir)}
    if settings.store_config:
        out["IONFLOW_STORE_CONFIG"] = str(Path(settings.store_config).resolve())
    if os.environ.get("IONFLOW_CONFIG_FILE"):
        out["IONFLOW_CONFIG_FILE"] = os.environ["IONFLOW_CONFIG_FILE"]
    if queue.cpus_per_task:
        out["OMP_NUM_THREADS"] = str(queue.cpus_per_task)
    # the job's walltime and when it ends: custodian's WalltimeHandler, CP2K's
    # GLOBAL/WALLTIME and the MD segment sizing read them (ionflow.settings.job_walltime)
    out[WALLTIME_ENV] = str(queue.walltime_s)
    out[END_EPOCH_ENV] = f"$(( $(date +%s) + {queue.walltime_s} ))"
    return out | cluster.fworker.exports()


def resource_keys(queue: QueueConfig) -> dict[str, Any]:
    """Return the FireWorks CommonAdapter resource keys of a queue section (no None values)."""
    keys: dict[str, Any] = {"walltime": queue.walltime}
    if queue.type == "slurm":
        keys |= {
            "nodes": queue.nodes,
            "ntasks": queue.ntasks,
            "ntasks_per_node": queue.ntasks_per_node,
            "cpus_per_task": queue.cpus_per_task,
            "mem": queue.mem,
            "qos": queue.qos,
            "constraint": queue.constraint,
            "gres": queue.gres,
        }
    else:
        per_node = queue.ntasks_per_node or (queue.ntasks // queue.nodes if queue.ntasks else 1)
        threads = queue.cpus_per_task or 1
        if queue.pbs_style == "select":
            keys |= {
                "select_nodes": queue.nodes,
                "mpiprocs": per_node,
                "ncpus": per_node * threads,
            }
        else:
            keys |= {"torque_nodes": queue.nodes, "ppn": per_node * threads}
        keys["mem"] = queue.mem
    return {k: v for k, v in keys.items() if v is not None}


def _export_line(key: str, value: str) -> str:
    # $VARS in values (e.g. scratch_dir: /scratch/$USER) expand on the node
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'
    return f"export {key}={quoted}"


def build_qadapter(
    cluster: ClusterConfig, settings: IonflowSettings, max_fws: int = 1, kind: str | None = None
) -> CommonAdapter:
    """Return the FireWorks queue adapter for a cluster's queue section.

    Parameters
    ----------
    cluster
        The cluster config.
    settings
        ionflow settings (work dir and store config are exported to the job).
    max_fws
        Fireworks one queue job runs before it exits (0: until none is ready).
    kind
        Job kind (``resources:`` of the cluster): its queue keys and FireWorks category.

    Returns
    -------
    CommonAdapter
        The adapter (Slurm: FireWorks' template; PBS: ionflow's template).
    """
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    q = cluster.queue_for(kind)
    pre = [f"module load {m}" for m in q.modules] + list(q.pre_commands)
    pre += [_export_line(k, v) for k, v in _exports(cluster, settings, q).items()]
    if cluster.fworker.scratch_dir:
        pre.append('mkdir -p "$IONFLOW_SCRATCH_DIR"')
    keys: dict[str, Any] = {
        "job_name": f"{q.job_name}-{kind}" if kind else q.job_name,
        "queue": q.queue,
        "account": q.account,
        "pre_rocket": "\n".join(pre),
        "rocket_launch": rocket_command(cluster, max_fws, kind),
        "post_rocket": "\n".join(q.post_commands) or None,
        **resource_keys(q),
    }
    if q.type == "slurm":
        template = None
        q_type = "SLURM"
    else:
        template = str(resources.files("ionflow.hpc") / "templates" / "PBS_ionflow.txt")
        q_type = "PBS"
    keys |= q.extra
    keys = {k: v for k, v in keys.items() if v is not None}
    return CommonAdapter(q_type, q_name=cluster.name, template_file=template, **keys)


def render_queue_script(
    cluster: ClusterConfig,
    settings: IonflowSettings,
    launch_dir: Path,
    max_fws: int = 1,
    kind: str | None = None,
) -> str:
    """Return the queue script text for one job (of job ``kind``) launched in ``launch_dir``."""
    import warnings

    adapter = build_qadapter(cluster, settings, max_fws, kind)
    with warnings.catch_warnings():
        # CommonAdapter warns about keys its template lacks; ours are chosen per template
        warnings.simplefilter("ignore")
        script = adapter.get_script_str(str(launch_dir))
    return script


def _submit_cmd(queue_type: str) -> str:
    return "sbatch" if queue_type == "slurm" else "qsub"


def submit_script(
    cluster: ClusterConfig, settings: IonflowSettings, max_fws: int = 1, kind: str | None = None
) -> tuple[str, Path]:
    """Write a queue script in a new ``launcher_*`` folder and submit it.

    ``kind`` sends a job sized for that job kind whose rocket runs only that kind.

    Returns
    -------
    tuple
        The queue job id and the launcher folder.
    """
    base = Path(cluster.queue.launch_dir.replace("{work_dir}", str(settings.work_dir)))
    base = Path(os.path.expandvars(str(base))).expanduser()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S-%f")
    launch_dir = base / f"launcher_{stamp}"
    launch_dir.mkdir(parents=True, exist_ok=False)
    script = launch_dir / "FW_submit.script"
    script.write_text(render_queue_script(cluster, settings, launch_dir, max_fws, kind))
    cmd = _submit_cmd(cluster.queue.type)
    if shutil.which(cmd) is None:
        raise QueueError(f"{cmd} is not available on this machine; submit from a login node")
    proc = subprocess.run(
        [cmd, script.name], cwd=launch_dir, capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise QueueError(
            f"{cmd} refused the job ({proc.stderr.strip() or proc.stdout.strip()}); "
            f"script: {script}"
        )
    pattern = r"Submitted batch job\s+(\d+)" if cmd == "sbatch" else r"^(\d+[\w.\-]*)"
    match = re.search(pattern, proc.stdout.strip())
    if not match:
        raise QueueError(f"cannot read the job id from {cmd} output {proc.stdout.strip()!r}")
    return match.group(1), launch_dir


def _slurm_states(job_ids: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    proc = subprocess.run(
        ["squeue", "-h", "-o", "%i %T", "-j", ",".join(job_ids)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if proc.returncode == 0:
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2:
                states[parts[0]] = parts[1]
    for jid in job_ids:
        if jid in states and states[jid] in ACTIVE_STATES:
            continue
        info = subprocess.run(
            ["scontrol", "show", "job", jid],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        match = re.search(r"JobState=(\S+)", info.stdout)
        if match:
            states[jid] = match.group(1)
            continue
        # scontrol forgets jobs after MinJobAge; the jobcomp file (sacct -c) or accounting remembers
        for args in (["sacct", "-c"], ["sacct"]):
            acct = subprocess.run(
                [*args, "-n", "-X", "-P", "-j", jid, "-o", "jobid,state"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            rows = [r.split("|") for r in acct.stdout.splitlines() if r.startswith(jid)]
            if acct.returncode == 0 and rows:
                states[jid] = rows[-1][1].split()[0]
                break
        else:
            states.setdefault(jid, "UNKNOWN")
    return states


def parse_pbs_qstat(text: str) -> dict[str, str]:
    """Parse ``qstat -x -f`` output into job id → state (Slurm-style names)."""
    states: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"^Job Id:\s*(\S+)", line)
        if head:
            current = head.group(1).split(".")[0]
            continue
        field = re.match(r"^\s+job_state = (\S+)", line)
        if field and current:
            states[current] = _PBS_STATES.get(field.group(1), field.group(1))
        exit_status = re.match(r"^\s+Exit_status = (-?\d+)", line)
        if exit_status and current and states.get(current) == "FINISHED":
            code = int(exit_status.group(1))
            # PBS Pro: -11 walltime exceeded (JOB_EXEC_KILL_WALLTIME), 271 = killed by signal 15
            states[current] = {0: "COMPLETED", -11: "TIMEOUT", 271: "CANCELLED"}.get(code, "FAILED")
    return states


def queue_job_states(queue_type: str, job_ids: list[str]) -> dict[str, str]:
    """Return the state of each queue job (``UNKNOWN`` when the queue has forgotten it).

    Parameters
    ----------
    queue_type
        ``"slurm"`` or ``"pbs"``.
    job_ids
        Queue job ids.

    Returns
    -------
    dict
        Job id → state, Slurm names (``PENDING``, ``RUNNING``, ``COMPLETED``, ``TIMEOUT``,
        ``CANCELLED``, ``FAILED``, ``NODE_FAIL``, ...).
    """
    job_ids = [str(j) for j in job_ids if j]
    if not job_ids:
        return {}
    tool = "squeue" if queue_type == "slurm" else "qstat"
    if shutil.which(tool) is None:
        raise QueueError(f"{tool} is not available on this machine; run this on the cluster")
    if queue_type == "slurm":
        return _slurm_states(job_ids)
    proc = subprocess.run(
        ["qstat", "-x", "-f", *job_ids], capture_output=True, text=True, timeout=60, check=False
    )
    states = parse_pbs_qstat(proc.stdout)
    return {j: states.get(j.split(".")[0], "UNKNOWN") for j in job_ids}
