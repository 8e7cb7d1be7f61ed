"""Pure NEB analysis: reaction coordinate, NEB forces, barriers, spline and convergence.

Everything here works on numpy arrays and pymatgen structures, with no I/O and no
workflow imports, so the same code serves a jobflow job, ``ionflow analyze neb`` and a
notebook. Readers for VASP and CP2K outputs live in :mod:`ionflow.io.neb_folders`;
they return the code-independent :class:`NebRawData` defined here.

Conventions
-----------
- ``energies_eV`` holds every image, endpoints included (n_images + 2 values).
- The reaction coordinate is the cumulative root-sum-square of the minimum-image atomic
  displacements between consecutive images (Å), as in pymatgen's ``NEBAnalysis``.
- Tangential forces are the true (not spring) force projected on the path tangent,
  F·τ (eV/Å); dE/ds = -F·τ, which is what the Hermite spline uses.
- A run that did not reach its force criterion is *unconverged*: its barriers are
  reported as None, never as numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import CubicHermiteSpline, CubicSpline

from ionflow.errors import InputError
from ionflow.schemas.neb import NebDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from ionflow.schemas.neb import HopDoc

#: an intermediate image this far (eV) below both endpoints is reported as a minimum
INTERMEDIATE_MIN_EV = 0.01

__all__ = [
    "NebForces",
    "NebProfile",
    "NebRawData",
    "analyze_profile",
    "climbing_image_index",
    "neb_doc_from_raw",
    "neb_forces",
    "path_displacements",
    "reaction_coordinate",
    "spline_profile",
]


@dataclass
class NebRawData:
    """What a finished band holds, independent of the code that ran it.

    Attributes
    ----------
    images
        All images, endpoints included (final geometries).
    energies_eV
        Energy of every image (eV).
    tangential_forces_eV_A
        F·τ per image (endpoints 0), eV/Å; None when the code does not print it.
    max_force_eV_A
        Largest NEB force on any intermediate image at the end (eV/Å), if known.
    fmax_eV_A
        Force criterion of the run (eV/Å), if known.
    converged
        The code's own verdict (None when unknown).
    source
        What ran the band (``NebDoc.source``): the engine name when an engine ran it,
        else the file format it was read from (``ionflow.io.neb_folders``).
    directory
        Folder the band was read from.
    n_steps
        Optimiser steps taken, if known.
    climb
        Whether a climbing image was used, if known.
    """

    images: list[Structure]
    energies_eV: np.ndarray
    tangential_forces_eV_A: np.ndarray | None
    max_force_eV_A: float | None
    fmax_eV_A: float | None
    converged: bool | None
    source: str
    directory: str | None = None
    n_steps: int | None = None
    climb: bool | None = None


def _finite_array(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf; the NEB output is damaged")
    return arr


def path_displacements(images: Sequence[Structure]) -> np.ndarray:
    """Minimum-image displacement of every atom between consecutive images.

    Parameters
    ----------
    images
        Images along the path (same lattice, same atom order).

    Returns
    -------
    numpy.ndarray
        (n_frames - 1, n_atoms, 3) Cartesian displacements (Å).
    """
    if len(images) < 2:
        raise InputError("an NEB path needs at least two images")
    n = len(images[0])
    out = np.empty((len(images) - 1, n, 3))
    for k in range(len(images) - 1):
        a, b = images[k], images[k + 1]
        if len(b) != n:
            raise InputError(f"image {k + 1} has {len(b)} atoms, image 0 has {n}")
        dfrac = b.frac_coords - a.frac_coords
        dfrac -= np.round(dfrac)
        out[k] = dfrac @ a.lattice.matrix
    return out


def reaction_coordinate(images: Sequence[Structure]) -> np.ndarray:
    """Cumulative root-sum-square displacement along the path (Å), starting at 0.

    Parameters
    ----------
    images
        Images along the path.

    Returns
    -------
    numpy.ndarray
        (n_frames,) reaction coordinate.
    """
    disp = path_displacements(images)
    steps = np.sqrt(np.sum(disp**2, axis=(1, 2)))
    return np.concatenate([[0.0], np.cumsum(steps)])


@dataclass(frozen=True)
class NebForces:
    """NEB force decomposition of the intermediate images.

    Attributes
    ----------
    tangential_eV_A
        F·τ of every image (endpoints 0), eV/Å.
    max_force_eV_A
        Largest per-atom norm of the NEB force (perpendicular true force plus the
        tangential spring force; the inverted true force on the climbing image) over
        the intermediate images (eV/Å).
    per_image_max_eV_A
        The same maximum per image (endpoints 0).
    """

    tangential_eV_A: np.ndarray
    max_force_eV_A: float
    per_image_max_eV_A: np.ndarray


def _tangent(
    disp_prev: np.ndarray, disp_next: np.ndarray, e_prev: float, e: float, e_next: float
) -> np.ndarray:
    """Improved tangent of Henkelman and Jónsson (J. Chem. Phys. 113, 9978 (2000))."""
    if e_next > e > e_prev:
        tau = disp_next
    elif e_next < e < e_prev:
        tau = disp_prev
    else:
        dmax = max(abs(e_next - e), abs(e_prev - e))
        dmin = min(abs(e_next - e), abs(e_prev - e))
        if e_next > e_prev:
            tau = disp_next * dmax + disp_prev * dmin
        else:
            tau = disp_next * dmin + disp_prev * dmax
    norm = np.linalg.norm(tau)
    if norm == 0:
        raise InputError("two consecutive NEB images are identical; the tangent is undefined")
    return tau / norm


def neb_forces(
    images: Sequence[Structure],
    energies_eV: Sequence[float],
    forces_eV_A: Sequence[np.ndarray] | np.ndarray,
    *,
    spring_constant_eV_A2: float = 5.0,
    climb: bool = True,
) -> NebForces:
    """Project true forces on the path: tangential forces and the NEB max force.

    Parameters
    ----------
    images
        All images, endpoints included.
    energies_eV
        Energy of every image (eV).
    forces_eV_A
        True (calculator) forces of every image, (n_frames, n_atoms, 3) in eV/Å; endpoint
        forces are not used.
    spring_constant_eV_A2
        Spring constant (eV/Å²) of the band.
    climb
        Treat the highest intermediate image as the climbing image.

    Returns
    -------
    NebForces
        Tangential forces and the maximum NEB force.
    """
    energies = _finite_array(energies_eV, "energies")
    forces = _finite_array(np.asarray(forces_eV_A, dtype=float), "forces")
    n_frames = len(images)
    if energies.shape != (n_frames,) or forces.shape[:1] != (n_frames,):
        raise InputError(
            f"{n_frames} images but {energies.size} energies and {len(forces)} force arrays"
        )
    disp = path_displacements(images)
    ci = climbing_image_index(energies) if climb else None
    tangential = np.zeros(n_frames)
    per_image = np.zeros(n_frames)
    for i in range(1, n_frames - 1):
        tau = _tangent(disp[i - 1], disp[i], energies[i - 1], energies[i], energies[i + 1])
        f_true = forces[i]
        f_par = float(np.sum(f_true * tau))
        tangential[i] = f_par
        if i == ci:
            f_neb = f_true - 2.0 * f_par * tau
        else:
            spring = spring_constant_eV_A2 * (np.linalg.norm(disp[i]) - np.linalg.norm(disp[i - 1]))
            f_neb = f_true - f_par * tau + spring * tau
        per_image[i] = float(np.max(np.linalg.norm(f_neb, axis=1)))
    return NebForces(
        tangential_eV_A=tangential,
        max_force_eV_A=float(per_image[1:-1].max()) if n_frames > 2 else 0.0,
        per_image_max_eV_A=per_image,
    )


def climbing_image_index(energies_eV: Sequence[float]) -> int | None:
    """Index of the highest intermediate image (None when there is none).

    Parameters
    ----------
    energies_eV
        Energies of all images, endpoints included.

    Returns
    -------
    int or None
        Index into ``energies_eV`` (1 … n - 2).
    """
    energies = np.asarray(energies_eV, dtype=float)
    if energies.size < 3:
        return None
    return int(np.argmax(energies[1:-1])) + 1


def spline_profile(
    reaction_coordinate_A: Sequence[float],
    relative_energies_eV: Sequence[float],
    tangential_forces_eV_A: Sequence[float] | None = None,
    n_points: int = 201,
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate the energy profile between images.

    With tangential forces, a piecewise cubic Hermite spline whose slope at each image is
    dE/ds = -F·τ (Henkelman's nebbarrier); the endpoint slopes are 0 (relaxed minima).
    Without forces, a cubic spline with zero end slopes (pymatgen ``NEBAnalysis``).

    Parameters
    ----------
    reaction_coordinate_A
        Strictly increasing reaction coordinate (Å).
    relative_energies_eV
        Energies relative to the first image (eV).
    tangential_forces_eV_A
        F·τ per image (eV/Å), or None.
    n_points
        Points on the returned curve.

    Returns
    -------
    tuple of numpy.ndarray
        Reaction coordinate and energies of the curve.
    """
    r = _finite_array(reaction_coordinate_A, "reaction coordinate")
    e = _finite_array(relative_energies_eV, "energies")
    if np.any(np.diff(r) <= 0):
        raise InputError("the reaction coordinate does not increase: two images coincide")
    if tangential_forces_eV_A is not None:
        slope = -_finite_array(tangential_forces_eV_A, "tangential forces")
        slope = slope.copy()
        slope[0] = slope[-1] = 0.0
        spline = CubicHermiteSpline(r, e, slope)
    else:
        spline = CubicSpline(r, e, bc_type=((1, 0.0), (1, 0.0)))
    xs = np.linspace(r[0], r[-1], n_points)
    return xs, spline(xs)


