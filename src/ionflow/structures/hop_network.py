"""Lowest-barrier percolating hop network (pure).

Each computed hop moves a defect (vacancy or interstitial) by a displacement D from one
position to another. Every symmetry operation of the host maps the hop to an equivalent
one with the same barrier, so the hop types expand to a periodic graph whose nodes are
defect positions in the cell and whose edges carry a lattice translation. Edges are added
in order of barrier; the network percolates when some cycle has a non-zero net
translation (the defect can travel to a periodic image, hence arbitrarily far). The
dimensionality is the rank of those translations.

A hop's cost is max(forward, backward) barrier: the saddle above the lower endpoint, the
energy needed to cross the hop in either direction on a long-range path.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ionflow.schemas.neb import PercolationDoc
from ionflow.structures.hops import symmetry_operations

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

__all__ = ["HopEdge", "percolation"]

#: positions closer than this (Å) are the same node
NODE_TOL_A = 0.3


@dataclass(frozen=True)
class HopEdge:
    """One computed hop type for the network.

    Attributes
    ----------
    label
        Hop label.
    start_frac
        Defect position before the hop (fractional, host cell).
    displacement_frac
        Defect displacement (fractional).
    barrier_eV
        Cost of the hop (eV).
    """

    label: str
    start_frac: np.ndarray
    displacement_frac: np.ndarray
    barrier_eV: float


class _Nodes:
    def __init__(self, lattice_matrix: np.ndarray):
        self.matrix = lattice_matrix
        self.frac: list[np.ndarray] = []

    def index(self, frac: np.ndarray) -> tuple[int, np.ndarray]:
        """Node index of a position and the integer shift from the node to it."""
        wrapped = np.mod(frac, 1.0)
        for k, f in enumerate(self.frac):
            d = wrapped - f
            d -= np.round(d)
            if np.linalg.norm(d @ self.matrix) < NODE_TOL_A:
                return k, np.round(frac - f).astype(int)
        self.frac.append(wrapped)
        return len(self.frac) - 1, np.round(frac - wrapped).astype(int)


def _expand(host: Structure, hops: Sequence[HopEdge], symprec: float):
    """All symmetry images of the hops as (node_a, node_b, shift, barrier, label) edges."""
    rot, trans = symmetry_operations(host, symprec)
    nodes = _Nodes(host.lattice.matrix)
    edges: set[tuple] = set()
    for hop in hops:
        starts = np.einsum("oij,j->oi", rot, hop.start_frac) + trans
        disps = np.einsum("oij,j->oi", rot, hop.displacement_frac)
        for s, d in zip(starts, disps, strict=True):
            a, sa = nodes.index(s)
            b, sb = nodes.index(s + d)
            shift = tuple(int(x) for x in (sb - sa))
            edges.add((a, b, shift, hop.barrier_eV, hop.label))
            edges.add((b, a, tuple(-x for x in shift), hop.barrier_eV, hop.label))
    return nodes, sorted(edges, key=lambda e: (e[3], e[4], e[:3]))


def _translations(n_nodes: int, edges: Sequence[tuple]) -> list[np.ndarray]:
    """Net translations of the cycles of a periodic graph."""
    adj: dict[int, list[tuple[int, np.ndarray]]] = {}
    for a, b, shift, *_ in edges:
        adj.setdefault(a, []).append((b, np.array(shift)))
    offset: dict[int, np.ndarray] = {}
    found: list[np.ndarray] = []
    for root in range(n_nodes):
        if root in offset or root not in adj:
            continue
        offset[root] = np.zeros(3, dtype=int)
        queue = deque([root])
        while queue:
            a = queue.popleft()
            for b, shift in adj[a]:
                target = offset[a] + shift
                if b not in offset:
                    offset[b] = target
                    queue.append(b)
                elif np.any(target != offset[b]):
                    found.append(target - offset[b])
    return found


def percolation(host: Structure, hops: Sequence[HopEdge], symprec: float = 0.1) -> PercolationDoc:
    """Find the lowest barrier at which the hop network percolates.

    Parameters
    ----------
    host
        The cell whose symmetry generates the equivalent hops (the host supercell).
    hops
        Computed hop types with their cost (unconverged hops left out by the caller).
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    PercolationDoc
        Threshold, dimensionality, hop labels and spanning translations (in units of the
        cell's lattice vectors).
    """
    if not hops:
        return PercolationDoc(percolating=False, message="no converged hop to build a network")
    nodes, edges = _expand(host, hops, symprec)
    thresholds = sorted({e[3] for e in edges})
    first: PercolationDoc | None = None
    by_dim: list[float | None] = [None, None, None]
    for threshold in thresholds:
        active = [e for e in edges if e[3] <= threshold]
        vectors = _translations(len(nodes.frac), active)
        if not vectors:
            continue
        rank = int(np.linalg.matrix_rank(np.array(vectors)))
        for d in range(rank):
            if by_dim[d] is None:
                by_dim[d] = float(threshold)
        if first is None:
            basis: list[list[int]] = []
            for v in sorted(vectors, key=lambda x: (np.abs(x).sum(), tuple(x))):
                trial = [*basis, [int(x) for x in v]]
                if np.linalg.matrix_rank(np.array(trial)) > len(basis):
                    basis.append([int(x) for x in v])
            first = PercolationDoc(
                percolating=True,
                barrier_eV=float(threshold),
                dimensionality=rank,
                hops=sorted({e[4] for e in active}),
                directions=basis,
            )
        if rank == 3:
            break
    if first is not None:
        return first.model_copy(update={"barriers_by_dimension_eV": by_dim})
    return PercolationDoc(
        percolating=False,
        message=f"the {len(hops)} computed hop type(s) form no infinite network; "
        "add longer or other hops (cutoff_A, hop kinds)",
    )
