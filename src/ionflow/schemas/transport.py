"""Documents of the transport analysis: diffusion at one temperature and the Arrhenius fit.

Both documents are what ``ionflow analyze diffusion|arrhenius --json`` prints and what
the transport flow stores; the JSON keys listed in issue 4 are fixed. Every float is
finite or None: a validator rejects NaN/inf so they never reach a store.
"""

from typing import Any, Literal

from pydantic import Field, model_validator

from ionflow.schemas.base import MdTemperatureK, NotDeterminedReason, StoredDoc

__all__ = ["SCHEMA_VERSION", "ArrheniusResult", "DiffusionResult", "judge_arrhenius"]

SCHEMA_VERSION = "1"


class _Doc(StoredDoc):
    """Base of the transport documents (unknown keys refused, every float finite)."""

    schema_version: str = Field(SCHEMA_VERSION, description="Version of this document layout.")


class DiffusionResult(_Doc):
    """Tracer diffusivity, conductivity and MSD of one species from one MD run."""

    method: Literal["ionflow", "pymatgen"] = Field(
        "ionflow",
        description="Estimator: 'ionflow' (per-ion GLS slopes with the MSD covariance "
        "between lags, σ from the spread over ions and over fit windows) or 'pymatgen' "
        "(pymatgen-analysis-diffusion DiffusionAnalyzer defaults).",
    )
    specie: str = Field(..., description="Element symbol of the mobile species.")
    charge: float = Field(..., description="Charge z of the mobile ion (units of e).")
    temperature_K: MdTemperatureK
    n_frames: int = Field(..., ge=2, description="Stored frames analysed.")
    n_atoms: int = Field(..., ge=1, description="Atoms in the simulation cell.")
    n_mobile: int = Field(..., ge=1, description="Atoms of the mobile species.")
    time_step_fs: float = Field(..., gt=0, description="Time between stored frames (fs).")
    md_time_step_fs: float | None = Field(
        None, gt=0, description="MD integration time step (fs; VASP POTIM) when known."
    )
    md_step_skip: int | None = Field(
        None, ge=1, description="MD steps between the stored frames of the files (NBLOCK)."
    )
    stride: int = Field(1, ge=1, description="Every stride-th stored frame was analysed.")
    duration_ps: float = Field(..., gt=0, description="Time spanned by the frames (ps).")
    volume_A3: float = Field(..., gt=0, description="Mean cell volume (Å^3).")
    drift: str = Field(..., description="Drift removed: 'framework', 'all' or 'none'.")
    diffusivity_cm2_s: float = Field(
        ...,
        description="Tracer diffusivity D = MSD/(6t) from the fit window (cm^2/s); "
        "may be ≤ 0 when nothing diffuses.",
    )
    diffusivity_std_cm2_s: float | None = Field(
        None, ge=0, description="Standard error of D (cm^2/s); None if it cannot be estimated."
    )
    diffusivity_upper_bound_cm2_s: float | None = Field(
        None,
        ge=0,
        description="When not diffusing: max(D, 0) + 2σ, an approximate 97.5 % upper bound "
        "on D (cm^2/s).",
    )
    diffusivity_components_cm2_s: list[float] = Field(
        ..., description="D along Cartesian x, y, z: MSD_a/(2t) (cm^2/s)."
    )
    diffusivity_components_std_cm2_s: list[float] | None = Field(
        None, description="Standard errors of the x, y, z components (cm^2/s)."
    )
    diffusion_tensor_cm2_s: list[list[float]] = Field(
        ..., description="Symmetric 3×3 diffusion tensor in Cartesian axes (cm^2/s)."
    )
    diffusivity_principal_cm2_s: list[float] = Field(
        ..., description="Eigenvalues of the diffusion tensor, largest first (cm^2/s)."
    )
    principal_axes: list[list[float]] = Field(
        ..., description="Unit eigenvectors (Cartesian) matching diffusivity_principal_cm2_s."
    )
    dimensionality: int = Field(
        ...,
        ge=0,
        le=3,
        description="Number of principal directions carrying diffusion (1 = channel, "
        "2 = planes, 3 = bulk); 0 when not diffusing.",
    )
    diffusing: bool = Field(
        ...,
        description="True when D is significantly positive (≥ 2σ) and ≥ 1 effective hop happened.",
    )
    n_effective_hops: float = Field(
        ..., description="N_mobile × 6 D t_run / hop_length² : effective hops seen in the run."
    )
    hop_length_A: float = Field(
        ..., gt=0, description="Median nearest-neighbour distance between mobile ions (Å)."
    )
    conductivity_mS_cm: float | None = Field(
        None,
        description="Nernst–Einstein conductivity n z² e² D /(k_B T) (mS/cm); None when the "
        "D estimate is not positive (a σ is never computed from it).",
    )
    conductivity_upper_bound_mS_cm: float | None = Field(
        None,
        ge=0,
        description="When not diffusing: σ of diffusivity_upper_bound_cm2_s (mS/cm).",
    )
    conductivity_std_mS_cm: float | None = Field(
        None, ge=0, description="Standard error of the conductivity (mS/cm)."
    )
    haven_ratio_applied: float | None = Field(
        None, gt=0, description="Haven ratio the conductivity was divided by (None = 1)."
    )
    charge_diffusivity_cm2_s: float | None = Field(
        None,
        description="Collective (charge) diffusivity from the MSD of the summed "
        "displacement / N (cm^2/s).",
    )
    charge_diffusivity_std_cm2_s: float | None = Field(
        None, ge=0, description="Approximate standard error of the charge diffusivity (cm^2/s)."
    )
    haven_ratio: float | None = Field(
        None, description="D_tracer / D_charge; None when not diffusing or D_charge ≤ 0."
    )
    haven_ratio_std: float | None = Field(
        None, ge=0, description="Standard error of the Haven ratio."
    )
    haven_ratio_not_determined: str | None = Field(
        None, description="Why no Haven ratio is given (None when one is given)."
    )
    fit_start_ps: float = Field(..., ge=0, description="Start of the MSD fit window (ps).")
    fit_end_ps: float = Field(..., gt=0, description="End of the MSD fit window (ps).")
    fit_window_rule: str = Field(
        "", description="How the fit window was chosen (rule stated in words)."
    )
    diffusivity_window_std_cm2_s: float | None = Field(
        None,
        ge=0,
        description="Spread of D over neighbouring fit windows (cm^2/s); included in "
        "diffusivity_std_cm2_s.",
    )
    n_samples: int = Field(
        ...,
        ge=1,
        description="Independent estimates σ is computed from (ions, or ions × time blocks).",
    )
    max_framework_displacement_A: float | None = Field(
        None, ge=0, description="Largest drift-corrected displacement of a non-mobile atom (Å)."
    )
    msd_time_ps: list[float] = Field(
        ..., description="Lag times of the stored MSD curve (ps), ≤ 200 points."
    )
    msd_A2: list[float] = Field(
        ..., description="Tracer MSD of the mobile species at msd_time_ps (Å^2)."
    )
    msd_std_A2: list[float] = Field(..., description="Standard error of msd_A2 over ions (Å^2).")
    mscd_A2: list[float] | None = Field(
        None, description="Collective (charge) MSD / N_mobile at msd_time_ps (Å^2)."
    )
    source: str = Field("", description="Where the trajectory came from (files or object).")
    warnings: list[str] = Field(default_factory=list, description="Caveats of this result.")

    @model_validator(mode="after")
    def _check_lengths(self) -> "DiffusionResult":
        n = len(self.msd_time_ps)
        if len(self.msd_A2) != n or len(self.msd_std_A2) != n:
            raise ValueError("msd_time_ps, msd_A2 and msd_std_A2 must have the same length")
        if self.mscd_A2 is not None and len(self.mscd_A2) != n:
            raise ValueError("mscd_A2 must have the same length as msd_time_ps")
        if self.fit_end_ps <= self.fit_start_ps:
            raise ValueError("fit_end_ps must be larger than fit_start_ps")
        return self


