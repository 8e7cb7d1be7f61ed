"""Published DFT numbers and qualitative findings of the design studies, with their sources.

Every number here is quoted in the seed review — J. Ma and Z. Li, "Computational Design
of Inorganic Solid-State Electrolyte Materials for Lithium-Ion Batteries", Acc. Mater.
Res. 2024, 5, 523–532 — as restated in ionflow's ``SCIENCE.md`` and in issue 10 (the
design-study issue). The review summarises the papers it cites; the ``source`` of each
entry names that chain so a reader knows where to look. Nothing here was recomputed.

:data:`PUBLISHED` holds numbers (one :class:`PublishedValue` each), :data:`TRENDS` the
qualitative picture the MLIP runs are checked against (:class:`PublishedTrend`). The
``system`` fields are the system keys of the study files in ``configs/studies/``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "PUBLISHED",
    "REVIEW",
    "TRENDS",
    "PublishedTrend",
    "PublishedValue",
    "published_for",
    "trends_for",
]

REVIEW = "Ma & Li, Acc. Mater. Res. 2024, 5, 523 (via SCIENCE.md / issue 10)"

Quantity = Literal[
    "conductivity_300K_mS_cm",
    "activation_energy_eV",
    "barrier_eV",
    "formation_energy_eV",
    "binding_energy_eV",
    "separation_A",
    "window_reduction_V",
    "window_oxidation_V",
]


class PublishedValue(BaseModel):
    """One published number and how to find its computed counterpart.

    ``selector`` picks the computed value within the system: for ``barrier_eV`` a hop
    kind (``vacancy``, ``interstitial``: interstitial and interstitialcy hops) or a
    direction (``channel``: hops along c, ``inter-channel``: the others) or ``rank:N``
    (the N-th lowest barrier); for defect quantities the point defects of the
    configuration (``V_Li+Li_i``; order does not matter).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    design: str = Field(..., description="Design study key (configs/studies/<design>.yaml).")
    system: str = Field(..., description="System key in the study file.")
    quantity: Quantity = Field(..., description="What was computed (unit in the name).")
    selector: str | None = Field(None, description="Which hop/defect within the system.")
    value: float = Field(..., description="Published value (unit of the quantity).")
    method: str = Field("DFT", description="DFT-AIMD, DFT-NEB, DFT, experiment.")
    source: str = Field(REVIEW, description="Where the number comes from.")
    note: str = Field("", description="Context for the reader.")


