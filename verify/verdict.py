r"""Verdicts: ``holds``, ``fails`` or ``inconclusive``, with evidence, precision and a reproduce line.

A check is a list of :class:`Requirement` s, each a number decided at two precisions
(:func:`verify.numeric.zero_decision`) that must be zero (an identity residual) or strictly
positive (an eigenvalue that must not vanish). The verdict

* ``holds`` when every requirement is decided and satisfied,
* ``fails`` when some requirement is decided and violated,
* ``inconclusive`` otherwise (a decision changed between ``dps`` and ``2·dps``, or nothing, or less
  than the proposition promises, was checked).

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
    """A named number decided at two precisions, with what it must be.

    ``expect`` is ``"zero"``, ``"positive"`` (nonzero and > 0), ``"nonnegative"`` (zero or > 0),
    ``"nonpositive"`` (zero or < 0), or ``"fact"`` (a decided yes/no, e.g. two dimensions agree).
    """

    name: str
    decision: ZeroDecision
    expect: str = "zero"
    signed_value: object = None  # for sign requirements: the value at dps with its sign
    signed_value_high: object = None  # for sign requirements: the value at 2·dps with its sign

    @classmethod
    def zero(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "zero")

    @classmethod
    def positive(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "positive", mpmath.mpf(low), mpmath.mpf(high))

    @classmethod
    def nonnegative(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "nonnegative", mpmath.mpf(low), mpmath.mpf(high))

    @classmethod
    def nonpositive(cls, name: str, low, high, dps: int) -> "Requirement":
        return cls(name, zero_decision(low, high, dps), "nonpositive", mpmath.mpf(low), mpmath.mpf(high))

    @classmethod
    def fact(cls, name: str, holds: bool | None, dps: int, detail=None) -> "Requirement":
        """A yes/no decided elsewhere (``None``: undecided); ``detail`` goes into the evidence."""
        one = mpmath.mpf(0 if holds else 1)
        decided = None if holds is None else bool(holds)
        decision = ZeroDecision(decided, one, one, dps, decided, decided)
        return cls(name, decision, "fact", detail)

    @property
    def satisfied(self) -> bool | None:
        """``True``/``False`` when decided; a sign requirement is decided when both precisions agree on it.

        For ``nonnegative`` (``nonpositive``), each precision satisfies it when its value is zero
        (below that precision's threshold) or positive (negative); ``positive`` needs a value
        above the threshold with sign ``+``. Satisfied at both precisions: ``True``; violated at
        both: ``False``; otherwise undecided (``None``).
        """
        if self.expect in ("zero", "fact"):
            return self.decision.is_zero
        d = self.decision
        if d.low_is_zero is False and d.high_is_zero is False and d.is_zero is None:
            return None  # non-zero at both but shrinking with the precision: noise, not a sign
        low = self._sign_ok(self.decision.low_is_zero, self.signed_value)
        high = self._sign_ok(self.decision.high_is_zero, self.signed_value_high)
        return low if low == high else None

    def _sign_ok(self, is_zero: bool, value) -> bool:
        if self.expect == "positive":
            return (not is_zero) and value > 0
        if self.expect == "nonnegative":
            return is_zero or value > 0
        return is_zero or value < 0

    @property
    def margin(self) -> float:
        """Decimal digits between :math:`|value|` and the zero threshold at ``dps``: positive when satisfied."""
        if self.expect == "fact":
            return math.inf
        value = self.decision.value
        if value == 0:
            digits = float(self.decision.dps)
        else:
            digits = abs(float(mpmath.log10(value / zero_threshold(self.decision.dps))))
        return digits if self.satisfied else -digits

    def evidence(self) -> dict:
        if self.expect == "fact":
            return {"expect": "fact", "satisfied": self.satisfied, "detail": self.signed_value}
        out = {"expect": self.expect, **self.decision.evidence()}
        if self.signed_value is not None:
            out["value"] = mpmath.nstr(self.signed_value, 5)
            out["value_at_2dps"] = mpmath.nstr(self.signed_value_high, 5)
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
    certified: bool | None = None  # None: no certificate was asked for
    certificate: dict | None = None

    def with_certificate(self, certificate: dict) -> "Verdict":
        """This verdict with a ball-arithmetic certificate attached (see :mod:`verify.certify`)."""
        from dataclasses import replace

        return replace(self, certified=bool(certificate.get("certified")), certificate=certificate)

    def to_json(self) -> dict:
        extra = {} if self.certified is None else {"certified": self.certified, "certificate": self.certificate}
        return {
            "proposition": self.proposition,
            "case": self.case,
            "status": self.status,
            "margin_digits": None if self.margin is None else round(self.margin, 2),
            "dps": self.dps,
            "evidence": self.evidence,
            "notes": list(self.notes),
            "reproduce": self.reproduce,
            **extra,
        }


def judge(proposition: str, case: str, requirements: list[Requirement], dps: int, reproduce: str,
          extra: dict | None = None, notes: tuple[str, ...] = (), certificate: dict | None = None,
          expected=None) -> Verdict:
    """Combine requirements into a verdict (see the module docstring), with a certificate if one was made.

    A verdict that checked nothing is never ``holds``: with no requirement, or with one of the
    ``expected`` requirement names (what the proposition's hypotheses promise to check) missing,
    the status is ``inconclusive`` at best and the evidence names what is missing.
    """
    outcomes = [r.satisfied for r in requirements]
    missing = sorted(set(expected or ()) - {r.name for r in requirements})
    if any(o is False for o in outcomes):
        status = FAILS
    elif any(o is None for o in outcomes) or missing or not requirements:
        status = INCONCLUSIVE
    else:
        status = HOLDS
    margins = [r.margin for r in requirements if math.isfinite(r.margin)]
    evidence = {r.name: r.evidence() for r in requirements}
    if not requirements:
        evidence["no_requirement_checked"] = "nothing was checked: the verdict cannot hold"
    if missing:
        evidence["missing_requirements"] = missing
    if extra:
        evidence.update(extra)
    verdict = Verdict(proposition, case, status, evidence, dps, reproduce, min(margins) if margins else None, notes)
    return verdict if certificate is None else verdict.with_certificate(certificate)
