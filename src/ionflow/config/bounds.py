"""Physical and resource bounds checked when a study is loaded and built, before any job runs.

A value outside these ranges is not a study anyone meant to run: ``temperatures_K: [1e12]``
once grew an MD job to 23 GB before the kernel killed it, and ``production_steps: 1e12``
crashed the MD job with "Unable to allocate 7.28 TiB". The ranges are wide enough for
every realistic solid-state study (melting points of ceramics stay below 4000 K, runs of
more than 10⁸ steps are beyond any engine ionflow drives).
"""

from __future__ import annotations

import os
from pathlib import Path

from ionflow.errors import ConfigError

__all__ = [
    "MAX_MD_STEPS",
    "MAX_NEB_IMAGES",
    "MAX_SEGMENTS",
    "MAX_TEMPERATURES",
    "MAX_TEMPERATURE_K",
    "available_memory_bytes",
    "check_md_memory",
    "md_memory_bytes",
]

#: highest temperature an MD run or an extrapolation may use (K)
MAX_TEMPERATURE_K = 5000.0
#: most MD steps of one phase (equilibration, production, a segment)
MAX_MD_STEPS = 100_000_000
#: most chained MD segments per temperature (each is one job: a million jobs never finish
#: building, let alone running)
MAX_SEGMENTS = 1000
#: most MD temperatures of one system
MAX_TEMPERATURES = 64
#: most intermediate NEB images of one band
MAX_NEB_IMAGES = 64
#: float64 arrays of shape (frames, atoms, 3) held per stored frame while a trajectory is
#: built and analysed: positions, velocities, unwrapped displacements, the MSD's FFT buffer
_ARRAYS_PER_FRAME = 4
_BYTES_PER_VALUE = 8


def md_memory_bytes(
    production_steps: int, equilibration_steps: int, sampling_interval: int, n_atoms: int
) -> int:
    """Estimate the memory one temperature's stored frames need (bytes).

    Parameters
    ----------
    production_steps, equilibration_steps
        MD steps (both are stored every ``sampling_interval`` steps).
    sampling_interval
        Steps between stored frames.
    n_atoms
        Atoms in the MD cell.

    Returns
    -------
    int
        frames × atoms × 3 × 8 bytes × 4 arrays (positions, velocities, displacements, FFT).
    """
    frames = (production_steps + equilibration_steps) // max(1, sampling_interval) + 1
    return frames * n_atoms * 3 * _BYTES_PER_VALUE * _ARRAYS_PER_FRAME


def available_memory_bytes() -> int | None:
    """Memory the kernel can give this process now (``MemAvailable``; None if unknown)."""
    meminfo = Path("/proc/meminfo")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _human(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


def check_md_memory(
    label: str,
    production_steps: int,
    equilibration_steps: int,
    sampling_interval: int,
    n_atoms: int,
    available: int | None = None,
) -> int:
    """Refuse an MD run whose stored frames cannot fit in the memory available now.

    Parameters
    ----------
    label
        Where the numbers come from (``study.yaml: md``), for the message.
    production_steps, equilibration_steps, sampling_interval, n_atoms
        See :func:`md_memory_bytes`.
    available
        Memory to compare with (bytes); default :func:`available_memory_bytes`.

    Returns
    -------
    int
        The estimate (bytes).

    Raises
    ------
    ConfigError
        The estimate exceeds the available memory.
    """
    need = md_memory_bytes(production_steps, equilibration_steps, sampling_interval, n_atoms)
    have = available_memory_bytes() if available is None else available
    if have is not None and need > have:
        frames = (production_steps + equilibration_steps) // max(1, sampling_interval) + 1
        raise ConfigError(
            f"{label}: {frames:,} stored frames of {n_atoms} atoms need about {_human(need)} "
            f"but {_human(have)} of memory is available; lower production_steps, raise "
            "sampling_interval or use a smaller cell"
        )
    return need
