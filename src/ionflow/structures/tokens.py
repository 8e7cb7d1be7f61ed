"""Point-defect tokens, Kröger-Vink labels, oxidation states and spec expansion.

A spec (:class:`ionflow.schemas.defect_spec.DefectSection`) expands to a list of point-defect
*tokens*: ``V_Li`` (vacancy), ``Li_i`` (interstitial), ``O_Cl`` (O on a Cl site).
Effective (Kröger-Vink) charges come from oxidation states: vacancy ``-z(host)``,
interstitial ``+z``, substitution ``z(new) - z(host)``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
from pymatgen.core import Composition, Element

from ionflow.errors import InputError

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from ionflow.schemas.defect_spec import DefectSection

__all__ = [
    "PointDefect",
    "expand_spec",
    "host_oxidation_states",
    "kroger_vink",
    "parse_token",
]

_TOKEN = re.compile(r"^(?:V_([A-Z][a-z]?)|([A-Z][a-z]?)_i|([A-Z][a-z]?)_([A-Z][a-z]?))$")


class PointDefect:
    """One point defect named by a token (``V_Li``, ``Li_i``, ``O_Cl``)."""

    def __init__(self, token: str) -> None:
        match = _TOKEN.match(token.strip())
        if not match:
            raise InputError(
                f"defect {token!r} is not understood; write V_X (vacancy), X_i (interstitial) "
                "or A_B (A on a B site), e.g. V_Li, Li_i, O_Cl"
            )
        vac, inter, sub, site = match.groups()
        if vac:
            self.kind, self.species, self.host_species = "vacancy", vac, vac
        elif inter:
            self.kind, self.species, self.host_species = "interstitial", inter, None
        else:
            if sub == site:
                raise InputError(f"defect {token!r} puts {sub} on its own site; nothing changes")
            self.kind, self.species, self.host_species = "substitution", sub, site
        for el in {self.species, self.host_species} - {None}:
            if not Element.is_valid_symbol(el):
                raise InputError(f"defect {token!r}: {el!r} is not an element symbol")
        self.token = token.strip()

    def effective_charge(self, oxi: dict[str, float]) -> float:
        """Nominal effective charge (e) from the oxidation states ``oxi``."""
        if self.kind == "vacancy":
            return -oxi[self.species]
        if self.kind == "interstitial":
            return oxi[self.species]
        return oxi[self.species] - oxi[self.host_species]


def parse_token(token: str) -> PointDefect:
    """Parse a point-defect token such as ``V_Li``, ``Li_i`` or ``O_Cl``."""
    return PointDefect(token)


def _kv_mark(charge: int) -> str:
    if charge > 0:
        return "^" + "•" * charge
    if charge < 0:
        return "'" * (-charge)
    return "^x"


def kroger_vink(tokens: list[str], charges: list[int]) -> str:
    """Return Kröger-Vink notation, e.g. ``V_Li' + V_Cl^•`` or ``V_La''' + 3Li_i^•``."""
    counts = Counter(zip(tokens, charges, strict=True))
    parts = []
    for (tok, q), n in counts.items():
        parts.append(f"{n if n > 1 else ''}{tok}{_kv_mark(q)}")
    return " + ".join(parts)


def host_oxidation_states(
    structure: Structure, override: dict[str, float] | None = None
) -> dict[str, float]:
    """Oxidation state per element of the host (override > decorated structure > guess)."""
    comp = structure.composition
    if override:
        missing = {el.symbol for el in comp.element_composition} - set(override)
        if not missing:
            return dict(override)
    oxi: dict[str, float] = {}
    if all(hasattr(sp, "oxi_state") and sp.oxi_state is not None for sp in comp):
        for sp in comp:
            oxi[sp.symbol] = float(sp.oxi_state)
    else:
        reduced = Composition(comp.element_composition.reduced_formula)
        guesses = [g] if (g := _common_state_guess(reduced)) else reduced.oxi_state_guesses()
        if not guesses and not override:
            raise InputError(
                f"cannot guess oxidation states of {comp.reduced_formula}; give "
                "oxidation_states: {El: z, ...} in the defect spec"
            )
        oxi = dict(guesses[0]) if guesses else {}
    oxi.update(override or {})
    return {k: float(v) for k, v in oxi.items()}


def _common_state_guess(comp: Composition) -> dict[str, float] | None:
    """Neutral assignment from each element's common oxidation states (fast path).

    pymatgen's ``oxi_state_guesses`` loads a large probability table (seconds); for
    ordinary ionic hosts the common states already give one neutral answer. Among several,
    the one with no cation more electronegative than an anion, then using the most common
    states (lowest positions in each list), wins.
    """
    elements = [el.symbol for el in comp.elements]
    options = [Element(el).common_oxidation_states or (0,) for el in elements]
    best = None
    for combo in itertools.product(*(list(enumerate(o)) for o in options)):
        total = sum(state * comp[el] for el, (_, state) in zip(elements, combo, strict=True))
        if abs(total) > 1e-6:
            continue
        states = [st for _, st in combo]
        chi = [Element(el).X for el in elements]
        # a cation more electronegative than an anion is chemically implausible
        inverted = sum(
            1
            for (ci, si), (cj, sj) in itertools.product(zip(chi, states, strict=True), repeat=2)
            if si > 0 > sj and ci > cj
        )
        rank = 100 * inverted + sum(pos for pos, _ in combo)
        if best is None or rank < best[0]:
            best = (rank, {el: float(st) for el, (_, st) in zip(elements, combo, strict=True)})
    return best[1] if best else None


def _foreign_state(element: str, sign: float) -> float:
    """Most common oxidation state of an element with the given sign."""
    states = [s for s in Element(element).common_oxidation_states if np.sign(s) == np.sign(sign)]
    if not states:
        raise InputError(
            f"{element} has no common oxidation state of sign {int(np.sign(sign)):+d}; give "
            "oxidation_states in the defect spec"
        )
    return float(states[0])


def expand_spec(spec: DefectSection, oxi: dict[str, float]) -> list[str]:
    """Expand a spec into point-defect tokens (compensation included).

    Parameters
    ----------
    spec
        The defect spec.
    oxi
        Oxidation states (updated in place with those of foreign species).

    Returns
    -------
    list of str
        Tokens; the first is the "core" the separations are measured from.
    """
    sp = spec.species

    def need(n: int) -> None:
        if len(sp) != n:
            raise InputError(f"defect type {spec.type!r} needs {n} species, got {sp!r}")

    if spec.type == "vacancy":
        need(1)
        tokens = [f"V_{sp[0]}"]
    elif spec.type == "interstitial":
        need(1)
        tokens = [f"{sp[0]}_i"]
    elif spec.type == "substitution":
        need(2)
        tokens = [f"{sp[0]}_{sp[1]}"]
    elif spec.type == "frenkel":
        need(1)
        tokens = [f"V_{sp[0]}", f"{sp[0]}_i"]
    elif spec.type == "schottky":
        need(2)
        za, zb = (abs(oxi.get(el, 0.0)) for el in sp)
        if not za or not zb or round(za) != za or round(zb) != zb:
            raise InputError(f"schottky {sp}: species must be in the host with integer charges")
        g = np.gcd(int(za), int(zb))
        tokens = [f"V_{sp[0]}"] * (int(zb) // g) + [f"V_{sp[1]}"] * (int(za) // g)
    else:  # cluster / pair
        if not spec.defects:
            raise InputError(f"defect type {spec.type!r} needs 'defects: [V_Li, Li_i, ...]'")
        tokens = list(spec.defects)
    defects = [PointDefect(t) for t in tokens]
    for d in defects:
        if d.species not in oxi:
            sign = oxi[d.host_species] if d.kind == "substitution" else 1.0
            oxi[d.species] = _foreign_state(d.species, sign)
    if spec.compensation:
        comp = PointDefect(spec.compensation)
        if comp.species not in oxi:
            sign = oxi.get(comp.host_species, 1.0) if comp.kind == "substitution" else 1.0
            oxi[comp.species] = _foreign_state(comp.species, sign)
        total = sum(d.effective_charge(oxi) for d in defects)
        q_comp = comp.effective_charge(oxi)
        n = -total / q_comp if q_comp else 0.0
        if total == 0 or n <= 0 or abs(n - round(n)) > 1e-6:
            raise InputError(
                f"{' + '.join(tokens)} (charge {total:+g}) cannot be neutralised by "
                f"{comp.token} (charge {q_comp:+g}); choose a compensating defect of opposite "
                "charge that divides it"
            )
        tokens += [comp.token] * round(n)
    return tokens
