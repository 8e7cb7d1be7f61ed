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

import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import units
from pymatgen.io.vasp import Poscar

from ionflow.engines.segments import (
    SegmentFrames,
    attempt_end,
    check_segment_finished,
    load_attempts,
    record_attempt,
)
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


@dataclass
class VaspSegmentRunner:
    """Run :class:`~ionflow.schemas.md.MDSegmentSpec` segments with atomate2's VASP MDMaker."""

    engine: str = "vasp"

    def run(
        self,
        maker: Any,
        spec: MDSegmentSpec,
        start: Structure | MDRestartState,
        work_dir: Path,
        max_steps: int | None = None,
        deadline: float | None = None,
    ) -> SegmentFrames:
        """Run (or resume) one VASP MD segment in ``work_dir``.

        ``max_steps`` (walltime sizing) ends this attempt early with
        :class:`~ionflow.engines.segments.SegmentStopped`; ``deadline`` is left to
        custodian's walltime handler (STOPCAR) and only documented here.

        Parameters
        ----------
        maker
            atomate2's VASP ``MDMaker`` (input set generator, custodian settings).
        spec
            What to run.
        start
            Structure, or the previous segment's restart state.
        work_dir
            Folder VASP runs in (the job's folder).

        Returns
        -------
        SegmentFrames
            Frames from the segment's first step to its last, and the end state.
        """
        ckpt = Path(spec.checkpoint_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        attempts = load_attempts(ckpt)
        parts: list[_Attempt] = []
        contcar, structure, step = _start_point(start, spec)
        prev_dir = _previous_dir(start)
        for record in attempts:
            folder = Path(record["dir"])
            if folder.resolve() == work_dir.resolve():
                raise InputError(
                    f"{work_dir} already holds an attempt of {spec.label}; run the job in a "
                    "new folder to resume it"
                )
            part = parse_vasp_attempt(folder, record["first_step"])
            _check_species(part.species, structure, folder)
            parts.append(part)
            contcar, step, prev_dir = part.contcar, part.restart_step, folder
        end = attempt_end(spec, step, max_steps)
        remaining = end - step
        if remaining > 0:
            record_attempt(ckpt, attempts, work_dir, step)
            self.write_inputs(maker, spec, structure, contcar, remaining, work_dir, prev_dir, step)
            with contextlib.chdir(work_dir):
                run_vasp(**maker.run_vasp_kwargs)
            part = parse_vasp_attempt(work_dir, step)
            parts.append(part)
            check_segment_finished(
                spec,
                "VASP",
                part.restart_step,
                "its CONTCAR",
                stop_step=end if end < spec.last_step else None,
                started_at=step,
            )
        final = Poscar.from_str(parts[-1].contcar)
        return _frames(spec, parts, final, len(attempts), attempts)

    def write_inputs(
        self,
        maker: Any,
        spec: MDSegmentSpec,
        structure: Structure,
        contcar: str | None,
        n_steps: int,
        work_dir: Path,
        prev_dir: Path | None = None,
        step: int | None = None,
        **write_kwargs: Any,
    ) -> None:
        """Write the VASP inputs of one attempt (``submit --write-inputs`` shows the same)."""
        from atomate2.vasp.files import write_vasp_input_set

        updates: dict[str, Any] = {"nsteps": int(n_steps)}
        if spec.start_temperature_K is not None:
            # heating ramp (TEBEG -> TEEND); a resumed or cut ramp covers its own steps
            t0, t1 = spec.start_temperature_K, spec.temperature_K
            step = spec.last_step - n_steps if step is None else step
            done = (step - spec.first_step) / spec.n_steps
            until = (step + n_steps - spec.first_step) / spec.n_steps
            updates.update(start_temp=t0 + (t1 - t0) * done, end_temp=t0 + (t1 - t0) * until)
        generator = dataclasses.replace(maker.input_set_generator, **updates)
        write_vasp_input_set(
            structure,
            generator,
            directory=work_dir,
            **{**maker.write_input_set_kwargs, **write_kwargs},
        )
        poscar = work_dir / "POSCAR"
        if contcar is not None:
            poscar.write_text(contcar)
        _hand_over_ml_ab(generator, prev_dir, work_dir)

    def dry_run_inputs(
        self, maker: Any, spec: MDSegmentSpec, start: Structure | MDRestartState, folder: Path
    ) -> None:
        """Write the first attempt's inputs of a segment (POTCAR.spec for the POTCAR)."""
        contcar, structure, step = _start_point(start, spec)
        self.write_inputs(
            maker, spec, structure, contcar, spec.last_step - step, folder, step=step,
            potcar_spec=True,
        )  # fmt: skip


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


def _frames(
    spec: MDSegmentSpec,
    parts: list[_Attempt],
    final: Poscar,
    n_attempts: int,
    attempts: list[dict[str, Any]],
) -> SegmentFrames:
    structure = final.structure
    species = [site.specie.symbol for site in structure]
    steps = np.concatenate([p.steps for p in parts] + [[spec.last_step]])
    cart = np.concatenate([p.cart for p in parts] + [structure.cart_coords[None]])
    energies = np.concatenate([p.energies for p in parts] + [[np.nan]])
    temps = np.concatenate([p.temperatures for p in parts] + [[np.nan]])
    sel = (steps - spec.first_step) % spec.traj_interval == 0
    vel = final.velocities
    if vel is None:
        raise EngineError(f"{spec.label}: the final CONTCAR has no velocities; is IBRION = 0?")
    restart_structure = structure.copy(site_properties={"velocities": np.asarray(vel).tolist()})
    restart = MDRestartState(
        engine="vasp",
        step=spec.last_step,
        time_fs=spec.last_step * spec.time_step_fs,
        temperature_K=spec.temperature_K,
        structure=restart_structure,
        engine_state={"contcar": parts[-1].contcar, "dir": attempts[-1]["dir"] if attempts else ""},
    )
    resumed = attempts[-1]["first_step"] if n_attempts > 1 else None
    return SegmentFrames(
        species=species,
        lattice_A=np.asarray(structure.lattice.matrix),
        steps=steps[sel],
        cart_coords_A=cart[sel],
        velocities_A_fs=None,
        energies_eV=energies[sel],
        temperatures_K=temps[sel],
        forces_eV_A=None,
        restart=restart,
        attempts=max(n_attempts, 1),
        resumed_from_step=resumed,
    )
