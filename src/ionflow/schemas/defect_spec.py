"""The defect spec: one defect (or compensated cluster) a study puts in the supercell.

:class:`DefectSection` is the ``defects:`` entry of a study file
(:class:`ionflow.config.study.StudyConfig`, which re-exports it) and the spec
:func:`ionflow.structures.defects.generate_defects` expands. It lives here, below both
``config`` and ``structures``, so the structure generators need nothing from ``config``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DefectSection"]


class DefectSection(BaseModel):
    """One defect (or compensated defect cluster) to put in the supercell.

    ``type`` and ``species`` (see ionflow.structures.defects for the full grammar):
    ``vacancy [Li]`` → V_Li; ``interstitial [Li]`` → Li_i; ``substitution [S, O]`` → S_O;
    ``schottky [Li, Cl]`` → V_Li + V_Cl (counts balance the charges); ``frenkel [Li]`` →
    V_Li + Li_i; ``cluster`` with ``defects: [Li_i, O_Cl]`` → any explicit set.
    ``compensation: Li_i`` adds as many of that defect as neutrality needs (V_La + 3 Li_i).
    """

    # the same behaviour as ionflow.config.base.ConfigModel (config sits above schemas)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    type: Literal[
        "vacancy", "interstitial", "substitution", "schottky", "frenkel", "pair", "cluster"
    ] = Field(..., description="Defect kind ('pair' is an alias of 'cluster').")
    species: list[str] = Field(default_factory=list, description="Species involved.")
    defects: list[str] = Field(
        default_factory=list,
        description="Explicit point defects for 'cluster'/'pair': V_X, X_i, A_B (A on a B site).",
    )
    compensation: str | None = Field(
        None, description="Point defect added as often as needed for neutrality, e.g. 'Li_i'."
    )
    charge: int | None = Field(
        None,
        description="Supercell charge (e). None: 0 for a single defect (electronic "
        "compensation); clusters must then be ionically neutral.",
    )
    charges: list[int] | Literal["auto"] | None = Field(
        None,
        description="Charge states of a single defect, one cell each: a list, or 'auto' "
        "(from the oxidation states: 0 to the nominal effective charge, one more on either "
        "side, pymatgen-analysis-defects' rule). Needs an engine that runs charged cells; "
        "None: one cell with `charge`.",
    )
    separation: Literal["nearest", "farthest", "all"] | float = Field(
        "nearest", description="Pair separation choice, or a target distance in Å."
    )
    max_configs: int | None = Field(
        None, ge=1, description="Keep at most this many configurations (closest first)."
    )
    oxidation_states: dict[str, float] | None = Field(
        None, description="Oxidation states to use instead of pymatgen's guess."
    )
    cluster_neighbors: int = Field(
        8,
        ge=1,
        description="Clusters of 3+ defects: candidate sites per extra defect, nearest to "
        "the first defect.",
    )
    interstitial_min_dist_A: float = Field(
        0.9, gt=0, description="Smallest distance of an interstitial from a host atom (Å)."
    )
    label: str | None = Field(None, description="Label prefix replacing the generated one.")

    @model_validator(mode="after")
    def _one_charge_setting(self) -> DefectSection:
        if self.charges is not None and self.charge is not None:
            raise ValueError("give either 'charge' (one cell) or 'charges' (one cell each)")
        if isinstance(self.charges, list) and len(set(self.charges)) != len(self.charges):
            raise ValueError(f"charges {self.charges} repeat a charge state")
        return self
