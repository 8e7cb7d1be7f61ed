"""Documents of the NEB pipeline: hops, bands and the defect-study summary.

:class:`HopDoc` is one hop, :class:`NebDoc` one band, :class:`NebStudyDoc` the NEBs of one
defect configuration with the percolating-path summary (:class:`PercolationDoc`).

Every float is finite or None (a validator rejects NaN/inf). An unconverged band keeps its
energies and max force but never carries a barrier: ``barrier_forward_eV`` and
``barrier_backward_eV`` are None unless ``converged`` is True.
"""

from typing import Any, Literal

from pydantic import Field, model_validator

from ionflow.schemas.base import StoredDoc, StructureIn

__all__ = [
    "NO_SADDLE",
    "SCHEMA_VERSION",
    "HopDoc",
    "NebDoc",
    "NebPathDoc",
    "NebStudyDoc",
    "PercolationDoc",
]

SCHEMA_VERSION = "1"

#: how the message of a band refused for having no saddle point starts
NO_SADDLE = "no saddle point"

HopKind = Literal["vacancy", "interstitial", "interstitialcy", "explicit"]


class _Doc(StoredDoc):
    """Base of the NEB documents (unknown keys refused, every float finite)."""


class _VersionedDoc(_Doc):
    """Base of the top NEB documents: the schema version comes first."""

    schema_version: str = Field(SCHEMA_VERSION, description="Document schema version.")


class HopDoc(_VersionedDoc):
    """One migration hop: its endpoints and geometry.

    The defect position moves from ``defect_start_frac`` to ``defect_end_frac`` (a vacancy
    moves opposite to the atom that fills it); the percolation analysis uses these.
    """

    label: str = Field(..., description="Deterministic hop name, e.g. 'V_Li hop 1'.")
    kind: HopKind = Field(
        ..., description="Vacancy, direct interstitial, interstitialcy, explicit."
    )
    species: str = Field(..., description="Element of the moving atom(s).")
    moving_indices: list[int] = Field(
        ..., min_length=1, description="Indices of the atoms that move (in initial/final)."
    )
    start_frac_coords: list[list[float]] = Field(
        ..., description="Fractional coordinates of the moving atoms in the initial state."
    )
    end_frac_coords: list[list[float]] = Field(
        ...,
        description="Fractional coordinates of the moving atoms in the final state, "
        "unwrapped (start + displacement, may lie outside [0, 1)).",
    )
    length_A: float = Field(
        ..., ge=0, description="Straight-line distance travelled by the first moving atom (Å)."
    )
    multiplicity: int = Field(
        1,
        ge=1,
        description="Symmetry-equivalent directed hops: for a defect cell, the equivalent "
        "hops of this defect (e.g. 8 for V_Li in Li3OCl); for a perfect cell, all of them in "
        "the cell (sites x neighbours).",
    )
    defect_start_frac: list[float] | None = Field(
        None, description="Fractional position of the defect before the hop."
    )
    defect_end_frac: list[float] | None = Field(
        None, description="Fractional position of the defect after the hop (unwrapped)."
    )
    initial: StructureIn = Field(..., description="Initial endpoint (unrelaxed).")
    final: StructureIn = Field(..., description="Final endpoint (unrelaxed, same atom order).")

    def summary(self) -> dict[str, Any]:
        """Return the hop without its structures (for tables and JSON indexes)."""
        return self.model_dump(mode="json", exclude={"initial", "final"})