#: fields of an Arrhenius fit that extrapolate Ea (cleared when Ea is not a result)
_EXTRAPOLATED = (
    "prefactor_cm2_s",
    "ln_prefactor_std",
    "covariance_lnD0_Ea",
    "diffusivity_at_target_cm2_s",
    "diffusivity_at_target_ci_cm2_s",
    "conductivity_at_target_mS_cm",
    "conductivity_at_target_ci_mS_cm",
)


def judge_arrhenius(data: dict[str, Any]) -> dict[str, Any]:
    """Return an Arrhenius fit (as a dict) with Ea <= 0 moved to raw_* and not_determined.

    Ea <= 0 is not thermally activated hopping: a fit through too few hops over too narrow
    a range can slope the wrong way, and its Ea and its extrapolation to 300 K (then larger
    than any measured conductivity) are not physical results. :class:`ArrheniusResult`
    applies this when it is built or read (documents of earlier releases too); ``query``
    applies it to the stored dicts it reads.

    Parameters
    ----------
    data
        The fit's fields.

    Returns
    -------
    dict
        ``data`` itself when Ea is None or > 0, else a judged copy.
    """
    ea = data.get("activation_energy_eV")
    if ea is None or ea > 0:
        return data
    std = data.get("activation_energy_std_eV")
    temps = sorted(data.get("fitted_temperatures_K") or [])
    span = f" over {temps[0]:g}–{temps[-1]:g} K" if len(temps) >= 2 else ""
    err = f" ± {std:.2g}" if std is not None else ""
    out = {**data, **dict.fromkeys(_EXTRAPOLATED)}
    out.update(
        activation_energy_eV=None,
        activation_energy_std_eV=None,
        raw_activation_energy_eV=ea,
        raw_activation_energy_std_eV=std,
        not_determined=(
            f"Ea = {ea:.3g}{err} eV ≤ 0: D does not rise with temperature{span} (too few "
            "hops for this temperature range; run longer or over a wider range)"
        ),
    )
    return out


