"""Fake CP2K for relax/static jobs of any cell: a real output re-cut for the job's input.

:class:`Cp2kCellFake` stands in for atomate2's ``run_cp2k``. It reads the ``cp2k.inp``
atomate2 wrote (cell, kinds, coordinates, CHARGE) and writes ``cp2k.out`` cut from one
real CP2K 2022.1 GEO_OPT output (atomate2's Si test run in the shared data) with the
job's atomic kinds, coordinates, per-atom tables and a chosen total energy in every
``ENERGY|`` line. pymatgen's ``Cp2kOutput`` reads the cell from the input file, so the
output then parses as a finished run of the job's own cell.

Usage: ``monkeypatch.setattr("atomate2.cp2k.jobs.base.run_cp2k", fake)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pymatgen.core import Element, Lattice, Structure

from ionflow.io.cp2k import cp2k_input_cell

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HARTREE_EV", "CachedYaml", "Cp2kCellFake", "read_cp2k_input_cell"]

HARTREE_EV = 27.211386245988

_FORCE_ROW = re.compile(r"^\s+\d+\s+\d+\s+[A-Z][a-z]?\s+-?\d+\.\d+\s+-?\d+\.\d+\s+-?\d+\.\d+\s*$")
_POP_ROW = re.compile(r"^(\s+)\d+(\s+)([A-Z][a-z]?)(\s+)\d+(\s+.*)$")
_COORD_ROW = re.compile(r"^\s+\d+\s+\d+\s+[A-Z][a-z]?\s+\d+\s+-?\d+\.\d+")


class CachedYaml:
    """Stand-in for ``ruamel.yaml.YAML`` in ``pymatgen.io.cp2k.sets`` that parses each file once.

    pymatgen's CP2K input sets re-parse one large YAML file per element for every input
    set (5-15 s per job on a loaded machine); tests patch ``pymatgen.io.cp2k.sets.YAML``
    with this class. Returns deep copies, so callers may change what they get.
    """

    _cache: ClassVar[dict[str, Any]] = {}

    def load(self, stream: Any) -> Any:
        """Parse ``stream`` (an open file) once per path."""
        import copy

        from ruamel.yaml import YAML

        key = getattr(stream, "name", None)
        if key is None:
            return YAML().load(stream)
        if key not in self._cache:
            self._cache[key] = YAML().load(stream)
        return copy.deepcopy(self._cache[key])


def read_cp2k_input_cell(path: str | Path) -> tuple[Structure, int, dict[str, str]]:
    """Return the structure, DFT CHARGE and kind → element map of a ``cp2k.inp``."""
    text = Path(path).read_text()
    lattice = cp2k_input_cell(text)
    coord = re.search(r"&COORD\n(.*?)&END COORD", text, re.S)
    if lattice is None or coord is None:
        raise ValueError(f"fake CP2K: {path} has no &CELL or &COORD section")
    kinds = {
        m.group(1): m.group(2) for m in re.finditer(r"&KIND (\S+)\s.*?ELEMENT\s+(\w+)", text, re.S)
    }
    rows = [line.split() for line in coord.group(1).strip().splitlines()]
    charge = re.search(r"^\s*CHARGE\s+(-?\d+)", text, re.M)
    structure = Structure(
        Lattice(lattice),
        [kinds.get(r[0], r[0].split("_")[0]) for r in rows],
        [[float(x) for x in r[1:4]] for r in rows],
        coords_are_cartesian=True,
    )
    return structure, int(charge.group(1)) if charge else 0, kinds


class Cp2kCellFake:
    """Callable replacing ``run_cp2k``: a reference output re-cut for the job's cell.

    Parameters
    ----------
    reference
        A CP2K ``cp2k.out`` of a finished GEO_OPT (one atomic kind).
    energy
        ``energy(structure, charge) -> eV`` of the cell.
    """

    def __init__(self, reference: str | Path, energy: Callable[[Structure, int], float]) -> None:
        self.lines = Path(reference).read_text().splitlines()
        self.energy = energy
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Write ``cp2k.out`` for the ``cp2k.inp`` in the current folder."""
        folder = Path.cwd()
        structure, charge, kinds = read_cp2k_input_cell(folder / "cp2k.inp")
        energy_eV = float(self.energy(structure, charge))
        self.calls.append(
            {
                "dir": str(folder),
                "input": (folder / "cp2k.inp").read_text(),
                "n_atoms": len(structure),
                "charge": charge,
                "energy_eV": energy_eV,
            }
        )
        text = "\n".join(self._recut(structure, kinds, energy_eV / HARTREE_EV)) + "\n"
        (folder / "cp2k.out").write_text(text)

    def _recut(self, structure: Structure, kinds: dict[str, str], energy_ha: float) -> list[str]:
        labels = list(dict.fromkeys(kinds)) or list(
            dict.fromkeys(s.specie.symbol for s in structure)
        )
        element_of = {k: kinds.get(k, k) for k in labels}
        kind_no = {element_of[k]: i + 1 for i, k in enumerate(labels)}
        symbols = [s.specie.symbol for s in structure]
        out: list[str] = []
        skip_kinds = False
        in_table = None
        for line in self.lines:
            if "ATOMIC KIND INFORMATION" in line:
                out.append(line)
                out.append("")
                for i, k in enumerate(labels):
                    el = element_of[k]
                    out += [
                        f"  {i + 1}. Atomic kind: {k:<36s}Number of atoms: {symbols.count(el):7d}",
                        "",
                        f"     Orbital Basis Set{'SZV-MOLOPT-SR-GTH':>58s}",
                        "",
                        f"     GTH Potential information for{'GTH-PBE':>45s}",
                        "",
                    ]
                skip_kinds = True
                continue
            if skip_kinds:
                if "MOLECULE KIND INFORMATION" not in line:
                    continue
                skip_kinds = False
            if "- Atomic kinds:" in line:
                line = re.sub(r"\d+\s*$", str(len(labels)), line)
            elif line.strip().startswith("- Atoms:"):
                line = re.sub(r"\d+\s*$", str(len(structure)), line)
            elif "Total FORCE_EVAL" in line:
                line = re.sub(r"-?\d+\.\d+\s*$", f"{energy_ha:.15f}", line)
            elif re.match(r"^\s+Total [Ee]nergy\s*[:=]", line):
                line = re.sub(r"-?\d+\.\d+\s*$", f"{energy_ha:.14f}", line)
            for name, pattern in (("coord", _COORD_ROW), ("force", _FORCE_ROW)):
                if pattern.match(line):
                    if in_table != name:
                        in_table = name
                        out += self._rows(name, structure, kind_no, line)
                    break
            else:
                if _POP_ROW.match(line) and not line.strip().startswith("#"):
                    if in_table != "pop":
                        in_table = "pop"
                        out += self._rows("pop", structure, kind_no, line)
                    continue
                in_table = None
                out.append(line)
        return out

    @staticmethod
    def _rows(name: str, structure: Structure, kind_no: dict[str, int], line: str) -> list[str]:
        rows = []
        for i, site in enumerate(structure, start=1):
            el = site.specie.symbol
            if name == "coord":
                x, y, z = site.coords
                z_num, mass = Element(el).Z, float(Element(el).atomic_mass)
                rows.append(
                    f"{i:5d}{kind_no[el]:4d} {el:<2s}{z_num:4d}   {x:12.6f}{y:12.6f}{z:12.6f}"
                    f"{0.0:13.4f}{mass:11.4f}"
                )
            elif name == "force":
                rows.append(f"{i:7d}{kind_no[el]:7d}{el:>8s}{0.0:20.8f}{0.0:15.8f}{0.0:15.8f}")
            else:
                m = _POP_ROW.match(line)
                rows.append(
                    f"{m.group(1)}{i}{m.group(2)}{el:>2s}{m.group(4)}{kind_no[el]}{m.group(5)}"
                )
        return rows
