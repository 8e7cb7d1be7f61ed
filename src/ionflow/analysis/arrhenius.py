"""Weighted Arrhenius fit of diffusivities and extrapolation to room temperature.

ln D = ln D0 − Ea / (k_B T) is fitted by weighted least squares with weights
1/σ²(ln D), σ(ln D) = σ(D)/D. The parameter covariance is (XᵀWX)⁻¹, inflated by the
reduced χ² when the scatter exceeds the stated errors (never deflated). The
extrapolated ln D at the target temperature has variance xᵀCx with x = (1, −1/(k_B T)),
which is where the long extrapolation to 300 K shows up in the confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from ionflow.analysis.conductivity import BOLTZMANN_EV_K, conductivity_from_diffusivity
from ionflow.errors import InputError
from ionflow.schemas.transport import ArrheniusResult, DiffusionResult

__all__ = ["arrhenius_fit_arrays", "arrhenius_result", "fit_arrhenius", "fit_base", "safe_exp"]

#: Relative σ(D) assumed when a result has none (and floor of the relative error).
DEFAULT_RELATIVE_ERROR = 0.1
MIN_RELATIVE_ERROR = 1e-3
#: Curvature (quadratic term in 1/T) flagged above this many σ.
CURVATURE_SIGMA = 3.0
#: Scatter flagged when χ²/dof exceeds this.
CHI2_WARN = 4.0


def arrhenius_fit_arrays(
    temperatures_K: np.ndarray, ln_d: np.ndarray, sigma_ln_d: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Weighted linear fit of ln D against −1/(k_B T).

    Parameters
    ----------
    temperatures_K
        Temperatures (K).
    ln_d
        ln of D in cm^2/s.
    sigma_ln_d
        Standard errors of ln D.

    Returns
    -------
    tuple
        ``(params, cov, reduced_chi2)`` with params = (ln D0, Ea [eV]), cov their 2×2
        covariance (inflated by χ²/dof if > 1) and χ²/dof (None with 2 points).
    """
    x = -1.0 / (BOLTZMANN_EV_K * np.asarray(temperatures_K, dtype=float))
    a = np.column_stack([np.ones_like(x), x])
    wts = 1.0 / np.asarray(sigma_ln_d, dtype=float) ** 2
    ata = a.T @ (a * wts[:, None])
    cov = np.linalg.inv(ata)
    params = cov @ (a.T @ (wts * ln_d))
    dof = len(x) - 2
    chi2_red = None
    if dof > 0:
        resid = ln_d - a @ params
        chi2_red = float(np.sum(wts * resid**2) / dof)
        cov = cov * max(1.0, chi2_red)
    return params, cov, chi2_red


def _curvature_sigma(temperatures_K: np.ndarray, ln_d: np.ndarray, sig: np.ndarray) -> float:
    """|c2|/σ(c2) of a weighted quadratic in 1/T (needs ≥ 3 distinct temperatures)."""
    x = 1000.0 / temperatures_K
    x = x - x.mean()
    a = np.column_stack([np.ones_like(x), x, x**2])
    wts = 1.0 / sig**2
    cov = np.linalg.inv(a.T @ (a * wts[:, None]))
    p = cov @ (a.T @ (wts * ln_d))
    dof = len(x) - 3
    if dof > 0:
        chi2 = float(np.sum(wts * (ln_d - a @ p) ** 2) / dof)
        cov = cov * max(1.0, chi2)
    return float(abs(p[2]) / math.sqrt(cov[2, 2]))


def safe_exp(x: float) -> float:
    """Exp that returns inf instead of raising OverflowError."""
    return math.exp(x) if x < 700 else math.inf


