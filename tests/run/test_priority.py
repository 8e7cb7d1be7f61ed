"""Longest-remaining-work first (ionflow.makers.cost, ionflow.run.jobs._Scheduler).

The work estimates of the heavy jobs, the priorities they give (hand-computed), the order
in which the scheduler starts ready jobs (a recording pool, then real worker processes),
and the hint's way through JSON and into a Firework spec.
"""

from __future__ import annotations

import json
import math

import pytest
from jobflow import Flow
from jobflow.managers.fireworks import flow_to_workflow
from monty.json import MontyDecoder, MontyEncoder

from ionflow.config import load_system
from ionflow.config.study_file import Study
from ionflow.makers.cost import COST_KEY, critical_path_priorities, job_cost, set_cost
from ionflow.run.jobs import _Scheduler, execute
from ionflow.settings import get_settings
from ionflow.study.build import build_study
from ionflow.testing.flow_jobs import add, fail, stamp, stop_below


def _costed(job, work):
    set_cost(job, 1, work)
    return job


def test_priority_is_own_cost_plus_the_longest_path_below():
    # a -> b -> d, a -> c; e alone; costs 2, 3, 4, 10, 1
    a = _costed(stamp(1), 2)
    b = _costed(add(a.output["value"], 1), 3)
    c = _costed(add(a.output["value"], 2), 4)
    d = _costed(add(b.output, 1), 10)
    e = _costed(stamp(5), 1)
    flow = Flow([a, b, c, d, e])
    priority = critical_path_priorities(flow.iterflow())
    assert priority[d.uuid] == 10
    assert priority[b.uuid] == 3 + 10
    assert priority[c.uuid] == 4
    assert priority[a.uuid] == 2 + max(13, 4)  # the path through b and d
    assert priority[e.uuid] == 1
    # a parent outside the list is ignored (a resumed run's finished jobs)
    assert critical_path_priorities([(d, [b.uuid])]) == {d.uuid: 10}


def test_set_cost_and_job_cost():
    job = stamp(1)
    assert job_cost(job) == 0  # no hint
    set_cost(job, 41, 1000)
    assert job.metadata[COST_KEY] == 41_000
    # a flow of two jobs shares the estimate, so the chain still adds up to it
    first = stamp(2)
    second = add(first.output["value"], 1)
    set_cost(Flow([first, second]), 10, 3)
    assert job_cost(first) == job_cost(second) == 15
    for bad in ("many", -5, math.nan, math.inf, True, None):
        job.metadata[COST_KEY] = bad
        assert job_cost(job) == 0


def test_the_hint_survives_json_and_reaches_the_firework_spec():
    job = stamp(3)
    set_cost(job, 38, 50)
    back = json.loads(json.dumps(job, cls=MontyEncoder), cls=MontyDecoder)
    assert job_cost(back) == 38 * 50  # as a worker process gets it
    wf = flow_to_workflow(Flow([job]), store=None)
    assert wf.fws[0].spec[COST_KEY] == 38 * 50  # jobflow copies metadata into the spec


