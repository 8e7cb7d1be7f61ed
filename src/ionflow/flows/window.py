"""Electrochemical-window flows: from an entries file, or computed with an engine.

``CompetingPhasesWindowMaker`` relaxes (cell and positions) every competing phase with one
engine, builds entries with identical settings, and runs the window analysis::

    relax <label>  (one per phase)  ->  window entries  ->  electrochemical window <formula>

``window_flow_from_study`` turns the ``window:`` section of a study file into either flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobflow import Flow, Maker

import ionflow.engines as engines  # get_engine looked up at call time (the test seam)
from ionflow.analysis.window import DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM
from ionflow.analysis.window_entries import parse_formula
from ionflow.config.engine import engine_for_study
from ionflow.engines.registry import DEFAULT_ENGINE
from ionflow.errors import ConfigError, InputError
from ionflow.io.structures import read_structure_folder
from ionflow.makers.cost import set_cost
from ionflow.makers.window import WindowMaker, collect_entries
from ionflow.settings import get_settings

if TYPE_CHECKING:
    from jobflow import Job
    from pymatgen.core import Structure

    from ionflow.config.study import StudyConfig
    from ionflow.engines.base import EngineAdapter

__all__ = ["CompetingPhasesWindowMaker", "window_flow_from_study"]


@dataclass
class CompetingPhasesWindowMaker(Maker):
    """Compute competing phases with one engine, then the compound's window.

    Parameters
    ----------
    name
        Flow name; ``" <formula>"`` is appended.
    formula
        Compound to analyse (one of the structures must have this composition).
    engine
        Engine adapter; None uses the MLIP engine (CHGNet).
    mobile
        Open element (its metal must be among the structures).
    fmax_eV_A
        Force convergence of the relaxations (eV/Å).
    max_steps
        Maximum relaxation steps.
    compatibility
        Energy corrections: ``"auto"`` (MP2020 for VASP GGA/GGA+U, none otherwise),
        ``"MP2020"`` or ``"none"``.
    max_e_above_hull_eV_atom
        Hull distance (eV/atom) above which the window is flagged.
    engine_overrides
        Engine-specific relaxation settings passed through unchanged.
    """

    name: str = "electrochemical window flow"
    formula: str = ""
    engine: EngineAdapter | None = None
    mobile: str = "Li"
    fmax_eV_A: float = 0.05
    max_steps: int = 300
    compatibility: str = "auto"
    max_e_above_hull_eV_atom: float = DEFAULT_MAX_E_ABOVE_HULL_EV_ATOM
    engine_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.formula:
            raise ConfigError("CompetingPhasesWindowMaker needs the formula to analyse")
        parse_formula(self.formula)
        if not self.name.endswith(f" {self.formula}"):
            self.name = f"{self.name} {self.formula}"

    def make(self, structures: dict[str, Structure]) -> Flow:
        """Build the flow.

        Parameters
        ----------
        structures
            ``{label: structure}`` of the compound, its competing phases and the mobile
            element's metal.

        Returns
        -------
        Flow
            Relaxations, entry collection and the window job; output is the WindowDoc.
        """
        target = parse_formula(self.formula).reduced_composition
        if not any(s.composition.reduced_composition == target for s in structures.values()):
            raise InputError(
                f"no structure with composition {self.formula} among {', '.join(structures)}"
            )
        if not any(s.composition.elements == [_el(self.mobile)] for s in structures.values()):
            raise InputError(f"no {self.mobile} metal structure among {', '.join(structures)}")
        engine = self.engine or engines.get_engine(DEFAULT_ENGINE)
        relax_maker = engine.relax_maker(
            fmax_eV_A=self.fmax_eV_A,
            max_steps=self.max_steps,
            relax_cell=True,
            overrides=dict(self.engine_overrides),
        )
        relax_jobs = []
        for label, structure in structures.items():
            relax_job = relax_maker.make(structure)
            relax_job.name = f"window relax {label}"
            set_cost(relax_job, len(structure), self.max_steps)
            relax_jobs.append(relax_job)
        labels = list(structures)
        entries_job = collect_entries(
            [j.output.structure for j in relax_jobs],
            [j.output.entry for j in relax_jobs],
            labels,
            engine.describe(),
        )
        window_job = WindowMaker(
            formula=self.formula,
            mobile=self.mobile,
            compatibility=self.compatibility,
            max_e_above_hull_eV_atom=self.max_e_above_hull_eV_atom,
            source=f"computed: {engine.describe()}",
            engine=engine.describe(),
        ).make(entries_job.output)
        return Flow(
            [*relax_jobs, entries_job, window_job], output=window_job.output, name=self.name
        )


def _el(symbol: str) -> Any:
    from pymatgen.core import Element

    try:
        return Element(symbol)
    except ValueError:
        raise InputError(f"{symbol!r} is not an element symbol") from None


def window_flow_from_study(
    study: StudyConfig, host: Structure, engine: EngineAdapter | None = None
) -> Flow | Job:
    """Turn the ``window:`` section of a study into a job (entries file) or a flow.

    Parameters
    ----------
    study
        The validated study; ``study.window`` must be set.
    host
        The host structure (analysed when ``window.formula`` is not given, and computed
        along with the competing phases when its composition is not among them).
    engine
        Engine adapter for computed entries; None builds the study's own
        (:func:`ionflow.config.engine.engine_for_study`: engine, engine file).

    Returns
    -------
    Job or Flow
        The window job or flow; its output is the WindowDoc.
    """
    section = study.window
    if section is None:
        raise ConfigError("the study has no 'window:' section")
    formula = section.formula or host.composition.reduced_formula
    if section.entries is not None:
        return WindowMaker(
            formula=formula,
            mobile=section.mobile,
            compatibility=section.compatibility,
            max_e_above_hull_eV_atom=section.max_e_above_hull_eV_atom,
        ).make(str(section.entries))
    folder = section.structures
    if not folder.is_absolute():
        folder = (study.source_dir / folder).resolve()
    structures = read_structure_folder(folder)
    target = parse_formula(formula).reduced_composition
    present = any(s.composition.reduced_composition == target for s in structures.values())
    if not present and host.composition.reduced_composition == target:
        structures = {"host": host, **structures}
    if engine is None:
        engine = engine_for_study(study, get_settings())
    return CompetingPhasesWindowMaker(
        formula=formula,
        engine=engine,
        mobile=section.mobile,
        fmax_eV_A=study.relax.fmax_eV_A,
        max_steps=study.relax.max_steps,
        compatibility=section.compatibility,
        max_e_above_hull_eV_atom=section.max_e_above_hull_eV_atom,
        engine_overrides=dict(study.engine_overrides),
    ).make(structures)
