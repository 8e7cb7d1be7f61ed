"""ionflow transport analysis vs pymatgen-analysis-diffusion: time and peak memory.

Run:  OMP_NUM_THREADS=1 python benchmarks/msd_vs_pymatgen.py [--frames 50000] [--li 100]

(a) synthetic Gaussian random walk (known D) of ``--li`` Li among a static framework,
    ``--frames`` frames; the same fractional coordinates go to every method.
(b) a real trajectory from ../shared/data (default: the Li6PS5Cl XDATCAR pair, 280 frames,
    416 atoms; no public Li AIMD vasprun.xml long enough for DiffusionAnalyzer is
    available), timed INCLUDING file parsing;
(c) parsing alone of the one public MD vasprun.xml.gz (Si64, 10 steps).

Methods compared
- ionflow          : ``analyze_diffusion`` (per-ion σ, tensor, Haven, linearity check)
- ionflow-pymatgen : ``analyze_diffusion_pymatgen`` (DiffusionAnalyzer numbers)
- PAD core         : ``DiffusionAnalyzer(structure, displacements, ...)`` with the
                     displacements built as ``from_structures`` does, vectorised (the
                     cheapest way to use PAD on an array)
- PAD structures   : ``DiffusionAnalyzer.from_structures`` on pymatgen Structures
                     (the documented route; (b) always, (a) only with --with-structures
                     since building 50,000 Structures takes minutes)

Time is wall-clock of one call (best of ``--repeat``); peak memory is the tracemalloc
peak of a separate call (numpy buffers included; the input arrays are not counted).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DEFAULT_FILES = [
    SHARED / "aimd/li6ps5cl_500K_0p/run1/XDATCAR.gz",
    SHARED / "aimd/li6ps5cl_500K_0p/run2/XDATCAR.gz",
]


def measure(fn, repeat: int = 1):
    """Return (result, best wall time s, tracemalloc peak MB)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    del result
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, best, peak / 1e6


def synthetic(n_frames: int, n_li: int, n_fw: int, d_cm2_s: float, dt_fs: float, box: float):
    """Fractional coordinates of a Gaussian random walk plus a vibrating framework."""
    rng = np.random.default_rng(42)
    sig = np.sqrt(2 * d_cm2_s * 1e4 * dt_fs * 1e-3)
    frac = np.empty((n_frames, n_li + n_fw, 3))
    li = rng.normal(0, sig, (n_frames, n_li, 3))
    li[0] = rng.uniform(0, box, (n_li, 3))
    np.cumsum(li, axis=0, out=li)
    frac[:, :n_li] = li / box
    frac[:, n_li:] = (
        rng.uniform(0, box, (1, n_fw, 3)) + rng.normal(0, 0.05, (n_frames, n_fw, 3))
    ) / box
    frac %= 1.0
    return ["Li"] * n_li + ["O"] * n_fw, frac, np.eye(3) * box


def pad_core(species, frac, lattice, temperature, dt_fs):
    """DiffusionAnalyzer on displacements built like from_structures (vectorised)."""
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Structure

    structure = Structure(lattice, species, frac[0])
    p = np.concatenate([frac[:1], frac]).transpose(1, 0, 2)
    dp = p[:, 1:] - p[:, :-1]
    dp -= np.round(dp)
    disp = np.cumsum(dp, axis=1) @ lattice
    return DiffusionAnalyzer(structure, disp, "Li", temperature, dt_fs, 1)


def pad_structures(species, frac, lattice, temperature, dt_fs):
    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    lat = Lattice(lattice)
    structures = [Structure(lat, species, f) for f in frac]
    return DiffusionAnalyzer.from_structures(structures, "Li", temperature, dt_fs, 1)


def row(name: str, d: float, sd: float | None, t: float, mem: float, ref_t: float, ref_m: float):
    sd_txt = f"{sd:9.2e}" if sd is not None else "      n/a"
    print(
        f"  {name:<18} D = {d:10.4e} ± {sd_txt} cm²/s  time {t:8.3f} s  peak {mem:8.1f} MB"
        f"   ionflow speed-up ×{t / ref_t:6.1f}, memory ÷{mem / ref_m:5.1f}"
    )


