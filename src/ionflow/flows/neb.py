"""Defect-study NEB flow: hops near the defects → one CI-NEB per hop → percolating path.

:class:`DefectNebMaker` takes an unrelaxed defect cell (and the perfect supercell it was
made from), finds its vacancies and interstitials of the mobile species, enumerates the
symmetry-distinct hops of those defects (:func:`ionflow.structures.hops.enumerate_hops`),
runs :class:`~ionflow.makers.neb.NebFromEndpointsMaker` on each, and ends with the
``summarize nebs <label>`` collector. The collector runs even when some bands failed
(``OnMissing.NONE``), lists them in ``missing``, never turns an unconverged band into a
barrier, and finds the lowest barrier at which the converged hop types, expanded by the
host's symmetry, percolate (:func:`ionflow.structures.hop_network.percolation`).

A perfect cell (no mobile-species defect) gives the vacancy hops of its sites.
:func:`neb_flow_from_study` builds the flow from a study's ``neb`` section.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import Flow, Maker, OnMissing, job

from ionflow.errors import ConfigError, InputError
from ionflow.io.structures import read_structure
from ionflow.makers.neb import MlipNebMaker, NebFromEndpointsMaker
from ionflow.schemas.neb import HopDoc, NebDoc, NebStudyDoc
from ionflow.structures.hop_network import HopEdge, percolation
from ionflow.structures.hops import enumerate_hops, locate_defects
from ionflow.structures.neb_path import hop_from_endpoints

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure

    from ionflow.config.study import StudyConfig
    from ionflow.engines.base import EngineAdapter

__all__ = [
    "DefectNebMaker",
    "neb_flow_from_study",
    "summarize_nebs",
    "summarize_nebs_result",
]

logger = logging.getLogger(__name__)


@job(name="summarize nebs")
def summarize_nebs(
    docs: Sequence[Any],
    labels: Sequence[str],
    *,
    label: str,
    host: Structure | None = None,
    engine: dict | None = None,
    symprec: float = 0.1,
) -> NebStudyDoc:
    """Job: collect the bands of one defect configuration and find the percolating path.

    :func:`summarize_nebs_result` is the same function outside jobflow.

    Parameters
    ----------
    docs
        One NebDoc (or its dict, or None when the band failed) per hop, in hop order.
    labels
        Hop labels in the same order.
    label
        Configuration label.
    host
        Perfect supercell whose symmetry expands the hop types; None: no percolation.
    engine
        Engine provenance.
    symprec
        Symmetry tolerance (Å).

    Returns
    -------
    NebStudyDoc
        Bands (images stripped; they are in the data store), failed and unconverged hops,
        percolation summary.
    """
    nebs, missing, unconverged, edges = [], [], [], []
    for hop_label, doc in zip(labels, docs, strict=True):
        if doc is None:
            missing.append(hop_label)
            continue
        neb = doc if isinstance(doc, NebDoc) else NebDoc.model_validate(doc)
        neb = neb.model_copy(update={"images": None})
        nebs.append(neb)
        if not neb.converged:
            unconverged.append(hop_label)
            continue
        hop = neb.hop
        if hop is None or hop.defect_start_frac is None or hop.defect_end_frac is None:
            continue
        start = np.array(hop.defect_start_frac)
        edges.append(
            HopEdge(
                label=hop_label,
                start_frac=start,
                displacement_frac=np.array(hop.defect_end_frac) - start,
                barrier_eV=max(neb.barrier_forward_eV, neb.barrier_backward_eV),  # type: ignore[type-var]
            )
        )
    perc = percolation(host, edges, symprec=symprec) if host is not None else None
    return NebStudyDoc(
        label=label,
        engine=engine or {},
        nebs=nebs,
        missing=missing,
        unconverged=unconverged,
        percolation=perc,
    )


#: the plain function of the :func:`summarize_nebs` job (called outside jobflow)
summarize_nebs_result = summarize_nebs.original


@dataclass
class DefectNebMaker(Maker):
    """CI-NEB of every symmetry-distinct hop of the mobile defects in a cell.

    Parameters
    ----------
    name
        Flow name prefix.
    neb_maker
        The per-hop maker (engine, images, forces, interpolation).
    species
        Mobile element.
    cutoff_A
        Longest jump (Å).
    kinds
        Hop kinds (vacancy, interstitial, interstitialcy).
    max_hops
        Keep only the shortest hops.
    symprec
        Symmetry tolerance (Å).
    """

    name: str = "defect neb"
    neb_maker: NebFromEndpointsMaker | None = None
    species: str = "Li"
    cutoff_A: float = 3.5
    kinds: list[str] = field(default_factory=lambda: ["vacancy", "interstitial", "interstitialcy"])
    max_hops: int | None = None
    symprec: float = 0.1

    def __post_init__(self) -> None:
        if self.neb_maker is None:
            raise ConfigError("DefectNebMaker needs a neb_maker (NebFromEndpointsMaker)")

    def hops(self, cell: Structure, host: Structure | None = None) -> list[HopDoc]:
        """Enumerate the hops this maker will run (plain function, no jobs)."""
        vacancies: list[list[float]] = []
        interstitials: list[int] = []
        if host is not None:
            vacancies, interstitials = locate_defects(cell, host, self.species)
        return enumerate_hops(
            cell,
            species=self.species,
            cutoff_A=self.cutoff_A,
            vacancies=vacancies,
            interstitials=interstitials,
            kinds=self.kinds,
            symprec=self.symprec,
            max_hops=self.max_hops,
        )

    def make(
        self,
        cell: Structure,
        host: Structure | None = None,
        *,
        label: str = "cell",
        hops: Sequence[HopDoc] | None = None,
    ) -> Flow:
        """Build the flow; its output is the :class:`NebStudyDoc`.

        Parameters
        ----------
        cell
            Unrelaxed defect cell (or a perfect cell: vacancy hops of its sites).
        host
            Perfect supercell the defects were made in (locates the defects and supplies
            the symmetry for the percolation analysis); None treats ``cell`` as perfect.
        label
            Configuration label used in job names (``neb <label> V_Li hop 1``).
        hops
            Hops to run instead of the enumerated ones.
        """
        hops = list(hops) if hops is not None else self.hops(cell, host)
        if not hops:
            raise InputError(f"{label}: no hop to compute")
        flows = []
        relaxed: dict[tuple, Any] = {}  # hops of one cell share one relaxation per endpoint
        for hop in hops:
            sub = self.neb_maker.make(  # type: ignore[union-attr]
                hop.initial, hop.final, label=f"{label} {hop.label}", hop=hop, relaxed=relaxed
            )
            flows.append(sub)
        engine = self.neb_maker.engine.describe() if self.neb_maker.engine else {}  # type: ignore[union-attr]
        return _summarized(
            flows,
            [h.label for h in hops],
            f"{self.name} {label}",
            label=label,
            host=host if host is not None else cell,
            engine=engine,
        )


def _summarized(bands: list[Flow], labels: list[str], name: str, **keywords: Any) -> Flow:
    """Return the bands and their summary job (output: NebStudyDoc; a failed band is missing).

    ``keywords`` are :func:`summarize_nebs`'s (``label``, ``host``, ``engine``).
    """
    summary = summarize_nebs([band.output for band in bands], labels, **keywords)
    summary.name = f"summarize nebs {keywords['label']}"
    summary.config.on_missing_references = OnMissing.NONE
    return Flow([*bands, summary], output=summary.output, name=name)


def _neb_maker_from_section(config: StudyConfig, engine: EngineAdapter) -> NebFromEndpointsMaker:
    neb = config.neb
    if neb is None:
        raise ConfigError(f"study {config.name!r} has no 'neb' section")
    # the band settings, the same for the prescreen and the engine's band
    band = {
        "climb": neb.climb,
        "spring_constant_eV_A2": neb.spring_constant_eV_A2,
        "fmax_eV_A": neb.fmax_eV_A,
        "max_steps": neb.max_steps,
    }
    prescreen = None
    # a machine-learned prescreen is worth its cost only before an electronic-structure band
    if neb.mlip_prescreen and "dft" in engine.capabilities:
        prescreen = MlipNebMaker(**band)
    return NebFromEndpointsMaker(
        prescreen=prescreen,
        engine=engine,
        n_images=neb.n_images,
        **band,
        relax_endpoints=neb.relax_endpoints,
        relax_fmax_eV_A=neb.relax_fmax_eV_A,
        relax_max_steps=config.relax.max_steps,
        interpolation=neb.interpolation,
        min_distance_A=neb.min_distance_A,
        overrides=dict(neb.engine_overrides),
        relax_overrides=dict(config.engine_overrides),
    )


def neb_flow_from_study(
    config: StudyConfig, structure: Structure, engine: EngineAdapter, supercell: Structure
) -> Flow:
    """Build the NEB section of a study on its (unrelaxed) defect cell.

    Parameters
    ----------
    config
        The study; its ``neb`` section holds the settings.
    structure
        The defect cell (host supercell with the study's defects), or ignored when the
        section gives explicit ``endpoints``.
    engine
        Engine adapter.
    supercell
        The host supercell without defects (the cell's perfect reference).

    Returns
    -------
    Flow
        Output: :class:`NebStudyDoc`.
    """
    neb = config.neb
    maker = _neb_maker_from_section(config, engine)
    if neb.endpoints:  # type: ignore[union-attr]
        paths = [p if p.is_absolute() else config.source_dir / p for p in neb.endpoints]  # type: ignore[union-attr]
        ends = [read_structure(p, what="NEB endpoint file") for p in paths]
        # one band between the user's endpoints (reordered to match when unambiguous)
        label = f"{config.name} explicit hop"
        hop = hop_from_endpoints(ends[0], ends[1], label=label)
        band = maker.make(hop.initial, hop.final, label=label, hop=hop)
        return _summarized([band], [label], f"neb {label}", label=label, host=None)
    host: Structure | None = supercell
    if not np.allclose(host.lattice.matrix, structure.lattice.matrix, atol=1e-3):
        logger.warning("defect cell and host supercell differ; treating the cell as perfect")
        host = None
    species = neb.species or config.analysis.specie  # type: ignore[union-attr]
    defect_maker = DefectNebMaker(
        neb_maker=maker,
        species=species,
        cutoff_A=neb.cutoff_A,  # type: ignore[union-attr]
        kinds=list(neb.hop_kinds),  # type: ignore[union-attr]
        max_hops=neb.max_hops,  # type: ignore[union-attr]
    )
    return defect_maker.make(structure, host, label=config.name)
