"""Machine-learned potential engine (CHGNet by default) through atomate2's force-field makers."""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ase import units

from ionflow.engines.base import EngineAdapter, MDRequest, NebRequest, RelaxRequest
from ionflow.engines.mlip.calculators import (
    SharedForceFieldRelaxMaker,
    SharedForceFieldStaticMaker,
)
from ionflow.engines.mlip.inputs import (
    NOSE_HOOVER_TTIME_FS,
    THERMOSTATS,
    ase_md_fields,
    relax_overrides,
)
from ionflow.engines.mlip.neb import MlipNebMaker
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Maker

    from ionflow.settings import IonflowSettings

__all__ = ["MlipEngine"]

#: force fields whose Python package ionflow checks for up front (model -> package)
_MODEL_PACKAGES = {"CHGNet": "chgnet"}


@dataclass
class MlipEngine(EngineAdapter):
    """CHGNet (or another atomate2-supported force field) on the local CPU.

    Parameters
    ----------
    model
        Force-field name as atomate2 spells it (``"CHGNet"``).
    calculator_kwargs
        Passed to the ASE calculator (e.g. ``{"device": "cpu"}``).
    """

    name: ClassVar[str] = "mlip"
    capabilities: ClassVar[frozenset[str]] = frozenset({"relax", "static", "md", "neb"})
    segment_runners: ClassVar[dict[str, str]] = {
        "atomate2.ase.md:AseMDMaker": "ionflow.engines.mlip.segment:AseSegmentRunner"
    }
    model: str = "CHGNet"
    calculator_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # fail when the study is built, not inside its first job (atomate2 reports a
        # missing CHGNet as an unrelated matgl import error)
        package = _MODEL_PACKAGES.get(self.model)
        if package is not None and importlib.util.find_spec(package) is None:
            raise ConfigError(
                f"the mlip engine's {self.model} model needs the {package} package: "
                f"pip install 'ionflow[mlff]' (or pip install {package} torch)"
            )

    @classmethod
    def settings_options(cls, settings: IonflowSettings) -> dict[str, Any]:
        """Return the settings' force field (``settings.mlip.model``)."""
        return {"model": settings.mlip.model}

    def _relax_maker(self, relax: RelaxRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's ForceFieldRelaxMaker with the given settings (shared model).

        ``overrides`` are ForceFieldRelaxMaker fields. A study's ``engine_overrides`` for
        the mlip engine are ForceFieldMDMaker fields (they reach the MD), so keys only the
        MD maker has (``ase_md_kwargs``, ``traj_interval``, ...) are left out here; the
        shared ones (``calculator_kwargs``, ``force_field_name``, ...) apply to both. A key
        neither maker has is a ``ConfigError``.
        """
        kwargs: dict[str, Any] = {
            "force_field_name": self.model,
            "relax_cell": relax.relax_cell,
            "steps": relax.max_steps,
            "relax_kwargs": {"fmax": relax.fmax_eV_A},
            "calculator_kwargs": dict(self.calculator_kwargs),
        }
        kwargs.update(relax_overrides(overrides))
        return SharedForceFieldRelaxMaker(**kwargs)

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's ForceFieldStaticMaker (the model is loaded once per process)."""
        kwargs: dict[str, Any] = {
            "force_field_name": self.model,
            "calculator_kwargs": dict(self.calculator_kwargs),
        }
        kwargs.update(overrides or {})
        return SharedForceFieldStaticMaker(**kwargs)

    def _md_maker(self, md: MDRequest, overrides: dict[str, Any]) -> Maker:
        """Return atomate2's ForceFieldMDMaker for NVT at one temperature.

        The trajectory (positions, velocities, energies every ``traj_interval`` steps) is
        kept in the task document's ``objects`` and goes to the JobStore's ``data`` store.
        """
        from atomate2.forcefields.md import ForceFieldMDMaker

        if md.thermostat not in THERMOSTATS:
            raise ConfigError(
                f"thermostat {md.thermostat!r} is not available for the mlip engine; "
                f"choose one of {', '.join(THERMOSTATS)}"
            )
        ase_md_kwargs: dict[str, Any] = {}
        if md.thermostat == "nose-hoover":
            # ASE's NPT class runs NVT when pfactor is None; it needs a coupling time.
            ase_md_kwargs = {"ttime": NOSE_HOOVER_TTIME_FS * units.fs, "pfactor": None}
        elif md.thermostat == "berendsen":
            ase_md_kwargs = {"taut": 100.0 * units.fs}
        kwargs: dict[str, Any] = {
            "force_field_name": self.model,
            "dynamics": THERMOSTATS[md.thermostat],
            **ase_md_fields(md, self.calculator_kwargs),
            "ase_md_kwargs": ase_md_kwargs,
        }
        kwargs.update(overrides)
        return ForceFieldMDMaker(**kwargs)

    def _neb_maker(self, neb: NebRequest, overrides: dict[str, Any]) -> MlipNebMaker:
        """Return :class:`MlipNebMaker` with this engine's model (overrides: maker fields)."""
        return MlipNebMaker(
            model=self.model,
            calculator_kwargs=dict(self.calculator_kwargs),
            **dataclasses.asdict(neb),
            **overrides,
        )

    def describe(self) -> dict[str, Any]:
        """Return engine name and model for provenance."""
        return {"engine": self.name, "model": self.model}
