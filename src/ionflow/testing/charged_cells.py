"""Fakes for charged defect cells: a Gaussian model potential and a fake VASP relax/static.

- :func:`gaussian_charge_potential`: the electrostatic potential energy (eV) of an electron
  in the field of a Gaussian charge ``q`` (width ``beta`` bohr) with a neutralising
  background, screened by ε, on a 3D grid with zero mean (as VASP's LOCPOT): a charged
  defect cell's LOCPOT is the host's plus this, exactly.
- :class:`VaspCellFake`: stands in for ``run_vasp`` in relax/static jobs of any cell. It
  reads the POSCAR/INCAR that atomate2 wrote and writes ``vasprun.xml``, ``OUTCAR`` and
  ``CONTCAR`` cut from one real reference run (atomate's LiF relaxation in the shared data)
  with the POSCAR's structure, a chosen energy, the reference eigenvalues (so the VBM is
  the reference run's) and, when the INCAR asks for it (LVHAR), a ``LOCPOT`` from a
  chosen potential function.

Usage: ``monkeypatch.setattr("atomate2.vasp.jobs.base.run_vasp", fake)``.
"""

from __future__ import annotations

import copy
import gzip
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pymatgen.io.vasp import Incar, Locpot, Poscar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pymatgen.core import Lattice, Structure

__all__ = ["BOHR_A", "HARTREE_EV", "VaspCellFake", "gaussian_charge_potential", "planar"]

BOHR_A = 0.529177210903
HARTREE_EV = 27.211386245988


def gaussian_charge_potential(
    lattice: Lattice,
    charge: float,
    dielectric_constant: float,
    frac_coords: Sequence[float],
    shape: Sequence[int] = (40, 40, 40),
    beta_bohr: float = 1.0,
) -> np.ndarray:
    """Electron potential energy (eV) of a screened periodic Gaussian charge, zero mean.

    ``V(G) = -4π q exp(-β² G² / 4) / (ε G² Ω)`` (Hartree atomic units) for G ≠ 0, 0 at
    G = 0, centred on ``frac_coords``.
    """
    idx = np.stack(
        np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in shape], indexing="ij"), axis=-1
    )
    g2 = ((idx @ (lattice.reciprocal_lattice.matrix * BOHR_A)) ** 2).sum(-1)
    volume = lattice.volume / BOHR_A**3
    g2[0, 0, 0] = 1.0
    v_g = -4 * np.pi * charge * np.exp(-(beta_bohr**2) * g2 / 4)
    v_g /= dielectric_constant * g2 * volume
    v_g[0, 0, 0] = 0.0
    v_g = v_g * np.exp(-2j * np.pi * (idx @ np.asarray(frac_coords, dtype=float)))
    return np.real(np.fft.ifftn(v_g)) * np.prod(shape) * HARTREE_EV


def planar(grid: np.ndarray) -> list[np.ndarray]:
    """Planar averages of a 3D grid along axes 0, 1, 2."""
    return [grid.mean(axis=tuple(j for j in range(3) if j != i)) for i in range(3)]


