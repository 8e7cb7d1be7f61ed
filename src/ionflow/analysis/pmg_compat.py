"""``method="pymatgen"``: pymatgen-analysis-diffusion's ``DiffusionAnalyzer`` numbers, fast.

Reproduces, without importing pymatgen-analysis-diffusion, what
``DiffusionAnalyzer.from_structures(..., smoothed="max", min_obs=30)``, its
``get_conversion_factor``, ``fit_arrhenius`` (linear mode) and
``get_extrapolated_conductivity`` return, so users can continue old work. The
differences are only in speed and memory: no Structure objects are built and only the
mobile ions are transformed. Known properties of the original are kept on purpose
(a slope floor of 1e-15 Å²/fs, σ from the residuals of a 1/t-weighted regression over
strongly correlated MSD points, displacements converted with the lattice of the later
frame of the cumulative fractional displacement).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.constants as const

from ionflow.analysis.arrhenius import safe_exp
from ionflow.analysis.conductivity import checked_haven_ratio, upper_bound
from ionflow.analysis.diffusion import (
    DIMENSION_RATIO,
    MIN_EFFECTIVE_HOPS,
    SIGNIFICANCE,
    hop_length_A,
)
from ionflow.analysis.msd import msd_fft
from ionflow.errors import InputError
from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

if TYPE_CHECKING:
    from ionflow.analysis.trajectory import TrajectoryData

__all__ = [
    "analyze_diffusion_pymatgen",
    "fit_arrhenius_pymatgen",
    "pymatgen_conversion_factor",
    "pymatgen_diffusivity_from_msd",
]

MIN_OBS = 30
MAX_POINTS = 200


def pymatgen_charge(specie: str) -> float:
    """Ion charge as ``get_conversion_factor`` takes it (valence electrons of an Element)."""
    from pymatgen.core.periodic_table import get_el_sp

    sp = get_el_sp(specie)
    if hasattr(sp, "oxi_state") and sp.oxi_state is not None:
        return float(sp.oxi_state)
    return float(sp.full_electronic_structure[-1][2])


def pymatgen_conversion_factor(
    n_mobile: int, volume_A3: float, specie: str, temperature_K: float
) -> float:
    """mS/cm per cm²/s as in pymatgen-analysis-diffusion ``get_conversion_factor``.

    Parameters
    ----------
    n_mobile
        Mobile ions in the cell.
    volume_A3
        Cell volume (Å^3).
    specie
        Element symbol.
    temperature_K
        Temperature (K).

    Returns
    -------
    float
        Conductivity (mS/cm) = factor × diffusivity (cm^2/s).
    """
    z = pymatgen_charge(specie)
    vol = volume_A3 * 1e-24
    return (
        1000
        * n_mobile
        / (vol * const.N_A)
        * z**2
        * (const.N_A * const.e) ** 2
        / (const.R * temperature_K)
    )


def pymatgen_diffusivity_from_msd(msd: np.ndarray, dt_fs: np.ndarray) -> tuple[float, float]:
    """``get_diffusivity_from_msd(msd, dt, smoothed="max")``: D and its σ in cm²/s.

    Parameters
    ----------
    msd
        MSD (Å^2) at the lag times ``dt_fs``.
    dt_fs
        Lag times (fs), all > 0, at least 3.

    Returns
    -------
    tuple of float
        D and σ(D) (cm^2/s).
    """
    a = np.ones((len(dt_fs), 2))
    a[:, 0] = dt_fs
    w_root = (1 / dt_fs) ** 0.5
    (m, _c), res, _rank, _s = np.linalg.lstsq(a * w_root[:, None], msd * w_root, rcond=None)
    m = max(m, 1e-15)
    n = len(dt_fs)
    denom = (n * np.sum((dt_fs / 1000) ** 2) - np.sum(dt_fs / 1000) ** 2) * (n - 2)
    return float(m / 60), float(np.sqrt(n * res[0] / denom) / 60 / 1000)


def _pymatgen_displacements(traj: TrajectoryData, idx: np.ndarray) -> np.ndarray:
    """Displacements (n_frames, n_sel, 3) as ``DiffusionAnalyzer.from_structures`` builds them."""
    f = traj.frac_coords[:, idx, :]
    df = np.diff(f, axis=0)
    df -= np.round(df)
    cum = np.zeros(f.shape)
    np.cumsum(df, axis=0, out=cum[1:])
    if traj.constant_lattice:
        return cum @ traj.lattices
    return np.einsum("tai,tij->taj", cum, traj.lattices)


def analyze_diffusion_pymatgen(
    traj: TrajectoryData,
    specie: str = "Li",
    temperature_K: float = 1200.0,
    step_skip: int = 1,
) -> DiffusionResult:
    """DiffusionAnalyzer (smoothed="max", min_obs=30) numbers as a :class:`DiffusionResult`.

    Parameters
    ----------
    traj
        The run; ``traj.time_step_fs`` is DiffusionAnalyzer's ``time_step``.
    specie
        Mobile element.
    temperature_K
        MD temperature (K).
    step_skip
        DiffusionAnalyzer's ``step_skip`` (the frames in ``traj`` are used as they are;
        the time between them is ``time_step_fs × step_skip``).

    Returns
    -------
    DiffusionResult
        D, σ, components, conductivity and Haven ratio as pymatgen computes them;
        ``diffusing``/``dimensionality`` apply ionflow's criteria to those numbers.
    """
    if not (math.isfinite(temperature_K) and temperature_K > 0):
        raise InputError(f"temperature must be > 0 K, got {temperature_K}")
    label = traj.source or "trajectory"
    mobile = traj.mobile_indices(specie)
    framework = np.setdiff1d(np.arange(traj.n_atoms), mobile)
    if framework.size == 0:
        raise InputError(
            f"{label}: --method pymatgen needs framework atoms (DiffusionAnalyzer averages "
            "their displacement for the drift and returns NaN without them)"
        )
    n = traj.n_frames
    if n < 2:
        raise InputError(f"{label}: a single frame; diffusion needs an MD trajectory")
    frame_fs = traj.time_step_fs * step_skip
    min_dt = int(1000 / frame_fs)
    max_dt = min(len(mobile) * n // MIN_OBS, n)
    if min_dt >= max_dt:
        raise InputError(
            f"{label}: not enough data for DiffusionAnalyzer (its 'max' smoothing needs lags "
            f"from 1 ps = {min_dt} frames up to N_{specie}·frames/{MIN_OBS} = {max_dt})"
        )
    lags = np.arange(min_dt, max_dt, max(int((max_dt - min_dt) / MAX_POINTS), 1))
    if lags.size < 3:
        raise InputError(f"{label}: fewer than 3 MSD points for DiffusionAnalyzer's fit")
    dt = lags * frame_fs
    drift = np.zeros((n, 3))
    for start in range(0, framework.size, 256):
        drift += _pymatgen_displacements(traj, framework[start : start + 256]).sum(axis=1)
    drift /= framework.size
    msd_sum = np.zeros(lags.size)
    msd_sq = np.zeros(lags.size)
    comp = np.zeros((lags.size, 3))
    total = np.zeros((n, 3))
    chunk = max(1, int(32_000_000 // (n * 3 * 8 * 4)))
    for start in range(0, mobile.size, chunk):
        dc = _pymatgen_displacements(traj, mobile[start : start + chunk]) - drift[:, None, :]
        total += dc.sum(axis=1)
        c = dc.shape[1]
        per = msd_fft(dc.reshape(n, -1), max_lag=int(lags[-1])).reshape(-1, c, 3)[lags]
        comp += per.sum(axis=1)
        tot = per.sum(axis=2)
        msd_sum += tot.sum(axis=1)
        msd_sq += (tot**2).sum(axis=1)
    n_mob = mobile.size
    msd = msd_sum / n_mob
    comp /= n_mob
    mscd = msd_fft(total, max_lag=int(lags[-1]))[lags].sum(axis=1) / n_mob
    d, d_std = pymatgen_diffusivity_from_msd(msd, dt)
    d_chg, d_chg_std = pymatgen_diffusivity_from_msd(mscd, dt)
    comps = [pymatgen_diffusivity_from_msd(comp[:, j], dt) for j in range(3)]
    d_comp = [3 * c[0] for c in comps]
    d_comp_std = [3 * c[1] for c in comps]
    volume = float(traj.volumes_A3 if traj.constant_lattice else traj.volumes_A3[0])
    conv = pymatgen_conversion_factor(n_mob, volume, specie, temperature_K)
    hop_a = hop_length_A(traj, mobile)
    total_ps = (n - 1) * frame_fs / 1000
    hops = n_mob * 6.0 * d * 1e4 * total_ps / hop_a**2
    diffusing = bool(d >= SIGNIFICANCE * d_std and hops >= MIN_EFFECTIVE_HOPS and d > 1e-15)
    dim = sum(int(c >= DIMENSION_RATIO * max(d_comp)) for c in d_comp) if diffusing else 0
    warnings = list(traj.warnings)
    if not diffusing:
        warnings.append("no diffusion detected by ionflow's criteria (D < 2σ or < 1 hop)")
    # DiffusionAnalyzer's ratio (its charge D is floored at 1e-15, so it can be huge):
    # reported only when physical, with the error propagated from its two σ
    h_std = None
    if d > 0 and d_chg > 0:
        h_std = d / d_chg * math.hypot(d_std / d, d_chg_std / d_chg)
    chg_ok = d_chg if d_chg > 1e-15 else None
    haven, haven_std, haven_why = checked_haven_ratio(d, chg_ok, h_std, diffusing)
    if haven_why and diffusing:
        warnings.append(
            f"Haven ratio not determined: {haven_why} (DiffusionAnalyzer: {d / d_chg:.3g})"
        )
    d_upper = None if diffusing else upper_bound(d, d_std, SIGNIFICANCE)
    keep = np.unique(np.linspace(0, lags.size - 1, min(lags.size, MAX_POINTS)).round().astype(int))
    var = (msd_sq / n_mob - msd**2) * n_mob / max(n_mob - 1, 1)
    order = np.argsort(d_comp)[::-1]
    return DiffusionResult(
        method="pymatgen",
        specie=specie,
        charge=pymatgen_charge(specie),
        temperature_K=float(temperature_K),
        n_frames=n,
        n_atoms=traj.n_atoms,
        n_mobile=int(n_mob),
        time_step_fs=frame_fs,
        md_time_step_fs=traj.md_time_step_fs,
        md_step_skip=traj.md_step_skip,
        duration_ps=total_ps,
        volume_A3=volume,
        drift="framework",
        diffusivity_cm2_s=d,
        diffusivity_std_cm2_s=d_std,
        diffusivity_upper_bound_cm2_s=d_upper,
        diffusivity_components_cm2_s=d_comp,
        diffusivity_components_std_cm2_s=d_comp_std,
        diffusion_tensor_cm2_s=np.diag(d_comp).tolist(),
        diffusivity_principal_cm2_s=[d_comp[k] for k in order],
        principal_axes=[np.eye(3)[k].tolist() for k in order],
        dimensionality=dim,
        diffusing=diffusing,
        n_effective_hops=float(hops),
        hop_length_A=hop_a,
        conductivity_mS_cm=d * conv,
        conductivity_std_mS_cm=d_std * conv,
        conductivity_upper_bound_mS_cm=None if d_upper is None else d_upper * conv,
        charge_diffusivity_cm2_s=d_chg,
        charge_diffusivity_std_cm2_s=d_chg_std,
        haven_ratio=haven,
        haven_ratio_std=haven_std,
        haven_ratio_not_determined=haven_why,
        fit_start_ps=float(dt[0] / 1000),
        fit_end_ps=float(dt[-1] / 1000),
        fit_window_rule="DiffusionAnalyzer smoothed='max', min_obs=30: lags from 1 ps to "
        "N_ions·frames/30, 1/t-weighted least squares",
        n_samples=int(n_mob),
        max_framework_displacement_A=None,
        msd_time_ps=(dt[keep] / 1000).tolist(),
        msd_A2=msd[keep].tolist(),
        msd_std_A2=np.sqrt(np.clip(var[keep], 0, None) / n_mob).tolist(),
        mscd_A2=mscd[keep].tolist(),
        source=traj.source,
        warnings=warnings,
    )


def fit_arrhenius_pymatgen(
    results: Sequence[DiffusionResult], target_temperature_K: float = 300.0
) -> ArrheniusResult:
    """Pymatgen-analysis-diffusion ``fit_arrhenius`` (linear) + extrapolated conductivity.

    All results are used, as pymatgen does; the conductivity uses the cell of the first
    result (pymatgen takes one structure). σ(Ea) exists only for more than 2 points.

    Parameters
    ----------
    results
        Diffusion results at several temperatures.
    target_temperature_K
        Extrapolation temperature (K).

    Returns
    -------
    ArrheniusResult
        Ea, its standard error, D0 and the extrapolated D and σ.
    """
    results = list(results)
    if not (math.isfinite(target_temperature_K) and target_temperature_K > 0):
        raise InputError(f"target temperature must be > 0 K, got {target_temperature_K}")
    specie = results[0].specie if results else "Li"
    base = {
        "specie": specie,
        "target_temperature_K": float(target_temperature_K),
        "results": sorted(results, key=lambda r: r.temperature_K),
        "fitted_temperatures_K": sorted(r.temperature_K for r in results),
    }
    temps = np.array([r.temperature_K for r in results], dtype=float)
    if len(set(temps.tolist())) < 2:
        return ArrheniusResult(
            **base, warnings=["an Arrhenius fit needs at least 2 distinct temperatures"]
        )
    d = np.array([r.diffusivity_cm2_s for r in results])
    if np.any(d <= 0):
        raise InputError("pymatgen's Arrhenius fit needs D > 0 at every temperature")
    t_1 = 1 / temps
    a = np.array([t_1, np.ones(len(temps))]).T
    w, res, _, _ = np.linalg.lstsq(a, np.log(d), rcond=None)
    k_ev = const.k / const.e
    ea, c = float(-w[0] * k_ev), float(np.exp(w[1]))
    nn = len(temps)
    std_ea = float((res[0] / (nn - 2) / (nn * np.var(t_1))) ** 0.5 * k_ev) if nn > 2 else None
    d_t = c * safe_exp(-ea / (k_ev * target_temperature_K))
    first = results[0]
    conv = pymatgen_conversion_factor(first.n_mobile, first.volume_A3, specie, target_temperature_K)
    warnings = [] if std_ea is not None else ["2 temperatures: no standard error of Ea"]
    return ArrheniusResult(
        **base,
        activation_energy_eV=ea,
        activation_energy_std_eV=std_ea,
        prefactor_cm2_s=c,
        diffusivity_at_target_cm2_s=d_t if 0 < d_t < math.inf else None,
        conductivity_at_target_mS_cm=d_t * conv if 0 < d_t < math.inf else None,
        number_density_A3=first.n_mobile / first.volume_A3,
        charge=first.charge,
        warnings=warnings,
    )
