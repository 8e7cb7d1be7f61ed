"""ASE thermostats whose hidden state survives MD segment boundaries.

Each class restores the exact positions, momenta and thermostat variables handed over
by the previous segment (or checkpoint) before the integrator reads the atoms, attaches
ionflow's frame recorder, and reports its state at the end. They are passed to
atomate2's ``AseMDMaker`` as ``dynamics`` (a class is accepted there) with the hooks in
``ase_md_kwargs["ionflow_hooks"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import units
from ase.md.langevin import Langevin
from ase.md.nose_hoover_chain import NoseHooverChainNVT
from ase.md.nvtberendsen import NVTBerendsen
from ase.md.verlet import VelocityVerlet

from ionflow.errors import InputError

__all__ = [
    "ChainedBerendsen",
    "ChainedLangevin",
    "ChainedNoseHooverChainNVT",
    "ChainedVelocityVerlet",
    "Hooks",
]


class Hooks:
    """Passed to the dynamics through ``ase_md_kwargs``: initial state in, final state out."""

    def __init__(
        self,
        positions: np.ndarray | None,
        momenta: np.ndarray | None,
        thermostat: dict[str, Any] | None,
        seed: int | None,
        recorder: Any,
    ) -> None:
        self.positions, self.momenta, self.thermostat = positions, momenta, thermostat
        self.seed, self.recorder = seed, recorder
        self.dyn: Any = None


class _Chained:
    """Mix-in: restore exact state before the integrator reads the atoms; expose it after."""

    def _setup(self, atoms: Any, hooks: Hooks | None) -> None:
        if hooks is None:
            return
        if hooks.positions is not None:
            atoms.set_positions(hooks.positions)
        if hooks.momenta is not None:
            atoms.set_momenta(hooks.momenta)

    def _finish_setup(self, hooks: Hooks | None) -> None:
        if hooks is None:
            return
        if hooks.thermostat:
            self.set_thermostat_state(hooks.thermostat)
        hooks.dyn = self
        self.attach(hooks.recorder, interval=hooks.recorder.interval, dyn=self)

    def get_thermostat_state(self) -> dict[str, Any]:
        """Return the thermostat's hidden variables (none for memory-less thermostats)."""
        return {}

    def set_thermostat_state(self, state: dict[str, Any]) -> None:
        """Restore the thermostat's hidden variables."""


class ChainedNoseHooverChainNVT(_Chained, NoseHooverChainNVT):
    """ASE Nose-Hoover chain NVT whose chain variables survive segment boundaries."""

    def __init__(self, atoms: Any, *args: Any, ionflow_hooks: Hooks | None = None, **kw: Any):
        self._setup(atoms, ionflow_hooks)
        super().__init__(atoms, *args, **kw)
        self._finish_setup(ionflow_hooks)

    def set_temperature(self, temperature_K: float) -> None:
        """Set the target temperature (atomate2 calls this every step)."""
        self._thermostat._kT = units.kB * float(temperature_K)

    def get_thermostat_state(self) -> dict[str, Any]:
        """Return the chain positions and momenta."""
        th = self._thermostat
        return {"eta": th._eta.tolist(), "p_eta": th._p_eta.tolist()}

    def set_thermostat_state(self, state: dict[str, Any]) -> None:
        """Restore the chain positions and momenta."""
        th = self._thermostat
        eta, p_eta = np.asarray(state["eta"], float), np.asarray(state["p_eta"], float)
        if eta.shape != th._eta.shape:
            raise InputError(
                f"restart holds a Nose-Hoover chain of length {len(eta)}, this run uses "
                f"{len(th._eta)}; keep the same tchain when continuing a run"
            )
        th._eta, th._p_eta = eta.copy(), p_eta.copy()


class ChainedLangevin(_Chained, Langevin):
    """ASE Langevin whose random stream continues across segment boundaries."""

    def __init__(self, atoms: Any, *args: Any, ionflow_hooks: Hooks | None = None, **kw: Any):
        self._setup(atoms, ionflow_hooks)
        seed = None if ionflow_hooks is None else ionflow_hooks.seed
        kw.setdefault("rng", np.random.Generator(np.random.PCG64(seed)))
        super().__init__(atoms, *args, **kw)
        self._finish_setup(ionflow_hooks)

    def get_thermostat_state(self) -> dict[str, Any]:
        """Return the PCG64 state (big integers as strings: BSON has no 128-bit ints)."""
        st = self.rng.bit_generator.state
        return {
            "bit_generator": st["bit_generator"],
            "state": str(st["state"]["state"]),
            "inc": str(st["state"]["inc"]),
            "has_uint32": int(st["has_uint32"]),
            "uinteger": int(st["uinteger"]),
        }

    def set_thermostat_state(self, state: dict[str, Any]) -> None:
        """Restore the PCG64 state."""
        self.rng.bit_generator.state = {
            "bit_generator": state["bit_generator"],
            "state": {"state": int(state["state"]), "inc": int(state["inc"])},
            "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"]),
        }


class ChainedBerendsen(_Chained, NVTBerendsen):
    """ASE Berendsen NVT (memory-less) with ionflow's state hooks."""

    def __init__(self, atoms: Any, *args: Any, ionflow_hooks: Hooks | None = None, **kw: Any):
        self._setup(atoms, ionflow_hooks)
        super().__init__(atoms, *args, **kw)
        self._finish_setup(ionflow_hooks)


class ChainedVelocityVerlet(_Chained, VelocityVerlet):
    """NVE velocity Verlet with ionflow's state hooks."""

    def __init__(self, atoms: Any, *args: Any, ionflow_hooks: Hooks | None = None, **kw: Any):
        kw.pop("temperature_K", None)
        self._setup(atoms, ionflow_hooks)
        super().__init__(atoms, *args, **kw)
        self._finish_setup(ionflow_hooks)

    def set_temperature(self, temperature_K: float) -> None:
        """NVE: nothing to set."""