class PublishedTrend(BaseModel):
    """A qualitative published finding and how to test it on the computed results.

    ``kind`` and ``operands`` (strings ``system:quantity[:selector]``):

    - ``greater``: operands[0] > operands[1] (σ, D, barrier, energy ...);
    - ``ordering``: the operands in ascending published order;
    - ``no_diffusion``: operands[0] (a system) shows no diffusion at any temperature;
    - ``diffuses``: operands[0] diffuses at ``temperature_K`` or above;
    - ``one_dimensional``: operands[0]'s diffusion is channel-like (D along c dominates);
    - ``turning_point``: the systems in operands (ascending x) have D(x) peaking inside
      the range, and the peak moves to lower x at higher temperature;
    - ``above_hull``: operands[0]'s window reports a hull distance > 0.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    design: str = Field(..., description="Design study key.")
    key: str = Field(..., description="Short identifier.")
    statement: str = Field(..., description="The published finding in words.")
    kind: Literal[
        "greater",
        "ordering",
        "no_diffusion",
        "diffuses",
        "one_dimensional",
        "turning_point",
        "above_hull",
    ]
    operands: tuple[str, ...] = Field(..., min_length=1)
    temperature_K: float | None = Field(None, description="Temperature the finding refers to.")
    source: str = Field(REVIEW)


def _v(design: str, system: str, quantity: str, value: float, **kw: str | None) -> PublishedValue:
    return PublishedValue(design=design, system=system, quantity=quantity, value=value, **kw)


#: Li3OCl defect pairs: selector -> (formation energy eV, binding energy eV, separation Å,
#: note), one row each in :data:`PUBLISHED`
_LI3OCL_PAIRS: dict[str, tuple[float, float, float, str]] = {
    "V_Li+Li_i": (2.002, -0.004, 2.90, "Frenkel pair"),
    "Li_i+O_Cl": (1.676, -0.660, 1.78, ""),
    "Li_i+S_Cl": (1.141, -0.031, 4.43, ""),
    "V_Li+V_Cl": (1.398, -0.074, 4.77, ""),
}

PUBLISHED: tuple[PublishedValue, ...] = (
    # --- 1. Li3OCl antiperovskite ---------------------------------------------------------
    _v("li3ocl", "li_i", "barrier_eV", 0.145, selector="interstitial", method="DFT-NEB",
       note="Li interstitial (dumbbell) migration"),
    _v("li3ocl", "vacancy", "barrier_eV", 0.310, selector="rank:1", method="DFT-NEB",
       note="Li vacancy migration, lower of the two quoted barriers"),
    _v("li3ocl", "vacancy", "barrier_eV", 0.367, selector="rank:2", method="DFT-NEB",
       note="Li vacancy migration, higher of the two quoted barriers"),
    _v("li3ocl", "li_i_o_cl", "barrier_eV", 0.66, selector="interstitial", method="DFT-NEB",
       note="Li_i hop next to O_Cl"),
    _v("li3ocl", "li_i_s_cl", "barrier_eV", 0.15, selector="interstitial", method="DFT-NEB",
       note="Li_i hop next to S_Cl"),
    _v("li3ocl", "li_i_s_cl", "conductivity_300K_mS_cm", 1.29, method="DFT-AIMD"),
    _v("li3ocl", "li_i_o_cl", "conductivity_300K_mS_cm", 3.82e-4, method="DFT-AIMD"),
    _v("li3ocl", "vacancy", "conductivity_300K_mS_cm", 5.70e-2, method="DFT-AIMD",
       note="vacancy system (here: the V_Li + V_Cl Schottky cell)"),
    *(_v("li3ocl", "defects", "formation_energy_eV", e_f, selector=pair, note=note)
      for pair, (e_f, _, _, note) in _LI3OCL_PAIRS.items()),
    _v("li3ocl", "defects", "formation_energy_eV", 1.353, selector="S_O"),
    _v("li3ocl", "defects", "formation_energy_eV", 3.778, selector="V_Li",
       note="isolated neutral V_Li"),
    _v("li3ocl", "defects", "formation_energy_eV", 3.026, selector="Li_i",
       note="isolated neutral Li_i"),
    *(_v("li3ocl", "defects", "binding_energy_eV", e_b, selector=pair)
      for pair, (_, e_b, _, _) in _LI3OCL_PAIRS.items()),
    *(_v("li3ocl", "defects", "separation_A", d, selector=pair)
      for pair, (_, _, d, _) in _LI3OCL_PAIRS.items()),
    # --- 3. LaCl3 with La vacancies ---------------------------------------------------------
    _v("lacl3", "la_vacancy", "activation_energy_eV", 0.20, method="DFT-AIMD",
       note="600-1100 K"),
    _v("lacl3", "la_vacancy", "conductivity_300K_mS_cm", 13.8, method="DFT-AIMD"),
    _v("lacl3", "la_vacancy", "barrier_eV", 0.09, selector="channel", method="DFT-NEB",
       note="along the 1D channel (c axis)"),
    _v("lacl3", "la_vacancy", "barrier_eV", 0.31, selector="inter-channel", method="DFT-NEB",
       note="between neighbouring channels"),
    # --- 4. LLTO ------------------------------------------------------------------------------
    _v("llto", "x033", "conductivity_300K_mS_cm", 1.9, method="DFT-AIMD",
       note="x = 0.33 bulk, 1.9e-3 S/cm; experiment ~1e-3 S/cm"),
    _v("llto", "x033", "conductivity_300K_mS_cm", 1.0, method="experiment",
       note="~1e-3 S/cm; AIMD overestimates (fixed carrier concentration, migration-only Ea)"),
    # --- 5. LiTa2PO8 --------------------------------------------------------------------------
    _v("lita2po8", "hops", "barrier_eV", 0.11, selector="rank:1", method="DFT-NEB"),
    _v("lita2po8", "hops", "barrier_eV", 0.15, selector="rank:2", method="DFT-NEB"),
    _v("lita2po8", "hops", "barrier_eV", 0.19, selector="rank:3", method="DFT-NEB"),
    _v("lita2po8", "bulk", "activation_energy_eV", 0.16, method="DFT-AIMD"),
    _v("lita2po8", "bulk", "conductivity_300K_mS_cm", 35.3, method="DFT-AIMD"),
    _v("lita2po8", "bulk", "conductivity_300K_mS_cm", 1.6, method="experiment",
       note="AIMD overestimates sigma(300 K) (see SCIENCE.md)"),
    _v("lita2po8", "window", "window_reduction_V", 2.01, method="DFT"),
    _v("lita2po8", "window", "window_oxidation_V", 4.01, method="DFT",
       note="slightly above the hull: decomposes to Ta9PO25, Li3PO4, TaPO5"),
)  # fmt: skip


def _t(
    design: str, key: str, statement: str, kind: str, *operands: str, **kw: float
) -> PublishedTrend:
    return PublishedTrend(
        design=design, key=key, statement=statement, kind=kind, operands=operands, **kw
    )


TRENDS: tuple[PublishedTrend, ...] = (
    _t("li3ocl", "s_doping_sigma",
       "S on the Cl site raises sigma(300 K) of the Li_i-compensated cell by orders of "
       "magnitude over O on the Cl site (1.29 vs 3.82e-4 mS/cm)",
       "greater", "li_i_s_cl:conductivity_300K_mS_cm", "li_i_o_cl:conductivity_300K_mS_cm"),
    _t("li3ocl", "s_li_i_vs_vacancy_sigma",
       "Li interstitials from S doping conduct orders of magnitude faster than the vacancy "
       "system (sigma(300 K) 1.29 vs 5.70e-2 mS/cm)",
       "greater", "li_i_s_cl:conductivity_300K_mS_cm", "vacancy:conductivity_300K_mS_cm"),
    _t("li3ocl", "sigma_ordering",
       "sigma(300 K): Li_i+O_Cl < vacancy system < Li_i+S_Cl",
       "ordering", "li_i_o_cl:conductivity_300K_mS_cm", "vacancy:conductivity_300K_mS_cm",
       "li_i_s_cl:conductivity_300K_mS_cm"),
    _t("li3ocl", "interstitial_vs_vacancy",
       "the Li interstitial hops with a lower barrier than the Li vacancy (0.145 vs 0.31 eV)",
       "greater", "vacancy:barrier_eV:rank:1", "li_i:barrier_eV:interstitial"),
    _t("li3ocl", "s_lowers_barrier",
       "the Li_i hop barrier falls from 0.66 eV next to O_Cl to 0.15 eV next to S_Cl",
       "greater", "li_i_o_cl:barrier_eV:interstitial", "li_i_s_cl:barrier_eV:interstitial"),
    _t("li3ocl", "formation_ordering",
       "formation energies: Li_i+S_Cl < S_O < V_Li+V_Cl < Li_i+O_Cl < Frenkel < Li_i < V_Li",
       "ordering", "defects:formation_energy_eV:Li_i+S_Cl", "defects:formation_energy_eV:S_O",
       "defects:formation_energy_eV:V_Li+V_Cl", "defects:formation_energy_eV:Li_i+O_Cl",
       "defects:formation_energy_eV:V_Li+Li_i", "defects:formation_energy_eV:Li_i",
       "defects:formation_energy_eV:V_Li"),
    _t("li3ocl", "o_cl_binding",
       "Li_i binds to O_Cl much more strongly than to S_Cl (-0.660 vs -0.031 eV)",
       "greater", "defects:binding_energy_eV:Li_i+S_Cl", "defects:binding_energy_eV:Li_i+O_Cl"),
    _t("li3obr", "pristine_no_diffusion",
       "pristine antiperovskite Li3OBr shows no Li diffusion even at 1500 K",
       "no_diffusion", "pristine", temperature_K=1500.0),
    _t("li3obr", "schottky_turns_on",
       "one LiBr Schottky pair per 24 formula units turns on Li hopping at 1000 K",
       "diffuses", "schottky", temperature_K=1000.0),
    _t("li3obr", "antispinel_faster",
       "the antispinel polymorph diffuses much faster than the antiperovskite",
       "greater", "antispinel:diffusivity_cm2_s", "schottky:diffusivity_cm2_s"),
    _t("lacl3", "one_dimensional",
       "Li diffuses along the 1D channels (c axis) of La-deficient LaCl3",
       "one_dimensional", "la_vacancy"),
    _t("lacl3", "channel_vs_interchannel",
       "the hop along the channel (0.09 eV) is much easier than between channels (0.31 eV)",
       "greater", "la_vacancy:barrier_eV:inter-channel", "la_vacancy:barrier_eV:channel"),
    _t("llto", "crowding_turning_point",
       "Li mobility first rises with x then falls (crowding); the turning point moves to "
       "lower x at higher T (about 0.60/0.55/0.50 at 575/650/750 K)",
       "turning_point", "x033", "x044", "x056", "x061", "x067"),
    _t("lita2po8", "above_hull",
       "LiTa2PO8 is slightly above the convex hull (decomposes to Ta9PO25, Li3PO4, TaPO5)",
       "above_hull", "window"),
)  # fmt: skip


def published_for(design: str) -> list[PublishedValue]:
    """Return the published numbers of one design study."""
    return [p for p in PUBLISHED if p.design == design]


def trends_for(design: str) -> list[PublishedTrend]:
    """Return the published qualitative findings of one design study."""
    return [t for t in TRENDS if t.design == design]
