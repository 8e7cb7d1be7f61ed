"""Run one VASP MD segment: atomate2 inputs, POSCAR with velocities, custodian, frames.

Chaining: the first segment starts from the structure (VASP draws Maxwell-Boltzmann
velocities with RANDOM_SEED); every later one writes the previous segment's CONTCAR
verbatim as POSCAR, so positions, velocities and the Nose-Hoover predictor-corrector
block carry over exactly. A restart state written by another engine contributes its
structure and velocities (Å/fs, as VASP expects them).

Resume: every attempt is recorded in ``<checkpoint_dir>/attempts.json`` before VASP
starts. If the job dies (walltime, node failure) and is run again, the frames of the
dead attempt are read from its (possibly truncated) ``vasprun.xml`` and the run continues
from its CONTCAR with the remaining steps. Frame convention: ionic block ``i`` of a run
holds the positions at step ``first + i``; CONTCAR holds those after the last step.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import units
from pymatgen.io.vasp import Poscar

from ionflow.engines.segments import DftProgress, DftSegmentRunner, SegmentFrames
from ionflow.errors import EngineError, InputError
from ionflow.io.vasp_outputs import (
    copy_uncompressed,
    find_file,
    read_contcar_text,
    read_md_ionic_steps,
)
from ionflow.schemas.md import MDRestartState

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.engines.segments import SegmentTask
    from ionflow.schemas.md import MDSegmentSpec

__all__ = ["VaspSegmentRunner", "parse_vasp_attempt", "run_vasp"]

logger = logging.getLogger(__name__)


def run_vasp(**kwargs: Any) -> None:
    """Run VASP through atomate2/custodian (the one seam the VASP fakes replace)."""
    from atomate2.vasp.run import run_vasp as _run_vasp

    _run_vasp(**kwargs)


@dataclass
class _Attempt:
    steps: np.ndarray
    cart: np.ndarray
    energies: np.ndarray
    temperatures: np.ndarray
    contcar: str | None
    restart_step: int
    lattice: np.ndarray
    species: list[str]


def parse_vasp_attempt(folder: Path, first_step: int) -> _Attempt:
    """Read the frames and the restart point of one (finished or killed) VASP MD run.

    Parameters
    ----------
    folder
        Run folder holding ``vasprun.xml`` (possibly truncated) and ``CONTCAR``.
    first_step
        Global step of the run's POSCAR.

    Returns
    -------
    _Attempt
        Frames at the steps before the restart point, and the CONTCAR text to restart.
    """
    path = find_file(folder, "vasprun.xml")
    if path is None:
        raise InputError(f"no vasprun.xml in {folder}; the attempt left nothing to resume from")
    blocks = read_md_ionic_steps(path)
    if not blocks:
        raise InputError(f"{path} holds no complete MD step; delete {folder} to start over")
    species = [site.specie.symbol for site in blocks[0]["structure"]]
    lattice = blocks[0]["structure"].lattice.matrix
    cart = np.array([b["structure"].cart_coords for b in blocks])
    energies = np.array([float(b["e_fr_energy"]) for b in blocks])
    dof = max(3 * len(species) - 3, 1)
    temps = np.array([2 * float(b.get("kinetic", np.nan)) / (dof * units.kB) for b in blocks])
    steps = first_step + np.arange(len(blocks))
    contcar = read_contcar_text(folder)
    restart_step = int(steps[-1])
    if contcar:
        try:
            final = Poscar.from_str(contcar).structure
        except Exception:  # half-written CONTCAR of a killed run
            contcar, final = None, None
        if final is not None:
            d = final.frac_coords - blocks[-1]["structure"].frac_coords
            d -= np.round(d)
            # CONTCAR is one step past the last ionic block once VASP has written it
            restart_step = int(steps[-1]) + (0 if np.abs(d).max() < 1e-7 else 1)
    if contcar is None:
        # no usable CONTCAR: restart from the last ionic block (no velocities: re-drawn)
        raise InputError(
            f"{folder} has no readable CONTCAR; cannot continue the run with its "
            "velocities. Delete the checkpoint to rerun the segment from its start"
        )
    keep = steps < restart_step
    return _Attempt(
        steps[keep],
        cart[keep],
        energies[keep],
        temps[keep],
        contcar,
        restart_step,
        np.asarray(lattice),
        species,
    )


class VaspSegmentRunner(DftSegmentRunner):
    """Run :class:`~ionflow.schemas.md.MDSegmentSpec` segments with atomate2's VASP MDMaker.

    The attempt bookkeeping is :class:`~ionflow.engines.segments.DftSegmentRunner`'s;
    the deadline is left to custodian's walltime handler (STOPCAR).
    """

    engine = "vasp"
    code = "VASP"
    resume_from = "its CONTCAR"
    new_folder_per_attempt = True

    def start_point(self, task: SegmentTask) -> DftProgress:
        """Return CONTCAR text (or None), structure and step to start from, the run before."""
        contcar, structure, step = _start_point(task.start, task.spec)
        return DftProgress(structure, step, contcar, _previous_dir(task.start))

    def read_attempt(self, task: SegmentTask, progress: DftProgress, record: dict) -> _Attempt:
        """Return the frames of one attempt; it must be of the segment's structure."""
        folder = Path(record["dir"])
        part = parse_vasp_attempt(folder, record["first_step"])
        _check_species(part.species, progress.structure, folder)
        return part

    def advance(self, progress: DftProgress, part: _Attempt, folder: Path) -> None:
        """Continue from the attempt's CONTCAR (and its ML_ABN)."""
        progress.restart, progress.step, progress.prev_dir = part.contcar, part.restart_step, folder

    def run_engine(self, maker: Any) -> None:
        """Run VASP through :func:`run_vasp` with the maker's custodian settings."""
        run_vasp(**maker.run_vasp_kwargs)

    def write_inputs(self, task: SegmentTask, progress: DftProgress, n_steps: int) -> None:
        """Write the VASP inputs of one attempt (a dry run writes POTCAR.spec, no POTCAR)."""
        from atomate2.vasp.files import write_vasp_input_set

        spec, maker, step = task.spec, task.maker, progress.step
        updates: dict[str, Any] = {"nsteps": int(n_steps)}
        if spec.start_temperature_K is not None:
            # heating ramp (TEBEG -> TEEND); a resumed or cut ramp covers its own steps
            t0, t1 = spec.start_temperature_K, spec.temperature_K
            done = (step - spec.first_step) / spec.n_steps
            until = (step + n_steps - spec.first_step) / spec.n_steps
            updates.update(start_temp=t0 + (t1 - t0) * done, end_temp=t0 + (t1 - t0) * until)
        generator = dataclasses.replace(maker.input_set_generator, **updates)
        write_kwargs = {"potcar_spec": True} if task.dry_run else {}
        write_vasp_input_set(
            progress.structure,
            generator,
            directory=task.work_dir,
            **{**maker.write_input_set_kwargs, **write_kwargs},
        )
        if progress.restart is not None:
            (task.work_dir / "POSCAR").write_text(progress.restart)
        _hand_over_ml_ab(generator, progress.prev_dir, task.work_dir)

    def final_frames(self, task: SegmentTask, progress: DftProgress) -> SegmentFrames:
        """Return the frames of all attempts plus the final CONTCAR's at the last step."""
        spec, parts = task.spec, progress.parts
        final = Poscar.from_str(parts[-1].contcar)
        structure = final.structure
        if final.velocities is None:
            raise EngineError(f"{spec.label}: the final CONTCAR has no velocities; is IBRION = 0?")
        velocities = np.asarray(final.velocities).tolist()
        attempts = progress.attempts
        restart = self.restart_state(
            spec,
            spec.last_step,
            structure.copy(site_properties={"velocities": velocities}),
            {"contcar": parts[-1].contcar, "dir": attempts[-1]["dir"] if attempts else ""},
        )
        frames = SegmentFrames(
            species=[site.specie.symbol for site in structure],
            lattice_A=np.asarray(structure.lattice.matrix),
            steps=np.concatenate([p.steps for p in parts] + [[spec.last_step]]),
            cart_coords_A=np.concatenate([p.cart for p in parts] + [structure.cart_coords[None]]),
            velocities_A_fs=None,
            energies_eV=np.concatenate([p.energies for p in parts] + [[np.nan]]),
            temperatures_K=np.concatenate([p.temperatures for p in parts] + [[np.nan]]),
            forces_eV_A=None,
            restart=restart,
        )
        return progress.stored_frames(spec, frames)


