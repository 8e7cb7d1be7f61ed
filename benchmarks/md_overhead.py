"""Overhead of ionflow's chained MD flow against a bare CHGNet + ASE loop (issues 7, 15).

Same cell, same number of steps, same thermostat (ASE Nose-Hoover chain), same frames
kept (positions and velocities every ``--interval`` steps). The bare loop uses CHGNet's
calculator as shipped (energy, forces, stress and magmoms at every step); ionflow's MD
asks CHGNet for energy and forces only (``ionflow.engines.mlip.calculators``), so its
cost per step can be below the bare loop's: the overhead printed is then negative. The
ionflow side runs the whole flow through jobflow's ``run_locally``: segment jobs,
checkpoints, trajectories to the store's data collection, restart hand-over. Times are
process CPU times (robust on a shared machine) and wall times; runs alternate and the
best of ``--repeats`` is kept.

Part 2 (``--memory``) shows that a run is ingested per segment: the peak memory of a
segment job (Lennard-Jones engine, on-disk montydb store) at a fixed segment length does
not change when the run gets 4x longer.

    python benchmarks/md_overhead.py --steps 120 --segments 3 --repeats 2
    python benchmarks/md_overhead.py --memory
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.simplefilter("ignore")

TEMPERATURE_K = 900.0
TIME_STEP_FS = 2.0
TDAMP_FS = 25.0


def cell(size: int):
    """Li3OCl size^3 supercell with one Li removed."""
    from ionflow.testing.md import li3ocl_vacancy_cell

    return li3ocl_vacancy_cell(size)


def bare_loop(structure, steps: int, interval: int) -> dict:
    """CHGNet + ASE Nose-Hoover chain, frames kept in lists: the hand-written script."""
    import numpy as np
    from ase import units
    from ase.md.nose_hoover_chain import NoseHooverChainNVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from chgnet.model.dynamics import CHGNetCalculator

    t_cpu, t_wall = time.process_time(), time.perf_counter()
    atoms = structure.to_ase_atoms()
    atoms.calc = CHGNetCalculator(use_device="cpu")
    MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=np.random.default_rng(42))
    Stationary(atoms)
    dyn = NoseHooverChainNVT(
        atoms, TIME_STEP_FS * units.fs, temperature_K=TEMPERATURE_K, tdamp=TDAMP_FS * units.fs
    )
    frames: list = []
    dyn.attach(
        lambda: frames.append((atoms.get_positions(), atoms.get_velocities())), interval=interval
    )
    dyn.run(steps)
    return {
        "cpu_s": time.process_time() - t_cpu,
        "wall_s": time.perf_counter() - t_wall,
        "frames": len(frames),
    }


def ionflow_flow(structure, steps: int, segments: int, interval: int, workdir: Path) -> dict:
    """The same MD as an ionflow flow: segments, checkpoints, store."""
    from ionflow.engines.mlip import MlipEngine
    from ionflow.engines.mlip.calculators import clear_shared_calculators
    from ionflow.makers.md import MultiTemperatureMDMaker
    from ionflow.testing.md import concatenate_frames, memory_job_store, run_flow

    clear_shared_calculators()  # load CHGNet inside the timed region, like the loop
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    maker = MultiTemperatureMDMaker(
        engine=MlipEngine(calculator_kwargs={"device": "cpu"}),
        temperatures_K=[TEMPERATURE_K],
        time_step_fs=TIME_STEP_FS,
        equilibration_steps=0,
        production_steps=steps,
        traj_interval=interval,
        segment_steps=steps // segments,
        checkpoint_dir=str(workdir / "ckpt"),
    )
    out = run_flow(maker.make(structure), memory_job_store(), workdir / "run")
    n = len(concatenate_frames(out["trajectories"][0])["steps"])
    return {
        "cpu_s": time.process_time() - t_cpu,
        "wall_s": time.perf_counter() - t_wall,
        "frames": n,
    }


def overhead(args: argparse.Namespace) -> None:
    """Alternate bare and ionflow runs; print the best times and the overhead."""
    import torch

    torch.set_num_threads(1)
    structure = cell(args.size)
    print(
        f"{len(structure)} atoms, {args.steps} steps of {TIME_STEP_FS} fs at {TEMPERATURE_K} K, "
        f"frames every {args.interval} steps; ionflow: {args.segments} segments"
    )
    bare, flow = [], []
    for rep in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            flow.append(
                ionflow_flow(structure, args.steps, args.segments, args.interval, Path(tmp))
            )
        bare.append(bare_loop(structure, args.steps, args.interval))
        print(
            f"  repeat {rep}: bare {bare[-1]['cpu_s']:.1f} s CPU / {bare[-1]['wall_s']:.1f} s wall,"
            f" ionflow {flow[-1]['cpu_s']:.1f} s CPU / {flow[-1]['wall_s']:.1f} s wall"
        )
    for key in ("cpu_s", "wall_s"):
        b = min(r[key] for r in bare)
        f = min(r[key] for r in flow)
        print(
            f"best {key[:-2]}: bare {b:.2f} s ({b / args.steps:.3f} s/step), ionflow {f:.2f} s "
            f"({f / args.steps:.3f} s/step), overhead {100 * (f / b - 1):+.1f} %"
        )
    print(f"frames: bare {bare[0]['frames']}, ionflow {flow[0]['frames']}")


def memory(args: argparse.Namespace) -> None:
    """Peak memory of each segment job (run, checkpoint, store) for 1x and 4x the length.

    The peak above the memory in use when the job starts is traced inside every segment
    job, with an on-disk montydb store. jobflow's ``run_locally`` itself keeps every job's
    output in memory until the flow ends, so the whole-process peak of a local run grows
    with its length; under FireWorks each job is its own process.
    """
    from jobflow import JobStore, run_locally
    from maggma.stores import MontyStore

    import ionflow.makers.md_segments as md_segments
    from ionflow.makers.md import MultiTemperatureMDMaker
    from ionflow.testing.md import LennardJonesEngine

    structure = cell(3)
    seg = 200
    original = md_segments.run_md_segment
    peaks: list[float] = []

    def traced(*a, **kw):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        out = original(*a, **kw)
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
        return out

    md_segments.run_md_segment = traced
    try:
        for factor in (1, 4):
            peaks.clear()
            with tempfile.TemporaryDirectory() as tmp:
                store = JobStore(
                    MontyStore("outputs", database_path=tmp, storage="sqlite"),
                    additional_stores={
                        "data": MontyStore("outputs_data", database_path=tmp, storage="sqlite")
                    },
                )
                maker = MultiTemperatureMDMaker(
                    engine=LennardJonesEngine(),
                    temperatures_K=[TEMPERATURE_K],
                    time_step_fs=1.0,
                    equilibration_steps=0,
                    production_steps=seg * factor,
                    traj_interval=1,
                    segment_steps=seg,
                    checkpoint_dir=str(Path(tmp) / "ckpt"),
                )
                tracemalloc.start()
                run_locally(
                    maker.make(structure), store=store, create_folders=True, root_dir=tmp, log=False
                )
                whole = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            print(
                f"{len(structure)} atoms, {seg * factor} steps in {factor} segments of {seg}: "
                f"peak per segment job {max(peaks) / 1e6:.1f} MB "
                f"(all: {', '.join(f'{p / 1e6:.1f}' for p in peaks)}); "
                f"whole run_locally {whole / 1e6:.1f} MB"
            )
    finally:
        md_segments.run_md_segment = original


def main() -> None:
    """Parse arguments and run the selected part."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2, help="supercell size (2 -> 39 atoms)")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="run the memory part instead")
    args = parser.parse_args()
    if args.memory:
        memory(args)
    else:
        overhead(args)


if __name__ == "__main__":
    main()
