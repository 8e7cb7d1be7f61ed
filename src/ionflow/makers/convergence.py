"""Run-until-converged MD: analyse after each round of segments, add more while D is uncertain.

:func:`convergence_decision` is the pure decision; :func:`md_converge_check` is the job
that analyses all segments of one temperature so far and either returns the final result
or replaces itself with more segments plus a new check (jobflow ``Response(replace=...)``).
The replacement's output is the next check's small result document, so the trajectories
are never copied: later checks reference the earlier segments by job uuid.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import Flow, OutputReference, Response, job

from ionflow.errors import IonflowError
from ionflow.makers.md_segments import md_segment, segment_checkpoint_dir
from ionflow.makers.transport import analyze_md_result
from ionflow.schemas.md import ConvergenceSettings, MDConvergenceDoc, MDSegmentSpec
from ionflow.schemas.study import MDRunDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jobflow import Maker

    from ionflow.schemas.transport import DiffusionResult

__all__ = ["convergence_decision", "md_converge_check", "md_run_doc", "relative_error"]

logger = logging.getLogger(__name__)


def relative_error(result: DiffusionResult | None) -> float | None:
    """Return sigma_D / D, or None when D <= 0 or sigma_D is unknown."""
    if result is None or result.diffusivity_std_cm2_s is None:
        return None
    if not result.diffusivity_cm2_s > 0:
        return None
    return float(result.diffusivity_std_cm2_s / result.diffusivity_cm2_s)


def convergence_decision(
    result: DiffusionResult | None,
    production_time_ps: float,
    extension_ps: float,
    settings: ConvergenceSettings,
    not_diffusing_count: int = 0,
) -> tuple[str, float | None, str]:
    """Decide whether one temperature needs more production MD.

    Parameters
    ----------
    result
        Diffusion analysis of all production so far (None if it failed).
    production_time_ps
        Production time analysed (ps).
    extension_ps
        Time one more round of segments would add (ps).
    settings
        Convergence target and caps.
    not_diffusing_count
        Consecutive earlier checks that found no diffusion.

    Returns
    -------
    tuple
        ``(status, relative error or None, message)`` with status one of
        ``converged``, ``not_diffusing``, ``max_time``, ``extend``, ``failed``.
    """
    if result is None:
        return "failed", None, "the diffusion analysis failed; see the job log"
    rel = relative_error(result)
    t = production_time_ps
    if not result.diffusing:
        if not_diffusing_count + 1 >= settings.not_diffusing_checks:
            return (
                "not_diffusing",
                rel,
                f"no {result.specie} diffusion after {t:.3g} ps "
                f"(D < {result.diffusivity_upper_bound_cm2_s or 0:.2e} cm^2/s); stopped early",
            )
    elif rel is not None and rel <= settings.target_rel_err:
        return "converged", rel, f"sigma_D/D = {rel:.3f} <= {settings.target_rel_err} at {t:.3g} ps"
    if t + extension_ps > settings.max_time_ps * (1 + 1e-9):
        shown = "unknown" if rel is None else f"{rel:.3f}"
        return (
            "max_time",
            rel,
            f"reached {t:.3g} ps of the {settings.max_time_ps:g} ps cap with sigma_D/D = {shown}",
        )
    shown = "unknown" if rel is None else f"{rel:.3f}"
    return "extend", rel, f"sigma_D/D = {shown} at {t:.3g} ps; adding {extension_ps:.3g} ps"


def md_run_doc(
    spec: MDSegmentSpec, engine: str, segment_uuids: Sequence[str], **steps: Any
) -> MDRunDoc:
    """Return the :class:`~ionflow.schemas.study.MDRunDoc` of the run at one temperature.

    ``spec`` is one of the run's segments: the run's temperature, time step and frame
    interval are its segments'. ``steps`` are the document's step counts
    (``equilibration_steps``, ``production_steps``, ``segments``, ``segment_steps``) and
    ``stop_reason``. The fixed-length run and every converge check write it.
    """
    return MDRunDoc(
        **spec.model_dump(include={"temperature_K", "time_step_fs", "traj_interval"}),
        engine=engine,
        segment_uuids=list(segment_uuids),
        **steps,
    )


@job(name="md converge check")
def md_converge_check(
    trajectories: Sequence[Any],
    maker: Maker,
    template: MDSegmentSpec,
    engine: str,
    settings: ConvergenceSettings,
    segment_uuids: list[str],
    equilibration_steps: int,
    production_steps: int,
    segment_steps: int,
    n_equilibration_segments: int = 0,
    round: int = 0,
    not_diffusing_count: int = 0,
) -> Response:
    """Analyse one temperature and stop, or replace itself with more segments and a new check.

    Parameters
    ----------
    trajectories
        All segment trajectories of the temperature so far (resolved by jobflow).
    maker
        The engine's MD maker, reused for new segments.
    template
        Spec of the last segment; new segments copy its settings.
    engine
        Engine name.
    settings
        Convergence target and caps.
    segment_uuids
        Job uuids of all segments so far (equilibration first).
    equilibration_steps
        Steps excluded from the analysis.
    production_steps
        Production steps run so far.
    segment_steps
        Steps per added segment.
    n_equilibration_segments
        How many of ``segment_uuids`` are equilibration (heating) segments.
    round
        Number of this check (0 after the initial segments).
    not_diffusing_count
        Consecutive earlier checks without diffusion.

    Returns
    -------
    Response
        Output ``{"run": MDRunDoc, "diffusion": DiffusionResult | None, "convergence":
        MDConvergenceDoc}``; while not converged, a ``replace`` with the next round.
    """
    t_k = template.temperature_K
    dt, interval = template.time_step_fs, template.traj_interval
    result, error = None, ""
    try:
        result = analyze_md_result(
            trajectories,
            t_k,
            dt,
            interval,
            equilibration_steps // interval,
            specie=settings.specie,
            min_time_ps=settings.min_time_ps,
            drift=settings.drift,
        )
    except IonflowError as exc:
        error = str(exc)
    production_ps = production_steps * dt / 1000.0
    extension_steps = settings.extend_segments * segment_steps
    status, rel, message = convergence_decision(
        result, production_ps, extension_steps * dt / 1000.0, settings, not_diffusing_count
    )
    if error:
        message = f"{message}: {error}"
    logger.info("%g K check %d: %s", t_k, round, message)
    doc = MDConvergenceDoc(
        temperature_K=t_k,
        status=status,
        round=round,
        production_time_ps=production_ps,
        diffusivity_cm2_s=None if result is None else result.diffusivity_cm2_s,
        diffusivity_rel_err=rel if rel is None or math.isfinite(rel) else None,
        target_rel_err=settings.target_rel_err,
        max_time_ps=settings.max_time_ps,
        segment_uuids=list(segment_uuids),
        message=message,
    )
    n_production = len(segment_uuids) - n_equilibration_segments
    run = md_run_doc(
        template,
        engine,
        segment_uuids,
        equilibration_steps=equilibration_steps,
        production_steps=production_steps,
        segments=max(n_production, 1),
        segment_steps=segment_steps,
        stop_reason="fixed_length" if status == "extend" else status,
    )
    output = {"run": run, "diffusion": result, "convergence": doc}
    if status != "extend":
        return Response(output=output)

    new_jobs = []
    start: Any = OutputReference(segment_uuids[-1], (("a", "restart"),))
    first = template.last_step
    new_trajs = []
    for k in range(settings.extend_segments):
        spec = template.model_copy(
            update={
                "phase": "production",
                "index": template.index + 1 + k,
                "first_step": first + k * segment_steps,
                "n_steps": segment_steps,
                "start_temperature_K": None,
                "checkpoint_dir": segment_checkpoint_dir(
                    Path(template.checkpoint_dir).parent, template.index + 1 + k
                ),
            }
        )
        seg = md_segment(maker, spec, start, engine)
        seg.name = spec.label
        new_jobs.append(seg)
        new_trajs.append(seg.output.trajectory)
        start = seg.output.restart
    refs = [OutputReference(u, (("a", "trajectory"),)) for u in segment_uuids]
    check = md_converge_check(
        refs + new_trajs,
        maker,
        spec,
        engine,
        settings,
        [*segment_uuids, *(j.uuid for j in new_jobs)],
        equilibration_steps,
        production_steps + extension_steps,
        segment_steps,
        n_equilibration_segments=n_equilibration_segments,
        round=round + 1,
        not_diffusing_count=not_diffusing_count + (0 if result is None or result.diffusing else 1),
    )
    check.name = f"md {t_k:g}K converge check {round + 1}"
    flow = Flow([*new_jobs, check], output=check.output, name=f"md {t_k:g}K extension {round + 1}")
    return Response(output=output, replace=flow)
