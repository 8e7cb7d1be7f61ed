"""A Lennard-Jones engine with the MLIP engine's interface, for fast MD plumbing tests.

It runs the same atomate2 ``AseMDMaker`` machinery (and ionflow's chained thermostats)
as CHGNet, at a tiny fraction of the cost, so chaining, restart and storage can be
tested in milliseconds per step. The physics is meaningless for real electrolytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from atomate2.ase.md import AseMDMaker

from ionflow.engines.base import EngineAdapter, MDRequest, RelaxRequest
from ionflow.engines.mlip.adapter import MlipEngine
from ionflow.engines.mlip.inputs import ase_md_fields
from ionflow.run.local import JobFailure, run_flow_logged

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = [
    "LJ_DEFAULTS",
    "LennardJonesEngine",
    "PairLJ",
    "PairLJMDMaker",
    "concatenate_frames",
    "li3ocl_vacancy_cell",
    "memory_job_store",
    "run_flow",
]

#: sigma (Å), epsilon (eV), cutoff (Å): a soft, weakly bound "liquid" at 300-2000 K
LJ_DEFAULTS: dict[str, float] = {"sigma": 1.9, "epsilon": 0.02, "rc": 3.8}


class PairLJ(Calculator):
    """Vectorised truncated-and-shifted Lennard-Jones, minimum image (rc < half the cell).

    Parameters
    ----------
    sigma
        LJ diameter (Å).
    epsilon
        Well depth (eV).
    rc
        Cutoff (Å); must be below half the shortest cell height.
    delay_s
        Sleep this long per evaluation (fault tests need a segment that runs a while).
    fail_after
        Raise RuntimeError at this evaluation (a simulated node failure), if given.
    """

    implemented_properties = ("energy", "forces")

    def __init__(
        self,
        sigma: float = 1.9,
        epsilon: float = 0.02,
        rc: float = 3.8,
        delay_s: float = 0.0,
        fail_after: int | None = None,
        **kw: Any,
    ):
        super().__init__(**kw)
        self.sigma, self.epsilon, self.rc = float(sigma), float(epsilon), float(rc)
        self.delay_s = float(delay_s)
        self.fail_after = fail_after
        self.n_calls = 0

    def calculate(
        self, atoms: Any = None, properties: Any = None, system_changes: Any = all_changes
    ) -> None:
        """Compute energy and forces of all pairs within the cutoff."""
        super().calculate(atoms, properties, system_changes)
        self.n_calls += 1
        if self.fail_after is not None and self.n_calls >= self.fail_after:
            raise RuntimeError(f"simulated node failure at evaluation {self.n_calls}")
        if self.delay_s:
            time.sleep(self.delay_s)
        cell = np.asarray(self.atoms.cell)
        heights = np.abs(np.linalg.det(cell)) / np.linalg.norm(
            np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1
        )
        if self.rc >= heights.min() / 2:
            raise ValueError(f"PairLJ cutoff {self.rc} Å needs a cell wider than {2 * self.rc} Å")
        frac = self.atoms.get_scaled_positions(wrap=False)
        d = frac[None, :, :] - frac[:, None, :]
        d -= np.round(d)
        r_vec = d @ cell
        r2 = np.einsum("ijk,ijk->ij", r_vec, r_vec)
        np.fill_diagonal(r2, np.inf)
        mask = r2 < self.rc**2
        s2 = np.where(mask, self.sigma**2 / r2, 0.0)
        s6 = s2**3
        shift = (self.sigma / self.rc) ** 12 - (self.sigma / self.rc) ** 6
        e_pair = np.where(mask, 4 * self.epsilon * (s6 * s6 - s6 - shift), 0.0)
        # F_i = sum_j 24 eps (2 s^12 - s^6) / r^2 * (r_i - r_j); r_vec[i, j] = r_j - r_i
        coef = np.where(mask, 24 * self.epsilon * (2 * s6 * s6 - s6) / r2, 0.0)
        forces = -np.einsum("ij,ijk->ik", coef, r_vec)
        self.results = {"energy": 0.5 * float(e_pair.sum()), "forces": forces}


@dataclass
class PairLJMDMaker(AseMDMaker):
    """atomate2 ASE MD maker using :class:`PairLJ` (``calculator_kwargs`` go to it)."""

    name: str = "pair LJ MD"

    def _get_calculator(self) -> Calculator:
        return PairLJ(**self.calculator_kwargs)


@dataclass
class LennardJonesEngine(EngineAdapter):
    """Engine adapter returning atomate2's Lennard-Jones makers.

    Parameters
    ----------
    calculator_kwargs
        Passed to :class:`PairLJ` (MD) and ASE's ``LennardJones`` (relax, static).
    """

    # stands in for the mlip engine (same name and capabilities)
    name: ClassVar[str] = MlipEngine.name
    capabilities: ClassVar[frozenset[str]] = MlipEngine.capabilities
    calculator_kwargs: dict[str, Any] = field(default_factory=lambda: dict(LJ_DEFAULTS))

    def _relax_maker(self, relax: RelaxRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's Lennard-Jones relaxation maker."""
        from atomate2.ase.jobs import LennardJonesRelaxMaker

        return LennardJonesRelaxMaker(
            calculator_kwargs=self._ase_lj_kwargs(),
            relax_cell=relax.relax_cell,
            steps=relax.max_steps,
            relax_kwargs={"fmax": relax.fmax_eV_A},
        )

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's Lennard-Jones static maker."""
        from atomate2.ase.jobs import LennardJonesStaticMaker

        return LennardJonesStaticMaker(calculator_kwargs=self._ase_lj_kwargs())

    def neb_maker(self, **kwargs: Any) -> Maker:
        """Return the MLIP engine's band maker with this engine's calculator.

        ``model`` is what a subclass sets as its force field (an ASE calculator import
        path such as ``"ase.calculators.lj.LennardJones"``); ``kwargs`` as
        :meth:`ionflow.engines.base.EngineAdapter.neb_maker`.
        """
        model = getattr(self, "model", "ase.calculators.lj.LennardJones")
        mlip = MlipEngine(model=model, calculator_kwargs=dict(self.calculator_kwargs))
        return mlip.neb_maker(**kwargs)

    def _ase_lj_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.calculator_kwargs.items() if k in {"sigma", "epsilon", "rc"}}

    def _md_maker(self, md: MDRequest, overrides: dict[str, Any]) -> Maker:
        """Return the pair-LJ MD maker (NVT; ionflow sets the thermostat)."""
        return PairLJMDMaker(**{**ase_md_fields(md, self.calculator_kwargs), **overrides})

    def describe(self) -> dict[str, Any]:
        """Return engine name and potential."""
        return {"engine": self.name, "model": "LennardJones", **self.calculator_kwargs}