class NebDoc(_VersionedDoc):
    """One nudged-elastic-band calculation and its analysis.

    ``n_images`` counts intermediate images (as VASP's IMAGES); ``energies_eV`` holds all
    ``n_images + 2`` images. ``images`` (the final band) go to the JobStore's ``data`` store.
    """

    label: str = Field(..., description="Hop label or the folder analysed.")
    engine: dict[str, Any] = Field(default_factory=dict, description="Engine name and settings.")
    source: str = Field(..., description="Engine that ran the band (ionflow.engines.registry).")
    method: Literal["CI-NEB", "NEB"] = Field(..., description="Climbing image or plain NEB.")
    n_images: int = Field(..., ge=1, description="Intermediate images.")
    energies_eV: list[float] = Field(..., description="Total energy of every image (eV).")
    relative_energies_eV: list[float] = Field(
        ..., description="Energies relative to the first image (eV)."
    )
    reaction_coordinate_A: list[float] = Field(
        ..., description="Cumulative root-sum-square displacement along the path (Å)."
    )
    tangential_forces_eV_A: list[float] | None = Field(
        None, description="True force projected on the path tangent per image (eV/Å)."
    )
    climbing_image: int | None = Field(
        None, description="Index of the highest intermediate image (the climbing image)."
    )
    converged: bool = Field(..., description="The band reached its force criterion.")
    barrier_forward_eV: float | None = Field(
        None, description="Highest image minus the first image (eV); None if unconverged."
    )
    barrier_backward_eV: float | None = Field(
        None, description="Highest image minus the last image (eV); None if unconverged."
    )
    spline_barrier_forward_eV: float | None = Field(
        None,
        description="Maximum of the spline through the images (tangential forces as slopes) "
        "minus the first image (eV); None if unconverged.",
    )
    max_force_eV_A: float | None = Field(
        None, ge=0, description="Largest NEB force on an intermediate image at the end (eV/Å)."
    )
    fmax_eV_A: float | None = Field(None, gt=0, description="Force criterion (eV/Å).")
    n_steps: int | None = Field(None, ge=0, description="Optimiser steps taken.")
    message: str = Field("", description="'converged' or why no barrier is reported.")
    interpolation: str | None = Field(
        None,
        description="How the starting images were made: 'idpp', 'linear', 'given' or "
        "'prescreen' (final band of a cheaper MLIP NEB).",
    )
    hop: HopDoc | None = Field(None, description="The hop, when the band came from one.")
    images: list[StructureIn] | None = Field(None, description="Final images (data store).")
    dir_name: str | None = Field(None, description="Folder the band ran in or was read from.")

    @model_validator(mode="after")
    def _no_barrier_unless_converged(self) -> "NebDoc":
        if not self.converged and (
            self.barrier_forward_eV is not None or self.barrier_backward_eV is not None
        ):
            raise ValueError("an unconverged band must not carry a barrier")
        if len(self.energies_eV) != self.n_images + 2:
            raise ValueError(
                f"{len(self.energies_eV)} energies for {self.n_images} intermediate images"
            )
        return self

    def summary(self) -> dict[str, Any]:
        """Return the keys ``ionflow analyze neb --json`` prints (energies relative)."""
        return {
            "label": self.label,
            "source": self.source,
            "converged": self.converged,
            "barrier_forward_eV": self.barrier_forward_eV,
            "barrier_backward_eV": self.barrier_backward_eV,
            "energies_eV": list(self.relative_energies_eV),
            "n_images": self.n_images,
            "climbing_image": self.climbing_image,
            "max_force_eV_A": self.max_force_eV_A,
            "fmax_eV_A": self.fmax_eV_A,
            "reaction_coordinate_A": list(self.reaction_coordinate_A),
            "message": self.message,
        }


class PercolationDoc(_Doc):
    """Lowest barrier at which the computed hops connect into an infinite network."""

    percolating: bool = Field(..., description="Some barrier threshold gives a network.")
    barrier_eV: float | None = Field(
        None, description="Smallest barrier threshold for a percolating network (eV)."
    )
    dimensionality: int = Field(
        0, ge=0, le=3, description="Dimensions the network spans at that threshold (0-3)."
    )
    hops: list[str] = Field(
        default_factory=list, description="Hop labels needed at that threshold."
    )
    directions: list[list[int]] = Field(
        default_factory=list,
        description="Independent lattice translations (supercell units) the network spans.",
    )
    barriers_by_dimension_eV: list[float | None] = Field(
        default_factory=lambda: [None, None, None],
        description="Lowest threshold giving a network of at least 1, 2 and 3 dimensions (eV).",
    )
    message: str = Field("", description="Why no network percolates, if so.")


class NebStudyDoc(_VersionedDoc):
    """All NEBs of one defect configuration and the percolating-path summary."""

    label: str = Field(..., description="Defect configuration (or study) label.")
    engine: dict[str, Any] = Field(default_factory=dict, description="Engine name and settings.")
    nebs: list[NebDoc] = Field(default_factory=list, description="One document per hop.")
    missing: list[str] = Field(
        default_factory=list, description="Hops whose NEB failed or did not run."
    )
    unconverged: list[str] = Field(
        default_factory=list, description="Hops whose band did not converge (no barrier)."
    )
    percolation: PercolationDoc | None = Field(None, description="Lowest-barrier network.")


class NebPathDoc(_Doc):
    """The starting band of an NEB: interpolated images between (relaxed) endpoints."""

    images: list[StructureIn] = Field(..., min_length=3, description="Images, endpoints included.")
    interpolation: Literal["idpp", "linear", "given"] = Field(
        ..., description="How the intermediate images were made."
    )
    min_distance_A: float = Field(..., ge=0, description="Shortest interatomic distance (Å).")
