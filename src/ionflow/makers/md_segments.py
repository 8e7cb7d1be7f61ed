"""The MD segment job: one skeleton for every engine (run or resume → frames → document).

:func:`run_md_segment` is the plain function; :func:`md_segment` is its jobflow wrapper.
The engine-specific work (writing inputs, running the code, reading its frames and
restart data) is done by the runner :func:`ionflow.engines.segments.get_segment_runner`
picks for the engine's atomate2 maker. This module checks what comes back (frame steps,
finite values), puts the frames on ionflow's global time axis and writes the document.

A finished segment also leaves ``segment.json.gz`` in its checkpoint folder, so a job
that is run again (after the store write failed, or when a killed flow is resumed) returns
the same result instead of integrating again.

Walltime: inside a queue job (:func:`ionflow.settings.job_walltime`) a segment runs only
what fits before the job's end minus ``settings.walltime_margin_s``: as many steps as the
measured wall time per step of the previous segment (or of this segment's earlier
attempt) allows, else (nothing measured yet) its planned ``n_steps`` with a deadline the
runner stops at. A segment stopped that way returns an
:class:`~ionflow.schemas.md.MDSegmentContinuation` and is replaced by a job running the
same segment, which resumes from the checkpoint in the next queue job: the frames of
both attempts make the one segment document, none lost or stored twice.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Response, job
from monty.serialization import dumpfn, loadfn
from pymatgen.core import Structure
from pymatgen.core.trajectory import Trajectory

from ionflow.engines.segments import SegmentFrames, SegmentStopped, get_segment_runner
from ionflow.errors import ConfigError, EngineError, InputError
from ionflow.schemas.md import (
    MDRestartState,
    MDSegmentContinuation,
    MDSegmentDoc,
    MDSegmentSpec,
)
from ionflow.settings import get_settings, job_walltime

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = [
    "DONE_FILE",
    "MD_SEGMENT_FUNCTION",
    "build_segment_doc",
    "check_start",
    "expected_steps",
    "md_segment",
    "run_md_segment",
    "segment_budget",
    "segment_checkpoint_dir",
    "timestep_warning",
]

#: time step (fs) above which light mobile species are integrated too coarsely
LIGHT_SPECIES_MAX_TIME_STEP_FS = {"H": 1.0, "Li": 2.0}

logger = logging.getLogger(__name__)

DONE_FILE = "segment.json.gz"
#: name of the segment job's function (dry runs and resource kinds recognise it)
MD_SEGMENT_FUNCTION = "md_segment"


def segment_checkpoint_dir(temperature_dir: str | Path, index: int) -> str:
    """Checkpoint folder of segment ``index`` of one temperature (absolute path)."""
    return str(Path(temperature_dir).resolve() / f"segment-{index:03d}")


def timestep_warning(species: set[str] | list[str], time_step_fs: float) -> str | None:
    """Return a warning if the time step is large for the lightest species present."""
    for element, limit in LIGHT_SPECIES_MAX_TIME_STEP_FS.items():
        if element in species and time_step_fs > limit:
            return (
                f"time step {time_step_fs:g} fs is large for {element} (keep it <= {limit:g} fs); "
                "energy drift and missed hops are likely"
            )
    return None


def expected_steps(spec: MDSegmentSpec) -> np.ndarray:
    """Global steps of the frames a segment must store (see :mod:`ionflow.schemas.md`)."""
    first = spec.first_step if spec.index == 0 else spec.first_step + spec.traj_interval
    return np.arange(first, spec.last_step + 1, spec.traj_interval)


def check_start(spec: MDSegmentSpec, start: Structure | MDRestartState) -> list[str]:
    """Check that ``start`` can begin this segment; return warnings.

    Raises
    ------
    InputError
        If a restart state belongs to another step, temperature or structure.
    """
    warnings: list[str] = []
    if isinstance(start, MDRestartState):
        if start.step != spec.first_step:
            raise InputError(
                f"{spec.label}: the restart state is at step {start.step} but the segment "
                f"starts at step {spec.first_step}; continue from the matching segment"
            )
        if (
            spec.index > 0
            and spec.start_temperature_K is None
            and not math.isclose(start.temperature_K, spec.temperature_K, rel_tol=1e-6)
        ):
            raise InputError(
                f"{spec.label}: the restart state was run at {start.temperature_K:g} K, "
                f"not {spec.temperature_K:g} K; restart from the same temperature"
            )
        structure = start.structure
    else:
        structure = start
        if spec.index > 0:
            warnings.append(
                f"{spec.label} starts from a plain structure, not a restart state: "
                "velocities come from the structure or are drawn anew"
            )
    elements = {el.symbol for el in structure.composition.elements}
    message = timestep_warning(elements, spec.time_step_fs) if spec.index == 0 else None
    if message:
        warnings.append(message)
    if spec.formula is not None:
        formula = structure.composition.formula.replace(" ", "")
        if formula != spec.formula:
            raise InputError(
                f"{spec.label}: the start structure is {formula}, this run is for "
                f"{spec.formula}; a restart from another structure cannot continue this run"
            )
    return warnings


def build_segment_doc(
    spec: MDSegmentSpec,
    frames: SegmentFrames,
    engine: str,
    wall_time_s: float,
    dir_name: str,
    warnings: list[str] | None = None,
) -> MDSegmentDoc:
    """Check the frames of a segment and put them into the stored document.

    Per-frame values the engine did not report or that are not finite (energy,
    temperature, velocities, forces) are left out of that frame; positions must be
    finite.

    Parameters
    ----------
    spec
        What the segment was asked to run.
    frames
        What the runner returned (including the start frame).
    engine
        Engine name.
    wall_time_s
        Wall time of the last attempt (s).
    dir_name
        Folder the segment ran in.
    warnings
        Warnings collected before the run.

    Returns
    -------
    MDSegmentDoc
        The document, its trajectory holding only this segment's new frames.
    """
    steps = np.asarray(frames.steps, dtype=int)
    keep = np.ones(len(steps), dtype=bool)
    if spec.index > 0 and len(steps) and steps[0] == spec.first_step:
        keep[0] = False  # the previous segment already stored this frame
    want = expected_steps(spec)
    got = steps[keep]
    if got.shape != want.shape or np.any(got != want):
        raise EngineError(
            f"{spec.label}: expected {len(want)} frames at steps {want[0]}..{want[-1]} every "
            f"{spec.traj_interval}, the engine returned {len(got)} "
            f"({_describe_steps(got)}); the output is truncated or the sampling differs"
        )
    cart = np.asarray(frames.cart_coords_A, float)[keep]
    if not np.isfinite(cart).all():
        bad = int(got[np.where(~np.isfinite(cart).all(axis=(1, 2)))[0][0]])
        raise EngineError(f"{spec.label}: positions are not finite from step {bad} (MD blew up)")
    warnings = list(warnings or [])
    lattice = np.asarray(frames.lattice_A, float)
    frac = cart @ np.linalg.inv(lattice)
    props: list[dict[str, Any]] = [
        {"step": int(step), "time_fs": float(step * spec.time_step_fs)} for step in got
    ]
    for key, values in (
        ("energy_eV", frames.energies_eV),
        ("temperature_K", frames.temperatures_K),
        ("velocities_A_fs", frames.velocities_A_fs),
        ("forces_eV_A", frames.forces_eV_A if spec.store_forces else None),
    ):
        if values is None:
            continue
        arr = np.asarray(values, float)[keep]
        finite = np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
        # frames the engine did not report (e.g. VASP's energy of the final CONTCAR) or
        # that are not finite simply lack the key: NaN/inf are never stored
        if (~finite[:-1]).any():
            warnings.append(
                f"{spec.label}: {key} missing or not finite in {int((~finite).sum())} frames"
            )
        for i in range(len(props)):
            if finite[i]:
                props[i][key] = arr[i].tolist() if arr.ndim > 1 else float(arr[i])
    traj = Trajectory(
        species=list(frames.species),
        coords=frac,
        lattice=lattice,
        constant_lattice=True,
        time_step=spec.time_step_fs * spec.traj_interval,
        frame_properties=props,
    )
    temps = None if frames.temperatures_K is None else np.asarray(frames.temperatures_K)[keep]
    temps = None if temps is None else temps[np.isfinite(temps)]
    mean_t = float(np.mean(temps)) if temps is not None and len(temps) else None
    return MDSegmentDoc(
        engine=engine,
        spec=spec,
        first_stored_step=int(got[0]),
        last_step=int(got[-1]),
        n_frames=len(got),
        start_time_fs=float(got[0] * spec.time_step_fs),
        end_time_fs=float(got[-1] * spec.time_step_fs),
        mean_temperature_K=mean_t,
        wall_time_s=float(wall_time_s),
        attempts=frames.attempts,
        resumed_from_step=frames.resumed_from_step,
        dir_name=dir_name,
        trajectory=traj,
        restart=frames.restart,
        warnings=[*warnings, *frames.warnings],
    )


def _describe_steps(steps: np.ndarray) -> str:
    if len(steps) == 0:
        return "none"
    return f"steps {steps[0]}..{steps[-1]}"


def segment_budget(
    spec: MDSegmentSpec,
    wall_s_per_step: float | None,
    environ: Any = None,
    now: float | None = None,
) -> tuple[int | None, float | None]:
    """Return (most steps to run now, deadline as Unix time) from the queue walltime.

    Parameters
    ----------
    spec
        The segment.
    wall_s_per_step
        Measured wall time per step (s) of the previous segment or attempt, if any.
    environ, now
        Environment and clock (tests).

    Returns
    -------
    tuple
        ``(None, None)`` outside a queue job. Otherwise the deadline (the job's end minus
        ``settings.walltime_margin_s``) and, when a time per step is known, the steps
        that fit before it (None: unknown, run ``spec.n_steps`` and stop at the deadline).

    Raises
    ------
    ConfigError
        When the queue walltime is too short for one stored frame of this segment.
    """
    now = time.time() if now is None else now
    total, remaining = job_walltime(environ, now)
    if remaining is None:
        return None, None
    margin = get_settings().walltime_margin_s
    deadline = now + remaining - margin
    if not wall_s_per_step:
        return None, deadline
    if total is not None and (total - margin) < wall_s_per_step * spec.traj_interval:
        raise ConfigError(
            f"{spec.label}: one stored frame ({spec.traj_interval} steps at "
            f"{wall_s_per_step:.3g} s/step) does not fit in the queue walltime of {total:g} s "
            f"minus the {margin:g} s margin; raise resources.md.walltime"
        )
    return max(int((remaining - margin) / wall_s_per_step), 0), deadline


def run_md_segment(
    maker: Maker,
    spec: MDSegmentSpec,
    start: Structure | MDRestartState,
    engine: str,
    work_dir: str | Path | None = None,
    wall_s_per_step: float | None = None,
) -> MDSegmentDoc | MDSegmentContinuation:
    """Run (or resume, or recover) one MD segment.

    Parameters
    ----------
    maker
        The engine's atomate2 MD maker (settings; the runner sets length and state).
    spec
        What to run.
    start
        Structure (first segment) or the previous segment's restart state.
    engine
        Engine name for provenance.
    work_dir
        Folder to run in; default the current directory (the job's folder).
    wall_s_per_step
        Measured wall time per step (s) of an earlier attempt of this segment; default
        the previous segment's (carried by its restart state).

    Returns
    -------
    MDSegmentDoc or MDSegmentContinuation
        Metadata, trajectory (data store) and restart state of the segment; or, when it
        stopped for the queue walltime, where it stopped (see the module docstring).
    """
    work_dir = Path(work_dir or Path.cwd()).resolve()
    ckpt = Path(spec.checkpoint_dir)
    done = ckpt / DONE_FILE
    if done.exists():
        doc = _load_done(done, spec)
        if doc is not None:
            logger.info("%s already finished; returning the checkpointed result", spec.label)
            return doc
    warnings = check_start(spec, start)
    runner = get_segment_runner(maker)
    if wall_s_per_step is None and isinstance(start, MDRestartState):
        wall_s_per_step = start.wall_s_per_step
    max_steps, deadline = segment_budget(spec, wall_s_per_step)
    t0 = time.perf_counter()
    try:
        frames = runner.run(maker, spec, start, work_dir, max_steps=max_steps, deadline=deadline)
    except SegmentStopped as stop:
        wall = time.perf_counter() - t0
        n_run = stop.step - stop.started_at
        logger.info(
            "%s stopped at step %d for the queue walltime; it continues in a new job",
            spec.label,
            stop.step,
        )
        return MDSegmentContinuation(
            label=spec.label,
            stopped_at_step=stop.step,
            started_at_step=stop.started_at,
            wall_time_s=wall,
            wall_s_per_step=wall / n_run if n_run > 0 else wall_s_per_step,
        )
    wall = time.perf_counter() - t0
    n_run = spec.last_step - (frames.resumed_from_step or spec.first_step)
    if n_run > 0:
        frames.restart = frames.restart.model_copy(update={"wall_s_per_step": wall / n_run})
    doc = build_segment_doc(spec, frames, engine, wall, str(work_dir), warnings)
    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / f".{DONE_FILE}.tmp.json.gz"
    dumpfn(doc, tmp)
    os.replace(tmp, done)
    cleanup = getattr(runner, "cleanup", None)
    if cleanup is not None:
        cleanup(ckpt)  # the finished document replaces the partial checkpoints
    return doc


def _load_done(path: Path, spec: MDSegmentSpec) -> MDSegmentDoc | None:
    try:
        doc = loadfn(path)
    except Exception as exc:  # a truncated gzip raises EOFError, OSError or ValueError
        logger.warning("ignoring unreadable %s (%s); running the segment again", path, exc)
        return None
    if not isinstance(doc, MDSegmentDoc) or doc.spec.model_dump(
        exclude={"checkpoint_dir"}
    ) != spec.model_dump(exclude={"checkpoint_dir"}):
        raise InputError(
            f"{path} holds a different segment than {spec.label}; point checkpoint_dir to "
            "a fresh folder or delete it"
        )
    return doc


@job(data=[Trajectory], name="md segment")
def md_segment(
    maker: Maker,
    spec: MDSegmentSpec,
    start: Structure | MDRestartState,
    engine: str,
    wall_s_per_step: float | None = None,
) -> MDSegmentDoc | Response:
    """Job wrapper of :func:`run_md_segment` (the trajectory goes to the data store).

    A segment stopped for the queue walltime is replaced by a job running the same
    segment (same spec and checkpoint), so it continues in the next queue job and the
    segment's output is the replacement's.
    """
    result = run_md_segment(maker, spec, start, engine, wall_s_per_step=wall_s_per_step)
    if isinstance(result, MDSegmentContinuation):
        rest = md_segment(maker, spec, start, engine, wall_s_per_step=result.wall_s_per_step)
        rest.name = spec.label
        return Response(output=result, replace=rest)
    return result
