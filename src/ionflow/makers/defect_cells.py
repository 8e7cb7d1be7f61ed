"""Defect supercells on the engine-relaxed host lattice.

:func:`strain_to_lattice` / :func:`strain_structures` put supercells built on the input
lattice onto the relaxed host lattice (fractional coordinates kept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from jobflow import job
from monty.json import MontyDecoder
from pymatgen.core import Lattice, Structure

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["as_structure", "strain_structures", "strain_to_lattice"]


def as_structure(obj: Any) -> Structure:
    """Return a job output as a Structure (decoding a serialised dict)."""
    return MontyDecoder().process_decoded(obj) if isinstance(obj, dict) else obj


def strain_to_lattice(
    structure: Structure, relaxed_unit: Structure, supercell_matrix: Sequence[Sequence[int]]
) -> Structure:
    """Return ``structure`` on the lattice ``supercell_matrix · relaxed_unit.lattice``.

    Parameters
    ----------
    structure
        Supercell built on the unrelaxed host lattice.
    relaxed_unit
        Engine-relaxed host cell.
    supercell_matrix
        Matrix that built ``structure``'s lattice from the host cell.

    Returns
    -------
    Structure
        Same species, fractional coordinates and charge; new lattice.
    """
    structure, relaxed_unit = as_structure(structure), as_structure(relaxed_unit)
    lattice = Lattice(np.array(supercell_matrix) @ relaxed_unit.lattice.matrix)
    return Structure(
        lattice,
        structure.species,
        structure.frac_coords,
        charge=structure.charge if structure.charge else None,
    )


@job(name="defects strain to relaxed lattice")
def strain_structures(
    structures: list[Structure], relaxed_unit: Structure, supercell_matrix: list[list[int]]
) -> list[Structure]:
    """Job: :func:`strain_to_lattice` for every supercell (output indexed like the input)."""
    return [strain_to_lattice(s, relaxed_unit, supercell_matrix) for s in structures]