class VaspCellFake:
    """Callable replacing ``run_vasp``: outputs of a reference run re-cut for any cell.

    Parameters
    ----------
    reference
        Folder with the reference ``vasprun.xml(.gz)`` and ``OUTCAR(.gz)``.
    energy
        ``energy(structure, charge) -> eV`` of the cell.
    potential
        ``potential(structure, charge) -> 3D array`` (eV) written as LOCPOT when the INCAR
        has LVHAR; None writes none.
    zval
        Valence electrons per element (POTCARs are licensed and not available), to turn
        NELECT into the cell charge.
    write_locpot
        False: never write a LOCPOT (a run whose LOCPOT went missing).
    """

    def __init__(
        self,
        reference: str | Path,
        energy: Callable[[Structure, int], float],
        potential: Callable[[Structure, int], np.ndarray] | None = None,
        zval: dict[str, float] | None = None,
        write_locpot: bool = True,
    ) -> None:
        reference = Path(reference)
        self.tree = ET.parse(_open(reference, "vasprun.xml"))
        with _open(reference, "OUTCAR") as handle:
            # per-ion tables of the reference cell would not match the new cell: unlabel them
            self.outcar = (
                handle.read()
                .replace(b" magnetization (x)", b" (per-ion magnetization dropped)")
                .replace(b" total charge     \n", b" (per-ion charges dropped)\n")
                .replace(
                    b"average (electrostatic) potential at core",
                    b"(per-ion electrostatic potentials dropped)",
                )
            )
        self.energy = energy
        self.potential = potential
        self.zval = zval or {}
        self.write_locpot = write_locpot
        self.calls: list[dict[str, Any]] = []

    def charge(self, structure: Structure, incar: Incar) -> int:
        """Cell charge from NELECT (0 without NELECT)."""
        if "NELECT" not in incar:
            return 0
        neutral = sum(self.zval[site.specie.symbol] for site in structure)
        return round(neutral - float(incar["NELECT"]))

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Write the outputs for the POSCAR/INCAR in the current folder."""
        folder = Path.cwd()
        incar = Incar.from_file(folder / "INCAR")
        structure = Poscar.from_file(folder / "POSCAR").structure
        charge = self.charge(structure, incar)
        energy = float(self.energy(structure, charge))
        self.calls.append(
            {"dir": str(folder), "incar": dict(incar), "n_atoms": len(structure), "charge": charge}
        )
        (folder / "vasprun.xml").write_bytes(self._vasprun(structure, energy))
        (folder / "OUTCAR").write_bytes(self.outcar)
        (folder / "CONTCAR").write_text(Poscar(structure).get_str(significant_figures=12))
        if incar.get("LVHAR") and self.potential is not None and self.write_locpot:
            grid = np.asarray(self.potential(structure, charge), dtype=float)
            Locpot(Poscar(structure), {"total": grid}).write_file(str(folder / "LOCPOT"))

    def _vasprun(self, structure: Structure, energy: float) -> bytes:
        root = copy.deepcopy(self.tree.getroot())
        symbols = [site.specie.symbol for site in structure]
        order = list(dict.fromkeys(symbols))
        info = root.find("atominfo")
        info.find("atoms").text = f" {len(symbols):7d} "
        info.find("types").text = f" {len(order):7d} "
        rows = info.find("array[@name='atoms']/set")
        for rc in list(rows):
            rows.remove(rc)
        for s in symbols:
            rc = ET.SubElement(rows, "rc")
            ET.SubElement(rc, "c").text = f"{s:2s}"
            ET.SubElement(rc, "c").text = f"{order.index(s) + 1:4d}"
        types = info.find("array[@name='atomtypes']/set")
        by_el = {rc[1].text.strip(): rc for rc in types}
        for rc in list(types):
            types.remove(rc)
        for s in order:
            rc = copy.deepcopy(by_el[s])
            rc[0].text = f"{symbols.count(s):4d}"
            types.append(rc)
        for node in root.iter("structure"):
            if node.attrib.get("name") != "primitive_cell":
                _set_structure(node, structure)
        for calc in root.findall("calculation"):
            forces = calc.find("varray[@name='forces']")
            for v in list(forces):
                forces.remove(v)
            for _ in symbols:
                ET.SubElement(forces, "v").text = "  0.0  0.0  0.0 "
            blocks = [calc.find("energy"), calc.findall("scstep")[-1].find("energy")]
            for block in blocks:
                for i in block.findall("i"):
                    if i.attrib.get("name") in ("e_fr_energy", "e_wo_entrp", "e_0_energy"):
                        i.text = f" {energy:16.8f} "
            dos = calc.find("dos")
            if dos is not None and dos.find("partial") is not None:
                dos.remove(dos.find("partial"))
            if calc.find("projected") is not None:
                calc.remove(calc.find("projected"))
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _open(folder: Path, name: str):
    if (folder / name).exists():
        return open(folder / name, "rb")
    return gzip.open(folder / f"{name}.gz", "rb")


def _set_structure(node: ET.Element, structure: Structure) -> None:
    crystal = node.find("crystal")
    for name, matrix in (
        ("basis", structure.lattice.matrix),
        ("rec_basis", structure.lattice.reciprocal_lattice_crystallographic.matrix),
    ):
        rows = crystal.find(f"varray[@name='{name}']")
        for v, xyz in zip(rows, matrix, strict=True):
            v.text = " ".join(f"{x:16.8f}" for x in xyz) + " "
    crystal.find("i[@name='volume']").text = f" {structure.volume:16.8f} "
    positions = node.find("varray[@name='positions']")
    for v in list(positions):
        positions.remove(v)
    for site in structure:
        ET.SubElement(positions, "v").text = " ".join(f"{x:16.8f}" for x in site.frac_coords)
