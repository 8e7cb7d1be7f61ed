"""What every engine's MD segment runner returns, and how the runner is chosen.

Each adapter names its runner in ``segment_runners`` (atomate2 MD maker base class ->
runner class); :func:`get_segment_runner` finds it through the registry. A runner takes the
engine's atomate2 MD maker, a :class:`~ionflow.schemas.md.MDSegmentSpec`
and the state to start from, runs (or resumes) the segment and returns
:class:`SegmentFrames`: all frames from the segment's start step to its end step in
engine-independent units, plus the restart state. The job skeleton in
:mod:`ionflow.makers.md_segments` turns that into the stored document, the same way for
every engine.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ionflow.engines.registry import adapter_class, engine_names
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.settings import job_walltime

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from ionflow.schemas.md import MDRestartState, MDSegmentSpec

__all__ = [
    "ATTEMPTS_FILE",
    "SegmentFrames",
    "SegmentStopped",
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
