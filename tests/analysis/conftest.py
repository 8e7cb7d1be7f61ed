"""Synthetic trajectories with known ground truth for the transport-analysis tests."""

from __future__ import annotations

import pytest

from ionflow.analysis.trajectory import TrajectoryData


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