def li3ocl_vacancy_cell(size: int = 2) -> Any:
    """Li3OCl ``size``³ supercell with one Li removed (39 atoms for size 2)."""
    from ionflow.structures.prototypes import build_prototype

    cell = build_prototype("Li3OCl")
    cell.make_supercell([size] * 3)
    li = next(i for i, site in enumerate(cell) if site.specie.symbol == "Li")
    cell.remove_sites([li])
    return cell


def memory_job_store() -> Any:
    """Return an in-memory JobStore with the ``data`` additional store ionflow uses."""
    from jobflow import JobStore
    from maggma.stores import MemoryStore

    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def run_flow(flow: Any, store: Any, root_dir: Any) -> dict[str, Any]:
    """Run a flow locally (failing on any job error) and return its resolved output.

    It runs through ``ionflow run``'s own runner (the only ``run_locally`` call in the
    package), logging to ``run_flow.log`` in ``root_dir``.
    """
    from jobflow.core.reference import find_and_resolve_references

    root = Path(root_dir)
    root.mkdir(parents=True, exist_ok=True)
    failures: list[JobFailure] = []
    run_flow_logged(flow, store, root, root / "run_flow.log", lambda _: None, failures=failures)
    if failures:
        raise RuntimeError(f"flow did not finish: {failures}")
    return find_and_resolve_references(flow.output, store)


def concatenate_frames(trajectories: list[Any]) -> dict[str, Any]:
    """Stack the frames of consecutive segment trajectories (positions, steps, velocities)."""
    import numpy as np

    coords = np.concatenate([np.asarray(t.coords) for t in trajectories])
    props = [p for t in trajectories for p in t.frame_properties]
    return {
        "frac_coords": coords,
        "steps": np.array([p["step"] for p in props]),
        "time_fs": np.array([p["time_fs"] for p in props]),
        "velocities_A_fs": np.array([p["velocities_A_fs"] for p in props]),
    }
