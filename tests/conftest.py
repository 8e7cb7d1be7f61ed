"""Shared fixtures: isolated settings and work directories, small structures, shared AIMD
files and synthetic random-walk trajectories."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ionflow.analysis.trajectory import TrajectoryData

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
    # one process per run: tests patch engines and functions in this process, which worker
    # processes would not see; tests/run/test_workers.py and the demo path use workers
    monkeypatch.setenv("IONFLOW_LOCAL_WORKERS", "1")
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


@pytest.fixture
def aimd_dir(shared_dir):
    """The shared public AIMD files."""
    return shared_dir / "data" / "aimd"


def make_random_walk(
    n_frames: int = 2000,
    n_li: int = 40,
    n_fw: int = 10,
    diffusivity_cm2_s: float | tuple[float, float, float] = 1e-5,
    time_step_fs: float = 10.0,
    box_A: float = 12.0,
    vibration_A: float = 0.0,
    seed: int = 0,
) -> TrajectoryData:
    """Gaussian random walk of ``n_li`` Li in a cubic box with a static O framework.

    ``diffusivity_cm2_s`` may be per Cartesian direction (D_x, D_y, D_z) where
    D_a = <Δa²>/(2t). Positions are returned wrapped into the cell.
    """
    rng = np.random.default_rng(seed)
    d = np.broadcast_to(np.asarray(diffusivity_cm2_s, dtype=float), (3,))
    sig = np.sqrt(2.0 * d * 1e4 * time_step_fs * 1e-3)  # Å per step per direction
    steps = rng.normal(0.0, 1.0, (n_frames - 1, n_li, 3)) * sig
    start = rng.uniform(0, box_A, (1, n_li, 3))
    li = np.concatenate([start, steps]).cumsum(axis=0)
    if vibration_A:
        li = li + rng.normal(0, vibration_A, li.shape)
    fw = rng.uniform(0, box_A, (1, n_fw, 3)) + rng.normal(0, vibration_A, (n_frames, n_fw, 3))
    cart = np.concatenate([li, fw], axis=1)
    return TrajectoryData(
        ["Li"] * n_li + ["O"] * n_fw,
        (cart / box_A) % 1.0,
        np.eye(3) * box_A,
        time_step_fs,
        source=f"random walk seed {seed}",
    )


@pytest.fixture
def random_walk():
    """Factory for synthetic random-walk trajectories (see :func:`make_random_walk`)."""
    return make_random_walk


def write_xdatcar(path, traj: TrajectoryData) -> None:
    """Write a fixed-cell VASP 5 XDATCAR of ``traj`` (for reader and CLI tests)."""
    symbols: list[str] = []
    counts: list[int] = []
    for s in traj.species:
        if symbols and symbols[-1] == s:
            counts[-1] += 1
        else:
            symbols.append(s)
            counts.append(1)
    lat = traj.lattice(0)
    lines = ["synthetic", "1.0"]
    lines += [" ".join(f"{x:.8f}" for x in row) for row in lat]
    lines += [" ".join(symbols), " ".join(str(c) for c in counts)]
    for i, frame in enumerate(traj.frac_coords % 1.0):
        lines.append(f"Direct configuration= {i + 1:6d}")
        lines += [f"{x:.8f} {y:.8f} {z:.8f}" for x, y, z in frame]
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        import gzip

        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        with open(path, "w") as fh:
            fh.write(text)


@pytest.fixture
def xdatcar_writer():
    """Function writing a TrajectoryData as an XDATCAR file."""
    return write_xdatcar