@dataclass(frozen=True)
class NebProfile:
    """Result of :func:`analyze_profile` (energies in eV, distances in Å).

    ``barrier_forward_eV`` / ``barrier_backward_eV`` / ``spline_barrier_forward_eV`` are
    None for an unconverged band.
    """

    energies_eV: np.ndarray
    relative_energies_eV: np.ndarray
    reaction_coordinate_A: np.ndarray
    tangential_forces_eV_A: np.ndarray | None
    climbing_image: int | None
    barrier_forward_eV: float | None
    barrier_backward_eV: float | None
    spline_barrier_forward_eV: float | None
    max_force_eV_A: float | None
    fmax_eV_A: float | None
    converged: bool
    message: str

    def doc_fields(self) -> dict[str, Any]:
        """Return the fields as :class:`NebDoc` takes them (arrays as lists)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in values.items()}


def analyze_profile(
    energies_eV: Sequence[float],
    reaction_coordinate_A: Sequence[float],
    *,
    tangential_forces_eV_A: Sequence[float] | None = None,
    max_force_eV_A: float | None = None,
    fmax_eV_A: float | None = None,
    converged: bool | None = None,
) -> NebProfile:
    """Barriers, climbing image and convergence of one band.

    Convergence: when ``converged`` is given (the code's own verdict) it is used and
    checked against ``max_force_eV_A <= fmax_eV_A`` if both are known; otherwise the force
    criterion decides. With neither, the band counts as unconverged.

    Parameters
    ----------
    energies_eV
        Energies of all images, endpoints included (eV).
    reaction_coordinate_A
        Reaction coordinate of each image (Å).
    tangential_forces_eV_A
        F·τ per image (eV/Å), or None.
    max_force_eV_A
        Largest NEB force at the end of the run (eV/Å).
    fmax_eV_A
        Force criterion of the run (eV/Å).
    converged
        The code's own convergence verdict, if it reports one.

    Returns
    -------
    NebProfile
        The analysed band.
    """
    energies = _finite_array(energies_eV, "energies")
    r = _finite_array(reaction_coordinate_A, "reaction coordinate")
    if energies.ndim != 1 or energies.size < 3:
        raise InputError(
            f"an NEB needs at least 3 images (2 endpoints + 1); got {energies.size} energies"
        )
    if r.shape != energies.shape:
        raise InputError(f"{energies.size} energies but {r.size} reaction-coordinate values")
    forces = None
    if tangential_forces_eV_A is not None:
        forces = _finite_array(tangential_forces_eV_A, "tangential forces")
        if forces.shape != energies.shape:
            raise InputError(f"{energies.size} energies but {forces.size} tangential forces")
    for name, val in (("max force", max_force_eV_A), ("fmax", fmax_eV_A)):
        if val is not None and not math.isfinite(val):
            raise InputError(f"{name} is not finite")
    by_force = (
        max_force_eV_A <= fmax_eV_A
        if max_force_eV_A is not None and fmax_eV_A is not None
        else None
    )
    ok = bool(by_force) if converged is None else bool(converged) and by_force is not False
    rel = energies - energies[0]
    ci = climbing_image_index(energies)
    if ok:
        top = float(rel.max())
        forward, backward = top, top - float(rel[-1])
        _, ys = spline_profile(r, rel, forces)
        spline_fw: float | None = max(float(ys.max()), top)
        message = "converged"
        low = int(np.argmin(rel[1:-1])) + 1
        depth = min(float(rel[0]), float(rel[-1])) - float(rel[low])
        if depth > INTERMEDIATE_MIN_EV:
            message += (
                f"; image {low} lies {depth:.3f} eV below the lower endpoint (an intermediate "
                "minimum: the hop may pass through another state; consider splitting it)"
            )
    else:
        forward = backward = spline_fw = None
        force_txt = f"{max_force_eV_A:.3f} eV/Å" if max_force_eV_A is not None else "unknown"
        crit = f" > fmax {fmax_eV_A:.3f} eV/Å" if fmax_eV_A is not None else ""
        message = f"unconverged: max force {force_txt}{crit}; no barrier reported"
    return NebProfile(
        energies_eV=energies,
        relative_energies_eV=rel,
        reaction_coordinate_A=r,
        tangential_forces_eV_A=forces,
        climbing_image=ci,
        barrier_forward_eV=forward,
        barrier_backward_eV=backward,
        spline_barrier_forward_eV=spline_fw,
        max_force_eV_A=max_force_eV_A,
        fmax_eV_A=fmax_eV_A,
        converged=ok,
        message=message,
    )


def neb_doc_from_raw(
    raw: NebRawData,
    *,
    label: str,
    n_images: int | None = None,
    climb: bool | None = None,
    engine: dict | None = None,
    hop: HopDoc | None = None,
    interpolation: str | None = None,
    keep_images: bool = True,
) -> NebDoc:
    """Analyse a read band and wrap it in a :class:`~ionflow.schemas.neb.NebDoc`.

    Parameters
    ----------
    raw
        The band as read (:mod:`ionflow.io.neb_folders`) or computed.
    label
        Hop label or folder name.
    n_images
        Intermediate images expected; checked against the band.
    climb
        Climbing image used (None: from ``raw.climb``, else assumed True).
    engine
        Engine provenance.
    hop
        The hop the band belongs to.
    interpolation
        How the starting band was made.
    keep_images
        Store the final images in the document.

    Returns
    -------
    NebDoc
        Energies, barriers (None if unconverged), climbing image, forces.
    """
    n_frames = len(raw.energies_eV)
    if n_images is not None and n_frames != n_images + 2:
        raise InputError(
            f"{label}: expected {n_images} intermediate images, the band has {n_frames - 2}"
        )
    r = reaction_coordinate(raw.images)
    profile = analyze_profile(
        raw.energies_eV,
        r,
        tangential_forces_eV_A=raw.tangential_forces_eV_A,
        max_force_eV_A=raw.max_force_eV_A,
        fmax_eV_A=raw.fmax_eV_A,
        converged=raw.converged,
    )
    use_climb = climb if climb is not None else (raw.climb if raw.climb is not None else True)
    return NebDoc(
        label=label,
        engine=engine or {"engine": raw.source},
        source=raw.source,  # type: ignore[arg-type]
        method="CI-NEB" if use_climb else "NEB",
        n_images=n_frames - 2,
        **profile.doc_fields(),
        n_steps=raw.n_steps,
        interpolation=interpolation,
        hop=hop,
        images=list(raw.images) if keep_images else None,
        dir_name=raw.directory,
    )
