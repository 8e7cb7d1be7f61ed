"""Fake VASP for MD tests: replay a real VASP MD run (``vasprun.xml``) from any of its steps.

Like atomate2's ``atomate2.utils.testing.vasp`` fakes, :class:`VaspMDReplay` stands in
for the VASP executable: it checks the inputs ionflow wrote (INCAR keys, POSCAR
positions and velocities) and writes the outputs VASP would have written. Unlike a fixed
per-job reference folder, it cuts the outputs out of one real run, so a run split into
any number of chained segments (or resumed after a simulated crash) replays exactly the
frames of the original run.

- ``vasprun.xml``: ionic blocks ``j .. j+n-1`` of the reference (block ``i`` holds the
  positions at step ``i``) with ``initialpos``/``finalpos`` set to steps ``j``/``j+n``;
- ``CONTCAR``: positions at step ``j+n`` with velocities. The reference file has no
  velocities after the first step, so the fake uses forward differences of the
  reference positions (Å/fs); what matters is that the next segment must hand them back.

Usage: ``monkeypatch.setattr("ionflow.engines.vasp.segment.run_vasp", replay)``.
"""

from __future__ import annotations

import copy
import gzip
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Incar, Poscar

__all__ = ["SimulatedCrash", "VaspMDReplay"]


class SimulatedCrash(RuntimeError):
    """Raised by the fake in place of a node failure in the middle of a run."""


class VaspMDReplay:
    """Callable replacing ``run_vasp``: replay a reference MD run from the POSCAR's step.

    Parameters
    ----------
    vasprun
        Reference ``vasprun.xml`` (gzipped or not) of an MD run (IBRION = 0).
    check_incar
        INCAR keys that must equal the reference's (NSW is checked against the steps
        left in the reference, IBRION must be 0).
    """

    def __init__(
        self,
        vasprun: str | Path,
        check_incar: tuple[str, ...] = ("POTIM", "TEBEG", "MDALGO", "SMASS", "ISIF"),
    ) -> None:
        opener = gzip.open if str(vasprun).endswith(".gz") else open
        with opener(vasprun, "rb") as handle:
            self.tree = ET.parse(handle)
        root = self.tree.getroot()
        self.ref_incar = {i.attrib["name"]: _value(i.text) for i in root.find("incar")}
        self.check_incar = check_incar
        basis = root.find("structure[@name='initialpos']/crystal/varray[@name='basis']")
        self.lattice = Lattice(np.array([[float(x) for x in v.text.split()] for v in basis]))
        self.species = [
            rc[0].text.strip()
            for rc in root.find("atominfo/array[@name='atoms']/set").findall("rc")
        ]
        blocks = [_positions(c.find("structure")) for c in root.findall("calculation")]
        final = _positions(root.find("structure[@name='finalpos']"))
        self.frac = np.array([*blocks, final])  # steps 0 .. n_steps
        self.n_steps = len(blocks)
        potim = float(self.ref_incar["POTIM"])
        d = np.diff(self.frac, axis=0)
        d -= np.round(d)
        vel = d @ self.lattice.matrix / potim
        self.velocities = np.concatenate([vel, vel[-1:]])  # Å/fs at steps 0 .. n_steps
        self.calls: list[dict[str, Any]] = []
        self.crash_after: int | None = None

    def structure(self, step: int = 0) -> Structure:
        """Return the reference structure at ``step`` (no velocities)."""
        return Structure(self.lattice, self.species, self.frac[step])

    def __call__(self, **run_vasp_kwargs: Any) -> None:
        """Check the inputs in the current folder and write the replayed outputs."""
        folder = Path.cwd()
        incar = Incar.from_file(folder / "INCAR")
        poscar = Poscar.from_file(folder / "POSCAR")
        if int(incar.get("IBRION", -1)) != 0:
            raise AssertionError(f"fake VASP: IBRION must be 0 for MD, INCAR has {incar}")
        for key in self.check_incar:
            want, got = self.ref_incar.get(key), incar.get(key)
            if want is not None and (got is None or not np.isclose(float(got), float(want))):
                raise AssertionError(f"fake VASP: INCAR {key} = {got}, reference has {want}")
        j = self._match(poscar.structure)
        n = int(incar["NSW"])
        if j + n > self.n_steps:
            raise AssertionError(
                f"fake VASP: NSW {n} from step {j} runs past the reference ({self.n_steps})"
            )
        if j > 0:
            if poscar.velocities is None:
                raise AssertionError(f"fake VASP: continuation from step {j} without velocities")
            if not np.allclose(poscar.velocities, self.velocities[j], atol=1e-8):
                raise AssertionError(f"fake VASP: POSCAR velocities differ from step {j}'s")
        ml_ab = folder / "ML_AB"
        self.calls.append(
            {
                "first_step": j,
                "nsw": n,
                "dir": str(folder),
                "ml_ab": ml_ab.read_text() if ml_ab.exists() else None,
            }
        )
        stop = n if self.crash_after is None else min(n, self.crash_after)
        if stop < n:
            # node failure during step `stop`: its ionic block is cut off mid-way, CONTCAR
            # already holds the positions after the last complete step
            xml = self._vasprun(j, stop + 1)
            xml = xml[: xml.rfind(b"<calculation>") + 200]
        else:
            xml = self._vasprun(j, n)
        (folder / "vasprun.xml").write_bytes(xml)
        if incar.get("ML_LMLFF"):
            # stand-in for the on-the-fly force-field data set VASP would write
            (folder / "ML_ABN").write_text(f"ML_AB after step {j + stop}\n")
        contcar = Poscar(self.structure(j + stop), velocities=self.velocities[j + stop].tolist())
        (folder / "CONTCAR").write_text(contcar.get_str(significant_figures=16))
        if stop < n:
            raise SimulatedCrash(f"fake VASP: node failure after {stop} of {n} steps")

    def _match(self, structure: Structure) -> int:
        d = self.frac - structure.frac_coords[None]
        d -= np.round(d)
        err = np.abs(d).max(axis=(1, 2))
        j = int(np.argmin(err))
        if err[j] > 1e-6:
            raise AssertionError(
                f"fake VASP: POSCAR matches no step of the reference run (closest: step {j}, "
                f"{err[j]:.2e} fractional)"
            )
        if [s.specie.symbol for s in structure] != self.species:
            raise AssertionError("fake VASP: POSCAR species differ from the reference")
        return j

    def _vasprun(self, first: int, n: int) -> bytes:
        root = copy.deepcopy(self.tree.getroot())
        calcs = root.findall("calculation")
        for i, calc in enumerate(calcs):
            if not first <= i < first + n:
                root.remove(calc)
        _set_positions(root.find("structure[@name='initialpos']"), self.frac[first])
        _set_positions(root.find("structure[@name='finalpos']"), self.frac[first + n])
        for node in root.iter("i"):
            if node.attrib.get("name") == "NSW":
                node.text = f" {n:5d}"
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _value(text: str | None) -> Any:
    text = (text or "").strip()
    try:
        return float(text)
    except ValueError:
        return text


def _positions(structure: ET.Element) -> np.ndarray:
    rows = structure.find("varray[@name='positions']")
    return np.array([[float(x) for x in v.text.split()] for v in rows])


def _set_positions(structure: ET.Element, frac: np.ndarray) -> None:
    rows = structure.find("varray[@name='positions']")
    for v, xyz in zip(rows, frac, strict=True):
        v.text = " ".join(f"{x:18.12f}" for x in xyz) + " "
