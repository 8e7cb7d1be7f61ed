"""CP2K engine: atomate2's CP2K makers with cheap, working defaults and the known bugs fixed.

The input side (cheap basis and DFT settings, pymatgen's CP2K data folder, the input set
generators) lives in :mod:`ionflow.engines.cp2k_inputs`; its names are re-exported here, so
``from ionflow.engines.cp2k import cheap_basis_and_potential`` and workflows stored with the
generators under this module keep working.

MD segments are run by :class:`ionflow.engines.cp2k_segment.Cp2kSegmentRunner` from the
maker's input set generator, continuing each segment from the previous one's
``.restart`` file (``&EXT_RESTART``: positions, velocities, thermostat, step counter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pymatgen.io.vasp.inputs import Kpoints

from ionflow.config.base import deep_merge
from ionflow.engines._cp2k_fixes import patch_cleanup_dft
from ionflow.engines.base import EngineAdapter
from ionflow.engines.commands import command_or_setting
from ionflow.engines.cp2k_inputs import (
    CHEAP_BASIS,
    CP2K_SYSTEM_DATA_DIR,
    PROJECT,
    IonflowCp2kMDSetGenerator,
    IonflowCp2kRelaxSetGenerator,
    IonflowCp2kStaticSetGenerator,
    cheap_basis_and_potential,
    cheap_dft_settings,
    pymatgen_cp2k_settings,
    resolve_pmg_cp2k_data_dir,
)
from ionflow.errors import ConfigError

if TYPE_CHECKING:
    from jobflow import Maker

__all__ = [
    "CHEAP_BASIS",
    "CP2K_SYSTEM_DATA_DIR",
    "PROJECT",
    "THERMOSTATS",
    "Cp2kEngine",
    "IonflowCp2kMDSetGenerator",
    "IonflowCp2kRelaxSetGenerator",
    "IonflowCp2kStaticSetGenerator",
    "cheap_basis_and_potential",
    "cheap_dft_settings",
    "md_handlers",
    "pymatgen_cp2k_settings",
    "resolve_pmg_cp2k_data_dir",
]

#: ionflow thermostat -> CP2K MOTION/MD/THERMOSTAT/TYPE. CSVR is left out on purpose:
#: custodian's SCF restarts rewrite cp2k.inp from the .restart file and truncate its
#: &RNG_INIT (CP2K_NOTES bug 4), so only NOSE survives custodian corrections.
THERMOSTATS = {"nose-hoover": "NOSE"}


def md_handlers(wall_time_s: int | None = None) -> list[Any]:
    """Return custodian CP2K handlers (atomate2 set), WalltimeHandler only with a walltime."""
    from custodian.cp2k.handlers import (
        AbortHandler,
        DivergingScfErrorHandler,
        FrozenJobErrorHandler,
        NumericalPrecisionHandler,
        StdErrHandler,
        UnconvergedScfErrorHandler,
        WalltimeHandler,
    )

    handlers: list[Any] = [
        StdErrHandler(),
        UnconvergedScfErrorHandler(),
        DivergingScfErrorHandler(),
        FrozenJobErrorHandler(),
        AbortHandler(),
        NumericalPrecisionHandler(),
    ]
    if wall_time_s:
        handlers.append(WalltimeHandler(wall_time=int(wall_time_s)))
    return handlers


@dataclass
class Cp2kEngine(EngineAdapter):
    """CP2K through atomate2 and custodian, cheap settings by default.

    Parameters
    ----------
    cp2k_cmd
        Command running CP2K; None uses ``settings.cp2k.cmd`` of the node running the job.
    data_dir
        pymatgen CP2K YAML folder (``pmg config --cp2k``); None uses the settings.
    functional
        XC functional.
    charge
        Total charge of the cell (e), e.g. -1 for a cell with one Li removed.
    cheap
        Use :func:`cheap_dft_settings` and :func:`cheap_basis_and_potential`.
    input_settings
        Extra atomate2 ``user_input_settings`` (applied last).
    wall_time_s
        Queue walltime (s) for custodian's WalltimeHandler.
    """

    name: ClassVar[str] = "cp2k"
    cp2k_cmd: str | None = None
    data_dir: str | None = None
    functional: str = "PBE"
    charge: int = 0
    cheap: bool = True
    input_settings: dict[str, Any] = field(default_factory=dict)
    wall_time_s: int | None = None

    def __post_init__(self) -> None:
        patch_cleanup_dft()  # CP2K_NOTES bug 2: RKS task documents

    def _user_settings(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        base = cheap_dft_settings(self.charge) if self.cheap else {}
        return deep_merge(deep_merge(base, self.input_settings), overrides or {})

    def _run_cp2k_kwargs(self) -> dict[str, Any]:
        """atomate2 ``run_cp2k`` keywords: command and handlers (WalltimeHandler if timed)."""
        return {
            # an unset command is read on the node that runs the job (ionflow submit)
            "cp2k_cmd": command_or_setting(self.cp2k_cmd, "cp2k"),
            "handlers": md_handlers(self.wall_time_s),
        }

    def _generator_kwargs(self) -> dict[str, Any]:
        return {
            "user_kpoints_settings": Kpoints.gamma_automatic((1, 1, 1)),
            "sort_structure": False,
            "cheap": self.cheap,
            "pmg_data_dir": resolve_pmg_cp2k_data_dir(self.data_dir),
            "functional": self.functional,
        }

    def relax_maker(
        self,
        *,
        fmax_eV_A: float = 0.05,
        max_steps: int = 300,
        relax_cell: bool = False,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return atomate2's CP2K RelaxMaker (GEO_OPT, force tolerance in Ha/bohr)."""
        from atomate2.cp2k.jobs.core import RelaxMaker

        settings = self._user_settings(overrides)
        settings.setdefault("override_default_params", {})
        ev_a_to_ha_bohr = 1 / 51.42208619083232
        settings["override_default_params"]["MOTION"] = {
            "GEO_OPT": {"MAX_FORCE": fmax_eV_A * ev_a_to_ha_bohr, "MAX_ITER": int(max_steps)}
        }
        return RelaxMaker(
            input_set_generator=IonflowCp2kRelaxSetGenerator(
                user_input_settings=settings, **self._generator_kwargs()
            ),
            run_cp2k_kwargs=self._run_cp2k_kwargs(),
        )

    def static_maker(self, *, overrides: dict[str, Any] | None = None) -> Maker:
        """Return atomate2's CP2K StaticMaker."""
        from atomate2.cp2k.jobs.core import StaticMaker

        return StaticMaker(
            input_set_generator=IonflowCp2kStaticSetGenerator(
                user_input_settings=self._user_settings(overrides), **self._generator_kwargs()
            ),
            run_cp2k_kwargs=self._run_cp2k_kwargs(),
        )

    def md_maker(
        self,
        *,
        temperature_K: float,
        n_steps: int,
        time_step_fs: float,
        thermostat: str = "nose-hoover",
        seed: int | None = None,
        traj_interval: int = 1,
        overrides: dict[str, Any] | None = None,
    ) -> Maker:
        """Return atomate2's CP2K MDMaker (NVT, Nose-Hoover) with the cheap settings.

        ``overrides`` are atomate2 ``user_input_settings`` (pymatgen DftSet keywords and
        ``override_default_params`` sections). ``seed`` is not passed: CP2K draws the
        initial velocities from its own fixed default seed, so runs are reproducible.
        """
        from atomate2.cp2k.jobs.core import MDMaker

        if thermostat not in THERMOSTATS:
            raise ConfigError(
                f"thermostat {thermostat!r} is not available for the cp2k engine; use "
                "nose-hoover (CSVR restarts break under custodian, see CP2K_NOTES bug 4)"
            )
        generator = IonflowCp2kMDSetGenerator(
            temperature_K=float(temperature_K),
            time_step_fs=float(time_step_fs),
            n_steps=int(n_steps),
            thermostat=THERMOSTATS[thermostat],
            traj_interval=int(traj_interval),
            user_input_settings=self._user_settings(overrides),
            **self._generator_kwargs(),
        )
        return MDMaker(
            input_set_generator=generator,
            run_cp2k_kwargs=self._run_cp2k_kwargs(),
            # CP2K_NOTES bug 3: atomate2's trajectory parser fails; ionflow parses frames
            task_document_kwargs={"store_trajectory": False},
        )

    def describe(self) -> dict[str, Any]:
        """Return engine name and the main DFT settings."""
        return {
            "engine": self.name,
            "functional": self.functional,
            "charge": self.charge,
            "cheap": self.cheap,
        }
