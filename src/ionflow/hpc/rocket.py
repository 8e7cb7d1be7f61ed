"""The rocket ionflow sends to the queue: ``python -m ionflow.hpc.rocket --cluster FILE``.

It is FireWorks' rocket with three changes:

- the launchpad is a :class:`~ionflow.hpc.launchpad.SessionLaunchPad` (one locked,
  flushed session per LaunchPad call, so checkouts and completions are on disk at once);
- jobflow's JobStore is ionflow's (``IONFLOW_*`` settings and store config exported by the
  queue script), so no store credentials are ever stored in a Firework;
- each checkout records the queue job id (``SLURM_JOB_ID``/``PBS_JOBID``), host and pid in
  the launchpad's ``ionflow_launches`` collection, which lost-run detection asks the queue about.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionflow.hpc.config import load_cluster_config
from ionflow.hpc.launchpad import SessionLaunchPad
from ionflow.settings import get_settings, job_walltime
from ionflow.stores import open_job_store

if TYPE_CHECKING:
    from fireworks import LaunchPad

    from ionflow.hpc.config import ClusterConfig

__all__ = ["LAUNCH_RECORDS", "main", "record_launch", "run_rocket"]

#: collection (in the launchpad database) linking FireWorks launches to queue jobs
LAUNCH_RECORDS = "ionflow_launches"

logger = logging.getLogger(__name__)


def queue_job_from_env() -> tuple[str | None, str | None]:
    """Return (queue type, job id) of the queue job this process runs in, if any."""
    if os.environ.get("SLURM_JOB_ID"):
        return "slurm", os.environ["SLURM_JOB_ID"]
    if os.environ.get("PBS_JOBID"):
        return "pbs", os.environ["PBS_JOBID"]
    return None, None


def record_launch(lp: LaunchPad, firework: Any, launch_id: int, cluster: str = "") -> None:
    """Record which queue job, host and process run a launch (called inside the checkout)."""
    queue_type, job_id = queue_job_from_env()
    lp.db[LAUNCH_RECORDS].insert_one(
        {
            "launch_id": int(launch_id),
            "fw_id": int(firework.fw_id),
            "cluster": cluster,
            "queue_type": queue_type,
            "queue_job_id": job_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "launch_dir": os.getcwd(),
            "started_at": datetime.now(UTC).isoformat(),
        }
    )


def configure_job_store() -> None:
    """Point jobflow's default JobStore at ionflow's store (from the exported settings)."""
    import jobflow

    jobflow.SETTINGS.JOB_STORE = open_job_store(get_settings(), create_indexes=True)


def run_rocket(
    cluster: ClusterConfig, work_dir: Path, max_fws: int = 1, category: str | None = None
) -> int:
    """Run up to ``max_fws`` Fireworks (0: until none is ready) in the current folder.

    ``category`` takes only Fireworks of that FireWorks category (a job kind of the
    cluster's ``resources``; default the FireWorker's own category).

    Returns
    -------
    int
        Number of Fireworks that ran.
    """
    from fireworks import FWorker
    from fireworks.core.rocket_launcher import launch_rocket

    fw_cfg = cluster.fworker
    fworker = FWorker(
        name=fw_cfg.name,
        category=category or fw_cfg.category or "",
        query=dict(fw_cfg.query),
        env={},
    )
    lp = SessionLaunchPad(
        cluster.launchpad,
        work_dir,
        on_checkout=lambda db, fw, lid: record_launch(db, fw, lid, cluster.name),
    )
    ran = 0
    base = Path.cwd()
    margin = get_settings().walltime_margin_s
    while max_fws == 0 or ran < max_fws:
        remaining = job_walltime()[1]
        if ran and remaining is not None and remaining < margin:
            # too little walltime left: continued MD segments go to a fresh queue job
            logger.info(
                "%.0f s of walltime left (margin %.0f s): no further Firework", remaining, margin
            )
            break
        if ran:  # each further Firework gets its own folder, as rlaunch rapidfire does
            sub = base / f"launcher_{datetime.now(UTC):%Y-%m-%d-%H-%M-%S-%f}"
            sub.mkdir()
            os.chdir(sub)
        if not launch_rocket(lp, fworker, strm_lvl="INFO"):
            if ran and not any(Path.cwd().iterdir()):
                Path.cwd().rmdir()
            break
        ran += 1
    os.chdir(base)
    return ran


def main(argv: list[str] | None = None) -> int:
    """Entry point of the queue job."""
    parser = argparse.ArgumentParser(prog="python -m ionflow.hpc.rocket")
    parser.add_argument("--cluster", required=True, help="cluster YAML")
    parser.add_argument(
        "--max-fws", type=int, default=1, help="Fireworks to run (0: until none is ready)"
    )
    parser.add_argument(
        "--category", default=None, help="only Fireworks of this category (job kind)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cluster = load_cluster_config(args.cluster)
    settings = get_settings()
    configure_job_store()
    ran = run_rocket(cluster, settings.work_dir, args.max_fws, args.category)
    logger.info("rocket finished: %d Firework(s) ran", ran)
    return 0


if __name__ == "__main__":
    sys.exit(main())
