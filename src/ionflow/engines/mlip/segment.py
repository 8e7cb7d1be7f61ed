"""Run one MD segment with an ASE calculator (CHGNet via atomate2) and carry its exact state.

atomate2's ``AseMDMaker`` (``ForceFieldMDMaker`` for CHGNet) runs the dynamics; ionflow
swaps in thermostat classes that (a) start from the previous segment's exact positions,
momenta and thermostat variables (Nose-Hoover chain variables, Langevin RNG state), (b)
write a checkpoint every few stored frames and (c) report their final state. A chain of
segments therefore reproduces an unchained run frame for frame, and a killed segment
resumes from its last checkpoint as if it had never stopped.

Three atomate2 0.1.5 behaviours are worked around here:

- its output structure drops the velocities (``AseAtomsAdaptor.get_structure`` ignores
  momenta), so the next segment would draw new Maxwell-Boltzmann velocities;
- its ``"nose-hoover"`` preset is ASE's deprecated ``NPT`` (Melchionna) class, whose
  hidden state cannot be carried over and which calls ``atoms.set_cell`` on a rotated
  cell without scaling the atoms. ionflow uses ASE's ``NoseHooverChainNVT`` instead;
- its trajectory observer recomputes stress and magnetic moments at every stored frame
  (a second, full model evaluation there); ionflow records the frames itself and lets
  that observer see only the start frame.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import units
from pymatgen.core import Structure

from ionflow.engines.mlip.calculators import lean_calculator, shared_calculator
from ionflow.engines.mlip.dynamics import (
    ChainedBerendsen,
    ChainedLangevin,
    ChainedNoseHooverChainNVT,
    ChainedVelocityVerlet,
    Hooks,
)
from ionflow.engines.segments import (
    SegmentFrames,
    SegmentRunner,
    SegmentStopped,
    SegmentTask,
    attempt_end,
    check_segment_finished,
)
from ionflow.errors import ConfigError, InputError
from ionflow.schemas.md import MDRestartState

if TYPE_CHECKING:
    from atomate2.ase.md import AseMDMaker

    from ionflow.schemas.md import MDSegmentSpec

__all__ = ["AseSegmentRunner", "lean_calculator", "velocities_to_A_fs"]

logger = logging.getLogger(__name__)

#: default coupling times (fs) when the engine's maker does not set one
DEFAULT_TDAMP_FS = 25.0
DEFAULT_TAUT_FS = 100.0
#: Langevin friction (1/fs), VASP's and atomate2's default of 10 ps^-1
DEFAULT_FRICTION_PER_FS = 0.01


def velocities_to_A_fs(velocities_ase: np.ndarray) -> np.ndarray:
    """Convert ASE velocities (Å per ASE time unit) to Å/fs."""
    return np.asarray(velocities_ase) * units.fs


# --------------------------------------------------------------------------- checkpoints
class _DeadlineReached(Exception):
    """Raised by the recorder once the frames up to the deadline are checkpointed."""


class _Recorder:
    """Observer storing frames and writing checkpoints every ``checkpoint_every`` frames.

    With a ``deadline`` (Unix time), the first stored frame after it is checkpointed and
    the run stops (:class:`_DeadlineReached`), so the segment continues in the next job.
    """

    def __init__(
        self,
        spec: MDSegmentSpec,
        ckpt: _Checkpoint,
        step0: int,
        deadline: float | None = None,
        resumed: bool = False,
    ) -> None:
        self.interval = spec.traj_interval
        self.every = spec.checkpoint_every
        self.store_forces = spec.store_forces
        self.ckpt, self.step0 = ckpt, step0
        self.frames: dict[str, list] = {k: [] for k in _FRAME_KEYS}
        self.pending = 0
        self.deadline = deadline
        self.last_step = spec.last_step
        # a resumed attempt starts at a checkpointed frame: recording it again would
        # store it twice in the checkpoint chunks
        self.resumed = resumed

    def __call__(self, dyn: Any) -> None:
        atoms = dyn.atoms
        step = self.step0 + dyn.nsteps
        if self.resumed and step == self.step0:
            return
        f = self.frames
        f["steps"].append(step)
        f["positions"].append(atoms.get_positions())
        f["velocities"].append(atoms.get_velocities())
        f["energies"].append(float(atoms.get_potential_energy()))
        f["temperatures"].append(float(atoms.get_temperature()))
        if self.store_forces:
            f["forces"].append(atoms.get_forces())
        self.pending += 1
        if self.pending >= self.every:
            self.flush(dyn)
        # stop only after progress (a frame past the start), so every attempt advances
        late = self.deadline is not None and time.time() >= self.deadline
        if late and self.step0 < step < self.last_step:
            self.flush(dyn)
            raise _DeadlineReached

    def flush(self, dyn: Any) -> None:
        """Write the frames since the last checkpoint and the state at the last frame."""
        if self.pending == 0:
            return
        chunk = {k: np.asarray(v[-self.pending :]) for k, v in self.frames.items() if v}
        self.ckpt.write(chunk, dyn)
        self.pending = 0


_FRAME_KEYS = ("steps", "positions", "velocities", "energies", "temperatures", "forces")


class _Checkpoint:
    """On-disk checkpoint of one segment: frame chunks plus an atomically replaced state."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state_file = folder / "state.json"
        self.attempts = 1

    def load(self) -> dict[str, Any] | None:
        if not self.state_file.exists():
            return None
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(
                f"checkpoint {self.state_file} is unreadable ({exc}); delete {self.folder} "
                "to rerun this segment from its start"
            ) from None
        return state

    def load_frames(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        parts: dict[str, list] = {k: [] for k in _FRAME_KEYS}
        for name in state["chunks"]:
            path = self.folder / name
            try:
                with np.load(path) as data:
                    for k in _FRAME_KEYS:
                        if k in data:
                            parts[k].append(data[k])
            except (OSError, ValueError, KeyError) as exc:
                raise InputError(
                    f"checkpoint chunk {path} is missing or truncated ({exc}); delete "
                    f"{self.folder} to rerun this segment from its start"
                ) from None
        return {k: np.concatenate(v) for k, v in parts.items() if v}

    def write(self, chunk: dict[str, np.ndarray], dyn: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        old = self.load() or {"chunks": []}
        steps = chunk["steps"]
        name = f"frames-{int(steps[0]):09d}-{int(steps[-1]):09d}.npz"
        tmp = self.folder / f".{name}.tmp.npz"
        np.savez(tmp, **chunk)
        os.replace(tmp, self.folder / name)
        atoms = dyn.atoms
        state = {
            "step": int(steps[-1]),
            "species": atoms.get_chemical_symbols(),
            "cell": np.asarray(atoms.cell).tolist(),
            "positions": atoms.get_positions().tolist(),
            "momenta": atoms.get_momenta().tolist(),
            "thermostat": dyn.get_thermostat_state(),
            "chunks": [*old["chunks"], name],
            "attempts": self.attempts,
        }
        tmp_state = self.folder / ".state.json.tmp"
        tmp_state.write_text(json.dumps(state))
        os.replace(tmp_state, self.state_file)


# --------------------------------------------------------------------------- runner
class AseSegmentRunner(SegmentRunner):
    """Run :class:`~ionflow.schemas.md.MDSegmentSpec` segments with an atomate2 AseMDMaker.

    The restart hand-over is :class:`~ionflow.engines.segments.SegmentRunner`'s; the
    checkpoint is ionflow's own (frame chunks and integrator state, see ``_Checkpoint``).
    """

    engine = "mlip"

    def run_task(self, task: SegmentTask) -> SegmentFrames:
        """Run (or resume) one segment from its checkpoint (``task.work_dir`` is unused).

        ``task.maker`` is ``ForceFieldMDMaker`` or any atomate2 ``AseMDMaker``; the
        attempt stops at the stored frame after ``task.deadline`` or ``task.max_steps``
        with its frames checkpointed (:class:`~ionflow.engines.segments.SegmentStopped`).
        """
        maker, spec, start = task.maker, task.spec, task.start
        deadline, max_steps = task.deadline, task.max_steps
        ckpt = _Checkpoint(Path(spec.checkpoint_dir))
        species, lattice, positions, momenta, thermostat = _initial_state(start, spec, self)
        saved = ckpt.load()
        prior: dict[str, np.ndarray] = {}
        resumed_from = None
        attempts = 1
        step0 = spec.first_step
        if saved is not None:
            if saved["species"] != species:
                raise InputError(
                    f"checkpoint {ckpt.folder} belongs to another structure "
                    f"({len(saved['species'])} atoms); delete it or point checkpoint_dir "
                    "elsewhere"
                )
            prior = ckpt.load_frames(saved)
            step0 = int(saved["step"])
            positions = np.asarray(saved["positions"], float)
            momenta = np.asarray(saved["momenta"], float)
            thermostat = saved["thermostat"]
            resumed_from = step0
            attempts = int(saved.get("attempts", 1)) + 1
            logger.info("resuming %s from step %d", spec.label, step0)
        remaining = spec.last_step - step0
        if remaining < 0 or (step0 - spec.first_step) % spec.traj_interval:
            raise InputError(
                f"checkpoint {ckpt.folder} is at step {step0}, outside segment "
                f"{spec.first_step}..{spec.last_step}; delete it to rerun the segment"
            )
        ckpt.attempts = attempts
        recorder = _Recorder(spec, ckpt, step0, deadline, resumed=saved is not None)
        end = attempt_end(spec, step0, max_steps)
        if remaining > 0:
            hooks = Hooks(positions, momenta, thermostat, spec.seed, recorder)
            run_maker = _configure_maker(maker, spec, hooks, step0, end)
            structure = Structure(lattice, species, positions, coords_are_cartesian=True)
            try:
                run_maker.run_ase(structure)
            except _DeadlineReached:
                raise SegmentStopped(recorder.frames["steps"][-1], step0) from None
            recorder.flush(hooks.dyn)
            stop_step = end if end < spec.last_step else None
            check_segment_finished(spec, "ASE", end, "its checkpoint", stop_step, step0)
            final_state = _final_state(hooks.dyn)
        else:
            final_state = {"positions": positions, "momenta": momenta, "thermostat": thermostat}
        frames = recorder.frames
        if prior:
            new = {k: np.asarray(v) for k, v in frames.items() if v}
            # the resumed run does not record its start frame: the checkpoint holds it
            frames = {
                k: np.concatenate([prior[k], new[k]]) if k in new else prior[k] for k in prior
            }
        else:
            frames = {k: np.asarray(v) for k, v in frames.items() if v}
        masses = _masses(species)
        restart = _restart_state(
            self, spec, species, lattice, final_state, masses, int(frames["steps"][-1])
        )
        return SegmentFrames(
            species=species,
            lattice_A=np.asarray(lattice, float),
            steps=frames["steps"].astype(int),
            cart_coords_A=frames["positions"],
            velocities_A_fs=velocities_to_A_fs(frames["velocities"]),
            energies_eV=frames["energies"],
            temperatures_K=frames["temperatures"],
            forces_eV_A=frames.get("forces"),
            restart=restart,
            attempts=attempts,
            resumed_from_step=resumed_from,
            warnings=[],
        )

    def write_first_inputs(self, task: SegmentTask) -> None:
        """Write the segment's atomate2/ASE settings as JSON (``ionflow.json``)."""
        maker, spec, folder = task.maker, task.spec, task.work_dir
        from monty.json import jsanitize

        run = dataclasses.replace(
            maker,
            n_steps=int(spec.n_steps),
            time_step=float(spec.time_step_fs),
            temperature=float(spec.temperature_K),
            ensemble="nvt",
            mb_velocity_seed=spec.seed,
        )
        settings = {
            "atomate2_maker": jsanitize(run.as_dict(), strict=False, allow_bson=False),
            "thermostat": spec.thermostat,
            "segment": spec.model_dump(mode="json"),
        }
        (folder / "ionflow.json").write_text(json.dumps(settings, indent=2, default=str))

    @staticmethod
    def cleanup(folder: Path) -> None:
        """Remove frame chunks and state of a finished segment (its document is kept)."""
        for path in Path(folder).glob("frames-*.npz"):
            path.unlink(missing_ok=True)
        (Path(folder) / "state.json").unlink(missing_ok=True)


def _masses(species: list[str]) -> np.ndarray:
    from ase.data import atomic_masses, atomic_numbers

    return np.array([atomic_masses[atomic_numbers[s]] for s in species])


def _initial_state(
    start: Structure | MDRestartState, spec: MDSegmentSpec, runner: AseSegmentRunner
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray | None, dict | None]:
    """Return species, lattice, positions, momenta (ASE units or None) and thermostat state."""
    if isinstance(start, MDRestartState):
        structure = start.structure
        species = [site.specie.symbol for site in structure]
        lattice = structure.lattice.matrix.copy()
        es = start.engine_state
        if start.engine == runner.engine and "positions_A" in es and "momenta" in es:
            # exact continuation: the arrays as the integrator left them
            return (
                species,
                lattice,
                np.asarray(es["positions_A"], float),
                np.asarray(es["momenta"], float),
                es.get("thermostat") if es.get("thermostat_name") == spec.thermostat else None,
            )
        vel = np.asarray(structure.site_properties["velocities"], float) / units.fs
        momenta = vel * _masses(species)[:, None]
        return species, lattice, structure.cart_coords.copy(), momenta, None
    species = [site.specie.symbol for site in start]
    vel = start.site_properties.get("velocities")
    momenta = None
    if vel is not None:
        momenta = np.asarray(vel, float) / units.fs * _masses(species)[:, None]
    return species, start.lattice.matrix.copy(), start.cart_coords.copy(), momenta, None


def _configure_maker(
    maker: AseMDMaker, spec: MDSegmentSpec, hooks: Hooks, step0: int, end: int | None = None
) -> AseMDMaker:
    """Copy the engine's maker with ionflow's stateful thermostat and this segment's length."""
    kwargs = dict(maker.ase_md_kwargs or {})
    thermostat = spec.thermostat
    if thermostat == "nose-hoover":
        dyn: type = ChainedNoseHooverChainNVT
        tdamp = kwargs.pop("ttime", None) or kwargs.pop("tdamp", None)
        kwargs = {
            "tdamp": tdamp or DEFAULT_TDAMP_FS * units.fs,
            "tchain": kwargs.get("tchain", 3),
            "tloop": kwargs.get("tloop", 1),
        }
    elif thermostat == "langevin":
        dyn = ChainedLangevin
        kwargs.setdefault("friction", DEFAULT_FRICTION_PER_FS / units.fs)
        kwargs.pop("rng", None)
    elif thermostat == "berendsen":
        dyn = ChainedBerendsen
        kwargs.setdefault("taut", DEFAULT_TAUT_FS * units.fs)
    elif thermostat == "nve":
        dyn = ChainedVelocityVerlet
        kwargs = {}
    else:
        raise ConfigError(
            f"thermostat {thermostat!r} cannot be chained on the ASE engines; use "
            "nose-hoover, langevin, berendsen or nve"
        )
    kwargs.pop("temperature_K", None)
    kwargs["ionflow_hooks"] = hooks
    end = spec.last_step if end is None else end
    remaining = end - step0
    temperature: float | list[float] = float(spec.temperature_K)
    if spec.start_temperature_K is not None:
        t0, t1 = spec.start_temperature_K, spec.temperature_K
        frac = (step0 - spec.first_step) / spec.n_steps
        until = (end - spec.first_step) / spec.n_steps
        temperature = [t0 + (t1 - t0) * frac, t0 + (t1 - t0) * until]
    new = dataclasses.replace(
        maker,
        dynamics=dyn,
        ase_md_kwargs=kwargs,
        n_steps=int(remaining),
        time_step=float(spec.time_step_fs),
        temperature=temperature,
        ensemble="nvt",
        # atomate2 0.1.5's TrajectoryObserver asks for stress and magmoms at every
        # traj_interval step, i.e. a second, full CHGNet evaluation (~1.4x a forces-only
        # step) whose output ionflow discards: the frames come from ionflow's own recorder
        # (hooks). Longer than the segment, the observer only sees the start frame.
        traj_interval=int(remaining) + 1,
        mb_velocity_seed=spec.seed,
        traj_file=None,
    )
    new._calculator = shared_calculator(maker, lean=True)  # one model per process
    return new


def _final_state(dyn: Any) -> dict[str, Any]:
    atoms = dyn.atoms
    return {
        "positions": atoms.get_positions(),
        "momenta": atoms.get_momenta(),
        "thermostat": dyn.get_thermostat_state(),
    }


def _restart_state(
    runner: AseSegmentRunner,
    spec: MDSegmentSpec,
    species: list[str],
    lattice: np.ndarray,
    final: dict[str, Any],
    masses: np.ndarray,
    step: int,
) -> MDRestartState:
    positions = np.asarray(final["positions"], float)
    momenta = np.asarray(final["momenta"], float)
    vel_A_fs = velocities_to_A_fs(momenta / masses[:, None])
    structure = Structure(
        lattice,
        species,
        positions,
        coords_are_cartesian=True,
        site_properties={"velocities": vel_A_fs.tolist()},
    )
    return runner.restart_state(
        spec,
        step,
        structure,
        {
            "positions_A": positions.tolist(),
            "momenta": momenta.tolist(),
            "thermostat_name": spec.thermostat,
            "thermostat": final["thermostat"] or {},
        },
    )
