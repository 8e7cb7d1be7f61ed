"""Hop counts of the mobile ions in one MD run.

:class:`HopCountResult` is the output of :func:`ionflow.analysis.hop_counting.count_hops`
(one temperature). Every float is finite or None (NaN/inf never reach the store).
"""

from pydantic import Field

from ionflow.schemas.base import MdTemperatureK, StoredDoc

__all__ = ["HopCountResult"]


class HopCountResult(StoredDoc):
    """Site-to-site hops of the mobile ions in one run, and whether the framework held."""

    specie: str = Field(..., description="Mobile element.")
    temperature_K: MdTemperatureK
    duration_ps: float = Field(..., gt=0, description="Analysed time (ps).")
    n_mobile: int = Field(..., ge=1, description="Mobile ions.")
    n_hops: int = Field(..., ge=0, description="Site-to-site hops of all mobile ions.")
    n_ions_hopped: int = Field(..., ge=0, description="Ions that hopped at least once.")
    hops_per_ion: list[int] = Field(default_factory=list, description="Hops of each ion.")
    hop_rate_per_ps: float = Field(..., ge=0, description="n_hops / duration (1/ps).")
    hop_rate_std_per_ps: float | None = Field(
        None, description="Poisson standard error of the rate, √n_hops / duration (1/ps)."
    )
    mean_hop_distance_A: float | None = Field(
        None, description="Mean distance between the two sites of a hop (Å)."
    )
    hop_length_A: float = Field(..., gt=0, description="Nearest mobile-ion distance (Å).")
    n_sites: int = Field(..., ge=1, description="Sites found (initial + discovered).")
    capture_radius_A: float = Field(
        ..., gt=0, description="An ion within this of a site sits there."
    )
    hop_diffusivity_cm2_s: float | None = Field(
        None,
        description=(
            "Uncorrelated hop estimate Σ d² / (6 N t) (cm²/s): tracer D if successive hops "
            "are uncorrelated (correlation factor 1)."
        ),
    )
    framework_max_displacement_A: float | None = Field(
        None, description="Largest smoothed displacement of a framework atom (Å)."
    )
    framework_msd_A2: dict[str, float] = Field(
        default_factory=dict, description="Final MSD per framework element (Å²), drift removed."
    )
    framework_max_site_distance_A: float | None = Field(
        None,
        description=(
            "Largest distance of a framework atom at the end of the run from the starting "
            "site of its element it is matched to, one atom per site (Å)."
        ),
    )
    framework_intact: bool = Field(
        True,
        description=(
            "Every framework atom ended on a starting site of its element (matched one to "
            "one, within the limit): no melting or anion hopping."
        ),
    )
    warnings: list[str] = Field(default_factory=list)
