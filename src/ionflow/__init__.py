"""ionflow: workflows for computational design of solid-state Li-ion electrolytes.

ionflow builds defect supercells, NEB and multi-temperature MD studies on top of
pymatgen, atomate2 and jobflow, and turns their outputs into diffusivities,
activation energies, room-temperature conductivities, barriers and stability windows.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
