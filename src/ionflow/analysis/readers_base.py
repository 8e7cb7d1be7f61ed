"""Helpers shared by the trajectory readers (streams, truncation warnings)."""

from __future__ import annotations

import zlib
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np

from ionflow.errors import InputError

__all__ = ["STREAM_ERRORS", "frames_to_array", "open_binary", "open_text", "truncation_warning"]

STREAM_ERRORS = (EOFError, OSError, zlib.error, ParseError, UnicodeDecodeError)


def open_text(path: Path):
    """Open a plain or compressed text file."""
    from monty.io import zopen

    return zopen(path, "rt", encoding="utf-8", errors="replace")


def open_binary(path: Path):
    """Open a plain or compressed file in binary mode."""
    from monty.io import zopen

    return zopen(path, "rb")


def frames_to_array(frames: list[np.ndarray], label: str, n_atoms: int) -> np.ndarray:
    """Stack parsed frames, or raise when there is none."""
    if not frames:
        raise InputError(f"{label}: no complete frame could be read")
    return np.asarray(frames, dtype=float).reshape(len(frames), n_atoms, 3)


def truncation_warning(label: str, n_frames: int, exc: Exception) -> str:
    """Warning text for a file damaged after ``n_frames`` complete frames."""
    return (
        f"{label} is truncated or corrupt ({type(exc).__name__}: {str(exc)[:80]}); "
        f"used the {n_frames} complete frame(s) before the damage"
    )
