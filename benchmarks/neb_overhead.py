"""`ionflow neb run` against a plain ASE + CHGNet script of the same CI-NEB (issue 15).

One Li3OCl 2x2x2 vacancy hop (the shortest V_Li hop of a 39-atom cell), the same
settings on both sides: endpoints relaxed with FIRE to 0.1 eV/Å (at most 60 steps),
3 IDPP images, CI-NEB (k = 5 eV/Å², improved tangent) with FIRE to 0.1 eV/Å (at most 60
steps). The ionflow side is the whole `ionflow neb run` path (study file, hop
enumeration, jobs for the two endpoint relaxations, path and band, the on-disk montydb
store, the summary and the energy-profile plots); the script side loads CHGNet once
and runs ASE. Both start cold (model not loaded); runs alternate and the best of
``--repeats`` is kept. Times are wall and process CPU times.

    python benchmarks/neb_overhead.py --repeats 2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

FMAX = 0.1
STEPS = 60
N_IMAGES = 3
SPRING = 5.0

STUDY = f"""
name: neb_overhead
structure: {{builtin: Li3OCl}}
engine: mlip
supercell: {{matrix: [2, 2, 2]}}
defects: [{{type: vacancy, species: [Li]}}]
relax: {{fmax_eV_A: {FMAX}, max_steps: {STEPS}}}
neb: {{n_images: {N_IMAGES}, climb: true, fmax_eV_A: {FMAX}, spring_constant_eV_A2: {SPRING},
      max_hops: 1, max_steps: {STEPS}, relax_fmax_eV_A: {FMAX}}}
"""


def _hop(study_file: Path):
    """The hop `ionflow neb run` computes (same enumeration, no jobs run)."""
    from ionflow.config.study_file import load_study
    from ionflow.engines.mlip import MlipEngine
    from ionflow.flows.neb import DefectNebMaker
    from ionflow.makers.neb import NebFromEndpointsMaker
    from ionflow.study.cell import build_cell

    config = load_study(study_file).systems[0].study
    cell = build_cell(config)
    maker = DefectNebMaker(neb_maker=NebFromEndpointsMaker(engine=MlipEngine()), max_hops=1)
    return maker.hops(cell.cell, cell.supercell)[0]


def plain_script(hop) -> dict:
    """CHGNet + ASE: relax both endpoints, IDPP, CI-NEB; the hand-written version."""
    from ase.mep import NEB
    from ase.optimize import FIRE
    from chgnet.model.dynamics import CHGNetCalculator
    from pymatgen.io.ase import AseAtomsAdaptor

    t_cpu, t_wall = time.process_time(), time.perf_counter()
    calc = CHGNetCalculator(use_device="cpu")
    ends = []
    for structure in (hop.initial, hop.final):
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = calc
        FIRE(atoms, logfile=None).run(fmax=FMAX, steps=STEPS)
        ends.append(atoms)
    images = [ends[0].copy() for _ in range(N_IMAGES + 1)] + [ends[1].copy()]
    for image in images:
        image.calc = calc
    band = NEB(images, k=SPRING, climb=True, method="improvedtangent", allow_shared_calculator=True)
    band.interpolate("idpp", mic=True)
    converged = FIRE(band, logfile=None).run(fmax=FMAX, steps=STEPS)
    energies = [im.get_potential_energy() for im in images]
    return {
        "cpu_s": time.process_time() - t_cpu,
        "wall_s": time.perf_counter() - t_wall,
        "barrier_eV": max(energies) - energies[0],
        "converged": bool(converged),
    }


def ionflow_neb_run(study_file: Path, work_dir: Path) -> dict:
    """`ionflow neb run STUDY` in-process (fresh work directory and store)."""
    from ionflow.cli.neb import run_neb_study
    from ionflow.config.study_file import load_study
    from ionflow.engines.mlip.calculators import clear_shared_calculators
    from ionflow.settings import IonflowSettings

    clear_shared_calculators()  # load CHGNet inside the timed region, like the script
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    doc, *_ = run_neb_study(load_study(study_file), IonflowSettings(work_dir=work_dir))
    neb = doc.nebs[0]
    return {
        "cpu_s": time.process_time() - t_cpu,
        "wall_s": time.perf_counter() - t_wall,
        "barrier_eV": neb.barrier_forward_eV,
        "converged": neb.converged,
    }


def main() -> None:
    """Alternate both sides; print the best times and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study_file = Path(tmp) / "neb_overhead.yaml"
        study_file.write_text(STUDY)
        hop = _hop(study_file)
        print(
            f"{len(hop.initial)} atoms, hop {hop.label} ({hop.length_A:.2f} Å), {N_IMAGES} "
            f"images, fmax {FMAX} eV/Å, torch threads {os.environ.get('OMP_NUM_THREADS', '-')}"
        )
        plain, flow = [], []
        for rep in range(args.repeats):
            flow.append(ionflow_neb_run(study_file, Path(tmp) / f"work{rep}"))
            plain.append(plain_script(hop))
            print(
                f"  repeat {rep}: script {plain[-1]['wall_s']:.1f} s wall "
                f"(barrier {plain[-1]['barrier_eV']:.3f} eV, converged {plain[-1]['converged']}), "
                f"ionflow {flow[-1]['wall_s']:.1f} s wall (barrier {flow[-1]['barrier_eV']:.3f} "
                f"eV, converged {flow[-1]['converged']})"
            )
    for key in ("cpu_s", "wall_s"):
        p = min(r[key] for r in plain)
        f = min(r[key] for r in flow)
        print(f"best {key[:-2]}: script {p:.1f} s, ionflow neb run {f:.1f} s, ratio {f / p:.2f}x")


if __name__ == "__main__":
    main()