def _previous_dir(start: Structure | MDRestartState) -> Path | None:
    if isinstance(start, MDRestartState) and start.engine == "vasp":
        folder = start.engine_state.get("dir")
        return Path(folder) if folder else None
    return None


def _hand_over_ml_ab(generator: Any, prev_dir: Path | None, work_dir: Path) -> None:
    """On-the-fly ML force field (ML_LMLFF): continue from the previous run's ML_ABN."""
    incar = getattr(generator, "user_incar_settings", None) or {}
    if not incar.get("ML_LMLFF") or prev_dir is None:
        return
    source = find_file(prev_dir, "ML_ABN")
    if source is None:
        logger.warning("ML_LMLFF is on but %s has no ML_ABN; training starts anew", prev_dir)
        return
    copy_uncompressed(source, work_dir / "ML_AB")


def _start_point(
    start: Structure | MDRestartState, spec: MDSegmentSpec
) -> tuple[str | None, Structure, int]:
    """Return (CONTCAR text or None, structure, step) to start the segment from."""
    if isinstance(start, MDRestartState):
        text = start.engine_state.get("contcar") if start.engine == "vasp" else None
        if text is None:
            vel = start.structure.site_properties["velocities"]
            structure = start.structure.copy()
            structure.remove_site_property("velocities")
            text = Poscar(structure, velocities=vel).get_str()
        return text, start.structure, start.step
    vel = start.site_properties.get("velocities")
    if vel is not None:
        bare = start.copy()
        bare.remove_site_property("velocities")
        return Poscar(bare, velocities=vel).get_str(), start, spec.first_step
    return None, start, spec.first_step


def _check_species(species: list[str], structure: Structure, folder: Path) -> None:
    expected = [site.specie.symbol for site in structure]
    if species != expected:
        raise InputError(
            f"the VASP run in {folder} is for another structure ({len(species)} atoms) than "
            f"this segment ({len(expected)} atoms); delete the checkpoint to start over"
        )
