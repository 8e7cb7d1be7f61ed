"""From defect thermodynamics to conductivity: the equilibrium carrier concentration (pure).

An MD cell holds a fixed number of defects (one V_Li, one Li_i+S_Cl pair, ...), so the σ of
the MD cell is that of its concentration c_MD = N_cell / V_cell. In the dilute limit each
defect carries the current with the mobility μ = q D_carrier / (k_B T) (Nernst–Einstein,
D_carrier = D_Li · N_Li / N_cell from the tracer D of the Li in the cell), so

    σ = c q μ = c q² D_carrier / (k_B T),   σ_eq / σ_MD = c_eq / c_MD,

with c_eq = m exp(-E_f / k_B T_synth) / V_supercell the dilute-limit concentration at the
synthesis temperature (m: equivalent configurations per defect supercell; E_f at the
chosen chemical potentials; a charged defect's E_f at the document's Fermi level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ionflow.analysis.conductivity import BOLTZMANN_EV_K
from ionflow.analysis.defect_thermo import A3_TO_CM3
from ionflow.errors import InputError

__all__ = ["DefectConductivity", "defect_limited_conductivity", "equilibrium_concentration_cm3"]


def equilibrium_concentration_cm3(
    formation_energy_eV: float, multiplicity: int, supercell_volume_A3: float, temperature_K: float
) -> float:
    """Dilute-limit (Boltzmann) concentration ``m exp(-E_f / k_B T) / V`` in cm⁻³."""
    if temperature_K <= 0 or supercell_volume_A3 <= 0 or multiplicity < 1:
        raise InputError("concentration needs T > 0, a cell volume > 0 and a multiplicity >= 1")
    if not math.isfinite(formation_energy_eV):
        raise InputError(f"formation energy {formation_energy_eV}")
    boltzmann = math.exp(-formation_energy_eV / (BOLTZMANN_EV_K * temperature_K))
    return multiplicity * boltzmann / (supercell_volume_A3 * A3_TO_CM3)


@dataclass(frozen=True)
class DefectConductivity:
    """σ implied by the equilibrium defect concentration, next to the MD cell's σ.

    Attributes
    ----------
    synthesis_temperature_K
        Temperature the defects equilibrate at (K).
    concentration_eq_cm3, concentration_md_cm3
        Equilibrium concentration and that of the MD cell (cm⁻³).
    conductivity_eq_mS_cm, conductivity_md_mS_cm
        σ at the same temperature as the MD σ given (mS/cm).
    """

    synthesis_temperature_K: float
    concentration_eq_cm3: float
    concentration_md_cm3: float
    conductivity_eq_mS_cm: float
    conductivity_md_mS_cm: float


def defect_limited_conductivity(
    conductivity_md_mS_cm: float,
    defects_in_md_cell: int,
    md_cell_volume_A3: float,
    formation_energy_eV: float,
    multiplicity: int,
    supercell_volume_A3: float,
    synthesis_temperature_K: float,
) -> DefectConductivity:
    """σ = c q μ with the equilibrium c and the mobility of the MD cell's carriers.

    Parameters
    ----------
    conductivity_md_mS_cm
        σ of the MD cell (mS/cm), e.g. the Arrhenius extrapolation to 300 K (> 0).
    defects_in_md_cell
        Carriers (defects) in the MD cell.
    md_cell_volume_A3
        Volume of the MD cell (Å³).
    formation_energy_eV, multiplicity, supercell_volume_A3
        The defect's formation energy, its equivalent configurations per defect supercell
        and that supercell's volume.
    synthesis_temperature_K
        Temperature at which the defect population equilibrates (K).

    Returns
    -------
    DefectConductivity
        Both concentrations and both conductivities.
    """
    if not conductivity_md_mS_cm > 0 or defects_in_md_cell < 1 or md_cell_volume_A3 <= 0:
        raise InputError("needs a positive MD conductivity, >= 1 defect and a cell volume")
    c_eq = equilibrium_concentration_cm3(
        formation_energy_eV, multiplicity, supercell_volume_A3, synthesis_temperature_K
    )
    c_md = defects_in_md_cell / (md_cell_volume_A3 * A3_TO_CM3)
    return DefectConductivity(
        synthesis_temperature_K=float(synthesis_temperature_K),
        concentration_eq_cm3=c_eq,
        concentration_md_cm3=c_md,
        conductivity_eq_mS_cm=conductivity_md_mS_cm * c_eq / c_md,
        conductivity_md_mS_cm=conductivity_md_mS_cm,
    )
