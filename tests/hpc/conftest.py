"""Fixtures for the HPC tests: the local Slurm cluster, cluster configs, waiting on jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("IONFLOW_SHARED_DIR", REPO.parent / "shared"))
SLURM_START = SHARED / "tools" / "slurm-local" / "start"
FAKE_VASP = Path(__file__).with_name("fake_vasp.py")
#: environment variables that make `nproc` print fewer CPUs than the machine has
NPROC_LIMITS = ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT")


def _slurm_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(
        ["sinfo", "-h", "-n", "localhost", "-o", "%T"], capture_output=True, text=True, timeout=30
    )
    return proc.returncode == 0 and proc.stdout.strip().startswith(
        ("idle", "mixed", "allocated", "completing")
    )


@pytest.fixture(scope="session")
def slurm() -> None:
    """The one-node Slurm cluster from shared/tools/slurm-local, started if not up.

    Fails (never skips) when the cluster cannot be started and ``CI`` is set.
    """
    if _slurm_answers():
        return
    problem = None
    if not SLURM_START.is_file():
        problem = f"{SLURM_START} not found (set IONFLOW_SHARED_DIR)"
    else:
        # the start script sizes the node with `nproc`, which honours OMP_NUM_THREADS:
        # a shell that limits threads would get a one-CPU node (one queue job at a time)
        env = {k: v for k, v in os.environ.items() if k not in NPROC_LIMITS}
        proc = subprocess.run(
            ["bash", str(SLURM_START)], capture_output=True, text=True, timeout=180, env=env
        )
        if proc.returncode != 0 or not _slurm_answers():
            problem = f"slurm-local/start failed: {proc.stdout.strip()} {proc.stderr.strip()}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def write_cluster(
    tmp_path: Path,
    name: str = "testlocal",
    walltime: str = "00:10:00",
    fworker: dict | None = None,
    resources: dict | None = None,
    **queue: object,
) -> Path:
    """Write a local cluster file (mongomock launchpad in the work dir, Slurm queue).

    ``fworker`` keys go over the test FireWorker's; ``resources`` sizes job kinds.
    """
    cfg: dict = {
        "name": name,
        "launchpad": {
            "type": "mongomock_file",
            "path": "{work_dir}/launchpad/launchpad.json",
            "lock_timeout_s": 120,
        },
        "fworker": {"name": "pytest", "env": {"OMP_NUM_THREADS": "1"}, **(fworker or {})},
        "queue": {
            "type": "slurm",
            "partition": "debug",
            "nodes": 1,
            "ntasks": 1,
            "cpus_per_task": 1,
            "walltime": walltime,
            "job_name": f"ionflow-{name}",
            "launch_dir": "{work_dir}/queue",
            **queue,
        },
    }
    if resources:
        cfg["resources"] = resources
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_cli(capsys, *args: str) -> str:
    """Run ``ionflow ARGS`` in-process; assert exit 0 and return its stdout."""
    from ionflow.cli.main import main

    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def wait_for_jobs(job_ids: list[str], timeout_s: float) -> dict[str, str]:
    """Wait until none of the Slurm jobs is pending or running; return their end states."""
    from ionflow.hpc.queue import ACTIVE_STATES, queue_job_states

    deadline = time.monotonic() + timeout_s
    while True:
        states = queue_job_states("slurm", job_ids)
        if not any(s in ACTIVE_STATES for s in states.values()):
            return states
        if time.monotonic() > deadline:
            subprocess.run(["scancel", *job_ids], check=False)
            pytest.fail(f"Slurm jobs {job_ids} still {states} after {timeout_s:g} s")
        time.sleep(1.0)


def job_output(launch_dir: Path) -> str:
    """Concatenate the Slurm stdout/stderr files of a launcher folder (for failure messages)."""
    parts = []
    for f in sorted(launch_dir.glob("*-*.out")) + sorted(launch_dir.glob("*-*.error")):
        parts.append(f"--- {f.name}\n{f.read_text()[-3000:]}")
    return "\n".join(parts)
