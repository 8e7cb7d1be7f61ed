"""MD against NEB: the Arrhenius energy of the MD beside the barrier of the dominant hop."""

from typing import Literal

from pydantic import Field

from ionflow.schemas.base import StoredDoc

__all__ = ["MdNebCheck"]


class MdNebCheck(StoredDoc):
    """Activation energy from MD compared with the CI-NEB barrier on the same cell/potential."""

    verdict: Literal["agree", "differ", "not compared"] = Field(
        ..., description="agree: |Ea_MD − E_NEB| ≤ 2σ(Ea_MD); differ; or why not compared."
    )
    md_activation_energy_eV: float | None = Field(None, description="Ea from MD (eV).")
    md_activation_energy_std_eV: float | None = Field(None, description="σ(Ea) (eV).")
    md_source: str = Field(
        "", description="Which MD estimate: 'tracer D Arrhenius' or 'hop-rate Arrhenius'."
    )
    neb_barrier_eV: float | None = Field(None, description="Barrier of the dominant hop (eV).")
    neb_barrier_bound_eV: float | None = Field(
        None,
        description="Upper bound of the barrier when the dominant hop's band has no saddle "
        "(the band's energy span, eV); None when a barrier was computed.",
    )
    neb_hop: str = Field("", description="Hop (or percolating network) the barrier belongs to.")
    difference_sigma: float | None = Field(
        None, description="(Ea_MD − E_NEB) / σ(Ea_MD): the deviation in standard errors."
    )
    explanation: str = Field("", description="The verdict in words, with the mechanism.")
