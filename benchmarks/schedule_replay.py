"""Replay a finished local run's job times through two start orders (issue 15).

Reads how long every job of a run took from its log (jobflow's "Starting job" and
"Finished job" lines), builds the same study's flow again, and simulates N workers that
start ready jobs (a) in the flow's order (ionflow before issue 15) and (b) longest
remaining path first (:mod:`ionflow.run.jobs` now: priority = the job's work estimate
plus the largest priority of its children, :func:`ionflow.makers.cost.critical_path_priorities`).
Printed: the simulated wall time of each order, the lower bound (sum of job times / N)
and the first jobs each order starts. It predicts; the run itself is the measurement
(on the idle machine).

    python benchmarks/schedule_replay.py configs/studies/li3ocl.yaml --quick \\
        --log ~/.ionflow/logs/li3ocl-<run id>.log

Replaying the quick Li3OCl run of 2026-12-03 (18 min 60 s, 2 workers; the flow's order):
1121 s simulated for the flow's order (the run's jobs took 1120 s from first start to
last end), 1049 s longest-first, lower bound 1040 s.
"""

from __future__ import annotations

import argparse
import heapq
import re
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

warnings.simplefilter("ignore")

#: a jobflow job line of an ionflow run log: time, Starting/Finished, name, uuid
JOB_LINE = re.compile(
    r"^(\S+ \S+) INFO jobflow\.core\.job: (Starting|Finished) job - (.*) \([0-9a-f-]{36}\)$"
)
#: seconds between one job's end and the next one's start on a worker (dispatch, store)
GAP_S = 0.3


def job_times(log: Path) -> dict[str, float]:
    """Return the wall seconds of every job that finished in the log, by job name."""
    started: dict[str, datetime] = {}
    took: dict[str, float] = {}
    for line in log.read_text().splitlines():
        match = JOB_LINE.match(line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        if match.group(2) == "Starting":
            started[match.group(3)] = when
        elif match.group(3) in started:
            took[match.group(3)] = (when - started[match.group(3)]).total_seconds()
    return took


def simulate(order: list, took: dict[str, float], key, workers: int) -> tuple[float, list[str]]:
    """Return the simulated wall time and the start order of a list schedule."""
    pending, ended, running, now, starts = list(order), set(), [], 0.0, []
    while pending or running:
        ready = sorted((item for item in pending if set(item[1]) <= ended), key=key)
        for job, parents in ready[: workers - len(running)]:
            pending.remove((job, parents))
            end = now + took.get(job.name, 1.0) + GAP_S
            heapq.heappush(running, (end, job.uuid))
            starts.append(job.name)
        now, uuid = heapq.heappop(running)
        ended.add(uuid)
    return now, starts


def main() -> None:
    """Replay the log and print both orders."""
    from ionflow.config.study_file import load_study
    from ionflow.makers.cost import critical_path_priorities
    from ionflow.settings import get_settings
    from ionflow.study.build import build_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--log", type=Path, required=True, help="the run's log file")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    took = job_times(args.log)
    work_dir = Path(tempfile.mkdtemp(prefix="ionflow-replay-"))
    built = build_study(load_study(args.study, quick=args.quick), get_settings(work_dir=work_dir))
    order = [(job, list(parents)) for job, parents in built.flow.iterflow()]
    in_flow = {job.uuid for job, _ in order}
    order = [(job, [p for p in parents if p in in_flow]) for job, parents in order]
    missing = [job.name for job, _ in order if job.name not in took]
    index = {job.uuid: i for i, (job, _) in enumerate(order)}
    priority = critical_path_priorities(order)
    flow_s, flow_starts = simulate(order, took, lambda it: index[it[0].uuid], args.workers)
    first_s, first_starts = simulate(
        order, took, lambda it: (-priority[it[0].uuid], index[it[0].uuid]), args.workers
    )
    print(f"{args.study.name}: {len(order)} jobs, {len(took)} timed in {args.log.name}")
    if missing:
        print(f"  no time in the log (1 s assumed): {', '.join(missing)}")
    print(f"  flow order:            {flow_s:7.0f} s")
    print(f"  longest path first:    {first_s:7.0f} s")
    print(f"  lower bound (sum / {args.workers}):  {sum(took.values()) / args.workers:7.0f} s")
    print("  first starts, flow order:    " + "; ".join(flow_starts[:6]))
    print("  first starts, longest first: " + "; ".join(first_starts[:6]))


if __name__ == "__main__":
    main()
