"""NEB makers: path preparation and CI-NEB on every engine with one interface.

Every engine's band maker has ``make(images, prev_dir=None, *, label, hop, interpolation,
endpoint_dirs)`` and returns a job (or flow) whose output is a
:class:`~ionflow.schemas.neb.NebDoc`:

- :class:`MlipNebMaker` runs atomate2's ``ForceFieldNebFromImagesMaker`` (ASE NEB) inside one
  job, then recomputes the true forces of the final band to report tangential forces and the
  NEB max force;
- :class:`VaspNebMaker` runs atomate2's VASP ``NebFromImagesMaker`` (VTST CI-NEB: IBRION 3,
  IOPT 1, LCLIMB) and a collector that reads the image folders;
- :class:`ionflow.engines.cp2k.neb.Cp2kNebMaker` writes CP2K's MOTION/BAND CI-NEB.

Each lives in its engine's folder and is returned by the adapter's ``neb_maker``.

:class:`NebFromEndpointsMaker` is the engine-agnostic flow: relax both endpoints with the
engine, interpolate (IDPP, linear fallback, overlap checks), run the band.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
from jobflow import Flow, Maker, job

from ionflow.engines.mlip.neb import MlipNebMaker
from ionflow.engines.vasp.neb import VaspNebMaker, collect_vasp_neb
from ionflow.errors import ConfigError, InputError
from ionflow.makers.cost import set_cost
from ionflow.schemas.neb import HopDoc, NebPathDoc
from ionflow.structures.neb_path import (
    check_images,
    closest_pair,
    interpolate_images,
    match_endpoints,
)

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.engines.base import EngineAdapter

__all__ = [
    "MIN_HOP_DISPLACEMENT_A",
    "Interpolation",
    "MlipNebMaker",
    "NebFromEndpointsMaker",
    "VaspNebMaker",
    "collect_vasp_neb",
    "endpoint_key",
    "endpoint_separation_A",
    "neb_images_maker",
    "prepare_path",
    "prepare_path_result",
]

logger = logging.getLogger(__name__)


#: endpoints whose atoms all lie closer than this (Å) are one configuration, not a hop
MIN_HOP_DISPLACEMENT_A = 0.3

#: how the starting band is made: IDPP (linear fallback) or linear
Interpolation = Literal["idpp", "linear"]


def endpoint_separation_A(initial: Structure, final: Structure) -> float:
    """Largest minimum-image displacement of any atom between two matched endpoints (Å)."""
    dfrac = final.frac_coords - initial.frac_coords
    dfrac -= np.round(dfrac)
    return float(np.linalg.norm(dfrac @ initial.lattice.matrix, axis=1).max())


def endpoint_key(structure: Structure, decimals: int = 4) -> tuple:
    """Hashable identity of an endpoint: species order, lattice and wrapped positions.

    Two hops whose endpoint has this key relax the same cell (same atoms in the same
    order at the same place), so they share one relaxation.
    """
    frac = np.round(np.mod(structure.frac_coords, 1.0), decimals) % 1.0
    return (
        tuple(site.species_string for site in structure),
        tuple(np.round(structure.lattice.matrix, decimals).ravel()),
        tuple(frac.ravel()),
    )


@job(name="prepare neb path")
def prepare_path(
    initial: Structure,
    final: Structure,
    n_images: int,
    interpolation: Interpolation = "idpp",
    min_distance_A: float = 0.7,
) -> NebPathDoc:
    """Job: match the endpoints, interpolate and check the band.

    :func:`prepare_path_result` is the same function outside jobflow.

    Parameters
    ----------
    initial, final
        Endpoints (relaxed or not).
    n_images
        Intermediate images.
    interpolation
        ``idpp`` (linear fallback) or ``linear``.
    min_distance_A
        Smallest allowed interatomic distance in any image (Å).

    Returns
    -------
    NebPathDoc
        Images and the interpolation actually used.
    """
    final = match_endpoints(initial, final)
    moved = endpoint_separation_A(initial, final)
    if moved < MIN_HOP_DISPLACEMENT_A:
        # e.g. both ends of an interstitial hop relaxed into the same dumbbell: a band
        # between them is flat (a "barrier" of ~0 eV that is no barrier at all)
        raise InputError(
            f"the two endpoints are the same configuration (no atom differs by more than "
            f"{moved:.2f} Å after relaxation): no hop to compute"
        )
    images, used = interpolate_images(
        initial, final, n_images, method=interpolation, min_distance_A=min_distance_A
    )
    return NebPathDoc(
        images=images,
        interpolation=used,  # type: ignore[arg-type]
        min_distance_A=min(closest_pair(im)[0] for im in images),
    )


#: the plain function of the :func:`prepare_path` job (called outside jobflow)
prepare_path_result = prepare_path.original


def neb_images_maker(engine: EngineAdapter, **settings: Any) -> Maker:
    """Return the band maker of an engine, configured the same way for every engine.

    Parameters
    ----------
    engine
        Engine adapter (``ionflow.engines.get_engine``).
    **settings
        The keywords of :meth:`~ionflow.engines.base.EngineAdapter.neb_maker`: ``climb``,
        ``spring_constant_eV_A2``, ``fmax_eV_A``, ``max_steps`` (eV/Å², eV/Å) and
        ``overrides`` (INCAR keys for VASP, maker fields for CP2K/MLIP).

    Returns
    -------
    Maker
        The engine's band maker (``engine.neb_maker``).
    """
    return engine.neb_maker(**settings)


@dataclass
class NebFromEndpointsMaker(Maker):
    """Relax two endpoints, interpolate the band and run CI-NEB with any engine.

    Parameters
    ----------
    name
        Flow name prefix.
    engine
        Engine adapter.
    n_images
        Intermediate images.
    climb
        Climbing image.
    spring_constant_eV_A2
        Spring constant (eV/Å²).
    fmax_eV_A
        Band force criterion (eV/Å).
    max_steps
        Band optimiser steps.
    relax_endpoints
        Relax both endpoints first (positions only).
    relax_fmax_eV_A
        Endpoint force criterion (eV/Å).
    relax_max_steps
        Endpoint optimiser steps.
    interpolation
        ``idpp`` (linear fallback) or ``linear``.
    min_distance_A
        Smallest allowed interatomic distance in any image (Å).
    overrides
        Engine-specific band settings (see :func:`neb_images_maker`).
    relax_overrides
        Engine-specific endpoint relaxation settings.
    band
        Band maker to use instead of the engine's (any maker with the band interface).
    prescreen
        Optional cheaper band maker (e.g. :class:`MlipNebMaker`) run first on the same
        path; its final images are the starting band of the engine's band.
    """

    name: str = "neb"
    engine: EngineAdapter | None = None
    n_images: int = 5
    climb: bool = True
    spring_constant_eV_A2: float = 5.0
    fmax_eV_A: float = 0.05
    max_steps: int = 300
    relax_endpoints: bool = True
    relax_fmax_eV_A: float = 0.02
    relax_max_steps: int = 300
    interpolation: Interpolation = "idpp"
    min_distance_A: float = 0.7
    overrides: dict[str, Any] = field(default_factory=dict)
    relax_overrides: dict[str, Any] = field(default_factory=dict)
    band: Maker | None = None
    prescreen: Maker | None = None

    def __post_init__(self) -> None:
        if self.engine is None:
            raise ConfigError("NebFromEndpointsMaker needs an engine adapter")
        if self.n_images < 1:
            raise ConfigError(f"n_images must be >= 1, got {self.n_images}")
        if self.interpolation not in get_args(Interpolation):
            raise ConfigError(
                f"interpolation must be 'idpp' or 'linear', not {self.interpolation!r}"
            )

    def band_maker(self) -> Maker:
        """Return the band maker: ``band`` if given, else the engine's with these settings."""
        if self.band is not None:
            return self.band
        return neb_images_maker(
            self.engine,  # type: ignore[arg-type]
            climb=self.climb,
            spring_constant_eV_A2=self.spring_constant_eV_A2,
            fmax_eV_A=self.fmax_eV_A,
            max_steps=self.max_steps,
            overrides=self.overrides,
        )

    def make(
        self,
        initial: Structure,
        final: Structure,
        prev_dir: str | None = None,
        *,
        label: str = "hop",
        hop: HopDoc | None = None,
        relaxed: dict[tuple, Any] | None = None,
    ) -> Flow:
        """Build the flow; its output is the band's NebDoc.

        Job names: ``relax <label> initial``, ``relax <label> final``,
        ``prepare neb path <label>``, then the engine's band job(s) named after ``label``.
        ``relaxed`` (endpoint key → relax job, shared by the hops of one cell) reuses an
        endpoint relaxation another hop already has (it stays in that hop's flow).
        """
        final = match_endpoints(initial, final)
        check_images([initial, final], self.min_distance_A)
        jobs: list[Any] = []
        endpoint_dirs = None
        start, end = initial, final
        if self.relax_endpoints:
            relax = self.engine.relax_maker(  # type: ignore[union-attr]
                fmax_eV_A=self.relax_fmax_eV_A,
                max_steps=self.relax_max_steps,
                overrides=dict(self.relax_overrides) or None,
            )
            relax_jobs = []
            for tag, structure in (("initial", initial), ("final", final)):
                key = endpoint_key(structure)
                if relaxed is not None and key in relaxed:
                    relax_jobs.append(relaxed[key])  # one relaxation per distinct endpoint
                    continue
                rj = relax.make(structure, prev_dir=prev_dir)
                rj.name = f"relax {label} {tag}"
                set_cost(rj, len(structure), self.relax_max_steps)
                relax_jobs.append(rj)
                jobs.append(rj)
                if relaxed is not None:
                    relaxed[key] = rj
            start, end = relax_jobs[0].output.structure, relax_jobs[1].output.structure
            endpoint_dirs = [rj.output.dir_name for rj in relax_jobs]
        path = prepare_path(start, end, self.n_images, self.interpolation, self.min_distance_A)
        path.name = f"prepare neb path {label}"
        jobs.append(path)
        band_maker = self.band_maker()
        start_images, interpolation = path.output.images, path.output.interpolation
        if self.prescreen is not None:
            # cheap band first (e.g. CHGNet); its final images start the expensive band
            pre = self.prescreen.make(
                path.output.images, label=f"{label} prescreen", hop=hop, interpolation=interpolation
            )
            pre.name = f"prescreen neb {label}"
            set_cost(pre, len(initial), self.n_images * self.max_steps)  # same band settings
            jobs.append(pre)
            start_images, interpolation = pre.output.images, "prescreen"
        kwargs: dict[str, Any] = {
            "label": label,
            "hop": hop,
            "interpolation": interpolation,
            "endpoint_dirs": endpoint_dirs,
            "n_images": self.n_images,
        }
        band = band_maker.make(start_images, **kwargs)
        band.name = f"{getattr(band_maker, 'name', 'neb')} {label}"
        set_cost(band, len(initial), self.n_images * self.max_steps)
        jobs.append(band)
        return Flow(jobs, output=band.output, name=f"{self.name} {label}")
