"""Run one CP2K MD segment: atomate2 inputs, ``&EXT_RESTART`` chaining, custodian, frames.

Chaining: a segment after the first writes the previous segment's ``CP2K-1.restart`` as
``previous.restart`` and continues from it with ``&EXT_RESTART`` (positions, velocities,
Nose-Hoover chain and step counter; the wavefunction file is copied too when the
previous folder is reachable). CP2K then writes frames ``s+1 .. s+n`` only; a fresh run
writes ``0 .. n``.

Resume: each attempt is recorded in ``<checkpoint_dir>/attempts.json`` before CP2K starts.
A killed attempt leaves its last ``.restart`` (written every ``restart_every`` steps) and
the frames in ``CP2K-pos-1.xyz``; the rerun keeps the frames up to the restart's step and
continues from that file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pymatgen.core import Structure

from ionflow.engines.cp2k import custodian as cp2k_custodian
from ionflow.engines.cp2k.inputs import PROJECT
from ionflow.engines.segments import DftProgress, DftSegmentRunner, SegmentFrames
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.io.cp2k import read_cp2k_ener, read_xyz_frames
from ionflow.schemas.md import MDRestartState

if TYPE_CHECKING:
    from ionflow.engines.segments import SegmentTask

__all__ = ["Cp2kSegmentRunner", "parse_cp2k_attempt", "run_cp2k"]

logger = logging.getLogger(__name__)
RESTART_IN = "previous.restart"
#: CP2K's velocity unit (bohr / atomic time unit) in Å/fs
BOHR_PER_AUT_IN_A_PER_FS = 0.529177210903 / 0.02418884326585747


def run_cp2k(
    cp2k_cmd: str, handlers: list[Any] | None = None, max_errors: int = 5, **_: Any
) -> None:
    """Run CP2K in the current folder through custodian (the seam a CP2K fake replaces).

    Uses :class:`ionflow.engines.cp2k.fixes.OwnProcessCp2kJob` so a correction never
    kills other CP2K processes on the host.
    """
    from custodian import Custodian  # optional extra, imported when CP2K runs

    job = cp2k_custodian.custodian_job(shlex.split(os.path.expandvars(cp2k_cmd)))
    custodian = Custodian(
        handlers if handlers is not None else cp2k_custodian.handlers("md"),
        [job],
        validators=cp2k_custodian.validators(),
        max_errors=max_errors,
    )
    custodian.run()


def _restart_step(text: str) -> int:
    match = re.search(r"STEP_START_VAL\s+(\d+)", text)
    return int(match.group(1)) if match else 0


def _restart_species(text: str) -> list[str]:
    """Element of every atom in the &COORD section of a CP2K restart file."""
    match = re.search(r"&COORD\s*\n(.*?)&END COORD", text, re.S)
    if match is None:
        return []
    kinds = [row.split()[0] for row in match.group(1).strip().splitlines() if row.strip()]
    return [re.sub(r"_\d+$", "", k) for k in kinds]


@dataclass
class _Attempt:
    steps: np.ndarray
    cart: np.ndarray
    vel: np.ndarray | None
    temps: np.ndarray
    energies: np.ndarray
    species: list[str]
    restart: str | None
    restart_step: int
    folder: Path


def parse_cp2k_attempt(folder: Path, after_step: int) -> _Attempt:
    """Frames of one CP2K MD run after ``after_step`` up to its last restart file.

    Parameters
    ----------
    folder
        Run folder (CP2K numbers its frames on ionflow's global step axis).
    after_step
        Frames at or before this step belong to earlier runs (a fresh segment passes
        its first step minus one to keep its start frame).
    """
    pos_file = folder / f"{PROJECT}-pos-1.xyz"
    if not pos_file.exists():
        raise InputError(f"no {pos_file.name} in {folder}; the CP2K run wrote no frame")
    steps, cart, species = read_xyz_frames(pos_file)
    vel_file = folder / f"{PROJECT}-vel-1.xyz"
    vel = None
    if vel_file.exists():
        vsteps, v, _ = read_xyz_frames(vel_file)
        vmap = dict(zip(vsteps, v * BOHR_PER_AUT_IN_A_PER_FS, strict=True))
        if all(s in vmap for s in steps):
            vel = np.array([vmap[s] for s in steps])
    ener = read_cp2k_ener(folder / f"{PROJECT}-1.ener")
    temps = np.array([ener.get(s, (np.nan, np.nan))[0] for s in steps])
    energies = np.array([ener.get(s, (np.nan, np.nan))[1] for s in steps])
    restart_file = folder / f"{PROJECT}-1.restart"
    restart = restart_file.read_text() if restart_file.exists() else None
    restart_step = _restart_step(restart) if restart else after_step
    keep = (steps > after_step) & (steps <= restart_step)
    return _Attempt(
        steps[keep],
        cart[keep],
        None if vel is None else vel[keep],
        temps[keep],
        energies[keep],
        species,
        restart,
        restart_step,
        folder,
    )


class Cp2kSegmentRunner(DftSegmentRunner):
    """Run :class:`~ionflow.schemas.md.MDSegmentSpec` segments with atomate2's CP2K MDMaker.

    The attempt bookkeeping is :class:`~ionflow.engines.segments.DftSegmentRunner`'s;
    the deadline reaches CP2K as ``GLOBAL/WALLTIME`` through the input set.
    """

    engine = "cp2k"
    code = "CP2K"
    resume_from = "its restart file"

    def start_point(self, task: SegmentTask) -> DftProgress:
        """Return structure, restart text and wavefunction folder to start from."""
        spec = task.spec
        structure, restart, wfn_dir, warnings = _start_point(task.start)
        # a fresh CP2K run counts from 0 and writes step 0 itself
        after = spec.first_step - 1 if restart is None else spec.first_step
        return DftProgress(structure, spec.first_step, restart, wfn_dir, after, warnings)

    def check_start(self, task: SegmentTask, progress: DftProgress) -> None:
        """Refuse heating ramps and a restart file of another cell."""
        if task.spec.start_temperature_K is not None:
            raise ConfigError(
                "heating ramps are not implemented for the cp2k engine; set heating_steps 0 "
                "(equilibrate at the target temperature)"
            )
        expected = [site.specie.symbol for site in progress.structure]
        restart = progress.restart
        if restart is not None and _restart_species(restart) != expected:
            raise InputError(
                f"{task.spec.label}: the CP2K restart file describes another structure "
                f"({len(_restart_species(restart))} atoms) than this run ({len(expected)}); "
                "a restart must come from the same cell"
            )

    def read_attempt(self, task: SegmentTask, progress: DftProgress, record: dict) -> _Attempt:
        """Return the frames of one attempt after those read already (same structure)."""
        part = parse_cp2k_attempt(Path(record["dir"]), progress.after)
        if part.species and part.species != [site.specie.symbol for site in progress.structure]:
            raise InputError(
                f"the CP2K run in {record['dir']} is for another structure; delete "
                f"{task.spec.checkpoint_dir} to start over"
            )
        return part

    def advance(self, progress: DftProgress, part: _Attempt, folder: Path) -> None:
        """Continue from the attempt's restart file if it got further."""
        if part.restart is not None and part.restart_step > progress.step:
            progress.restart, progress.step, progress.prev_dir = (
                part.restart,
                part.restart_step,
                folder,
            )
        progress.after = max(progress.after, part.restart_step)

    def run_engine(self, maker: Any) -> None:
        """Run CP2K through :func:`run_cp2k` with the maker's custodian settings."""
        run_cp2k(**maker.run_cp2k_kwargs)

    def write_inputs(self, task: SegmentTask, progress: DftProgress, n_steps: int) -> None:
        """Write the CP2K inputs of one attempt (the restart file and wavefunction too)."""
        from atomate2.cp2k.files import write_cp2k_input_set

        spec, work_dir, restart = task.spec, task.work_dir, progress.restart
        generator = dataclasses.replace(
            task.maker.input_set_generator,
            n_steps=int(n_steps),
            traj_interval=int(spec.traj_interval),
            restart_every=int(spec.traj_interval * spec.checkpoint_every),
            restart_file=RESTART_IN if restart is not None else None,
            step_start=int(progress.step),
        )
        write_cp2k_input_set(progress.structure, generator, directory=work_dir)
        if restart is not None:
            (work_dir / RESTART_IN).write_text(restart)
            wfn_dir = progress.prev_dir
            wfn = None if wfn_dir is None else Path(wfn_dir) / f"{PROJECT}-RESTART.wfn"
            if wfn is not None and wfn.exists():
                shutil.copy(wfn, work_dir / wfn.name)

    def final_frames(self, task: SegmentTask, progress: DftProgress) -> SegmentFrames:
        """Return the frames of all attempts in step order; the state at the last one."""
        spec, parts, structure = task.spec, progress.parts, progress.structure
        steps = np.concatenate([p.steps for p in parts])
        order = np.argsort(steps, kind="stable")
        steps = steps[order]
        cart = np.concatenate([p.cart for p in parts])[order]
        have_vel = all(p.vel is not None for p in parts)
        vel = np.concatenate([p.vel for p in parts])[order] if have_vel else None
        if vel is None:
            raise EngineError(
                f"{spec.label}: CP2K wrote no velocities; cannot chain the next segment"
            )
        final = Structure(
            structure.lattice,
            [site.specie for site in structure],
            cart[-1],
            coords_are_cartesian=True,
            site_properties={"velocities": vel[-1].tolist()},
        )
        last = parts[-1]
        state = {"restart": last.restart, "dir": str(last.folder)}
        frames = SegmentFrames(
            species=[site.specie.symbol for site in structure],
            lattice_A=structure.lattice.matrix.copy(),
            steps=steps,
            cart_coords_A=cart,
            velocities_A_fs=vel,
            energies_eV=np.concatenate([p.energies for p in parts])[order],
            temperatures_K=np.concatenate([p.temps for p in parts])[order],
            forces_eV_A=None,
            restart=self.restart_state(spec, int(steps[-1]), final, state),
        )
        return progress.stored_frames(spec, frames)


def _start_point(
    start: Structure | MDRestartState,
) -> tuple[Structure, str | None, Path | None, list[str]]:
    """Return structure, CP2K restart text, folder of its wavefunction, warnings."""
    if isinstance(start, MDRestartState):
        structure = start.structure.copy()
        structure.remove_site_property("velocities")
        if start.engine == "cp2k" and start.engine_state.get("restart"):
            folder = start.engine_state.get("dir")
            return structure, start.engine_state["restart"], Path(folder) if folder else None, []
        return (
            structure,
            None,
            None,
            [f"restart state from {start.engine}: CP2K starts from its positions only"],
        )
    structure = start.copy()
    warnings = []
    if "velocities" in structure.site_properties:
        structure.remove_site_property("velocities")
        warnings.append("initial velocities of the structure are not passed to CP2K; redrawn")
    return structure, None, None, warnings
