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

import contextlib
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
from ionflow.engines.segments import (
    SegmentFrames,
    attempt_end,
    check_segment_finished,
    load_attempts,
    record_attempt,
)
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.io.cp2k import read_cp2k_ener, read_xyz_frames
from ionflow.schemas.md import MDRestartState

if TYPE_CHECKING:
    from ionflow.schemas.md import MDSegmentSpec

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


@dataclass
class Cp2kSegmentRunner:
    """Run :class:`~ionflow.schemas.md.MDSegmentSpec` segments with atomate2's CP2K MDMaker."""

    engine: str = "cp2k"

    def run(
        self,
        maker: Any,
        spec: MDSegmentSpec,
        start: Structure | MDRestartState,
        work_dir: Path,
        max_steps: int | None = None,
        deadline: float | None = None,
    ) -> SegmentFrames:
        """Run (or resume) one CP2K MD segment in ``work_dir``.

        ``max_steps`` (walltime sizing) ends this attempt early with
        :class:`~ionflow.engines.segments.SegmentStopped`; the ``deadline`` reaches CP2K as
        ``GLOBAL/WALLTIME`` through the input set.
        """
        if spec.start_temperature_K is not None:
            raise ConfigError(
                "heating ramps are not implemented for the cp2k engine; set heating_steps 0 "
                "(equilibrate at the target temperature)"
            )
        ckpt = Path(spec.checkpoint_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        attempts = load_attempts(ckpt)
        structure, restart, wfn_dir, warnings = _start_point(start)
        expected = [site.specie.symbol for site in structure]
        if restart is not None and _restart_species(restart) != expected:
            raise InputError(
                f"{spec.label}: the CP2K restart file describes another structure "
                f"({len(_restart_species(restart))} atoms) than this run ({len(expected)}); "
                "a restart must come from the same cell"
            )
        step = spec.first_step
        # a fresh CP2K run counts from 0 and writes step 0 itself
        after = spec.first_step - 1 if restart is None else spec.first_step
        parts: list[_Attempt] = []
        for record in attempts:
            part = parse_cp2k_attempt(Path(record["dir"]), after)
            if part.species and part.species != expected:
                raise InputError(
                    f"the CP2K run in {record['dir']} is for another structure; delete "
                    f"{ckpt} to start over"
                )
            parts.append(part)
            if part.restart is not None and part.restart_step > step:
                restart, step, wfn_dir = part.restart, part.restart_step, part.folder
            after = max(after, part.restart_step)
        end = attempt_end(spec, step, max_steps)
        remaining = end - step
        if remaining > 0:
            record_attempt(ckpt, attempts, work_dir, step)
            self.write_inputs(maker, spec, structure, restart, wfn_dir, step, remaining, work_dir)
            with contextlib.chdir(work_dir):
                run_cp2k(**maker.run_cp2k_kwargs)
            part = parse_cp2k_attempt(work_dir, after)
            parts.append(part)
            check_segment_finished(
                spec,
                "CP2K",
                part.restart_step,
                "its restart file",
                stop_step=end if end < spec.last_step else None,
                started_at=step,
            )
        return _frames(spec, parts, structure, attempts, warnings)

    def write_inputs(
        self,
        maker: Any,
        spec: MDSegmentSpec,
        structure: Structure,
        restart: str | None,
        wfn_dir: Path | None,
        step: int,
        n_steps: int,
        work_dir: Path,
    ) -> None:
        """Write the CP2K inputs of one attempt (``submit --write-inputs`` shows the same)."""
        from atomate2.cp2k.files import write_cp2k_input_set

        generator = dataclasses.replace(
            maker.input_set_generator,
            n_steps=int(n_steps),
            traj_interval=int(spec.traj_interval),
            restart_every=int(spec.traj_interval * spec.checkpoint_every),
            restart_file=RESTART_IN if restart is not None else None,
            step_start=int(step),
        )
        write_cp2k_input_set(structure, generator, directory=work_dir)
        if restart is not None:
            (work_dir / RESTART_IN).write_text(restart)
            wfn = None if wfn_dir is None else Path(wfn_dir) / f"{PROJECT}-RESTART.wfn"
            if wfn is not None and wfn.exists():
                shutil.copy(wfn, work_dir / wfn.name)

    def dry_run_inputs(
        self, maker: Any, spec: MDSegmentSpec, start: Structure | MDRestartState, folder: Path
    ) -> None:
        """Write the first attempt's inputs of a segment."""
        structure, restart, wfn_dir, _ = _start_point(start)
        step = spec.first_step
        self.write_inputs(maker, spec, structure, restart, wfn_dir, step, spec.n_steps, folder)


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


def _frames(
    spec: MDSegmentSpec,
    parts: list[_Attempt],
    structure: Structure,
    attempts: list[dict[str, Any]],
    warnings: list[str],
) -> SegmentFrames:
    steps = np.concatenate([p.steps for p in parts])
    order = np.argsort(steps, kind="stable")
    steps = steps[order]
    cart = np.concatenate([p.cart for p in parts])[order]
    temps = np.concatenate([p.temps for p in parts])[order]
    energies = np.concatenate([p.energies for p in parts])[order]
    have_vel = all(p.vel is not None for p in parts)
    vel = np.concatenate([p.vel for p in parts])[order] if have_vel else None
    sel = (steps - spec.first_step) % spec.traj_interval == 0
    last = parts[-1]
    if vel is None:
        raise EngineError(f"{spec.label}: CP2K wrote no velocities; cannot chain the next segment")
    final = Structure(
        structure.lattice,
        [site.specie for site in structure],
        cart[-1],
        coords_are_cartesian=True,
        site_properties={"velocities": vel[-1].tolist()},
    )
    restart = MDRestartState(
        engine="cp2k",
        step=int(steps[-1]),
        time_fs=float(steps[-1] * spec.time_step_fs),
        temperature_K=spec.temperature_K,
        structure=final,
        engine_state={"restart": last.restart, "dir": str(last.folder)},
    )
    resumed = attempts[-1]["first_step"] if len(attempts) > 1 else None
    return SegmentFrames(
        species=[site.specie.symbol for site in structure],
        lattice_A=structure.lattice.matrix.copy(),
        steps=steps[sel],
        cart_coords_A=cart[sel],
        velocities_A_fs=vel[sel],
        energies_eV=energies[sel],
        temperatures_K=temps[sel],
        forces_eV_A=None,
        restart=restart,
        attempts=max(len(attempts), 1),
        resumed_from_step=resumed,
        warnings=warnings,
    )
