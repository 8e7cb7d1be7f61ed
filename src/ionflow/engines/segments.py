"""What every engine's MD segment runner returns, and how the runner is chosen.

A runner takes the engine's atomate2 MD maker, a :class:`~ionflow.schemas.md.MDSegmentSpec`
and the state to start from, runs (or resumes) the segment and returns
:class:`SegmentFrames`: all frames from the segment's start step to its end step in
engine-independent units, plus the restart state. The job skeleton in
:mod:`ionflow.makers.md_segments` turns that into the stored document, the same way for
every engine.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ionflow.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from ionflow.schemas.md import MDRestartState

__all__ = ["SEGMENT_RUNNERS", "SegmentFrames", "get_segment_runner"]

#: atomate2 maker base class (module:class) -> ionflow segment runner (module:class)
SEGMENT_RUNNERS: dict[str, str] = {
    "atomate2.ase.md:AseMDMaker": "ionflow.engines.ase_segment:AseSegmentRunner",
    "atomate2.vasp.jobs.base:BaseVaspMaker": "ionflow.engines.vasp_segment:VaspSegmentRunner",
    "atomate2.cp2k.jobs.base:BaseCp2kMaker": "ionflow.engines.cp2k_segment:Cp2kSegmentRunner",
}


def _load(target: str) -> Any:
    module_name, name = target.split(":")
    return getattr(importlib.import_module(module_name), name)


def get_segment_runner(maker: Any) -> Any:
    """Return the segment runner able to run ``maker`` (an atomate2 MD maker).

    Parameters
    ----------
    maker
        The engine's MD maker.

    Returns
    -------
    Any
        A runner with ``run(maker, spec, start, work_dir) -> SegmentFrames``.
    """
    for base, runner in SEGMENT_RUNNERS.items():
        try:
            cls = _load(base)
        except ImportError:  # engine extras not installed
            continue
        if isinstance(maker, cls):
            return _load(runner)()
    raise ConfigError(
        f"ionflow cannot chain MD segments of {type(maker).__name__}; use the mlip, vasp "
        "or cp2k engine (an atomate2 AseMDMaker, VASP MDMaker or CP2K MDMaker)"
    )


@dataclass
class SegmentFrames:
    """Frames and end state of one segment, engine-independent (what the skeleton stores).

    Parameters
    ----------
    species
        Element symbol per atom.
    lattice_A
        Cell matrix (rows are lattice vectors, Å), constant in NVT.
    steps
        Global MD step of every frame, including the segment's start frame.
    cart_coords_A
        Cartesian positions (unwrapped), shape ``(n_frames, n_atoms, 3)``.
    velocities_A_fs
        Velocities (Å/fs) per frame, or None if the engine does not write them.
    energies_eV
        Potential energy per frame (eV), or None.
    temperatures_K
        Instantaneous temperature per frame (K), or None.
    forces_eV_A
        Forces per frame (eV/Å), or None.
    restart
        State at the last frame.
    attempts
        Attempts (1 + resumes).
    resumed_from_step
        Step the last attempt resumed from, if any.
    warnings
        Problems met (kept in the segment document).
    """

    species: list[str]
    lattice_A: np.ndarray
    steps: np.ndarray
    cart_coords_A: np.ndarray
    velocities_A_fs: np.ndarray | None
    energies_eV: np.ndarray | None
    temperatures_K: np.ndarray | None
    forces_eV_A: np.ndarray | None
    restart: MDRestartState
    attempts: int = 1
    resumed_from_step: int | None = None
    warnings: list[str] = field(default_factory=list)
