"""Plain or compressed file streams and the truncation warnings of the streaming readers."""

from __future__ import annotations

import zlib
from typing import IO, TYPE_CHECKING
from xml.etree.ElementTree import ParseError

import numpy as np
from monty.io import zopen

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "STREAM_ERRORS",
    "frames_to_array",
    "open_binary",
    "open_text",
    "read_text",
    "truncation_warning",
    "unreadable_or_truncated",
]

#: Exceptions a damaged (truncated, corrupt, half-compressed) file raises while streamed.
STREAM_ERRORS = (EOFError, OSError, zlib.error, ParseError, UnicodeDecodeError)


def open_text(path: Path) -> IO[str]:
    """Open a plain or compressed (.gz, .bz2, .xz) text file; undecodable bytes are replaced."""
    return zopen(path, "rt", encoding="utf-8", errors="replace")


def open_binary(path: Path) -> IO[bytes]:
    """Open a plain or compressed file in binary mode."""
    return zopen(path, "rb")


def read_text(path: Path) -> str:
    """Whole text of a plain or compressed file (undecodable bytes replaced)."""
    with open_text(path) as handle:
        return handle.read()


def frames_to_array(frames: list[np.ndarray], label: str, n_atoms: int) -> np.ndarray:
    """Stack parsed frames into ``(n_frames, n_atoms, 3)``, or raise when there is none."""
    if not frames:
        raise InputError(f"{label}: no complete frame could be read")
    return np.asarray(frames, dtype=float).reshape(len(frames), n_atoms, 3)


def truncation_warning(label: str, n_frames: int, exc: Exception) -> str:
    """Warning text for a file damaged after ``n_frames`` complete frames."""
    return (
        f"{label} is truncated or corrupt ({type(exc).__name__}: {str(exc)[:80]}); "
        f"used the {n_frames} complete frame(s) before the damage"
    )


def unreadable_or_truncated(
    label: str, what: str, exc: Exception, n_frames: int, usable: bool | None = None
) -> str:
    """Handle a read error: raise when nothing usable was read, else the warning text.

    Parameters
    ----------
    label
        The file, as named in messages.
    what
        What the file should have been (``"vasprun.xml"``, ``"XDATCAR"``, ...).
    exc
        The error the reader met.
    n_frames
        Complete frames read before the error.
    usable
        Whether what was read before the error is worth keeping; default ``n_frames > 0``.

    Returns
    -------
    str
        :func:`truncation_warning` for the frames read.

    Raises
    ------
    InputError
        When nothing usable was read (``<label>: not a readable <what> (<exc>)``).
    """
    if not (n_frames > 0 if usable is None else usable):
        raise InputError(f"{label}: not a readable {what} ({exc})") from None
    return truncation_warning(label, n_frames, exc)
