"""Helpers for tests running the real CP2K binary (Debian's ``cp2k.psmp``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["DEFAULT_PMG_CP2K_DATA", "cp2k_available", "ensure_pmg_cp2k_data"]

#: where the pymatgen CP2K YAML data is generated when no folder is configured
DEFAULT_PMG_CP2K_DATA = Path("~/.cache/ionflow/cp2k_pmg_data").expanduser()


def cp2k_available() -> bool:
    """Whether ``cp2k.psmp`` and CP2K's data files are installed."""
    return shutil.which("cp2k.psmp") is not None and Path("/usr/share/cp2k/BASIS_MOLOPT").exists()


def ensure_pmg_cp2k_data(folder: str | Path | None = None) -> Path:
    """Return pymatgen's CP2K YAML data folder, generating it once if needed.

    Looks at ``folder``, ``IONFLOW_CP2K__DATA_DIR``, ``PMG_CP2K_DATA_DIR`` and
    :data:`DEFAULT_PMG_CP2K_DATA`; runs ``pmg config --cp2k /usr/share/cp2k <folder>``
    (1-3 minutes) when none holds the element files.
    """
    for candidate in (
        folder,
        os.environ.get("IONFLOW_CP2K__DATA_DIR"),
        os.environ.get("PMG_CP2K_DATA_DIR"),
        DEFAULT_PMG_CP2K_DATA,
    ):
        if candidate and (Path(candidate) / "Li").exists():
            return Path(candidate)
    target = Path(folder or DEFAULT_PMG_CP2K_DATA)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pmg", "config", "--cp2k", "/usr/share/cp2k", str(target)],
        check=True,
        capture_output=True,
    )
    return target
