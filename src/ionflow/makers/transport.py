"""Jobs that turn MD trajectories into diffusivities and a study summary.

Each job is a thin wrapper around a plain function (``*_result``) so the logic can be
called and tested without jobflow.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobflow import job
from pymatgen.core.trajectory import Trajectory

from ionflow.analysis.arrhenius import fit_arrhenius
from ionflow.analysis.diffusion import analyze_diffusion
from ionflow.analysis.hop_counting import count_hops, fit_hop_arrhenius
from ionflow.analysis.trajectory import TrajectoryData
from ionflow.errors import InputError
from ionflow.report.transport import write_transport_report
from ionflow.schemas.hops import HopCountResult
from ionflow.schemas.study import MDRunDoc, StudyMeta, TransportDoc
from ionflow.schemas.study_doc import as_model

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from ionflow.schemas.transport import DiffusionResult

__all__ = [
    "analyze_md",
    "analyze_md_result",
    "count_md_hops",
    "count_md_hops_result",
    "production_data",
    "summarize_study",
    "summarize_study_result",
]

logger = logging.getLogger(__name__)


def _as_trajectory(obj: Any) -> Trajectory:
    """Accept a pymatgen Trajectory or its serialised dict (as the store returns it)."""
    if isinstance(obj, Trajectory):
        return obj
    if isinstance(obj, dict) and obj.get("@class") == "Trajectory":
        return Trajectory.from_dict(obj)
    raise TypeError(f"expected a pymatgen Trajectory, got {type(obj).__name__}")


def production_data(
    trajectories: Sequence[Any], temperature_K: float, frame_dt_fs: float, skip_frames: int
) -> TrajectoryData:
    """Concatenate MD segments and drop the leading equilibration frames.

    Parameters
    ----------
    trajectories
        Consecutive trajectory segments of one run (pymatgen Trajectory objects or dicts).
    temperature_K
        Thermostat temperature (K), for the error message.
    frame_dt_fs
        Time between stored frames (fs).
    skip_frames
        Leading frames (equilibration) to drop.

    Returns
    -------
    TrajectoryData
        The production run.
    """
    segments = []
    to_skip = skip_frames
    for obj in trajectories:
        traj = _as_trajectory(obj)
        if to_skip >= len(traj):
            to_skip -= len(traj)
            continue
        if to_skip:
            traj = traj[to_skip:]
            to_skip = 0
        segments.append(TrajectoryData.from_pymatgen(traj, time_step_fs=frame_dt_fs))
    if not segments:
        raise InputError(
            f"no frames left at {temperature_K:g} K after skipping "
            f"{skip_frames} equilibration frames"
        )
    return TrajectoryData.concatenate(segments) if len(segments) > 1 else segments[0]


@job(name="analyze md")
def analyze_md(
    trajectories: Sequence[Any],
    temperature_K: float,
    time_step_fs: float,
    traj_interval: int,
    skip_frames: int,
    specie: str = "Li",
    min_time_ps: float | None = None,
    drift: str = "framework",
) -> DiffusionResult:
    """Job: concatenate MD segments, drop equilibration frames and analyse diffusion.

    :func:`analyze_md_result` is the same function outside jobflow.

    Parameters
    ----------
    trajectories
        Consecutive trajectory segments of one run (pymatgen Trajectory objects).
    temperature_K
        Thermostat temperature (K).
    time_step_fs
        Integration time step (fs).
    traj_interval
        MD steps between stored frames.
    skip_frames
        Leading frames (equilibration) excluded from the analysis.
    specie
        Mobile species.
    min_time_ps
        Start of the MSD fit window (ps); None chooses automatically.
    drift
        Drift removal mode (``framework``, ``all``, ``none``).

    Returns
    -------
    DiffusionResult
        Diffusivity, conductivity and their uncertainties at this temperature.
    """
    data = production_data(trajectories, temperature_K, time_step_fs * traj_interval, skip_frames)
    # MD step and stored interval, in DiffusionAnalyzer's (time_step, step_skip) sense
    data.md_time_step_fs, data.md_step_skip = float(time_step_fs), int(traj_interval)
    return analyze_diffusion(
        data, specie=specie, temperature_K=temperature_K, min_time_ps=min_time_ps, drift=drift
    )


#: the plain function of the :func:`analyze_md` job (called outside jobflow)
analyze_md_result = analyze_md.original


@job(name="count hops")
def count_md_hops(
    trajectories: Sequence[Any],
    temperature_K: float,
    time_step_fs: float,
    traj_interval: int,
    skip_frames: int,
    specie: str = "Li",
    drift: str = "framework",
) -> HopCountResult:
    """Job: count the hops of the mobile ions in the production part of one run.

    :func:`count_md_hops_result` is the same function outside jobflow. Parameters are
    those of :func:`analyze_md`.

    Returns
    -------
    HopCountResult
        Hops, hop rate and the framework check (:func:`ionflow.analysis.hop_counting.count_hops`).
    """
    data = production_data(trajectories, temperature_K, time_step_fs * traj_interval, skip_frames)
    return count_hops(data, specie=specie, temperature_K=temperature_K, drift=drift)


#: the plain function of the :func:`count_md_hops` job (called outside jobflow)
count_md_hops_result = count_md_hops.original


@job(name="summarize study")
def summarize_study(
    meta: StudyMeta,
    structure: Structure,
    relaxed_energy_eV: float | None,
    md_runs: Sequence[MDRunDoc],
    diffusion: Sequence[DiffusionResult | None],
    target_temperature_K: float = 300.0,
    report_dir: str | Path | None = None,
    hop_counts: Sequence[HopCountResult | None] | None = None,
) -> TransportDoc:
    """Job: fit Arrhenius over the available temperatures and write the report.

    :func:`summarize_study_result` is the same function outside jobflow.

    Temperatures whose MD or analysis failed arrive as None and are listed in
    ``missing_temperatures_K`` instead of stopping the fit.

    Parameters
    ----------
    meta
        Study identity.
    structure
        The simulated (relaxed) cell.
    relaxed_energy_eV
        Energy after relaxation (eV), if a relaxation ran.
    md_runs
        MD metadata per temperature.
    diffusion
        Diffusion results per temperature (None where missing).
    target_temperature_K
        Extrapolation temperature (K).
    report_dir
        Where to write the report; None skips it.
    hop_counts
        Hop counts per temperature (None where missing); they get their own Arrhenius
        fit (``hop_arrhenius``: Poisson likelihood of the counts, every temperature).

    Returns
    -------
    TransportDoc
        The study summary.
    """
    results = [d for d in diffusion if d is not None]
    present = {r.temperature_K for r in results}
    missing = [t for t in meta.temperatures_K if t not in present]
    warnings = [f"no result at {t:g} K (MD or analysis failed)" for t in missing]
    arrhenius = None
    if results:
        arrhenius = fit_arrhenius(results, target_temperature_K=target_temperature_K)
    counts = sorted(
        (as_model(c, HopCountResult) for c in hop_counts or [] if c is not None),
        key=lambda c: c.temperature_K,
    )
    hop_fit = None
    if counts and results:
        hop_fit = fit_hop_arrhenius(results, counts, target_temperature_K=target_temperature_K)
    broken = [f"{c.temperature_K:g} K" for c in counts if not c.framework_intact]
    if broken:
        warnings.append(
            "framework not intact at " + ", ".join(broken) + " (melting or anion hopping): "
            "those temperatures do not describe the solid"
        )
    energy = relaxed_energy_eV
    if energy is not None and not math.isfinite(energy):
        warnings.append("relaxed energy was not finite and is not stored")
        energy = None
    doc = TransportDoc(
        meta=meta,
        n_atoms=len(structure),
        cell_formula=structure.composition.formula.replace(" ", ""),
        volume_A3=structure.volume,
        relaxed_energy_eV=energy,
        md_runs=[r for r in md_runs if r is not None],
        diffusion=sorted(results, key=lambda r: r.temperature_K),
        missing_temperatures_K=missing,
        arrhenius=arrhenius,
        hop_counts=counts,
        hop_arrhenius=hop_fit,
        warnings=warnings,
    )
    if report_dir is not None:
        out = write_transport_report(doc, Path(report_dir))
        doc = doc.model_copy(update={"report_dir": str(out)})
    return doc


#: the plain function of the :func:`summarize_study` job (called outside jobflow)
summarize_study_result = summarize_study.original
