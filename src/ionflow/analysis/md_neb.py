"""Cross-check of the MD activation energy against the NEB barrier of the dominant hop.

A band refused for having no saddle (flat or monotonic) bounds its hop's barrier by its
energy span; the MD Ea is then compared with the interval [0, span].

In a cell whose carrier count is fixed by its defects, the Arrhenius energy of the MD
is the migration barrier of the rate-limiting hop of the mechanism the MD actually
uses (no formation term). The CI-NEB of that hop on the same cell with the same
potential must then give the same number within the MD's error bar; if not, the two
do not see the same mechanism, and the explanation says which way it points.
"""

from __future__ import annotations

from ionflow.schemas.md_neb import MdNebCheck

__all__ = ["AGREEMENT_SIGMA", "compare_md_neb"]

#: agreement: |Ea_MD − E_NEB| within this many σ(Ea_MD)
AGREEMENT_SIGMA = 2.0


def compare_md_neb(
    ea_eV: float | None,
    ea_std_eV: float | None,
    md_source: str,
    barrier_eV: float | None,
    hop: str,
    barrier_bound_eV: float | None = None,
    no_ea_reason: str | None = None,
) -> MdNebCheck:
    """Compare an MD activation energy with a NEB barrier.

    Parameters
    ----------
    ea_eV, ea_std_eV
        Activation energy from MD and its standard error (eV); None if not fitted.
    md_source
        Which MD estimate it is (shown in the explanation).
    barrier_eV
        Barrier of the dominant hop (eV): the percolating network's, else the lowest
        converged hop's; None if no band converged.
    hop
        Label of that hop or network.
    barrier_bound_eV
        When no band converged: the energy span of a band refused for having no saddle
        (eV). Its hop's barrier lies between 0 and this span, and the MD Ea is compared
        with that interval.
    no_ea_reason
        Why the MD has no activation energy (a fit judged not physical), when it has none.

    Returns
    -------
    MdNebCheck
        The verdict with the deviation in standard errors and an explanation.
    """
    base = {
        "md_activation_energy_eV": ea_eV,
        "md_activation_energy_std_eV": ea_std_eV,
        "md_source": md_source,
        "neb_barrier_eV": barrier_eV,
        "neb_barrier_bound_eV": barrier_bound_eV if barrier_eV is None else None,
        "neb_hop": hop,
    }
    if ea_eV is None or ea_std_eV is None or not ea_std_eV > 0:
        why = (
            f"the MD activation energy is not determined: {no_ea_reason}"
            if no_ea_reason
            else "the MD gave no activation energy with an error bar (too few diffusing "
            "temperatures)"
        )
        return MdNebCheck(verdict="not compared", explanation=why, **base)
    if barrier_eV is None and barrier_bound_eV is None:
        why = "no NEB band converged, so there is no barrier to compare with"
        return MdNebCheck(verdict="not compared", explanation=why, **base)
    if barrier_eV is not None:  # a barrier: the interval [b, b]
        lo = hi = barrier_eV
        neb = f"the CI-NEB barrier of {hop} ({barrier_eV:.3f} eV)"
        carried = "the MD diffusion is carried by this hop"
    else:  # a band without a saddle: its hop's barrier lies in [0, span]
        lo, hi = 0.0, barrier_bound_eV
        neb = (
            f"the CI-NEB of {hop}, which finds no saddle (the band stays within "
            f"{1000 * hi:.0f} meV, so this hop's barrier is below {hi:.3f} eV)"
        )
        carried = (
            "for this potential the hop is nearly barrierless and the MD diffusion is "
            "carried by such hops"
        )
    # signed distance of Ea from [lo, hi] in standard errors (0 inside it)
    z = (max(ea_eV - hi, 0.0) + min(ea_eV - lo, 0.0)) / ea_std_eV
    pm = f"{ea_eV:.3f} ± {ea_std_eV:.3f} eV ({md_source})"
    if abs(z) <= AGREEMENT_SIGMA:
        text = f"MD Ea {pm} and {neb} agree within {AGREEMENT_SIGMA:g}σ ({z:+.1f}σ): {carried}"
        return MdNebCheck(verdict="agree", difference_sigma=z, explanation=text, **base)
    if z > 0:
        text = (
            f"MD Ea {pm} lies {z:.1f}σ above {neb}: long-range diffusion in the MD is "
            "limited by a higher step than this hop (a carrier bound to its compensating "
            "dopant must escape it, or this hop alone does not form a connected path)"
        )
    else:
        text = (
            f"MD Ea {pm} lies {-z:.1f}σ below {neb}: the MD finds an easier path than the "
            "computed hop (a concerted or interstitialcy move, or a hop the enumeration did "
            "not list), or the few temperatures make Ea too uncertain"
        )
    return MdNebCheck(verdict="differ", difference_sigma=z, explanation=text, **base)
