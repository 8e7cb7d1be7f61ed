"""Whole-process ingest + analysis of a multi-file XDATCAR run: ionflow vs pymatgen.

Run:  OMP_NUM_THREADS=1 python benchmarks/ingest_vs_pymatgen.py [--segments 4]
      [--frames 2500] [--li 96] [--framework 160] [--real]

Each side is one fresh Python process, timed from start to exit (wall clock) with its
peak resident memory (``/usr/bin/time -v`` "Maximum resident set size", or
``resource.getrusage`` of a wrapper process when GNU time is missing):

- ionflow : ``ionflow analyze diffusion SEG1 SEG2 ... --time-step 2 --step-skip 50
            --method pymatgen --json`` (the DiffusionAnalyzer numbers; ``--default``
            times ionflow's own estimator instead)
- pymatgen: a plain script a pymatgen-analysis-diffusion user writes: ``Xdatcar`` per
            file, structures concatenated, ``DiffusionAnalyzer.from_structures(structures,
            "Li", T, time_step=2, step_skip=50)``, D printed.

Input: ``--segments`` synthetic XDATCAR segments of one random-walk run (``--frames``
frames each, ``--li`` Li in a ``--framework`` atom lattice, D known), written once into
a temporary folder with an INCAR (POTIM 2, NBLOCK 50); ``--real`` uses the two public
Li6PS5Cl segments (../shared/data) instead. The numbers of both sides are printed so
agreement can be checked. Target (issue 16): ionflow ≥ 5× faster, lower peak memory.
Timings are for the idle machine; a busy one only shows that the script works.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
REAL = [SHARED / f"aimd/li6ps5cl_500K_0p/run{i}/XDATCAR.gz" for i in (1, 2)]
TEMPERATURE_K = 500.0

PYMATGEN_SCRIPT = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("ignore")
    from pymatgen.io.vasp import Xdatcar
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    structures = []
    for path in sys.argv[2:]:
        structures += Xdatcar(path).structures
    da = DiffusionAnalyzer.from_structures(structures, "Li", float(sys.argv[1]), 2, 50)
    print(da.diffusivity, da.diffusivity_std_dev)
    """
)


def write_segments(folder: Path, n_seg: int, frames: int, n_li: int, n_fw: int) -> list[Path]:
    """Write one random-walk run as ``n_seg`` consecutive XDATCAR segments (+ INCAR each)."""
    rng = np.random.default_rng(0)
    box = (n_li + n_fw) ** (1 / 3) * 2.6  # Å, ~17 Å³ per atom
    n_atoms = n_li + n_fw
    sites = rng.uniform(0, 1, (n_atoms, 3))
    d_a2_ps, dt_ps = 2e-5 * 1e4, 0.1  # D = 2e-5 cm²/s, frames 100 fs apart
    step = np.sqrt(2 * d_a2_ps * dt_ps) / box
    pos = sites.copy()
    paths = []
    header = f"random walk\n1.0\n{box:.6f} 0 0\n0 {box:.6f} 0\n0 0 {box:.6f}\nLi O\n{n_li} {n_fw}\n"
    for k in range(n_seg):
        seg = folder / f"run{k + 1}"
        seg.mkdir()
        (seg / "INCAR").write_text("IBRION = 0\nPOTIM = 2\nNBLOCK = 50\n")
        path = seg / "XDATCAR"
        with open(path, "w") as fh:
            fh.write(header)
            for i in range(frames):
                pos[:n_li] += rng.normal(0, step, (n_li, 3))
                frame = (pos + rng.normal(0, 0.05 / box, pos.shape)) % 1.0
                fh.write(f"Direct configuration= {i + 1:6d}\n")
                np.savetxt(fh, frame, fmt="%.8f")
        paths.append(path)
    return paths


def measure(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv`` as a fresh process; return wall time (s), peak RSS (MB) and stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if shutil.which("time") and Path("/usr/bin/time").is_file():
        t0 = time.perf_counter()
        res = subprocess.run(
            ["/usr/bin/time", "-v", *argv], capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed:\n{res.stderr[-2000:]}")
        peak_kb = float(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)[1])
        return wall, peak_kb / 1024, res.stdout
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "w = time.perf_counter() - t\n"
        "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'wall': w, 'kb': kb, 'out': r.stdout, 'rc': r.returncode}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, env=env
    )
    data = json.loads(res.stdout)
    if data["rc"] != 0:
        raise SystemExit(f"{argv[:4]} failed")
    return data["wall"], data["kb"] / 1024, data["out"]


def main() -> None:
    """Parse options, run both sides once each and print them side by side."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--frames", type=int, default=2500, help="frames per segment")
    ap.add_argument("--li", type=int, default=96)
    ap.add_argument("--framework", type=int, default=160)
    ap.add_argument("--real", action="store_true", help="the two public Li6PS5Cl segments")
    ap.add_argument("--default", action="store_true", help="ionflow's own estimator")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ionflow-bench-") as tmp:
        if args.real:
            files = REAL
            label = "Li6PS5Cl 500 K, 2 segments × 140 frames, 416 atoms"
        else:
            files = write_segments(Path(tmp), args.segments, args.frames, args.li, args.framework)
            label = (
                f"random walk, {args.segments} segments × {args.frames} frames, "
                f"{args.li + args.framework} atoms ({args.li} Li)"
            )
        method = [] if args.default else ["--method", "pymatgen"]
        ours = [sys.executable, "-m", "ionflow.cli.main", "analyze", "diffusion"]
        ours += [str(f) for f in files]
        ours += ["-T", f"{TEMPERATURE_K:g}", "--time-step", "2", "--step-skip", "50", "--json"]
        theirs = [sys.executable, "-c", PYMATGEN_SCRIPT, f"{TEMPERATURE_K:g}"]
        theirs += [str(f) for f in files]
        w_ours, m_ours, out_ours = measure(ours + method)
        w_pmg, m_pmg, out_pmg = measure(theirs)
    doc = json.loads(out_ours)
    d_pmg, s_pmg = (float(x) for x in out_pmg.split())
    print(f"input: {label}")
    print(f"{'':10s} {'wall (s)':>10s} {'peak RSS (MB)':>14s} {'D (cm²/s)':>12s} {'σ(D)':>10s}")
    name = "ionflow" + (" (default estimator)" if args.default else " (--method pymatgen)")
    print(
        f"{'ionflow':10s} {w_ours:10.2f} {m_ours:14.0f} {doc['diffusivity_cm2_s']:12.4e} "
        f"{doc['diffusivity_std_cm2_s']:10.2e}   [{name}]"
    )
    print(
        f"{'pymatgen':10s} {w_pmg:10.2f} {m_pmg:14.0f} {d_pmg:12.4e} {s_pmg:10.2e}   "
        "[Xdatcar + DiffusionAnalyzer.from_structures]"
    )
    print(
        f"speed-up {w_pmg / w_ours:.1f}× (target ≥ 5×); peak memory ratio "
        f"{m_ours / m_pmg:.2f} (target < 1)"
    )


if __name__ == "__main__":
    main()
