"""The cell of a system: host structure → supercell → defects, built once per system."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pymatgen.core import Structure

from ionflow.errors import InputError
from ionflow.io.structures import read_structure
from ionflow.structures.defects import generate_defects
from ionflow.structures.prototypes import build_prototype
from ionflow.structures.supercell import choose_supercell

if TYPE_CHECKING:
    from ionflow.config.study import StudyConfig

__all__ = ["SystemCell", "build_cell", "read_host"]


@dataclass
class SystemCell:
    """The structures of one system.

    Parameters
    ----------
    host
        The host structure as read or built (primitive or conventional cell).
    supercell
        The host supercell (no defects).
    cell
        The simulation cell: the supercell with every defect of the system in it.
    labels
        Defect labels in the cell.
    provenance
        Supercell matrix, minimum image distance (Å), Kröger–Vink labels, separations.
    """

    host: Structure
    supercell: Structure
    cell: Structure
    labels: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def cell_formula(self) -> str:
        """Formula of the simulation cell, e.g. ``Li23Cl7O8``."""
        return self.cell.composition.formula.replace(" ", "")


def read_host(config: StudyConfig) -> Structure:
    """Read or build the host structure of a system, with a clear error on failure."""
    section = config.structure
    if section.builtin is not None:
        return build_prototype(section.builtin, section.lattice_parameter_A, **section.parameters)
    return read_structure(section.file)


def build_cell(config: StudyConfig) -> SystemCell:
    """Build the cells of a system: host → supercell → defects.

    Parameters
    ----------
    config
        The system's sections (structure, supercell, defects, analysis).

    Returns
    -------
    SystemCell
        Host, supercell, defect cell, defect labels and provenance.
    """
    host = read_host(config)
    elements = {el.symbol for el in host.composition.elements}
    if config.analysis.specie not in elements and config.md is not None:
        raise InputError(
            f"mobile species {config.analysis.specie!r} is not in the structure "
            f"({', '.join(sorted(elements))}); set analysis.specie"
        )
    sc = config.supercell
    choice = choose_supercell(
        host, min_image_distance_A=sc.min_image_distance_A, max_atoms=sc.max_atoms, matrix=sc.matrix
    )
    cell = choice.structure
    labels: list[str] = []
    provenance: dict[str, Any] = {
        "host_formula": host.composition.reduced_formula,
        "supercell_matrix": [list(map(int, row)) for row in choice.matrix],
        "min_image_distance_A": float(choice.min_image_distance_A),
        "defects": [],
    }
    for spec in config.defects:
        configs = generate_defects(cell, spec)
        if not configs:
            raise InputError(
                f"defect {spec.model_dump(exclude_none=True)} produced no configuration"
            )
        chosen = configs[0]
        cell = chosen.structure
        labels.append(chosen.label)
        provenance["defects"].append(
            {
                "label": chosen.label,
                "kroger_vink": chosen.kroger_vink,
                "separation_A": chosen.separation_A,
                "charge": chosen.charge,
            }
        )
    return SystemCell(
        host=host, supercell=choice.structure, cell=cell, labels=labels, provenance=provenance
    )
