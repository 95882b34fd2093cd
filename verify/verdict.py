r"""Verdicts: ``holds``, ``fails`` or ``inconclusive``, with evidence, precision and a reproduce line.

A check is a list of :class:`Requirement` s, each a number decided at two precisions
(:func:`verify.numeric.zero_decision`) that must be zero (an identity residual) or strictly
positive (an eigenvalue that must not vanish). The verdict

* ``holds`` when every requirement is decided and satisfied,
* ``fails`` when some requirement is decided and violated,
* ``inconclusive`` otherwise (a decision changed between ``dps`` and ``2·dps``).

``margin`` is the worst number of decimal digits between a requirement's value and its
threshold (positive: room to spare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath

from .numeric import ZeroDecision, zero_decision, zero_threshold

__all__ = ["HOLDS", "FAILS", "INCONCLUSIVE", "Requirement", "Verdict", "judge"]

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"


@dataclass(frozen=True)
class Requirement:
    """A named number that must be zero (``expect="zero"``) or strictly positive (``expect="positive"``)."""

    name: str
    decision: ZeroDecision
    expect: str = "zero"
    signed_value: object = None  # for "positive": the value at dps with its sign

    @classmethod
    def zero(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "zero")

    @classmethod
    def positive(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "positive", mpmath.mpf(low))

    @property
    def satisfied(self) -> bool | None:
        z = self.decision.is_zero
        if z is None:
            return None
        if self.expect == "zero":
            return z
        return (not z) and self.signed_value > 0

    @property
    def margin(self) -> float:
        """Decimal digits of room between the value and the zero threshold at ``dps``."""
        value = self.decision.value
        threshold = zero_threshold(self.decision.dps)
        if value == 0:
            return float(self.decision.dps)
        digits = float(mpmath.log10(threshold / value))
        return digits if self.expect == "zero" else -digits

    def evidence(self) -> dict:
        out = {"expect": self.expect, **self.decision.evidence()}
        if self.signed_value is not None:
            out["value"] = mpmath.nstr(self.signed_value, 5)
        out["satisfied"] = self.satisfied
        return out


@dataclass(frozen=True)
class Verdict:
    """A frozen record of one proposition on one case; :meth:`to_json` is its serialisation."""

    proposition: str
    case: str
    status: str
    evidence: dict
    dps: int
    reproduce: str
    margin: float | None = None
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        return {
            "proposition": self.proposition,
            "case": self.case,
            "status": self.status,
            "margin_digits": None if self.margin is None else round(self.margin, 2),
            "dps": self.dps,
            "evidence": self.evidence,
            "notes": list(self.notes),
            "reproduce": self.reproduce,
        }


def judge(proposition: str, case: str, requirements: list[Requirement], dps: int, reproduce: str,
          extra: dict | None = None, notes: tuple[str, ...] = ()) -> Verdict:
    """Combine requirements into a verdict (see the module docstring)."""
    outcomes = [r.satisfied for r in requirements]
    if any(o is False for o in outcomes):
        status = FAILS
    elif any(o is None for o in outcomes):
        status = INCONCLUSIVE
    else:
        status = HOLDS
    margins = [r.margin for r in requirements if math.isfinite(r.margin)]
    evidence = {r.name: r.evidence() for r in requirements}
    if extra:
        evidence.update(extra)
    return Verdict(proposition, case, status, evidence, dps, reproduce, min(margins) if margins else None, notes)