def fit_arrhenius(
    results: Sequence[DiffusionResult],
    target_temperature_K: float = 300.0,
    confidence_level: float = 0.95,
) -> ArrheniusResult:
    """Arrhenius fit over the temperatures that show diffusion, with extrapolation.

    Never raises because too few temperatures diffuse: the result then has
    ``activation_energy_eV=None`` and a warning saying why.

    Parameters
    ----------
    results
        Diffusion results of one species at several temperatures.
    target_temperature_K
        Temperature to extrapolate D and σ to (K).
    confidence_level
        Two-sided coverage of the reported intervals.

    Returns
    -------
    ArrheniusResult
        Ea ± σ, D0, D and σ at the target temperature with confidence intervals.
    """
    results = list(results)
    used = [r for r in results if r.diffusing and r.diffusivity_cm2_s > 0]
    base, warnings = fit_base(
        results, used, "no diffusion detected", target_temperature_K, confidence_level
    )
    temps = np.array([r.temperature_K for r in used], dtype=float)
    if len(set(temps.tolist())) < 2:
        warnings.append(
            f"{len(set(temps.tolist()))} of {len(results)} temperature(s) show diffusion; an "
            "Arrhenius fit needs at least 2 distinct temperatures (run longer or hotter)"
        )
        return ArrheniusResult(**base, warnings=warnings)
    d = np.array([r.diffusivity_cm2_s for r in used])
    rel = []
    for r in used:
        if r.diffusivity_std_cm2_s is None:
            warnings.append(
                f"{r.temperature_K:g} K has no σ(D); assumed {DEFAULT_RELATIVE_ERROR:.0%}"
            )
            rel.append(DEFAULT_RELATIVE_ERROR)
        else:
            rel.append(max(r.diffusivity_std_cm2_s / r.diffusivity_cm2_s, MIN_RELATIVE_ERROR))
    sig = np.array(rel)
    ln_d = np.log(d)
    params, cov, chi2 = arrhenius_fit_arrays(temps, ln_d, sig)
    if chi2 is not None and chi2 > CHI2_WARN:
        warnings.append(
            f"scatter exceeds the stated errors (χ²/dof = {chi2:.3g}); σ(Ea) was inflated"
        )
    if len(set(temps.tolist())) >= 3:
        cs = _curvature_sigma(temps, ln_d, sig)
        if cs > CURVATURE_SIGMA:
            warnings.append(
                f"ln D vs 1/T is curved ({cs:.1f}σ quadratic term): not Arrhenius over "
                "this range; Ea and the extrapolation are questionable"
            )
    return arrhenius_result(
        base, params, cov, chi2, used, warnings, target_temperature_K, confidence_level
    )


def fit_base(
    results: Sequence[DiffusionResult],
    used: Sequence[DiffusionResult],
    why_left_out: str,
    target_temperature_K: float,
    confidence_level: float,
) -> tuple[dict, list[str]]:
    """Check a fit's inputs; return the fields that do not depend on the fit, and warnings.

    Shared by :func:`fit_arrhenius` and the hop-count fit
    (:func:`ionflow.analysis.hop_counting.fit_hop_arrhenius`).

    Parameters
    ----------
    results
        Every per-temperature result (all are kept in the document).
    used
        Those the fit uses; the others are listed as left out, with ``why_left_out``.
    target_temperature_K, confidence_level
        As for :func:`fit_arrhenius`.

    Returns
    -------
    tuple
        ``(base, warnings)``: keyword arguments of :class:`ArrheniusResult` and the
        warning that names the temperatures left out (if any).

    Raises
    ------
    InputError
        A target temperature that is not > 0 K, a confidence level outside (0, 1), or
        results of more than one mobile species.
    """
    if not (math.isfinite(target_temperature_K) and target_temperature_K > 0):
        raise InputError(f"target temperature must be > 0 K, got {target_temperature_K}")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence level must be in (0, 1), got {confidence_level}")
    species = {r.specie for r in results}
    if len(species) > 1:
        raise InputError(f"results mix mobile species {sorted(species)}; fit one species at a time")
    excluded = sorted(r.temperature_K for r in results if r not in used)
    base = {
        "specie": species.pop() if species else "Li",
        "target_temperature_K": float(target_temperature_K),
        "confidence_level": confidence_level,
        "fitted_temperatures_K": sorted(r.temperature_K for r in used),
        "excluded_temperatures_K": excluded,
        "results": sorted(results, key=lambda r: r.temperature_K),
    }
    warnings = []
    if excluded:
        warnings.append(f"left out ({why_left_out}): " + ", ".join(f"{t:g} K" for t in excluded))
    return base, warnings


