r"""Precision contexts, decimal output, and the decision that a number is zero.

Precision is always local: :func:`working_precision` wraps ``mpmath.mp.workdps`` and yields the
:data:`~theory.arith.MP` number system; nothing here sets ``mp.dps`` globally.

"Zero" follows THEORY.md §5: at ``dps`` digits a non-negative magnitude is zero when it is at
most :math:`10^{-\mathrm{dps}/2}`; the decision is repeated at ``2·dps`` digits (threshold
:math:`10^{-\mathrm{dps}}`), and a decision that changes is undecided (the verdict becomes
``inconclusive``).
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import mpmath

from theory.arith import MP
from theory.conventions import check_n
from theory.errors import SpecError

__all__ = [
    "DEFAULT_DPS",
    "working_precision",
    "zero_threshold",
    "threshold_string",
    "decimal_string",
    "ZeroDecision",
    "decide_zero",
    "zero_decision",
    "at_two_precisions",
    "check_precision",
    "fd_step",
    "central_differences",
]

DEFAULT_DPS = 50
#: above this many spins high-precision enumeration is slow: warn
LARGE_N = 12


@contextmanager
def working_precision(dps: int):
    """``with working_precision(60) as arith:`` evaluates at 60 digits, restoring the caller's precision."""
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < 10:
        raise SpecError(f"dps must be an integer >= 10, got {dps!r}")
    with mpmath.workdps(dps):
        yield MP


def zero_threshold(dps: int):
    r"""The magnitude below which a number counts as zero at ``dps`` digits: :math:`10^{-\mathrm{dps}/2}`."""
    return mpmath.mpf(10) ** (-(dps / 2))


def decimal_string(x, digits: int) -> str:
    """``x`` as a decimal string with ``digits`` significant digits (mpmath's ``nstr``)."""
    return mpmath.nstr(mpmath.mpf(x), digits, strip_zeros=False, min_fixed=-4, max_fixed=digits + 1)


@dataclass(frozen=True)
class ZeroDecision:
    """Outcome of :func:`decide_zero`: ``is_zero`` is ``True``, ``False`` or ``None`` (undecided).

    ``low_is_zero`` and ``high_is_zero`` are the two precisions' own readings (below their
    thresholds); sign requirements combine them with the signs (:class:`verify.verdict.Requirement`).
    """

    is_zero: bool | None
    value: object  # magnitude at dps
    value_high: object  # magnitude at 2·dps
    dps: int
    low_is_zero: bool | None = None
    high_is_zero: bool | None = None

    def evidence(self) -> dict:
        return {
            "value": mpmath.nstr(self.value, 5),
            "value_at_2dps": mpmath.nstr(self.value_high, 5),
            "threshold": threshold_string(self.dps),
            "dps": self.dps,
        }


def threshold_string(dps: int) -> str:
    r"""The zero threshold :math:`10^{-\mathrm{dps}/2}` as printed in evidence (``1e-25``, or ``3.16e-26`` for odd ``dps``)."""
    if dps % 2 == 0:
        return f"1e-{dps // 2}"
    return mpmath.nstr(zero_threshold(dps), 3)


#: a value above the threshold at both precisions must not shrink by more than dps/SHRINK_FRACTION
#: decimal digits when the precision is doubled: a genuine non-zero number computed from the same
#: exact point agrees at the two precisions, rounding noise falls by about dps digits
SHRINK_FRACTION = 4


def zero_decision(low, high, dps: int) -> ZeroDecision:
    r"""Decide zero from a magnitude computed at ``dps`` (``low``) and at ``2·dps`` (``high``) digits.

    Zero: :math:`|low| \le 10^{-\mathrm{dps}/2}` and :math:`|high| \le 10^{-\mathrm{dps}}`. Non-zero: above
    both thresholds *and* not shrinking by more than ``dps/4`` digits between the precisions (a value
    that falls from 3e-16 to 2e-49 when the digits are doubled is noise the first threshold missed,
    not a non-zero number). Anything else is undecided.
    """
    low, high = abs(mpmath.mpf(low)), abs(mpmath.mpf(high))
    low_zero = bool(low <= zero_threshold(dps))
    high_zero = bool(high <= zero_threshold(2 * dps))
    if low_zero and high_zero:
        decided = True
    elif not low_zero and not high_zero:
        decided = False if low <= high * mpmath.mpf(10) ** (mpmath.mpf(dps) / SHRINK_FRACTION) else None
    else:
        decided = None
    return ZeroDecision(decided, low, high, dps, low_zero, high_zero)


def decide_zero(magnitude: Callable[[int], object], dps: int) -> ZeroDecision:
    """Decide whether ``magnitude(d)`` (computed at ``d`` digits) is zero, at ``dps`` and ``2·dps``."""
    with mpmath.workdps(dps):
        low = +mpmath.mpf(magnitude(dps))
    with mpmath.workdps(2 * dps):
        high = +mpmath.mpf(magnitude(2 * dps))
    return zero_decision(low, high, dps)


def at_two_precisions(compute: Callable[[int], dict], dps: int) -> tuple[dict, dict]:
    """``compute(d)`` (a dict of numbers) evaluated inside ``working_precision(d)`` for ``d = dps, 2·dps``."""
    with working_precision(dps):
        low = compute(dps)
    with working_precision(2 * dps):
        high = compute(2 * dps)
    return low, high


def fd_step(dps: int):
    r"""Central-difference step :math:`h = 10^{-\lfloor \mathrm{dps}/3\rfloor}`: truncation :math:`O(h^2)` and
    rounding :math:`O(10^{-\mathrm{dps}}/h)` both stay near :math:`10^{-2\mathrm{dps}/3}`, below the zero threshold."""
    return mpmath.mpf(10) ** (-(dps // 3))


def central_differences(fn: Callable, theta, h) -> list:
    r"""Columns :math:`(f(\theta + h e_k) - f(\theta - h e_k))/2h` for every coordinate ``k`` of ``theta``."""
    out = []
    for k in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        out.append((fn(up) - fn(down)) / (2 * h))
    return out


def check_precision(n: int, dps: int | None) -> None:
    """Refuse ``n`` beyond the enumeration limit; warn when ``n`` is large for high precision."""
    check_n(n)
    if dps is not None and n > LARGE_N:
        warnings.warn(
            f"n = {n} at {dps} digits enumerates 2^{n} configurations in mpmath: expect minutes; "
            "lower --dps or n for a quick look",
            stacklevel=2,
        )


def warn(message: str) -> None:
    """A one-line note on stderr (used for pseudocounts and similar adjustments)."""
    print(f"note: {message}", file=sys.stderr)
