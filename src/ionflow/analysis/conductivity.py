"""Nernst–Einstein conversion between diffusivity and ionic conductivity.

σ = n z² e² D / (k_B T), with n the number density of the mobile ion. With D in cm²/s,
n in 1/Å³ and σ in mS/cm the constant is ``1e27 e² / k_B`` (see
:data:`NE_FACTOR_MS_CM`): 1 Å⁻³ = 1e30 m⁻³, 1 cm²/s = 1e-4 m²/s, 1 S/m = 10 mS/cm.
"""

from __future__ import annotations

import math

import scipy.constants as const

from ionflow.errors import InputError

__all__ = [
    "BOLTZMANN_EV_K",
    "HAVEN_RATIO_RANGE",
    "NE_FACTOR_MS_CM",
    "checked_haven_ratio",
    "conductivity_from_diffusivity",
    "default_charge",
    "upper_bound",
]

#: Boltzmann constant in eV/K.
BOLTZMANN_EV_K = const.k / const.e
#: σ[mS/cm] = NE_FACTOR_MS_CM · n[1/Å³] · z² · D[cm²/s] / T[K].
NE_FACTOR_MS_CM = 1e30 * 1e-4 * 10.0 * const.e**2 / const.k
#: Charges of common mobile ions (avoids importing pymatgen on the hot path).
COMMON_CHARGES = {
    "Li": 1.0,
    "Na": 1.0,
    "K": 1.0,
    "Ag": 1.0,
    "Cu": 1.0,
    "H": 1.0,
    "Mg": 2.0,
    "Ca": 2.0,
    "Zn": 2.0,
    "F": -1.0,
    "Cl": -1.0,
    "O": -2.0,
}
#: Å²/ps → cm²/s.
A2_PS_TO_CM2_S = 1e-16 / 1e-12


def default_charge(specie: str) -> float:
    """Charge of the mobile ion: its most common oxidation state (Li → 1, Mg → 2).

    Parameters
    ----------
    specie
        Element symbol.

    Returns
    -------
    float
        Charge in units of e.
    """
    if specie in COMMON_CHARGES:
        return COMMON_CHARGES[specie]
    from pymatgen.core import Element

    try:
        el = Element(specie)
    except ValueError:
        raise InputError(f"{specie!r} is not an element symbol") from None
    states = el.common_oxidation_states
    if not states:
        raise InputError(f"{specie} has no common oxidation state; pass the ion charge explicitly")
    return float(states[0])


def conductivity_from_diffusivity(
    diffusivity_cm2_s: float,
    number_density_A3: float,
    temperature_K: float,
    charge: float = 1.0,
) -> float:
    """Nernst–Einstein conductivity in mS/cm.

    Parameters
    ----------
    diffusivity_cm2_s
        Diffusivity (cm^2/s).
    number_density_A3
        Number density of the mobile ion (1/Å^3).
    temperature_K
        Temperature (K).
    charge
        Ion charge z (units of e).

    Returns
    -------
    float
        Conductivity (mS/cm).
    """
    if not (math.isfinite(temperature_K) and temperature_K > 0):
        raise InputError(f"temperature must be > 0 K, got {temperature_K}")
    return NE_FACTOR_MS_CM * number_density_A3 * charge**2 * diffusivity_cm2_s / temperature_K


#: A Haven ratio outside this range is not physical for a solid Li conductor.
HAVEN_RATIO_RANGE = (0.05, 5.0)
#: ... and one with a larger relative error than this is not determined.
HAVEN_MAX_REL_ERR = 1.0


def checked_haven_ratio(
    d_tracer_cm2_s: float,
    d_charge_cm2_s: float | None,
    haven_std: float | None,
    diffusing: bool = True,
) -> tuple[float | None, float | None, str | None]:
    """Haven ratio D_tracer / D_charge, or None with the reason it is not determined.

    Parameters
    ----------
    d_tracer_cm2_s
        Tracer diffusivity (cm^2/s).
    d_charge_cm2_s
        Charge (collective) diffusivity (cm^2/s).
    haven_std
        Standard error of the ratio, when known.
    diffusing
        Whether the tracer diffusion is significant.

    Returns
    -------
    tuple
        Ratio, its standard error and None; or None, None and the reason.
    """
    lo, hi = HAVEN_RATIO_RANGE
    if not diffusing:
        return None, None, "no significant tracer diffusion"
    if d_tracer_cm2_s <= 0:
        return None, None, "tracer D is not positive"
    if d_charge_cm2_s is None or not d_charge_cm2_s > 0:
        return None, None, "the charge (collective) MSD has no positive slope"
    ratio = d_tracer_cm2_s / d_charge_cm2_s
    if not lo <= ratio <= hi:
        return None, None, f"{ratio:.3g} is outside the physical range {lo:g}–{hi:g}"
    if haven_std is not None and haven_std > HAVEN_MAX_REL_ERR * ratio:
        return (
            None,
            None,
            (f"{ratio:.3g} ± {haven_std:.2g}: relative error above {HAVEN_MAX_REL_ERR:.0%}"),
        )
    return ratio, haven_std, None


def upper_bound(value: float, std: float | None, n_sigma: float = 2.0) -> float:
    """Upper bound from the positive side of the interval: max(value, 0) + n_sigma·std.

    Parameters
    ----------
    value
        The estimate (may be ≤ 0).
    std
        Its standard error (None: 0).
    n_sigma
        Width in standard errors.

    Returns
    -------
    float
        A non-negative bound.
    """
    return max(value, 0.0) + n_sigma * (std or 0.0)
