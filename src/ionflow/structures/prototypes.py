"""Built-in host structures of the design studies.

Only structures that are fully determined by a space group, a lattice parameter and a
few Wyckoff positions are built here; anything else is read from a file in
``configs/structures/``.
"""

from __future__ import annotations

from pymatgen.core import Lattice, Structure

from ionflow.errors import ConfigError

__all__ = ["PROTOTYPES", "build_prototype"]


def _antiperovskite(anion: str, halide: str, a_A: float) -> Structure:
    """Cubic Pm-3m Li3(anion)(halide): anion at the body centre, halide at the corner."""
    return Structure(
        Lattice.cubic(a_A),
        [anion, halide, "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]],
    )


#: name -> (builder, default lattice parameter in Å, reference)
PROTOTYPES: dict[str, tuple] = {
    "Li3OCl": (lambda a: _antiperovskite("O", "Cl", a), 3.91, "cubic antiperovskite, Pm-3m"),
    "Li3OBr": (lambda a: _antiperovskite("O", "Br", a), 4.02, "cubic antiperovskite, Pm-3m"),
    "Li3SCl": (lambda a: _antiperovskite("S", "Cl", a), 4.32, "hypothetical S analogue"),
}


def build_prototype(name: str, lattice_parameter_A: float | None = None) -> Structure:
    """Build a built-in host structure.

    Parameters
    ----------
    name
        Prototype name, e.g. ``"Li3OCl"`` (see :data:`PROTOTYPES`).
    lattice_parameter_A
        Cubic lattice parameter in Å; None uses the prototype's default.

    Returns
    -------
    Structure
        The conventional cell.
    """
    try:
        builder, default_a, _ = PROTOTYPES[name]
    except KeyError:
        raise ConfigError(
            f"unknown built-in structure {name!r}; choose one of {', '.join(PROTOTYPES)} "
            "or give 'structure: {file: ...}'"
        ) from None
    return builder(lattice_parameter_A or default_a)
