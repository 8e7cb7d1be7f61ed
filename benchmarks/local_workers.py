"""A local study run on worker processes against the same run in one process (issue 15).

The demo study (LGPS, CHGNet, 4 MD temperatures and 3 NEBs), shortened by ``--steps``,
runs twice into fresh work folders: ``local_workers=1`` (jobflow's ``run_locally`` on
the whole flow, torch on every core) and ``local_workers=N`` (each ready job on a
worker process with cores/N threads; ready jobs start longest remaining path first,
see :mod:`ionflow.run.jobs` and ``benchmarks/schedule_replay.py``). Printed: wall time
of each, the speed-up, and whether both runs give the same D per temperature and the
same Ea (they should, to the last digit: the same seeds, the same jobs). Run it on an
idle machine.

    python benchmarks/local_workers.py --steps 200 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import yaml

warnings.simplefilter("ignore")


def run(study_file: Path, work_dir: Path, workers: int) -> tuple[float, list[float], float | None]:
    """Run the study; return wall seconds, D per temperature and the tracer Ea."""
    from ionflow.config.study_file import load_study
    from ionflow.run.local import run_study
    from ionflow.settings import get_settings

    settings = get_settings(work_dir=work_dir, local_workers=workers)
    t0 = time.perf_counter()
    finished = run_study(load_study(study_file), settings, echo=lambda _: None)
    wall = time.perf_counter() - t0
    transport = finished.doc.systems[0].transport
    diffusivities = [r.diffusivity_cm2_s for r in transport.diffusion]
    fit = transport.arrhenius
    return wall, diffusivities, fit.activation_energy_eV if fit else None


def main() -> None:
    """Run both and print the comparison."""
    from ionflow.cli.demo import demo_study_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="MD production steps per T")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ionflow-workers-"))
    study = yaml.safe_load(demo_study_path().read_text())
    study["md"]["production_steps"] = args.steps
    study["neb"]["max_steps"] = 20
    path = root / "demo_short.yaml"
    path.write_text(yaml.safe_dump(study))
    one = run(path, root / "one", 1)
    many = run(path, root / "many", args.workers)
    print(f"demo study, {args.steps} MD steps per temperature, CHGNet, {root}")
    print(f"  one process:              {one[0]:7.1f} s wall")
    print(f"  {args.workers} worker processes:      {many[0]:7.1f} s wall")
    print(f"  speed-up:                 {one[0] / many[0]:7.2f}x")
    same = one[1] == many[1] and one[2] == many[2]
    print(f"  same D per T and Ea:      {'yes' if same else 'NO'} ({one[1]} / {many[1]})")


if __name__ == "__main__":
    main()
