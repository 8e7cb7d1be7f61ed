"""Time-averaged probability density of the mobile ion on a grid (for VESTA isosurfaces).

Positions are taken in the frame of the framework (its drift removed), wrapped into the
cell of frame 0 and histogrammed over all frames. The result follows the VASP CHGCAR
convention (values are density × cell volume, so the grid mean equals the number of
mobile ions per cell) and can be written with :class:`pymatgen.io.vasp.Chgcar`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ionflow.analysis.displacements import framework_drift
from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure
    from pymatgen.io.vasp import Chgcar

    from ionflow.analysis.trajectory import TrajectoryData

__all__ = ["density_chgcar", "mobile_ion_density"]


def _grid_shape(lattice: np.ndarray, spacing_A: float) -> tuple[int, int, int]:
    lengths = np.linalg.norm(lattice, axis=1)
    return tuple(max(4, math.ceil(x / spacing_A)) for x in lengths)  # type: ignore[return-value]


def mobile_ion_density(
    traj: TrajectoryData,
    specie: str = "Li",
    grid_spacing_A: float = 0.2,
    smearing_A: float = 0.3,
    remove_drift: bool = True,
) -> tuple[np.ndarray, Structure]:
    """Histogram the mobile ion's positions over all frames.

    Parameters
    ----------
    traj
        The run.
    specie
        Element symbol of the mobile ion.
    grid_spacing_A
        Approximate grid spacing (Å).
    smearing_A
        Width σ of a periodic Gaussian smoothing (Å); 0 disables it.
    remove_drift
        Subtract the framework drift before histogramming.

    Returns
    -------
    tuple
        ``(data, structure)``: data on the grid in the CHGCAR convention (number density
        × cell volume, shape ``(nx, ny, nz)``) and the frame-0 structure.
    """
    from pymatgen.core import Structure
    from scipy.ndimage import gaussian_filter

    if grid_spacing_A <= 0 or smearing_A < 0:
        raise InputError("grid spacing must be > 0 Å and smearing ≥ 0 Å")
    mobile = traj.indices_of(specie)
    if mobile.size == 0:
        raise InputError(f"{traj.source}: no {specie} atoms for the density")
    lat0 = traj.lattice(0)
    shape = _grid_shape(lat0, grid_spacing_A)
    drift_frac = np.zeros((traj.n_frames, 3))
    if remove_drift:
        drift_cart, _ = framework_drift(traj, mobile, "framework", [])
        drift_frac = drift_cart @ np.linalg.inv(lat0)
    counts = np.zeros(int(np.prod(shape)), dtype=np.int64)
    grid = np.array(shape)
    step = max(1, int(4_000_000 // max(1, mobile.size)))
    for start in range(0, traj.n_frames, step):
        f = traj.frac_coords[start : start + step][:, mobile, :]
        f = (f - drift_frac[start : start + step, None, :]) % 1.0
        ijk = np.floor(f * grid).astype(np.int64) % grid
        flat = (ijk[..., 0] * grid[1] + ijk[..., 1]) * grid[2] + ijk[..., 2]
        counts += np.bincount(flat.ravel(), minlength=counts.size)
    data = counts.reshape(shape).astype(float) * counts.size / traj.n_frames
    if smearing_A > 0:
        spacing = np.linalg.norm(lat0, axis=1) / grid
        data = gaussian_filter(data, sigma=smearing_A / spacing, mode="wrap")
    structure = Structure(lat0, traj.species, traj.frac_coords[0] % 1.0)
    return data, structure


def density_chgcar(
    traj: TrajectoryData,
    specie: str = "Li",
    grid_spacing_A: float = 0.2,
    smearing_A: float = 0.3,
) -> Chgcar:
    """Return the mobile-ion density as a pymatgen ``Chgcar`` (write it with ``write_file``).

    Parameters
    ----------
    traj, specie, grid_spacing_A, smearing_A
        As in :func:`mobile_ion_density` (the framework drift is removed).

    Returns
    -------
    pymatgen.io.vasp.Chgcar
        Volumetric data ready for VESTA.
    """
    from pymatgen.io.vasp import Chgcar, Poscar

    data, structure = mobile_ion_density(traj, specie, grid_spacing_A, smearing_A)
    return Chgcar(Poscar(structure), {"total": data})