def arrhenius_result(
    base: dict,
    params: np.ndarray,
    cov: np.ndarray,
    chi2: float | None,
    used: Sequence[DiffusionResult],
    warnings: list[str],
    target_temperature_K: float,
    confidence_level: float,
) -> ArrheniusResult:
    """Build the fit's document: Ea, D0 and D, σ at the target temperature with their CIs.

    Shared by the least-squares fit of D (:func:`fit_arrhenius`) and the Poisson fit of
    hop counts (:func:`ionflow.analysis.hop_counting.fit_hop_arrhenius`).

    Parameters
    ----------
    base
        Fields of the result that do not depend on the fit (species, temperatures, ...).
    params, cov, chi2
        ``(ln D0 [cm²/s], Ea [eV])``, their 2×2 covariance and χ²/dof (or None).
    used
        The per-temperature results the fit used (number density and charge).
    warnings
        Caveats so far; the extrapolation's are added.
    target_temperature_K, confidence_level
        As for :func:`fit_arrhenius`.

    Returns
    -------
    ArrheniusResult
        The fit; Ea <= 0 is judged by the document itself
        (:func:`ionflow.schemas.transport.judge_arrhenius`).
    """
    ln_d0, ea = float(params[0]), float(params[1])
    temps = np.array([r.temperature_K for r in used], dtype=float)
    t_min, t_max = float(temps.min()), float(temps.max())
    span = 1.0 / t_min - 1.0 / t_max
    beyond = 1.0 / target_temperature_K - 1.0 / t_min
    if beyond > span:
        warnings.append(
            f"extrapolating to {target_temperature_K:g} K spans {beyond / span:.1f}× the fitted "
            f"1/T range ({t_min:g}–{t_max:g} K); σ at {target_temperature_K:g} K is dominated "
            "by σ(Ea)"
        )
    x = np.array([1.0, -1.0 / (BOLTZMANN_EV_K * target_temperature_K)])
    ln_t = float(x @ params)
    sd_t = float(math.sqrt(max(x @ cov @ x, 0.0)))
    zq = float(stats.norm.ppf(0.5 + confidence_level / 2))
    d_t = safe_exp(ln_t)
    ci = [safe_exp(ln_t - zq * sd_t), safe_exp(ln_t + zq * sd_t)]
    density = float(np.mean([r.n_mobile / r.volume_A3 for r in used]))
    z = used[0].charge
    to_sigma = conductivity_from_diffusivity(1.0, density, target_temperature_K, z)
    values = [d_t, *ci, to_sigma * d_t, to_sigma * ci[0], to_sigma * ci[1]]
    if not all(math.isfinite(v) and v > 0 for v in values):
        warnings.append("extrapolated values overflow; fit parameters only")
        d_t, ci, to_sigma = None, None, None
    return ArrheniusResult(
        **base,
        activation_energy_eV=ea,
        activation_energy_std_eV=float(math.sqrt(cov[1, 1])),
        prefactor_cm2_s=safe_exp(ln_d0) if 0 < safe_exp(ln_d0) < math.inf else None,
        ln_prefactor_std=float(math.sqrt(cov[0, 0])),
        covariance_lnD0_Ea=cov.tolist(),
        diffusivity_at_target_cm2_s=d_t,
        diffusivity_at_target_ci_cm2_s=ci,
        conductivity_at_target_mS_cm=None if to_sigma is None else to_sigma * d_t,
        conductivity_at_target_ci_mS_cm=None if to_sigma is None else [to_sigma * c for c in ci],
        number_density_A3=density,
        charge=z,
        reduced_chi2=chi2,
        warnings=warnings,
    )
