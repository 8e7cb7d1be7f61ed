"""Finished VASP defect calculations: a bulk supercell run and defect runs in charge states.

:func:`read_vasp_defect_run` reads one run folder: ``vasprun.xml`` (or ``.gz``, atomate2's
``.relax1.gz``) for the final structure, the total energy (``Vasprun.get_computed_entry``,
no compatibility corrections), ``NELECT`` and the neutral electron count (the POTCAR
valences VASP writes into ``vasprun.xml``'s ``atomtypes`` array), band edges and optionally
the DOS (bulk), the planar-averaged ``LOCPOT`` (Freysoldt) and the ``OUTCAR`` site
potentials (Kumagai/eFNV; :func:`read_site_potentials`, pymatgen's ``Outcar``).

:func:`parse_defect_argument` splits ``DIR[:CHARGE]``; :func:`load_vasp_defect_set` reads a
bulk folder and defect folders into :class:`~ionflow.analysis.defect_thermo.ChargedDefect`
inputs (charge from NELECT unless given, and checked against it; the finite-size
correction chosen by :func:`ionflow.analysis.defect_runs.choose_correction`: Freysoldt
from LOCPOTs, Kumagai from OUTCAR site potentials, given ε). Only the files the chosen
correction needs are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError, iterparse

from pymatgen.io.vasp import Outcar

from ionflow.analysis.defect_runs import charged_defect_from_cells, check_correction
from ionflow.errors import InputError
from ionflow.io.streams import open_binary
from ionflow.io.vasp_outputs import (
    find_output,
    quiet_vasprun,
    read_cell_potential,
    read_vbm,
    strip_host,
)
from ionflow.schemas.defects import CellPotentialDoc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pymatgen.core import Structure
    from pymatgen.electronic_structure.dos import Dos

    from ionflow.analysis.defect_thermo import ChargedDefect

__all__ = [
    "VaspDefectRun",
    "load_vasp_defect_set",
    "parse_defect_argument",
    "read_cell_potentials",
    "read_potcar_valences",
    "read_site_potentials",
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
    core_potentials_eV
        OUTCAR "average (electrostatic) potential at core" per atom (None: not read, no
        OUTCAR or none in it).
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
    core_potentials_eV: list[float] | None = None

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


def read_site_potentials(folder: str | Path) -> list[float] | None:
    """OUTCAR's "average (electrostatic) potential at core" per atom, last ionic step (eV).

    pymatgen's ``Outcar.electrostatic_potential`` (what pymatgen-analysis-defects'
    ``get_structure_with_pot`` reads for the Kumagai correction). None when the folder
    has no OUTCAR (plain or gzipped) or the OUTCAR has no site potentials.
    """
    path = find_output(Path(folder), "OUTCAR")
    if path is None:
        return None
    try:
        outcar = Outcar(str(path))
    except (OSError, ValueError, IndexError, KeyError, EOFError) as exc:
        raise InputError(f"{path}: not a readable OUTCAR ({exc})") from None
    pots = outcar.electrostatic_potential
    return [float(p) for p in pots] if pots else None


def read_cell_potentials(
    folder: str | Path, correction: str, *, with_vbm: bool = False, host: bool = False
) -> CellPotentialDoc:
    """Potentials of one cell of the defect flow, for the correction asked for.

    Parameters
    ----------
    folder
        Run folder (``host:`` prefix of atomate2's ``dir_name`` allowed).
    correction
        ``freysoldt``: the planar-averaged LOCPOT (an InputError without one);
        ``kumagai``: the OUTCAR site potentials (an InputError without them);
        ``auto``: the LOCPOT when there is one, and the site potentials where the LOCPOT
        is missing or ``host`` (any defect cell may need the host's).
    with_vbm
        Also read the VBM from ``vasprun.xml`` (the host supercell).
    host
        This is the host supercell.

    Returns
    -------
    CellPotentialDoc
        Planar averages and/or site potentials, the VBM when asked for.
    """
    folder = strip_host(folder)
    planar, locpot_missing, sites = None, "", None
    if correction in ("freysoldt", "auto"):
        try:
            planar = read_cell_potential(folder).planar_avg_eV
        except InputError as exc:
            if correction == "freysoldt":
                raise
            locpot_missing = str(exc)
    if correction == "kumagai" or (correction == "auto" and (host or planar is None)):
        try:
            sites = read_site_potentials(folder)
        except InputError:
            if planar is None:
                raise
            # auto with a LOCPOT: the host's OUTCAR is only a fallback; Freysoldt goes on
        if sites is None and planar is None:
            what = f"{locpot_missing}; and no" if locpot_missing else "no"
            raise InputError(
                f"{what} OUTCAR site potentials in {folder} (the Kumagai correction reads "
                "VASP's 'average (electrostatic) potential at core' from the OUTCAR)"
            )
    vbm, source = read_vbm(folder) if with_vbm else (None, "")
    return CellPotentialDoc(
        dir_name=str(folder),
        planar_avg_eV=planar,
        locpot_missing=locpot_missing,
        core_potentials_eV=sites,
        vbm_eV=vbm,
        vbm_source=source,
    )


def read_vasp_defect_run(
    folder: str | Path,
    *,
    band_edges: bool = False,
    with_dos: bool = False,
    locpot: bool = True,
    site_potentials: bool = False,
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
    locpot
        Read the LOCPOT's planar averages when there is one (Freysoldt).
    site_potentials
        Read the OUTCAR site potentials when there are some (Kumagai).

    Returns
    -------
    VaspDefectRun
        Structure, energy, electron counts, band edges, DOS, LOCPOT planar averages and
        OUTCAR site potentials (each None when not read or absent).
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
    out = VaspDefectRun(
        folder=folder,
        structure=entry.structure,
        energy_eV=energy,
        nelect=float(run.parameters.get("NELECT", neutral)),
        neutral_nelect=neutral,
    )
    # the optional parts: each stays None unless asked for (and present)
    if band_edges:
        gap, cbm, vbm, _ = run.eigenvalue_band_properties
        out.band_gap_eV, out.cbm_eV, out.vbm_eV = float(gap), float(cbm), float(vbm)
    if with_dos:
        out.dos = run.complete_dos
    if locpot and find_output(folder, "LOCPOT") is not None:
        out.planar_avg_eV = read_cell_potential(folder).planar_avg_eV
    if site_potentials:
        out.core_potentials_eV = read_site_potentials(folder)
    return out


def load_vasp_defect_set(
    bulk_dir: str | Path,
    defect_args: Sequence[str],
    *,
    dielectric_constant: float | Sequence[float] | None = None,
    with_dos: bool = False,
    correction: str = "auto",
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
        Static ε for the finite-size correction (None: no correction).
    with_dos
        Read the bulk DOS (self-consistent Fermi level).
    correction
        ``auto`` (Freysoldt where both cells have a LOCPOT, else Kumagai where both have
        OUTCAR site potentials), ``freysoldt``, ``kumagai`` or ``none``.

    Returns
    -------
    bulk, defects
        The bulk run and one ChargedDefect per defect run.
    """
    if not defect_args:
        raise InputError("no defect runs given (--defect DIR[:CHARGE])")
    check_correction(correction)
    locpots = correction in ("auto", "freysoldt")
    bulk = read_vasp_defect_run(bulk_dir, band_edges=True, with_dos=with_dos, locpot=locpots)
    bulk_sites_read = False  # the bulk OUTCAR is read once, when a defect needs it
    if bulk.charge_from_nelect:
        raise InputError(
            f"{bulk.folder}: the bulk run is charged (NELECT {bulk.nelect:g} vs "
            f"{bulk.neutral_nelect:g} neutral electrons)"
        )
    defects = []
    for text in defect_args:
        folder, charge = parse_defect_argument(text)
        run = read_vasp_defect_run(folder, locpot=locpots)
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
        # site potentials of charged cells: asked for, or auto without a LOCPOT pair (an
        # OUTCAR can be large, so it is read only when the correction needs it)
        if charge and (
            correction == "kumagai"
            or (correction == "auto" and None in (run.planar_avg_eV, bulk.planar_avg_eV))
        ):
            run.core_potentials_eV = read_site_potentials(folder)
            if not bulk_sites_read:
                bulk.core_potentials_eV = read_site_potentials(bulk.folder)
                bulk_sites_read = True
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
                defect_core_potentials_eV=run.core_potentials_eV,
                bulk_core_potentials_eV=bulk.core_potentials_eV,
                correction=correction,
            )
        )
    return bulk, defects