class _RecordingPool:
    """Stands in for the process pool: records what is submitted, runs nothing."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def submit(self, _function, doc, _root):
        name = json.loads(doc)["name"]
        self.started.append(name)
        return name  # the "future"


def _scheduler(jobs: list, workers: int = 2) -> tuple[_Scheduler, list]:
    flow = Flow(jobs)
    pending = [(job, list(parents)) for job, parents in flow.iterflow()]
    scheduler = _Scheduler(flow, None, None, workers, False)  # type: ignore[arg-type]
    scheduler.priority = critical_path_priorities(pending)
    return scheduler, pending


def _named(job, name: str, work: float | None = None):
    job.name = name
    if work is not None:
        set_cost(job, 1, work)
    return job


def test_ready_jobs_start_highest_priority_first():
    short = [_named(stamp(i), f"short {i}", 10) for i in range(3)]
    parent = _named(stamp(9), "parent")  # no hint of its own: its child's work is below it
    long = _named(stamp(parent.output["value"]), "long", 1000)
    alone = _named(stamp(7), "alone", 500)
    scheduler, pending = _scheduler([*short, parent, long, alone])
    flow_order = [job.name for job, _ in pending if job.name.startswith("short")]
    pool, running = _RecordingPool(), {}
    assert scheduler._dispatch(pool, pending, running)
    # 1000 (the parent, its long child below it) and 500 before 10, 10, 10
    assert pool.started == ["parent", "alone"]
    scheduler._dispatch(pool, pending, running)
    assert pool.started == ["parent", "alone"]  # both workers busy: nothing more starts
    running.pop("parent")
    scheduler.ended[parent.uuid] = "ok"
    scheduler._dispatch(pool, pending, running)
    assert pool.started == ["parent", "alone", "long"]
    running.clear()
    scheduler.ended[alone.uuid] = scheduler.ended[long.uuid] = "ok"
    scheduler._dispatch(pool, pending, running)
    assert pool.started[3:] == flow_order[:2]  # equal priorities: the flow's order


def test_without_hints_the_order_is_the_flows():
    jobs = [_named(stamp(i), f"job {i}") for i in range(4)]
    jobs.append(_named(stamp(jobs[0].output["value"]), "child of 0"))
    scheduler, pending = _scheduler(jobs, workers=8)
    flow_order = [job.name for job, parents in pending if not parents]
    pool = _RecordingPool()
    scheduler._dispatch(pool, pending, {})
    assert sorted(pool.started) == ["job 0", "job 1", "job 2", "job 3"]
    assert pool.started == flow_order


def test_skipped_jobs_take_no_worker_and_their_children_are_skipped_at_once():
    broken = _named(fail("x"), "broken")
    child = _named(add(broken.output, 1), "child", 100)
    grandchild = _named(add(child.output, 1), "grandchild", 100)
    low = _named(stop_below(1.0, 5.0), "low")
    after_low = _named(add(low.output, 1), "after low", 100)
    other = _named(stamp(1), "other", 1)
    scheduler, pending = _scheduler([broken, child, grandchild, low, after_low, other], workers=1)
    scheduler.ended |= {broken.uuid: "errored", low.uuid: "stopped"}
    pending = [item for item in pending if item[0].uuid not in scheduler.ended]
    pool, running = _RecordingPool(), {"a busy worker": None}
    assert scheduler._dispatch(pool, pending, running)  # the one worker is busy
    assert pool.started == []
    assert scheduler.ended[child.uuid] == scheduler.ended[grandchild.uuid] == "errored"
    assert scheduler.ended[after_low.uuid] == "stopped"
    assert [job.name for job, _ in pending] == ["other"]


def test_two_workers_start_the_long_chain_before_the_short_jobs(disk_store, tmp_path):
    """In flow order the long job (last in the flow) would start after two short ones.

    Here its parent starts in the first round, the long job as soon as the parent ends,
    and the short jobs fill the other worker; the run takes about the three short jobs'
    time (4.5 s) instead of short + long (1.5 + 3 s after the first two short ones).
    """
    shorts = [_named(stamp(i, seconds=1.5), f"short {i}", 10) for i in range(3)]
    parent = _named(stamp(9, seconds=0.1), "parent")
    long = _named(stamp(parent.output["value"], seconds=3.0), "long", 300)
    responses = execute(Flow([*shorts, parent, long]), disk_store, tmp_path, workers=2)
    out = {job.name: responses[job.uuid][1].output for job in [*shorts, parent, long]}
    first, second, third = sorted((out[job.name] for job in shorts), key=lambda o: o["start"])
    assert out["long"]["value"] == 9
    assert out["parent"]["start"] < first["end"]  # first round: the parent and a short job
    assert out["parent"]["end"] <= out["long"]["start"]
    # the long job started before the second and third short job (in flow order: after)
    assert out["long"]["start"] < second["start"]
    assert out["long"]["start"] < third["start"]
    assert out["long"]["pid"] != first["pid"]


STUDY = """
name: t_cost
structure: {builtin: Li3OCl}
engine: mlip
supercell: {matrix: [2, 2, 2]}
defects: [{type: vacancy, species: [Li]}]
relax: {fmax_eV_A: 0.1, max_steps: 30}
neb: {n_images: 3, max_hops: 1, max_steps: 60}
md: {temperatures_K: [1000, 1200], equilibration_steps: 50, production_steps: 1000,
     sampling_interval: 2}
"""


@pytest.mark.filterwarnings("ignore")
def test_a_study_flow_carries_the_estimates_and_its_md_chains_come_first(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    built = build_study(Study.of_one_system(load_system(path)), get_settings())
    order = list(built.flow.iterflow())
    jobs = {job.name: job for job, _ in order}
    n = 39  # 2x2x2 Li3OCl (40 atoms) less one Li
    assert built.systems[0].n_atoms == n
    assert job_cost(jobs["relax cell"]) == n * 30
    assert job_cost(jobs["md 1000K equilibration 0"]) == n * 50
    assert job_cost(jobs["md 1200K production 1"]) == n * 1000
    band = next(name for name in jobs if name.startswith("mlip neb"))
    assert job_cost(jobs[band]) == n * 3 * 60  # images x optimiser steps
    endpoint = next(name for name in jobs if name.startswith("relax") and "initial" in name)
    assert job_cost(jobs[endpoint]) == n * 30
    for name in ("analyze 1000K", "summarize study"):
        assert job_cost(jobs[name]) == 0
    priority = critical_path_priorities(order)
    assert priority[jobs["relax cell"].uuid] == n * (30 + 50 + 1000)
    assert priority[jobs[endpoint].uuid] == n * (30 + 3 * 60)
