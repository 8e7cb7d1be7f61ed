"""Finished VASP defect calculations: a bulk supercell run and defect runs in charge states.

:func:`read_vasp_defect_run` reads one run folder: ``vasprun.xml`` (or ``.gz``, atomate2's
``.relax1.gz``) for the final structure, the total energy (``Vasprun.get_computed_entry``,
no compatibility corrections), ``NELECT`` and the neutral electron count (the POTCAR
valences VASP writes into ``vasprun.xml``'s ``atomtypes`` array), band edges and optionally
the DOS (bulk) and the planar-averaged ``LOCPOT`` (when present, for corrections).

:func:`parse_defect_argument` splits ``DIR[:CHARGE]``; :func:`load_vasp_defect_set` reads a
bulk folder and defect folders into :class:`~ionflow.analysis.defect_thermo.ChargedDefect`
inputs (charge from NELECT unless given, and checked against it; Freysoldt correction when
both cells have a LOCPOT and ε is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError, iterparse

from ionflow.analysis.defect_runs import charged_defect_from_cells
from ionflow.errors import InputError
from ionflow.io.streams import open_binary
from ionflow.io.vasp_outputs import find_output, quiet_vasprun, read_cell_potential

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure
    from pymatgen.electronic_structure.dos import Dos

    from ionflow.analysis.defect_thermo import ChargedDefect

__all__ = [
    "VaspDefectRun",
    "load_vasp_defect_set",
    "parse_defect_argument",
    "read_potcar_valences",
    "read_vasp_defect_run",
]


@dataclass
class VaspDefectRun:
    """One finished VASP supercell run (bulk or defect).

    Attributes
    ----------
    folder
        Run folder.
    structure
        Final structure.
    energy_eV
        Final total energy (eV), uncorrected.
    nelect
        ``NELECT`` of the run.
    neutral_nelect
        Electrons of the neutral cell: Σ atoms × POTCAR valence.
    vbm_eV, cbm_eV, band_gap_eV
        Band edges from the eigenvalues (None unless asked for).
    dos
        Total DOS with its structure (None unless asked for).
    planar_avg_eV
        Planar-averaged electrostatic potential along the three axes (None: no LOCPOT).
    """

    folder: Path
    structure: Structure
    energy_eV: float
    nelect: float
    neutral_nelect: float
    vbm_eV: float | None = None
    cbm_eV: float | None = None
    band_gap_eV: float | None = None
    dos: Dos | None = None
    planar_avg_eV: list[list[float]] | None = None

    @property
    def charge_from_nelect(self) -> int:
        """Supercell charge ``neutral_nelect - NELECT`` (e)."""
        return round(self.neutral_nelect - self.nelect)


def parse_defect_argument(text: str) -> tuple[Path, int | None]:
    """Split ``DIR[:CHARGE]`` (a charge is an integer, e.g. ``q=-1:-1`` or ``V_Li:+1``)."""
    head, sep, tail = text.rpartition(":")
    if sep and head:
        try:
            return Path(head), int(tail)
        except ValueError:
            pass
    return Path(text), None


def read_potcar_valences(path: Path) -> dict[str, float]:
    """POTCAR valence (ZVAL) per element from ``vasprun.xml``'s ``atomtypes`` array.

    Returns
    -------
    dict
        ``{element: valence}``; with ``_count_<element>`` entries the atoms per type are
        summed by :func:`read_vasp_defect_run`.
    """
    counts: dict[str, float] = {}
    valence: dict[str, float] = {}
    try:
        with open_binary(path) as stream:
            for _, elem in iterparse(stream, events=("end",)):
                if elem.tag == "array" and elem.attrib.get("name") == "atomtypes":
                    fields = [f.text.strip() for f in elem.findall("field")]
                    for rc in elem.iter("rc"):
                        cells = [c.text.strip() for c in rc.findall("c")]
                        row = dict(zip(fields, cells, strict=False))
                        el = row["element"].strip()
                        counts[el] = counts.get(el, 0.0) + float(row["atomspertype"])
                        valence[el] = float(row["valence"])
                    break
    except (ParseError, OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the POTCAR valences ({exc})") from None
    if not valence:
        raise InputError(f"{path}: no atomtypes array (POTCAR valences) in vasprun.xml")
    return {**valence, **{f"_count_{el}": n for el, n in counts.items()}}


def read_vasp_defect_run(
    folder: str | Path, *, band_edges: bool = False, with_dos: bool = False
) -> VaspDefectRun:
    """Read one finished bulk or defect supercell run.

    Parameters
    ----------
    folder
        Run folder holding ``vasprun.xml`` (plain or gzipped), optionally ``LOCPOT``.
    band_edges
        Also read the VBM, CBM and gap from the eigenvalues (the bulk run).
    with_dos
        Also read the total DOS (the bulk run, for the self-consistent Fermi level).

    Returns
    -------
    VaspDefectRun
        Structure, energy, electron counts, band edges, DOS and LOCPOT planar averages.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such run folder")
    path = find_output(folder, "vasprun.xml")
    if path is None:
        raise InputError(f"{folder}: no vasprun.xml (or vasprun.xml.gz); is the run finished?")
    try:
        run = quiet_vasprun(path, dos=with_dos, eigen=band_edges)
    except (ParseError, OSError, ValueError, KeyError, IndexError) as exc:
        raise InputError(f"{path}: not a readable vasprun.xml ({exc})") from None
    entry = run.get_computed_entry(inc_structure=True)
    energy = float(entry.uncorrected_energy)
    if not math.isfinite(energy):
        raise InputError(f"{path}: the final energy is {energy}")
    zval = read_potcar_valences(path)
    neutral = sum(zval[el] * zval[f"_count_{el}"] for el in zval if not el.startswith("_"))
    nelect = float(run.parameters.get("NELECT", neutral))
    vbm = cbm = gap = None
    if band_edges:
        gap, cbm, vbm, _ = run.eigenvalue_band_properties
        gap, cbm, vbm = float(gap), float(cbm), float(vbm)
    dos = None
    if with_dos:
        dos = run.complete_dos
    planar = None
    if find_output(folder, "LOCPOT") is not None:
        planar = read_cell_potential(folder).planar_avg_eV
    return VaspDefectRun(
        folder=folder,
        structure=entry.structure,
        energy_eV=energy,
        nelect=nelect,
        neutral_nelect=neutral,
        vbm_eV=vbm,
        cbm_eV=cbm,
        band_gap_eV=gap,
        dos=dos,
        planar_avg_eV=planar,
    )


