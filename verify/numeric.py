r"""Precision contexts, decimal output, and the decision that a number is zero.

Precision is always local: :func:`working_precision` wraps ``mpmath.mp.workdps`` and yields the
:data:`~theory.arith.MP` number system; nothing here sets ``mp.dps`` globally.

Digits lost to large magnitudes (the log-sum-exp and the Walsh transforms cancel numbers as large
as :math:`\max|F|`) are restored by :func:`magnitude_guard`: inside it every working precision
carries :func:`guard_digits` more digits, while the zero thresholds stay those of ``dps``.

"Zero" follows THEORY.md §5: at ``dps`` digits a non-negative magnitude is zero when it is at
most :math:`10^{-\mathrm{dps}/2}`; the decision is repeated at ``2·dps`` digits (threshold
:math:`10^{-\mathrm{dps}}`), and a decision that changes is undecided (the verdict becomes
``inconclusive``).

The precision policy lives here, named, and nowhere else as a literal:

* guard digits: :data:`GUARD_DIGITS` (points are found at :func:`polish_precisions`, constructed at
  :func:`point_precision`, printed with :func:`point_print_digits`), :func:`noise_floor`;
* stopping goals of the iterative solvers: :func:`solver_goal` with :data:`NEWTON_SLACK_DIGITS` or
  :data:`INNER_SLACK_DIGITS`, :func:`found_point_goal`, :func:`stall_factor`, and the float64 stage's
  :data:`FLOAT64_COUPLINGS_GOAL`, :data:`FLOAT64_COUPLINGS_STALL`, :data:`FLOW_GRAD_TOL`, :data:`FLOW_RTOL`,
  :data:`FLOW_ATOL`;
* pseudo-inverse cut-offs: :func:`pinv_cutoff` (mpmath), :data:`FLOAT64_RCOND` (numpy);
* certificates: :func:`certification_radius` (the box), :func:`ball_bits` (Arb's working precision);
* the zero decision: :func:`zero_threshold`, :data:`SHRINK_FRACTION`; difference steps: :func:`fd_step`;
* the command line's precisions: :data:`DEFAULT_DPS`, :data:`MIN_DPS`, :data:`MAX_DPS`,
  :data:`SWEEP_DPS`.
"""

from __future__ import annotations

import contextvars
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np

from theory.arith import MP
from theory.conventions import check_n
from theory.errors import SpecError