class ArrheniusResult(_Doc):
    """Weighted Arrhenius fit ln D = ln D0 − Ea/(k_B T) and its extrapolation."""

    specie: str = Field(..., description="Element symbol of the mobile species.")
    target_temperature_K: float = Field(..., gt=0, description="Extrapolation temperature (K).")
    confidence_level: float = Field(
        0.95, gt=0, lt=1, description="Coverage of the *_ci_* intervals (two-sided)."
    )
    activation_energy_eV: float | None = Field(None, description="Ea (eV); None without a fit.")
    activation_energy_std_eV: float | None = Field(
        None, ge=0, description="Standard error of Ea (eV)."
    )
    prefactor_cm2_s: float | None = Field(None, gt=0, description="D0 (cm^2/s).")
    ln_prefactor_std: float | None = Field(
        None, ge=0, description="Standard error of ln(D0 / (cm^2/s)) (dimensionless)."
    )
    covariance_lnD0_Ea: list[list[float]] | None = Field(
        None, description="2×2 covariance of (ln D0 [ln cm^2/s], Ea [eV]) used for the bands."
    )
    diffusivity_at_target_cm2_s: float | None = Field(
        None, gt=0, description="D at target T (cm^2/s)."
    )
    diffusivity_at_target_ci_cm2_s: list[float] | None = Field(
        None, description="[low, high] confidence interval of D at target T (cm^2/s)."
    )
    conductivity_at_target_mS_cm: float | None = Field(
        None, gt=0, description="Nernst–Einstein σ at target T (mS/cm), Haven ratio 1."
    )
    conductivity_at_target_ci_mS_cm: list[float] | None = Field(
        None, description="[low, high] confidence interval of σ at target T (mS/cm)."
    )
    number_density_A3: float | None = Field(
        None, gt=0, description="Mobile-ion number density used for σ (1/Å^3)."
    )
    charge: float | None = Field(None, description="Charge z of the mobile ion (units of e).")
    reduced_chi2: float | None = Field(
        None, ge=0, description="χ²/dof of the weighted fit (None for 2 points)."
    )
    fitted_temperatures_K: list[float] = Field(
        default_factory=list, description="Temperatures used in the fit (K)."
    )
    excluded_temperatures_K: list[float] = Field(
        default_factory=list, description="Temperatures left out (not diffusing) (K)."
    )
    results: list[DiffusionResult] = Field(
        default_factory=list, description="Per-temperature diffusion results (all of them)."
    )
    warnings: list[str] = Field(default_factory=list, description="Caveats of the fit.")
    #: Ea <= 0 (D does not rise with T): Ea, D0 and the extrapolation are not results
    not_determined: NotDeterminedReason = None
    raw_activation_energy_eV: float | None = Field(None, description="Fitted Ea if no result (eV).")
    raw_activation_energy_std_eV: float | None = Field(None, ge=0, description="Its σ (eV).")

    @model_validator(mode="before")
    @classmethod
    def _judge_activation_energy(cls, data: Any) -> Any:
        return judge_arrhenius(data) if isinstance(data, dict) else data
