"""Built-in host structures of the design studies.

Only structures that are fully determined by a space group, lattice parameters and a
few Wyckoff positions (or, for LLTO, by a documented ordering rule) are built here;
anything else is read from a file in ``configs/structures/`` (provenance of every
number: ``configs/structures/README.md``).

- ``Li3OCl``, ``Li3OBr``, ``Li3SCl``: cubic antiperovskites (Pm-3m);
- ``LaCl3``: UCl3-type, P6_3/m, La 2c, Cl 6h (Materials Project mp-22896, PBE);
- ``LLTO``: ordered Li_xLa_yTiO3 supercell (see :mod:`ionflow.structures.llto`); its
  ``parameters`` are ``x_li``, ``y_la``, ``repeat``;
- ``LaCl3-Li``: La-deficient LaCl3 with 3 Li per La vacancy in the 1D channels
  (Li3La5Cl18-type model, :mod:`ionflow.structures.lacl3`); ``parameters``: ``repeat``,
  ``vacancy_fraction``;
- ``Li10GeP2S12``: ordered LGPS (P4_2/nmc, 50 atoms), the superionic benchmark of the demo:
  the Wyckoff positions of pymatgen's bundled LGPS structure (``pymatgen/util/structures/
  Li10GeP2S12.json``: Li 16h 0.69, Li 4d 1, Li 8f 0.64, Ge/P 4d 0.52/0.48), ordered with
  the 4d Li, all 8f Li, 8 of the 16h Li and 2 of the 4 mixed sites as Ge
  (:data:`LGPS_ORDERED_LI_16H`, :data:`LGPS_GE_SITES`).

``lattice_parameter_A`` sets the cubic (antiperovskite) or pseudo-cubic (LLTO) lattice
parameter, or ``a`` of LaCl3 with c/a kept.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pymatgen.core import Lattice, Structure

from ionflow.errors import ConfigError
from ionflow.structures.lacl3 import li_lacl3_cell
from ionflow.structures.llto import LLTO_A_A, LLTO_C_A, llto_cell

__all__ = ["PROTOTYPES", "build_prototype"]

#: LaCl3 mp-22896 (PBE): a, c (Å) and the Cl 6h parameters (La at 2c 1/3, 2/3, 1/4)
LACL3_A_A = 7.602965
LACL3_C_A = 4.375408
LACL3_CL_XY = (0.392001, 0.305097)


#: LGPS (pymatgen's bundled Li10GeP2S12 structure): a, c (Å) and the Wyckoff positions,
#: space group 137 (P4_2/nmc) in pymatgen's default setting
LGPS_A_A = 8.69407
LGPS_C_A = 12.5994
LGPS_WYCKOFF = (
    ("Li", (0.0, 0.5, 0.0554)),  # 4d, full
    ("Li", (0.7537, 0.7537, 0.0)),  # 8f, occupancy 0.64: all 8 taken
    ("P", (0.0, 0.0, 0.5)),  # 2b
    ("S", (0.0, 0.8157, 0.5897)),  # 8g
    ("S", (0.0, 0.7009, 0.905)),  # 8g
    ("S", (0.0, 0.301, 0.2086)),  # 8g
)
#: the 8 of the 16 Li 16h sites (occupancy 0.69) taken, and the 2 of the 4 Ge/P 4d sites
#: taken by Ge (the others P): the choice with the largest shortest Li-Li distance
#: (2.32 Å) and Ge-Ge distance (7.80 Å) in a seeded search over 20,000 random choices;
#: relaxed with CHGNet, its Ge, P and S stay on their sites in MD at 500-900 K, except that
#: PS4/GeS4 groups rotate at 750 K and above (ionflow demo, 2026-12-03)
LGPS_ORDERED_LI_16H = (
    (0.7563, 0.7718, 0.6832),
    (0.2563, 0.7282, 0.8168),
    (0.2282, 0.7563, 0.3168),
    (0.7718, 0.7563, 0.3168),
    (0.7563, 0.2282, 0.6832),
    (0.7282, 0.2563, 0.1832),
    (0.2437, 0.2282, 0.6832),
    (0.2718, 0.2563, 0.1832),
)
LGPS_GE_SITES = ((0.0, 0.5, 0.3093), (0.5, 0.0, 0.6907))
LGPS_P_4D_SITES = ((0.5, 0.0, 0.1907), (0.0, 0.5, 0.8093))


def _lgps(a_A: float) -> Structure:
    """Ordered Li10GeP2S12 (Li20Ge2P4S24, 50 atoms) with c/a of the bundled structure."""
    lattice = Lattice.tetragonal(a_A, a_A * LGPS_C_A / LGPS_A_A)
    species, coords = zip(*LGPS_WYCKOFF, strict=True)
    cell = Structure.from_spacegroup(137, lattice, list(species), [list(c) for c in coords])
    for symbol, sites in (
        ("Li", LGPS_ORDERED_LI_16H),
        ("Ge", LGPS_GE_SITES),
        ("P", LGPS_P_4D_SITES),
    ):
        for site in sites:
            cell.append(symbol, site)
    return cell.get_sorted_structure()


def _antiperovskite(anion: str, halide: str, a_A: float) -> Structure:
    """Cubic Pm-3m Li3(anion)(halide): anion at the body centre, halide at the corner."""
    return Structure(
        Lattice.cubic(a_A),
        [anion, halide, "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]],
    )


def _lacl3(a_A: float) -> Structure:
    """UCl3-type LaCl3 (P6_3/m, 8 atoms) with c/a of mp-22896."""
    c_A = a_A * LACL3_C_A / LACL3_A_A
    x, y = LACL3_CL_XY
    return Structure.from_spacegroup(
        "P6_3/m", Lattice.hexagonal(a_A, c_A), ["La", "Cl"], [[1 / 3, 2 / 3, 0.25], [x, y, 0.25]]
    )


def _llto(a_A: float, **parameters: Any) -> Structure:
    """Ordered Li_xLa_yTiO3 supercell (c/a of the layered cell kept)."""
    allowed = {"x_li", "y_la", "repeat", "n_la_rich"}
    unknown = sorted(set(parameters) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown LLTO parameter(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}"
        )
    return llto_cell(a_A=a_A, c_A=a_A * LLTO_C_A / LLTO_A_A, **parameters)


def _li_lacl3(a_A: float, **parameters: Any) -> Structure:
    """La-deficient LaCl3 with Li in the channels (see :mod:`ionflow.structures.lacl3`)."""
    allowed = {"repeat", "vacancy_fraction"}
    unknown = sorted(set(parameters) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown LaCl3-Li parameter(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}"
        )
    return li_lacl3_cell(_lacl3(a_A), **parameters)


#: name -> (builder(a, **parameters), default lattice parameter in Å, reference)
PROTOTYPES: dict[str, tuple] = {
    "Li3OCl": (lambda a: _antiperovskite("O", "Cl", a), 3.91, "cubic antiperovskite, Pm-3m"),
    "Li3OBr": (lambda a: _antiperovskite("O", "Br", a), 4.02, "cubic antiperovskite, Pm-3m"),
    "Li3SCl": (lambda a: _antiperovskite("S", "Cl", a), 4.32, "hypothetical S analogue"),
    "LaCl3": (_lacl3, LACL3_A_A, "UCl3-type P6_3/m, Materials Project mp-22896 (PBE)"),
    "LLTO": (_llto, 3.866, "layered A-site-ordered perovskite, ICSD 92234 occupancies"),
    "LaCl3-Li": (_li_lacl3, LACL3_A_A, "La-deficient LaCl3, Li in the channels (model)"),
    "Li10GeP2S12": (_lgps, LGPS_A_A, "ordered LGPS, P4_2/nmc (pymatgen's bundled structure)"),
}

#: prototypes that take builder parameters
_WITH_PARAMETERS = {"LLTO", "LaCl3-Li"}


def build_prototype(
    name: str, lattice_parameter_A: float | None = None, **parameters: Any
) -> Structure:
    """Build a built-in host structure.

    Parameters
    ----------
    name
        Prototype name, e.g. ``"Li3OCl"`` (see :data:`PROTOTYPES`).
    lattice_parameter_A
        Lattice parameter in Å (see the module docstring); None uses the default.
    **parameters
        Builder parameters (``LLTO``: ``x_li``, ``y_la``, ``repeat``; ``LaCl3-Li``:
        ``repeat``, ``vacancy_fraction``).

    Returns
    -------
    Structure
        The conventional cell (LLTO: the ordered supercell).
    """
    try:
        builder, default_a, _ = PROTOTYPES[name]
    except KeyError:
        raise ConfigError(
            f"unknown built-in structure {name!r}; choose one of {', '.join(PROTOTYPES)} "
            "or give 'structure: {file: ...}'"
        ) from None
    if parameters and name not in _WITH_PARAMETERS:
        raise ConfigError(f"built-in structure {name!r} takes no parameters")
    if name in _WITH_PARAMETERS:  # orderings take seconds: build each one once
        key = json.dumps(parameters, sort_keys=True, default=str)
        return _cached(name, lattice_parameter_A or default_a, key).copy()
    return builder(lattice_parameter_A or default_a, **parameters)


@lru_cache(maxsize=32)
def _cached(name: str, a_A: float, parameters_json: str) -> Structure:
    builder = PROTOTYPES[name][0]
    return builder(a_A, **json.loads(parameters_json))
