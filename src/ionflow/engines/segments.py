"""What every engine's MD segment runner returns, its shared bookkeeping, and how it is chosen.

Each adapter names its runner in ``segment_runners`` (atomate2 MD maker base class ->
runner class); :func:`get_segment_runner` finds it through the registry. A runner takes the
engine's atomate2 MD maker, a :class:`~ionflow.schemas.md.MDSegmentSpec`
and the state to start from, runs (or resumes) the segment and returns
:class:`SegmentFrames`: all frames from the segment's start step to its end step in
engine-independent units, plus the restart state. The job skeleton in
:mod:`ionflow.makers.md_segments` turns that into the stored document, the same way for
every engine.

:class:`SegmentRunner` is the base of every runner: its one interface (the arguments
travel as a :class:`SegmentTask`) and the restart state it hands to the next segment.
:class:`DftSegmentRunner` adds the attempt log of the DFT engines (VASP, CP2K): resume
from the recorded attempts, size the next one to the walltime, run it, check where it
stopped and keep the frames on the stored steps. An engine supplies only its start point,
inputs, run call, output reader and final frames.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ionflow.engines.registry import adapter_class, engine_names
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.schemas.md import MDRestartState
from ionflow.settings import job_walltime

if TYPE_CHECKING:
    import numpy as np
    from pymatgen.core import Structure

    from ionflow.schemas.md import MDSegmentSpec

__all__ = [
    "ATTEMPTS_FILE",
    "DftProgress",
    "DftSegmentRunner",
    "SegmentFrames",
    "SegmentRunner",
    "SegmentStopped",
    "SegmentTask",
    "attempt_end",
    "check_segment_finished",
    "get_segment_runner",
    "load_attempts",
    "record_attempt",
]

#: attempt log of a DFT segment in its checkpoint folder: [{"dir": ..., "first_step": ...}]
ATTEMPTS_FILE = "attempts.json"


def _load(target: str) -> Any:
    module_name, name = target.split(":")
    return getattr(importlib.import_module(module_name), name)


def get_segment_runner(maker: Any) -> Any:
    """Return the segment runner able to run ``maker`` (an atomate2 MD maker).

    Parameters
    ----------
    maker
        The engine's MD maker.

    Returns
    -------
    Any
        A runner with ``run(maker, spec, start, work_dir) -> SegmentFrames``.
    """
    for name in engine_names():
        try:
            runners = adapter_class(name).segment_runners
        except ImportError:  # engine extras not installed
            continue
        for base, runner in runners.items():
            try:
                cls = _load(base)
            except ImportError:  # engine extras not installed
                continue
            if isinstance(maker, cls):
                return _load(runner)()
    raise ConfigError(
        f"ionflow cannot chain MD segments of {type(maker).__name__}; use one of the "
        f"engines {', '.join(engine_names())} (their atomate2 MD makers)"
    )


@dataclass
class SegmentFrames:
    """Frames and end state of one segment, engine-independent (what the skeleton stores).

    Parameters
    ----------
    species
        Element symbol per atom.
    lattice_A
        Cell matrix (rows are lattice vectors, Å), constant in NVT.
    steps
        Global MD step of every frame, including the segment's start frame.
    cart_coords_A
        Cartesian positions (unwrapped), shape ``(n_frames, n_atoms, 3)``.
    velocities_A_fs
        Velocities (Å/fs) per frame, or None if the engine does not write them.
    energies_eV
        Potential energy per frame (eV), or None.
    temperatures_K
        Instantaneous temperature per frame (K), or None.
    forces_eV_A
        Forces per frame (eV/Å), or None.
    restart
        State at the last frame.
    attempts
        Attempts (1 + resumes).
    resumed_from_step
        Step the last attempt resumed from, if any.
    warnings
        Problems met (kept in the segment document).
    """

    species: list[str]
    lattice_A: np.ndarray
    steps: np.ndarray
    cart_coords_A: np.ndarray
    velocities_A_fs: np.ndarray | None
    energies_eV: np.ndarray | None
    temperatures_K: np.ndarray | None
    forces_eV_A: np.ndarray | None
    restart: MDRestartState
    attempts: int = 1
    resumed_from_step: int | None = None
    warnings: list[str] = field(default_factory=list)


def load_attempts(ckpt: Path) -> list[dict[str, Any]]:
    """Return the attempt log of a segment checkpoint folder (empty if none yet).

    Parameters
    ----------
    ckpt
        The segment's checkpoint folder.

    Returns
    -------
    list of dict
        One ``{"dir": run folder, "first_step": global step}`` per attempt, oldest first.
    """
    path = ckpt / ATTEMPTS_FILE
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path} is unreadable ({exc}); delete {ckpt} to start over") from None


def record_attempt(
    ckpt: Path, attempts: list[dict[str, Any]], work_dir: Path, first_step: int
) -> None:
    """Append a new attempt to ``attempts`` and write the log atomically before it runs.

    Parameters
    ----------
    ckpt
        The segment's checkpoint folder.
    attempts
        The log read by :func:`load_attempts` (appended to in place).
    work_dir
        Folder the new attempt runs in.
    first_step
        Global step the new attempt starts from.
    """
    attempts.append({"dir": str(work_dir), "first_step": first_step})
    tmp = ckpt / f".{ATTEMPTS_FILE}.tmp"
    tmp.write_text(json.dumps(attempts))
    os.replace(tmp, ckpt / ATTEMPTS_FILE)


class SegmentStopped(Exception):
    """A segment stopped before its last step for the walltime; its checkpoint is on disk.

    The job skeleton (:func:`ionflow.makers.md_segments.md_segment`) continues the same
    segment from the checkpoint in a new job, so no frame is lost or stored twice.

    Parameters
    ----------
    step
        Global step the run stopped at (the checkpoint's step).
    started_at
        Global step the stopped attempt started from.
    """

    def __init__(self, step: int, started_at: int) -> None:
        super().__init__(f"segment stopped at step {step} for the walltime")
        self.step, self.started_at = int(step), int(started_at)


def attempt_end(spec: MDSegmentSpec, step: int, max_steps: int | None) -> int:
    """Global step an attempt starting at ``step`` runs to (a stored frame; walltime sizing).

    ``max_steps`` None runs to the segment's end; otherwise the attempt ends at the last
    stored frame within ``max_steps`` (at least the next one), never past the end.
    """
    if max_steps is None:
        return spec.last_step
    iv = spec.traj_interval
    end = spec.first_step + ((step + max_steps - spec.first_step) // iv) * iv
    if end <= step:
        end = spec.first_step + ((step - spec.first_step) // iv + 1) * iv
    return min(end, spec.last_step)


def check_segment_finished(
    spec: MDSegmentSpec,
    code: str,
    stopped_at: int,
    resume_from: str,
    stop_step: int | None = None,
    started_at: int | None = None,
) -> None:
    """Check that a DFT run reached the segment's last step (or its planned stop).

    Parameters
    ----------
    spec
        The segment.
    code
        Engine name in the message (``VASP``, ``CP2K``).
    stopped_at
        Global step the run can be restarted from.
    resume_from
        What the rerun continues from (``its CONTCAR``, ``its restart file``).
    stop_step
        Step this attempt was asked to stop at (walltime sizing), if before the end.
    started_at
        Step this attempt started from.

    Raises
    ------
    SegmentStopped
        The run stopped early but made progress, at ``stop_step`` or inside a queue job
        (the walltime handler stopped it): it continues in a new job.
    EngineError
        The run stopped early without progress, or outside a queue job.
    """
    if stopped_at == spec.last_step:
        return
    progressed = started_at is None or stopped_at > started_at
    if progressed and (stop_step is not None or job_walltime()[1] is not None):
        raise SegmentStopped(stopped_at, started_at if started_at is not None else stopped_at)
    if stopped_at != spec.last_step:
        raise EngineError(
            f"{spec.label}: {code} stopped at step {stopped_at} of "
            f"{spec.last_step} (walltime or crash); run the job again to continue "
            f"from {resume_from}"
        )


@dataclass
class SegmentTask:
    """One attempt at a segment, as the job skeleton asks for it.

    Parameters
    ----------
    maker
        The engine's atomate2 MD maker (input set generator, custodian settings).
    spec
        What to run.
    start
        The first segment's structure, or the previous segment's restart state.
    work_dir
        Folder the attempt runs in (a dry run: writes its inputs to).
    max_steps
        Most steps this attempt runs (walltime sizing; it ends on a stored frame).
    deadline
        Unix time after which the attempt stops at the next stored frame. The DFT engines
        get it through their own walltime setting or custodian's walltime handler.
    dry_run
        Write the first attempt's inputs only (``submit --write-inputs``).
    """

    maker: Any
    spec: MDSegmentSpec
    start: Structure | MDRestartState
    work_dir: Path
    max_steps: int | None = None
    deadline: float | None = None
    dry_run: bool = False


#: per-frame arrays of :class:`SegmentFrames`
_FRAME_ARRAYS = (
    "steps",
    "cart_coords_A",
    "velocities_A_fs",
    "energies_eV",
    "temperatures_K",
    "forces_eV_A",
)


class SegmentRunner:
    """Base of every engine's segment runner: its interface and the restart hand-over.

    An engine implements :meth:`run_task` (run or resume one attempt, see
    :class:`SegmentTask`) and :meth:`write_first_inputs`.
    """

    #: engine name written into the restart state (the registry's name)
    engine: str = ""

    def run(
        self,
        maker: Any,
        spec: MDSegmentSpec,
        start: Structure | MDRestartState,
        work_dir: Path,
        max_steps: int | None = None,
        deadline: float | None = None,
    ) -> SegmentFrames:
        """Run (or resume) one segment; the arguments are :class:`SegmentTask`'s.

        Returns
        -------
        SegmentFrames
            All frames from the segment's start step to its last step, and the end state.

        Raises
        ------
        SegmentStopped
            The attempt stopped early (``max_steps`` or the deadline) with progress; its
            checkpoint is on disk and a new job continues it.
        """
        return self.run_task(SegmentTask(maker, spec, start, Path(work_dir), max_steps, deadline))

    def dry_run_inputs(
        self, maker: Any, spec: MDSegmentSpec, start: Structure | MDRestartState, folder: Path
    ) -> None:
        """Write the first attempt's inputs of a segment to ``folder`` (nothing runs)."""
        self.write_first_inputs(SegmentTask(maker, spec, start, Path(folder), dry_run=True))

    def run_task(self, task: SegmentTask) -> SegmentFrames:
        """Run (or resume) the attempt ``task`` describes."""
        raise NotImplementedError

    def write_first_inputs(self, task: SegmentTask) -> None:
        """Write the inputs of the segment's first attempt to ``task.work_dir``."""
        raise NotImplementedError

    def restart_state(
        self, spec: MDSegmentSpec, step: int, structure: Structure, state: dict[str, Any]
    ) -> MDRestartState:
        """Return the state handed to the next segment.

        ``structure`` holds the positions at ``step`` and their ``velocities`` (Å/fs);
        ``state`` is what this engine needs for an exact continuation.
        """
        return MDRestartState(
            engine=self.engine,
            step=int(step),
            time_fs=float(step * spec.time_step_fs),
            temperature_K=spec.temperature_K,
            structure=structure,
            engine_state=state,
        )


@dataclass
class DftProgress:
    """How far the attempts of a DFT segment got: where the next attempt starts.

    Parameters
    ----------
    structure
        The segment's cell and species (positions of the start).
    step
        Global step the next attempt starts from.
    restart
        The engine's restart text to continue from (CONTCAR, CP2K restart file), or None.
    prev_dir
        Folder of the run it continues (files handed over from there), or None.
    after
        Frames at or before this step are read already (engines numbering frames globally).
    warnings
        Problems met on the way (kept in the segment document).
    attempts
        The attempt log (:func:`load_attempts`), the running attempt included.
    parts
        The frames read from each attempt (the engine's own record), oldest first.
    """

    structure: Structure
    step: int
    restart: str | None = None
    prev_dir: Path | None = None
    after: int = -1
    warnings: list[str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    parts: list[Any] = field(default_factory=list)

    def stored_frames(self, spec: MDSegmentSpec, frames: SegmentFrames) -> SegmentFrames:
        """Keep ``frames`` on the segment's stored steps; count the attempts of the log."""
        sel = (frames.steps - spec.first_step) % spec.traj_interval == 0
        arrays = {name: getattr(frames, name) for name in _FRAME_ARRAYS}
        return dataclasses.replace(
            frames,
            **{name: None if a is None else a[sel] for name, a in arrays.items()},
            attempts=max(len(self.attempts), 1),
            resumed_from_step=self.attempts[-1]["first_step"] if len(self.attempts) > 1 else None,
            warnings=list(self.warnings),
        )


class DftSegmentRunner(SegmentRunner):
    """Attempt bookkeeping of the DFT engines: resume, walltime sizing, run, stop check.

    Every attempt is recorded in ``<checkpoint_dir>/attempts.json`` before the engine
    starts. A rerun reads the frames of the recorded attempts, continues from the last
    restart point with the remaining steps (or as many as ``max_steps`` allows) and raises
    :class:`SegmentStopped` when the attempt stops early with progress. An engine sets
    ``code`` and ``resume_from`` (for messages) and implements the hooks below.
    """

    #: engine name in messages (``VASP``)
    code: ClassVar[str] = ""
    #: what a rerun continues from, in messages (``its CONTCAR``)
    resume_from: ClassVar[str] = ""
    #: refuse to run an attempt in the folder of a recorded one (its outputs would mix)
    new_folder_per_attempt: ClassVar[bool] = False

    def start_point(self, task: SegmentTask) -> DftProgress:
        """Return where the segment's first attempt starts."""
        raise NotImplementedError

    def check_start(self, task: SegmentTask, progress: DftProgress) -> None:
        """Refuse a start the engine cannot run (before anything is written)."""

    def read_attempt(self, task: SegmentTask, progress: DftProgress, record: dict) -> Any:
        """Return the frames of the attempt ``record`` (with its ``restart_step``)."""
        raise NotImplementedError

    def advance(self, progress: DftProgress, part: Any, folder: Path) -> None:
        """Move ``progress`` to the restart point of the recorded attempt ``part``."""
        raise NotImplementedError

    def write_inputs(self, task: SegmentTask, progress: DftProgress, n_steps: int) -> None:
        """Write the inputs of an attempt of ``n_steps`` from ``progress`` to the task's folder."""
        raise NotImplementedError

    def run_engine(self, maker: Any) -> None:
        """Run the engine in the current folder (the seam the engine's fakes replace)."""
        raise NotImplementedError

    def final_frames(self, task: SegmentTask, progress: DftProgress) -> SegmentFrames:
        """Return all frames of the segment from its attempts, and the end state."""
        raise NotImplementedError

    def run_task(self, task: SegmentTask) -> SegmentFrames:
        """Resume from the recorded attempts, run the next one and check where it stopped."""
        spec, work_dir = task.spec, task.work_dir
        progress = self.start_point(task)
        self.check_start(task, progress)
        ckpt = Path(spec.checkpoint_dir)
        ckpt.mkdir(parents=True, exist_ok=True)
        progress.attempts = load_attempts(ckpt)
        for record in list(progress.attempts):
            folder = Path(record["dir"])
            if self.new_folder_per_attempt and folder.resolve() == work_dir.resolve():
                raise InputError(
                    f"{work_dir} already holds an attempt of {spec.label}; run the job in a "
                    "new folder to resume it"
                )
            part = self.read_attempt(task, progress, record)
            progress.parts.append(part)
            self.advance(progress, part, folder)
        step = progress.step
        end = attempt_end(spec, step, task.max_steps)
        if end > step:
            record_attempt(ckpt, progress.attempts, work_dir, step)
            self.write_inputs(task, progress, end - step)
            with contextlib.chdir(work_dir):
                self.run_engine(task.maker)
            part = self.read_attempt(task, progress, progress.attempts[-1])
            progress.parts.append(part)
            check_segment_finished(
                spec,
                self.code,
                part.restart_step,
                self.resume_from,
                stop_step=end if end < spec.last_step else None,
                started_at=step,
            )
        return self.final_frames(task, progress)

    def write_first_inputs(self, task: SegmentTask) -> None:
        """Write the inputs of an attempt from the segment's start to its end."""
        progress = self.start_point(task)
        self.write_inputs(task, progress, task.spec.last_step - progress.step)