__all__ = [
    "DEFAULT_DPS",
    "MIN_DPS",
    "MAX_DPS",
    "SWEEP_DPS",
    "GUARD_DIGITS",
    "polish_precisions",
    "point_precision",
    "point_print_digits",
    "noise_floor",
    "NEWTON_SLACK_DIGITS",
    "INNER_SLACK_DIGITS",
    "solver_goal",
    "found_point_goal",
    "STALL_DIGITS",
    "stall_factor",
    "pinv_cutoff",
    "FLOAT64_RCOND",
    "FLOAT64_COUPLINGS_GOAL",
    "FLOAT64_COUPLINGS_STALL",
    "FLOW_GRAD_TOL",
    "FLOW_RTOL",
    "FLOW_ATOL",
    "certification_radius",
    "certification_radius_string",
    "BALL_GUARD_BITS",
    "ball_bits",
    "working_precision",
    "guard_digits",
    "magnitude_guard",
    "case_guard",
    "agreed_string",
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

#: the working precision of ``run``, ``classify``, ``fixed-points``, ``couplings`` and ``baseline save``
DEFAULT_DPS = 50
#: the lowest working precision accepted (below it the zero threshold 10^{-dps/2} is not far from float64)
MIN_DPS = 10
#: the highest working precision the command line accepts (mpmath at 10^4 digits is already minutes per case)
MAX_DPS = 10000
#: the precision of the sweep's endpoint classifications (``ebm-verify sweep --dps``; H2 and H3 use at most this)
SWEEP_DPS = 30
#: above this many spins high-precision enumeration is slow: warn
LARGE_N = 12


#: guard digits added to every working precision inside :func:`magnitude_guard` (0 outside)
_GUARD = contextvars.ContextVar("ebm_verify_guard_digits", default=0)
#: beyond this many guard digits a computation is refused (the parameters are too large to evaluate)
MAX_GUARD_DIGITS = 2000


@contextmanager
def working_precision(dps: int):
    """``with working_precision(60) as arith:`` evaluates at 60 digits (plus the guard digits of an enclosing
    :func:`magnitude_guard`), restoring the caller's precision. Thresholds stay those of ``dps``."""
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < MIN_DPS:
        raise SpecError(f"dps must be an integer >= {MIN_DPS}, got {dps!r}")
    with mpmath.workdps(dps + _GUARD.get()):
        yield MP


def guard_digits(model, theta_exact, target=None) -> int:
    r"""Decimal digits lost to the magnitudes at ``theta``: :math:`\lceil\log_{10}\max(1, |F|, |\partial F|, |\theta|, |J^D|)\rceil`.

    The log-sum-exp and the Walsh transforms compute differences of numbers as large as
    :math:`\max_s|F_\theta(s)|` (and :math:`|\partial_k F|` for :math:`G`): at ``dps`` digits their absolute error is
    :math:`10^{-\mathrm{dps}}\max|F|`. Evaluating at ``dps`` plus these digits keeps the absolute error at
    :math:`10^{-\mathrm{dps}}` (a ``gim`` with :math:`J_1 = 10^{49}` needs 49 more digits for :math:`J_{12}` and
    :math:`m_1`). Measured at 20 digits (magnitudes only).
    """
    with mpmath.workdps(20):
        theta = MP.array(theta_exact)
        values = [abs(v) for v in theta]
        values += [abs(v) for v in np.asarray(model.energy(theta, MP)).reshape(-1)]
        values += [abs(v) for v in np.asarray(model.energy_grad(theta, MP)).reshape(-1)]
        if target is not None:
            values += [abs(v) for v in target.coupling_array(MP)]
        top = max(values, default=mpmath.mpf(1))
        if not mpmath.isfinite(top):
            raise SpecError("the energy is not finite at the given parameters: check their magnitudes")
        return max(0, int(mpmath.ceil(mpmath.log10(top)))) if top > 1 else 0


@contextmanager
def magnitude_guard(model, theta_exact, target=None):
    """``with magnitude_guard(model, theta, target):`` every :func:`working_precision` inside carries
    :func:`guard_digits` more digits; refuses magnitudes beyond :data:`MAX_GUARD_DIGITS` in one line."""
    digits = guard_digits(model, theta_exact, target)
    if digits > MAX_GUARD_DIGITS:
        raise SpecError(f"the energy or the parameters reach 1e{digits}: evaluating them needs {digits} digits beyond "
                        f"--dps (the limit is {MAX_GUARD_DIGITS}); rescale the parameters")
    token = _GUARD.set(max(_GUARD.get(), digits))
    try:
        yield digits
    finally:
        _GUARD.reset(token)


def case_guard(case):
    """:func:`magnitude_guard` for a case's model at its parameters (and its target); no guard without them."""
    from contextlib import nullcontext

    if case.model is None or case.params is None:
        return nullcontext(0)
    return magnitude_guard(case.model, case.params, case.target)


def agreed_string(low, high, max_digits: int) -> str:
    """``high`` with only the significant digits on which the two precisions agree (at most ``max_digits``);
    ``"0 +/- bound"`` when not one digit agrees (a value at the noise floor)."""
    # the difference is exact at this precision: read each value's own bits (mpf(v) would round it to mp.prec)
    bits = max((v if isinstance(v, mpmath.mpf) else mpmath.mpf(v))._mpf_[3] for v in (low, high)) + 64
    with mpmath.workprec(max(bits, 64)):
        return _agreed_string(mpmath.mpf(low), mpmath.mpf(high), max_digits)


def _agreed_string(low, high, max_digits: int) -> str:
    if high == 0 and low == 0:
        return "0"
    diff = abs(low - high)
    if diff == 0:
        digits = max_digits
    elif diff >= abs(high):
        # not one digit agrees: the value is at the noise floor; print the bound, not digits
        return f"0 +/- {mpmath.nstr(max(abs(low), abs(high)), 2)}"
    else:
        digits = max(1, min(max_digits, int(mpmath.floor(mpmath.log10(abs(high) / diff))) - 1))
    return decimal_string(high, digits)


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
    with working_precision(dps):
        low = +mpmath.mpf(magnitude(dps))
    with working_precision(2 * dps):
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


# ---------------------------------------------------------------------------------------------
# Precision policy: guard digits, solver goals, pseudo-inverse cut-offs, certification boxes
# ---------------------------------------------------------------------------------------------

#: digits carried beyond the precision a result must hold at: fixed points are polished, and spurious
#: points constructed, this many digits beyond ``dps`` and ``2·dps``, so that both classifications read
#: an exact point whose residuals lie far below their zero thresholds
GUARD_DIGITS = 10
#: digits printed beyond ``2·dps`` for a found point's parameters (:func:`point_print_digits`)
POINT_PRINT_EXTRA_DIGITS = 5


def polish_precisions(dps: int) -> tuple[int, int]:
    r"""The two precisions at which a fixed point is polished for classifications at ``dps`` and ``2·dps``:
    :math:`(\mathrm{dps} + g,\ 2\,\mathrm{dps} + g)` with :math:`g` = :data:`GUARD_DIGITS`.

    >>> polish_precisions(50)
    (60, 110)
    """
    return dps + GUARD_DIGITS, point_precision(dps)


def point_precision(dps: int) -> int:
    r"""The precision at which an exact point is found or constructed (the second of
    :func:`polish_precisions`): :math:`2\,\mathrm{dps} + g`, beyond the confirming precision ``2·dps``.

    >>> point_precision(30)
    70
    """
    return 2 * dps + GUARD_DIGITS


def point_print_digits(dps: int) -> int:
    r"""Significant digits printed for a found point's parameters: :math:`2\,\mathrm{dps} + 5`
    (:data:`POINT_PRINT_EXTRA_DIGITS`), so that the printed point, read back, is the same point to the
    confirming precision ``2·dps``.

    >>> point_print_digits(30)
    65
    """
    return 2 * dps + POINT_PRINT_EXTRA_DIGITS


def noise_floor(digits: int):
    r"""Below :math:`10^{-(\mathrm{digits} - g)}` (:math:`g` = :data:`GUARD_DIGITS`) a value computed at
    ``digits`` digits is rounding noise: zero at that working precision, with :math:`g` digits left to the
    cancellations of the sums that produced it.

    >>> import mpmath
    >>> with mpmath.workdps(30):
    ...     noise_floor(30) == mpmath.mpf(10) ** -20
    True
    """
    return mpmath.mpf(10) ** (-(digits - GUARD_DIGITS))


#: the fixed-point searches (:mod:`verify.search`: Newton on :math:`\nabla\ell = 0`, Gauss–Newton on
#: :math:`J = J^D`) stop when the residual is below :math:`10^{-(\mathrm{digits} - 6)}`
NEWTON_SLACK_DIGITS = 6
#: solves inside a check, at the check's own precision (projections onto the fibre and the slice
#: residuals of :mod:`verify.neutral`, the maximum-entropy fit of :mod:`verify.spurious`), stop at
#: :math:`10^{-(\mathrm{digits} - 8)}`
INNER_SLACK_DIGITS = 8
#: a slice residual that falls by less than a factor :math:`1 - 10^{-6}` in a Gauss–Newton step has
#: reached its least-squares floor (:func:`stall_factor`)
STALL_DIGITS = 6


def solver_goal(digits: int, slack: int):
    r"""The residual at which an iterative solver working at ``digits`` digits stops:
    :math:`10^{-(\mathrm{digits} - \mathrm{slack})}`, ``slack`` digits being left to the rounding of the
    residual's sums (:data:`NEWTON_SLACK_DIGITS`, :data:`INNER_SLACK_DIGITS`). Computed at the working precision.

    >>> import mpmath
    >>> with mpmath.workdps(30):
    ...     solver_goal(40, NEWTON_SLACK_DIGITS) == mpmath.mpf(10) ** -34
    True
    """
    return mpmath.mpf(10) ** (-(digits - slack))


def found_point_goal(dps: int):
    r"""A Gauss–Newton point (:func:`verify.search.solve_couplings`) counts as found when
    :math:`|J - J^D| < 10^{-2\,\mathrm{dps}}` at :func:`point_precision`: zero at the confirming precision
    ``2·dps`` with ``dps`` digits to spare."""
    return mpmath.mpf(10) ** (-(2 * dps))


def stall_factor():
    r""":math:`1 - 10^{-6}` (:data:`STALL_DIGITS`) at the working precision: a step that does not bring the
    residual below this fraction of its value makes no progress."""
    return 1 - mpmath.mpf(10) ** -STALL_DIGITS


def pinv_cutoff(dps: int):
    r"""Relative cut-off of the pseudo-inverses at ``dps`` digits: singular values (or eigenvalues of
    :math:`H`) below :math:`\sigma_{\max}\cdot 10^{-\lfloor \mathrm{dps}/4\rfloor}` are dropped. Far above
    rounding (relative :math:`10^{-\mathrm{dps}}`), so that the neutral directions of a manifold of fixed
    points (zero up to rounding) are never divided by; the step is then the minimal-norm one.

    >>> import mpmath
    >>> with mpmath.workdps(30):
    ...     pinv_cutoff(50) == mpmath.mpf(10) ** -12
    True
    """
    return mpmath.mpf(10) ** (-(dps // 4))


#: numpy's ``rcond`` of the float64 Gauss–Newton steps (:func:`verify.search.solve_couplings`)
FLOAT64_RCOND = 1e-10
#: the float64 Gauss–Newton stage stops at :math:`|J - J^D| < 10^{-13}` ...
FLOAT64_COUPLINGS_GOAL = 1e-13
#: ... and gives up when :math:`|J - J^D| > 10^{-8}` after it (a stall, not a point to polish)
FLOAT64_COUPLINGS_STALL = 1e-8
#: the float64 flow (:func:`verify.search.integrate_flow`) stops once :math:`\|\nabla\ell\| <` this
FLOW_GRAD_TOL = 1e-9
#: relative and absolute tolerances of the float64 flow's LSODA steps (Newton polishes the endpoint)
FLOW_RTOL = 1e-8
FLOW_ATOL = 1e-10


def certification_radius(dps: int) -> Fraction:
    r"""Half-width of the certification box around a point found at ``dps``: :math:`10^{-\lfloor\mathrm{dps}/2\rfloor}`,
    the scale of the zero threshold. A point polished to :func:`point_precision` lies deep inside it, and the
    box stays small enough for the ball enclosures of :math:`H` over it to keep the signs of its eigenvalues.

    >>> certification_radius(21)
    Fraction(1, 10000000000)
    """
    return Fraction(1, 10 ** (dps // 2))


def certification_radius_string(dps: int) -> str:
    """:func:`certification_radius` as printed in a certificate (``1e-25`` at ``dps = 50``)."""
    return f"1e-{dps // 2}"


#: bits of Arb precision beyond the ``dps`` decimal digits a ball computation asks for (:func:`ball_bits`)
BALL_GUARD_BITS = 20


def ball_bits(dps: int) -> int:
    r"""Arb's working precision in bits for ``dps`` decimal digits: :math:`\lfloor 3.33\,\mathrm{dps}\rfloor + 20`
    (:math:`\log_2 10 \approx 3.32`; :data:`BALL_GUARD_BITS`).

    >>> ball_bits(60)
    219
    """
    return int(dps * 3.33) + BALL_GUARD_BITS


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


# --- the couplings command's digit resolution (:func:`verify.commands.resolved_strings`) ----------------------

#: ``resolved_strings`` evaluates at ``dps + g`` and ``dps + g + RESOLVE_CHECK_DIGITS``, ``g`` starting at
#: :data:`GUARD_DIGITS` and doubling up to ``RESOLVE_MAX_GUARD_FACTOR * dps``
RESOLVE_CHECK_DIGITS = 20
RESOLVE_MAX_GUARD_FACTOR = 3
#: a value is resolved when its two evaluations agree to ``dps + RESOLVE_AGREEMENT_DIGITS`` significant digits
RESOLVE_AGREEMENT_DIGITS = 2


def resolve_precisions(dps: int, guard: int) -> tuple[int, int]:
    """The two working precisions of one attempt of ``resolved_strings`` with ``guard`` extra digits.

    >>> resolve_precisions(50, 10)
    (60, 80)
    """
    return dps + guard, dps + guard + RESOLVE_CHECK_DIGITS


def resolve_tolerance(dps: int) -> mpmath.mpf:
    r"""The relative disagreement :math:`10^{-(\mathrm{dps}+2)}` below which two evaluations count as resolved."""
    return mpmath.mpf(10) ** (-(dps + RESOLVE_AGREEMENT_DIGITS))