def part_a(args: argparse.Namespace) -> None:
    from ionflow.analysis.diffusion import analyze_diffusion
    from ionflow.analysis.pmg_compat import analyze_diffusion_pymatgen
    from ionflow.analysis.trajectory import TrajectoryData

    species, frac, lattice = synthetic(
        args.frames, args.li, args.framework, args.d_true, args.dt, args.box
    )
    print(
        f"(a) synthetic random walk: {args.frames} frames × {args.dt:g} fs, {args.li} Li + "
        f"{args.framework} framework, D_true = {args.d_true:.3e} cm²/s"
    )
    traj = TrajectoryData(species, frac, lattice, args.dt, source="synthetic")

    r_i, t_i, m_i = measure(lambda: analyze_diffusion(traj, "Li", 1000.0), args.repeat)
    r_p, t_p, m_p = measure(lambda: analyze_diffusion_pymatgen(traj, "Li", 1000.0), args.repeat)
    pad, t_c, m_c = measure(lambda: pad_core(species, frac, lattice, 1000.0, args.dt), args.repeat)
    row("ionflow", r_i.diffusivity_cm2_s, r_i.diffusivity_std_cm2_s, t_i, m_i, t_i, m_i)
    row("ionflow-pymatgen", r_p.diffusivity_cm2_s, r_p.diffusivity_std_cm2_s, t_p, m_p, t_i, m_i)
    row("PAD core", pad.diffusivity, pad.diffusivity_std_dev, t_c, m_c, t_i, m_i)
    if args.with_structures:
        pad_s, t_s, m_s = measure(
            lambda: pad_structures(species, frac, lattice, 1000.0, args.dt), 1
        )
        row("PAD structures", pad_s.diffusivity, pad_s.diffusivity_std_dev, t_s, m_s, t_i, m_i)
    rel = abs(r_p.diffusivity_cm2_s / pad.diffusivity - 1)
    z = (r_i.diffusivity_cm2_s - args.d_true) / r_i.diffusivity_std_cm2_s
    print(f"  ionflow-pymatgen vs PAD: |ΔD|/D = {rel:.1e} (target ≤ 1e-6)")
    print(
        f"  ionflow vs truth: (D - D_true)/σ = {z:+.2f};  PAD vs truth: "
        f"(D - D_true)/σ_PAD = {(pad.diffusivity - args.d_true) / pad.diffusivity_std_dev:+.1f}"
    )


def part_b(args: argparse.Namespace) -> None:
    from pymatgen.io.vasp import Vasprun, Xdatcar

    from ionflow.analysis.diffusion import analyze_diffusion
    from ionflow.analysis.pmg_compat import analyze_diffusion_pymatgen
    from ionflow.io.trajectories import read_run

    files = [Path(f) for f in args.file] if args.file else DEFAULT_FILES
    print(f"(b) real trajectory incl. parsing: {', '.join(str(f) for f in files)}")

    def ionflow():
        return analyze_diffusion(read_run(files, args.file_dt), "Li", args.temperature)

    def ionflow_pmg():
        return analyze_diffusion_pymatgen(read_run(files, args.file_dt), "Li", args.temperature)

    def pad():
        from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer

        structures = []
        for f in files:
            if "vasprun" in f.name:
                structures += [s["structure"] for s in Vasprun(f).ionic_steps]
            else:
                structures += Xdatcar(f).structures
        return DiffusionAnalyzer.from_structures(
            structures, "Li", args.temperature, args.file_dt, 1
        )

    r_i, t_i, m_i = measure(ionflow, args.repeat)
    r_p, t_p, m_p = measure(ionflow_pmg, args.repeat)
    r_d, t_d, m_d = measure(pad, 1)
    print(f"  {r_i.n_frames} frames, {r_i.n_atoms} atoms, {r_i.n_mobile} Li")
    row("ionflow", r_i.diffusivity_cm2_s, r_i.diffusivity_std_cm2_s, t_i, m_i, t_i, m_i)
    row("ionflow-pymatgen", r_p.diffusivity_cm2_s, r_p.diffusivity_std_cm2_s, t_p, m_p, t_i, m_i)
    row("PAD structures", r_d.diffusivity, r_d.diffusivity_std_dev, t_d, m_d, t_i, m_i)
    print(
        "  ionflow-pymatgen vs PAD: |ΔD|/D = "
        f"{abs(r_p.diffusivity_cm2_s / r_d.diffusivity - 1):.1e};"
        f"  ingest+analysis speed-up (pymatgen method) ×{t_d / t_p:.1f}"
    )


def part_c(args: argparse.Namespace) -> None:
    """Parsing only: the one public MD vasprun.xml (Si64, 10 steps), read N times."""
    from pymatgen.io.vasp import Vasprun

    from ionflow.io.vasp import read_vasprun

    path = SHARED / "aimd/pmg_vasprun_md_si/vasprun.md.xml.gz"
    reps = 20
    _, t_i, m_i = measure(lambda: [read_vasprun(path) for _ in range(reps)], 1)
    _, t_p, m_p = measure(
        lambda: [Vasprun(path, parse_dos=False, parse_eigen=False) for _ in range(reps)], 1
    )
    print(f"(c) vasprun.xml.gz parsing ×{reps}: {path.name} (Si64, 10 MD steps)")
    print(f"  ionflow read_vasprun   {t_i:7.3f} s  peak {m_i:7.1f} MB")
    print(f"  pymatgen Vasprun       {t_p:7.3f} s  peak {m_p:7.1f} MB   speed-up ×{t_p / t_i:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--li", type=int, default=100)
    parser.add_argument("--framework", type=int, default=20)
    parser.add_argument("--d-true", type=float, default=1e-5, help="cm²/s")
    parser.add_argument("--dt", type=float, default=20.0, help="fs between frames (a)")
    parser.add_argument("--box", type=float, default=15.0, help="cubic cell edge, Å (a)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--with-structures", action="store_true")
    parser.add_argument("--file", nargs="*", help="files of one run for (b)")
    parser.add_argument("--file-dt", type=float, default=100.0, help="fs between frames (b)")
    parser.add_argument("--temperature", type=float, default=500.0, help="K (b)")
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not args.skip_a:
        part_a(args)
    if not args.skip_b:
        part_b(args)
        part_c(args)


if __name__ == "__main__":
    main()
