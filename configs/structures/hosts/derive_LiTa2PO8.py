"""Derive the ordered LiTa2PO8 host (LiTa2PO8.cif) from the OBELiX CIF (provenance: README.md).

The OBELiX CIF (entry 'ard', ICSD 267438 with random noise of 0.01 in fractional
coordinates added by OBELiX) spreads 8 Li per conventional cell over three partially
occupied sites (occupancies 0.72, 0.21, 0.14). We keep the majority site (8f, occupancy
0.72) fully occupied and drop the two minority sites, which gives the stoichiometric
ordered cell, then write the symmetrised primitive cell (48 atoms, C2/c).
"""

import warnings

from pymatgen.core import Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

warnings.filterwarnings("ignore")
disordered = CifParser("LiTa2PO8_obelix_ard.cif").parse_structures(primitive=False)[0]
species, coords = [], []
for site in disordered:
    (element, occupancy), *_ = site.species.items()
    if element.symbol == "Li" and abs(occupancy - 0.72) > 1e-6:
        continue
    species.append(element.symbol)
    coords.append(site.frac_coords)
ordered = Structure(disordered.lattice, species, coords)
assert ordered.composition.reduced_formula == "LiTa2PO8"
primitive = SpacegroupAnalyzer(ordered, symprec=0.1).get_primitive_standard_structure()
assert len(primitive) == 48
primitive.to(filename="LiTa2PO8.cif")
