"""The one internal trajectory type every reader produces and every analysis consumes.

:class:`TrajectoryData` holds fractional coordinates, lattices, species and the time
between stored frames. Readers (:mod:`ionflow.io.trajectories`) build it from VASP,
CP2K, ASE or pymatgen outputs; :func:`ionflow.analysis.diffusion.analyze_diffusion`
never needs to know which code wrote the trajectory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure
    from pymatgen.core.trajectory import Trajectory

__all__ = ["TrajectoryData", "common_temperature_K"]

#: Frames of two consecutive segments closer than this (fractional, per coordinate)
#: are treated as the same frame written twice by a restart.
DUPLICATE_FRAME_TOL = 1e-6

#: Transient memory budget (bytes) for one chunk of unwrapped displacements.
CHUNK_BYTES = 64_000_000


def _symbol(sp: object) -> str:
    """Return the element symbol of a pymatgen species/element (or a plain string)."""
    sym = getattr(sp, "symbol", None)
    if sym is None:
        el = getattr(sp, "element", None)
        sym = getattr(el, "symbol", None) if el is not None else None
    if sym is None:
        # strings such as "Li+" or "Li"
        text = str(sp)
        sym = "".join(ch for ch in text if ch.isalpha())
    return str(sym)


def common_temperature_K(
    segments: Sequence[TrajectoryData], what: str, advice: str
) -> float | None:
    """Return the one temperature (K) the segments state, or None when none states one.

    Segments that state different temperatures (rounded to 1 mK) are an ``InputError``
    "``what`` were run at different temperatures (...); ``advice``".
    """
    temps = {round(s.temperature_K, 3) for s in segments if s.temperature_K is not None}
    if len(temps) > 1:
        raise InputError(
            f"{what} were run at different temperatures ("
            + ", ".join(f"{t:g} K" for t in sorted(temps))
            + f"); {advice}"
        )
    return temps.pop() if temps else None


@dataclass
class TrajectoryData:
    """Positions of one MD run in fractional coordinates, with lattices and timing.

    Parameters
    ----------
    species
        Element symbol of each atom (length ``n_atoms``).
    frac_coords
        Fractional coordinates, shape ``(n_frames, n_atoms, 3)``; wrapped into the cell
        or not (displacements are unwrapped frame to frame, so either works as long as
        no atom moves more than half a cell between stored frames).
    lattices
        Lattice matrices (rows are lattice vectors) in Å, shape ``(n_frames, 3, 3)`` for
        a variable cell or ``(3, 3)`` for a fixed cell.
    time_step_fs
        Time between STORED frames in fs (MD time step × sampling interval).
    temperature_K
        Temperature read from the file, if the file states one (informational).
    source
        Human-readable description of where the frames came from.
    warnings
        Problems met while reading (e.g. a truncated file), carried into the results.
    md_time_step_fs
        The MD integration time step (fs) when known (POTIM); informational.
    md_step_skip
        MD steps between stored frames when known (NBLOCK); informational.
    """

    species: list[str]
    frac_coords: np.ndarray
    lattices: np.ndarray
    time_step_fs: float
    temperature_K: float | None = None
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    md_time_step_fs: float | None = None
    md_step_skip: int | None = None

    def __post_init__(self) -> None:
        self.species = [_symbol(s) for s in self.species]
        self.frac_coords = np.asarray(self.frac_coords, dtype=float)
        self.lattices = np.asarray(self.lattices, dtype=float)
        fc = self.frac_coords
        if fc.ndim != 3 or fc.shape[2] != 3:
            raise InputError(
                f"trajectory {self.source or ''}: frac_coords must have shape "
                f"(n_frames, n_atoms, 3), got {fc.shape}".replace("  ", " ")
            )
        if fc.shape[0] < 1 or fc.shape[1] < 1:
            raise InputError(f"trajectory {self.source}: no frames or no atoms")
        if len(self.species) != fc.shape[1]:
            raise InputError(
                f"trajectory {self.source}: {len(self.species)} species for {fc.shape[1]} atoms"
            )
        if self.lattices.shape not in ((3, 3), (fc.shape[0], 3, 3)):
            raise InputError(
                f"trajectory {self.source}: lattices must have shape (3, 3) or "
                f"({fc.shape[0]}, 3, 3), got {self.lattices.shape}"
            )
        if self.lattices.ndim == 3 and np.allclose(self.lattices, self.lattices[0], atol=1e-10):
            self.lattices = self.lattices[0].copy()
        if not (np.isfinite(fc).all() and np.isfinite(self.lattices).all()):
            raise InputError(f"trajectory {self.source}: coordinates or lattice contain NaN/inf")
        dets = np.linalg.det(self.lattices)
        if np.any(np.abs(dets) < 1e-6):
            raise InputError(f"trajectory {self.source}: a lattice has zero volume")
        if not (np.isfinite(self.time_step_fs) and self.time_step_fs > 0):
            raise InputError(
                f"trajectory {self.source}: time_step_fs must be a positive number "
                f"(got {self.time_step_fs}); pass the time between stored frames in fs"
            )
        self.time_step_fs = float(self.time_step_fs)

    # ------------------------------------------------------------------ properties
    @property
    def n_frames(self) -> int:
        """Number of stored frames."""
        return int(self.frac_coords.shape[0])

    @property
    def n_atoms(self) -> int:
        """Number of atoms per frame."""
        return int(self.frac_coords.shape[1])

    @property
    def constant_lattice(self) -> bool:
        """Whether one lattice is used for all frames."""
        return self.lattices.ndim == 2

    @property
    def duration_ps(self) -> float:
        """Time spanned by the stored frames in ps."""
        return (self.n_frames - 1) * self.time_step_fs / 1000.0

    @property
    def volumes_A3(self) -> np.ndarray:
        """Cell volume of every frame (or of the fixed cell) in Å^3."""
        return np.abs(np.linalg.det(self.lattices))

    def lattice(self, frame: int = 0) -> np.ndarray:
        """Lattice matrix (Å) of one frame."""
        return self.lattices if self.constant_lattice else self.lattices[frame]

    def indices_of(self, specie: str) -> np.ndarray:
        """Atom indices of one element."""
        return np.array([i for i, s in enumerate(self.species) if s == specie], dtype=int)

    def mobile_indices(self, specie: str) -> np.ndarray:
        """Atom indices of the mobile element; ``InputError`` naming the species if none."""
        mobile = self.indices_of(specie)
        if mobile.size == 0:
            present = ", ".join(sorted(set(self.species)))
            raise InputError(
                f"{self.source or 'trajectory'}: no {specie} atoms (species present: "
                f"{present}); set the specie"
            )
        return mobile

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_pymatgen(
        cls, traj: Trajectory, time_step_fs: float | None = None, source: str = ""
    ) -> TrajectoryData:
        """Build from a :class:`pymatgen.core.trajectory.Trajectory` of structures.

        Parameters
        ----------
        traj
            A periodic trajectory (with a lattice). Displacement-encoded trajectories
            are converted to positions first (the input is not modified).
        time_step_fs
            Time between stored frames in fs; default ``traj.time_step``.
        source
            Label used in messages (default ``"pymatgen Trajectory"``).

        Returns
        -------
        TrajectoryData
            The frames as fractional coordinates.
        """
        if traj.lattice is None:
            raise InputError(
                f"trajectory {source}: pymatgen Trajectory has no lattice (molecule "
                "trajectory); diffusion analysis needs a periodic cell"
            )
        if time_step_fs is None:
            time_step_fs = traj.time_step
        if time_step_fs is None:
            raise InputError(
                f"trajectory {source}: the pymatgen Trajectory has no time_step; pass "
                "time_step_fs (time between stored frames, fs)"
            )
        coords = np.asarray(traj.coords, dtype=float)
        if getattr(traj, "coords_are_displacement", False):
            base = np.asarray(traj.base_positions, dtype=float)
            coords = base[None] + np.cumsum(coords, axis=0)
        lattice = np.asarray(traj.lattice, dtype=float)
        return cls(
            species=list(traj.species),
            frac_coords=coords,
            lattices=lattice,
            time_step_fs=float(time_step_fs),
            source=source or "pymatgen Trajectory",
        )

    @classmethod
    def from_structures(
        cls, structures: Sequence[Structure], time_step_fs: float, source: str = ""
    ) -> TrajectoryData:
        """Build from a sequence of pymatgen structures (one per stored frame).

        Parameters
        ----------
        structures
            Frames in time order, same atoms in the same order (each frame's lattice is
            kept).
        time_step_fs
            Time between the given frames in fs.
        source
            Label used in messages (default ``"structures"``).
        """
        if len(structures) == 0:
            raise InputError(f"trajectory {source}: no structures given")
        species = [_symbol(s.specie) for s in structures[0]]
        n_atoms = len(species)
        for i, s in enumerate(structures):
            if len(s) != n_atoms:
                raise InputError(
                    f"trajectory {source}: frame {i} has {len(s)} atoms, frame 0 has {n_atoms}"
                )
        frac = np.array([s.frac_coords for s in structures])
        lattices = np.array([s.lattice.matrix for s in structures])
        return cls(species, frac, lattices, time_step_fs, source=source or "structures")

    @classmethod
    def concatenate(cls, segments: Sequence[TrajectoryData]) -> TrajectoryData:
        """Join consecutive segments of ONE run (restarts past walltime) in time order.

        A first frame that repeats the previous segment's last frame is dropped (with a
        warning). All segments must have the same atoms and the same time step.

        Parameters
        ----------
        segments
            The segments, in the order they were run.

        Returns
        -------
        TrajectoryData
            One trajectory spanning all segments.
        """
        segments = list(segments)
        if not segments:
            raise InputError("no trajectory segments to concatenate")
        if len(segments) == 1:
            return segments[0]
        first = segments[0]
        warnings = list(first.warnings)
        frac = [first.frac_coords]
        lat = [_expand_lattices(first)]
        for k, seg in enumerate(segments[1:], start=1):
            if seg.species != first.species:
                raise InputError(
                    f"segment {k} ({seg.source}) has different atoms than segment 0 "
                    f"({first.source}); segments must be restarts of one run"
                )
            if not np.isclose(seg.time_step_fs, first.time_step_fs, rtol=1e-6):
                raise InputError(
                    f"segment {k} ({seg.source}) stores frames every {seg.time_step_fs} fs, "
                    f"segment 0 every {first.time_step_fs} fs; use the same sampling"
                )
            warnings.extend(seg.warnings)
            seg_frac = seg.frac_coords
            seg_lat = _expand_lattices(seg)
            d = frac[-1][-1] - seg_frac[0]
            d -= np.round(d)
            if np.all(np.abs(d) < DUPLICATE_FRAME_TOL):
                if seg.n_frames == 1:
                    continue
                seg_frac, seg_lat = seg_frac[1:], seg_lat[1:]
                warnings.append(
                    f"segment {k} ({seg.source}) starts with the previous segment's last "
                    "frame; the duplicate was dropped"
                )
            frac.append(seg_frac)
            lat.append(seg_lat)
        lattices = np.concatenate(lat)
        temperature_K = common_temperature_K(
            segments, "segments", "segments must be restarts of one run"
        )
        return cls(
            species=list(first.species),
            frac_coords=np.concatenate(frac),
            lattices=lattices,
            time_step_fs=first.time_step_fs,
            temperature_K=temperature_K,
            source=" + ".join(s.source for s in segments),
            warnings=warnings,
            md_time_step_fs=first.md_time_step_fs,
            md_step_skip=first.md_step_skip,
        )

    def subsample(self, step: int) -> TrajectoryData:
        """Keep every ``step``-th frame (the time step grows accordingly).

        Parameters
        ----------
        step
            Keep frames 0, step, 2*step, ...

        Returns
        -------
        TrajectoryData
            The thinned trajectory.
        """
        if step < 1:
            raise InputError(f"step_skip must be ≥ 1, got {step}")
        if step == 1:
            return self
        lat = self.lattices if self.constant_lattice else self.lattices[::step]
        return TrajectoryData(
            self.species,
            self.frac_coords[::step],
            lat,
            self.time_step_fs * step,
            temperature_K=self.temperature_K,
            source=self.source,
            warnings=list(self.warnings),
            md_time_step_fs=self.md_time_step_fs,
            md_step_skip=self.md_step_skip,
        )

    # ------------------------------------------------------------------ displacements
    def unwrapped_displacements(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Cartesian displacement of the selected atoms from frame 0, unwrapped.

        Frame-to-frame fractional steps are wrapped into [-0.5, 0.5) and converted with
        the lattice of the later frame, then accumulated.

        Parameters
        ----------
        indices
            Atom indices.

        Returns
        -------
        numpy.ndarray
            Displacements in Å, shape ``(n_frames, len(indices), 3)``.
        """
        idx = np.asarray(indices, dtype=int)
        f = self.frac_coords[:, idx, :]
        disp = np.zeros(f.shape, dtype=float)
        if self.n_frames < 2:
            return disp
        df = np.diff(f, axis=0)
        df -= np.rint(df)
        if self.constant_lattice:
            step = df @ self.lattices
        else:
            step = np.einsum("tai,tij->taj", df, self.lattices[1:])
        np.cumsum(step, axis=0, out=disp[1:])
        return disp

    def iter_unwrapped(
        self, indices: Sequence[int] | np.ndarray, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(indices_chunk, displacements_chunk)`` over atom chunks to bound memory.

        Parameters
        ----------
        indices
            Atom indices to process.
        chunk_bytes
            Approximate memory per chunk of displacements.

        Yields
        ------
        tuple
            The atom indices of the chunk and their unwrapped displacements (Å),
            shape ``(n_frames, n_chunk, 3)``.
        """
        idx = np.asarray(indices, dtype=int)
        per_atom = max(1, self.n_frames * 3 * 8 * 3)  # displacements + diff + temporaries
        size = max(1, int(chunk_bytes // per_atom))
        for start in range(0, len(idx), size):
            chunk = idx[start : start + size]
            yield chunk, self.unwrapped_displacements(chunk)


def _expand_lattices(traj: TrajectoryData) -> np.ndarray:
    if traj.constant_lattice:
        return np.broadcast_to(traj.lattices, (traj.n_frames, 3, 3))
    return traj.lattices
