"""Shared fixtures: isolated settings and work directories, small structures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IONFLOW_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own work dir and no user settings file."""
    from ionflow.settings import reset_settings

    for key in list(os.environ):
        if key.startswith("IONFLOW_") and key != "IONFLOW_SHARED_DIR":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("IONFLOW_CONFIG_FILE", str(tmp_path / "no-settings.yaml"))
    monkeypatch.setattr("ionflow.settings.DEFAULT_CONFIG_FILE", tmp_path / "no-settings.yaml")
    monkeypatch.delenv("IONFLOW_CONFIG_FILE")
    monkeypatch.setenv("IONFLOW_WORK_DIR", str(tmp_path / "work"))
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def shared_dir() -> Path:
    """The shared reference-data folder beside the repository."""
    if not SHARED.is_dir():
        pytest.fail(f"shared data folder {SHARED} not found (set IONFLOW_SHARED_DIR)")
    return SHARED


@pytest.fixture
def li3ocl():
    """The cubic Li3OCl unit cell (a = 3.91 Å)."""
    from ionflow.structures.prototypes import build_prototype

    return build_prototype("Li3OCl")