def load_vasp_defect_set(
    bulk_dir: str | Path,
    defect_args: Sequence[str],
    *,
    dielectric_constant: float | Sequence[float] | None = None,
    with_dos: bool = False,
) -> tuple[VaspDefectRun, list[ChargedDefect]]:
    """Read a bulk run and defect runs (``DIR[:CHARGE]``) into thermodynamics inputs.

    Parameters
    ----------
    bulk_dir
        Bulk supercell run (band edges, optionally the DOS and the LOCPOT).
    defect_args
        ``DIR`` or ``DIR:CHARGE`` per defect run; without a charge it is
        ``neutral electrons - NELECT``; a given charge must agree with NELECT.
    dielectric_constant
        Static ε for the Freysoldt correction (None: no correction).
    with_dos
        Read the bulk DOS (self-consistent Fermi level).

    Returns
    -------
    bulk, defects
        The bulk run and one ChargedDefect per defect run.
    """
    if not defect_args:
        raise InputError("no defect runs given (--defect DIR[:CHARGE])")
    bulk = read_vasp_defect_run(bulk_dir, band_edges=True, with_dos=with_dos)
    if bulk.charge_from_nelect:
        raise InputError(
            f"{bulk.folder}: the bulk run is charged (NELECT {bulk.nelect:g} vs "
            f"{bulk.neutral_nelect:g} neutral electrons)"
        )
    defects = []
    for text in defect_args:
        folder, charge = parse_defect_argument(text)
        run = read_vasp_defect_run(folder)
        from_nelect = run.nelect - run.neutral_nelect
        if abs(from_nelect - round(from_nelect)) > 1e-6:
            raise InputError(f"{folder}: NELECT {run.nelect:g} is not integral; fractional charge")
        if charge is None:
            charge = run.charge_from_nelect
        elif charge != run.charge_from_nelect:
            raise InputError(
                f"{folder}: charge {charge:+d} contradicts NELECT {run.nelect:g} "
                f"({run.neutral_nelect:g} electrons when neutral: charge "
                f"{run.charge_from_nelect:+d})"
            )
        defects.append(
            charged_defect_from_cells(
                bulk.structure,
                run.structure,
                run.energy_eV,
                charge,
                what=str(folder),
                dielectric_constant=dielectric_constant,
                defect_planar_avg_eV=run.planar_avg_eV,
                bulk_planar_avg_eV=bulk.planar_avg_eV,
            )
        )
    return bulk, defects
