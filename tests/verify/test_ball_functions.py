"""The ball-arithmetic functions of the certificates enclose the true values, tightly.

``verify.certify.BALL`` runs the formulas of :mod:`theory` on Arb balls; its elementwise functions
(``exp``, ``log``, ``cosh``, ``sinh``, ``tanh``, ``sqrt``, ``log2cosh``, ``softplus``, ``sigmoid``), the
hidden-unit functions of :mod:`theory.activations` built on them (value, first and second derivative
of ``logcosh``, ``softplus``, ``tanh``, ``silu``, ``quadratic``, ``cubic``) and ``logsumexp`` are what every
certificate's enclosure of :math:`\\nabla\\ell` and :math:`H` rests on (issue 16, item 14). Each is
evaluated at seeded random rationals (near 0, moderate, large and negative) and must

* contain the value of an independent mpmath reference at twice the digits (a ball that misses it
  makes every certificate built on it unsound), and
* be tight: radius below ``tol`` relative to the value, or, for the functions computed by a
  cancellation (``1 - tanh^2``, ``log(1 + e^x)`` for ``x << 0``: their error is absolute, which is
  what the certificates need, since these values enter sums with terms of order one), below ``tol``
  relative to ``max(1, |value|)``.

The references are written in cancellation-free forms (``sech^2`` for ``1 - tanh^2``, ``log1p``,
:math:`\\sigma(x)\\sigma(-x)` for :math:`\\sigma'`) and are themselves checked against mpmath's
numerical differentiation. A deliberately wrong sigmoid is caught.
"""

import dataclasses
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theory import activations
from verify import certify

# (ball working precision in digits, reference digits, required tightness)
PRECISIONS = [(30, 60, Fraction(1, 10**25)), (60, 110, Fraction(1, 10**50))]
PRECISION_IDS = ["ball30", "ball60"]


def mp_of(q: Fraction):
    return mpmath.mpf(q.numerator) / q.denominator


def exact(a) -> Fraction:
    """Exact rational value of an arb midpoint or radius."""
    m, e = a.man_exp()
    return Fraction(int(m)) * Fraction(2) ** int(e)


def mp_exact(v) -> Fraction:
    sign, man, exp, _ = v._mpf_
    out = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -out if sign else out


# --- references (mpmath, cancellation-free) ----------------------------------------------------------


def sig(x):
    return 1 / (1 + mpmath.exp(-x))


def dsig(x):
    return sig(x) * sig(-x)


def softplus(x):
    return mpmath.log1p(mpmath.exp(x)) if x <= 0 else x + mpmath.log1p(mpmath.exp(-x))


def log2cosh(x):
    return abs(x) + mpmath.log1p(mpmath.exp(-2 * abs(x)))


def sech2(x):
    return mpmath.sech(x) ** 2


ELEMENTWISE = {  # name: (reference, domain, error is relative?)
    "exp": (mpmath.exp, "all", True),
    "log": (mpmath.log, "positive", True),
    "cosh": (mpmath.cosh, "all", True),
    "sinh": (mpmath.sinh, "all", True),
    "tanh": (mpmath.tanh, "all", True),
    "sqrt": (mpmath.sqrt, "positive", True),
    "log2cosh": (log2cosh, "all", True),
    "softplus": (softplus, "all", False),
    "sigmoid": (sig, "all", True),
}

ACTIVATIONS = {  # (name, derivative): (reference, error is relative?)
    ("logcosh", 0): (log2cosh, True),
    ("logcosh", 1): (mpmath.tanh, True),
    ("logcosh", 2): (sech2, False),
    ("softplus", 0): (softplus, False),
    ("softplus", 1): (sig, True),
    ("softplus", 2): (dsig, False),
    ("tanh", 0): (mpmath.tanh, True),
    ("tanh", 1): (sech2, False),
    ("tanh", 2): (lambda x: -2 * mpmath.tanh(x) * sech2(x), False),
    ("silu", 0): (lambda x: x * sig(x), True),
    ("silu", 1): (lambda x: sig(x) * (1 + x * sig(-x)), True),
    ("silu", 2): (lambda x: dsig(x) * (2 - x * mpmath.tanh(x / 2)), False),
    ("quadratic", 0): (lambda x: x * x, True),
    ("quadratic", 1): (lambda x: 2 * x, True),
    ("quadratic", 2): (lambda x: mpmath.mpf(2), True),
    ("cubic", 0): (lambda x: x**3, True),
    ("cubic", 1): (lambda x: 3 * x**2, True),
    ("cubic", 2): (lambda x: 6 * x, True),
}
DEFINING = {  # u(x) from its definition, for the derivative references' own check
    "logcosh": lambda x: mpmath.log(2 * mpmath.cosh(x)),
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "tanh": mpmath.tanh,
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    "quadratic": lambda x: x**2,
    "cubic": lambda x: x**3,
}


def sample_points(seed=2024):
    """Seeded rationals: exact specials, near 0, moderate, large (to |x| = 1000), both signs."""
    rng = np.random.default_rng(seed)
    pts = [Fraction(0), Fraction(1, 2), Fraction(-1, 2), Fraction(1000), Fraction(-1000), Fraction(-700), Fraction(700)]
    for _ in range(8):  # near 0
        pts.append(Fraction(int(rng.integers(1, 10**6)) * int(rng.choice([-1, 1])), 10 ** int(rng.integers(12, 31))))
    for _ in range(10):  # moderate
        pts.append(Fraction(int(rng.integers(-8000, 8000)), int(rng.integers(997, 2000))))
    for _ in range(8):  # large
        pts.append(Fraction(int(rng.integers(20_000, 1_000_000)) * int(rng.choice([-1, 1])), 1000))
    return pts


POINTS = sample_points()


def problems(label, ball, ref, relative, tol, ref_dps):
    """Why ``ball`` is not a tight enclosure of ``ref`` (empty when it is)."""
    mid, rad = exact(ball.mid()), exact(ball.rad())
    r = mp_exact(ref)
    # the reference's own error, some 30 digits below the required tightness: a ball that misses the
    # reference by more than its radius plus this misses the true value
    err = abs(r) * Fraction(1, 10 ** (ref_dps - 5))
    out = []
    if abs(mid - r) > rad + err:
        out.append(f"{label}: ball {ball.str(12, radius=True)} does not contain {mpmath.nstr(ref, 20)}")
    scale = abs(r) if relative and r != 0 else max(Fraction(1), abs(r))
    if rad > tol * scale:
        out.append(f"{label}: radius {float(rad):.3e} exceeds {float(tol):.0e} x {float(scale):.3e}")
    return out


def check_elementwise(name, ball_dps, ref_dps, tol):
    reference, domain, relative = ELEMENTWISE[name]
    pts = [abs(x) for x in POINTS if x != 0] if domain == "positive" else POINTS
    found = []
    with certify.ball_context(ball_dps) as ball:
        values = getattr(ball, name)(ball.array(pts))
        for x, v in zip(pts, values):
            with mpmath.workdps(ref_dps):
                ref = reference(mp_of(x))
            found += problems(f"{name}({x})", v, ref, relative, tol, ref_dps)
    return found


def check_activation(act, order, ball_dps, ref_dps, tol):
    reference, relative = ACTIVATIONS[(act, order)]
    found = []
    with certify.ball_context(ball_dps) as ball:
        values = activations.ACTIVATIONS[act].derivative(order, ball.array(POINTS), ball)
        for x, v in zip(POINTS, values):
            with mpmath.workdps(ref_dps):
                ref = reference(mp_of(x))
            found += problems(f"{act}^({order})({x})", v, ref, relative, tol, ref_dps)
    return found


# --- the checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ball_dps, ref_dps, tol", PRECISIONS, ids=PRECISION_IDS)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_ball_function_encloses_mpmath_tightly(name, ball_dps, ref_dps, tol):
    found = check_elementwise(name, ball_dps, ref_dps, tol)
    assert not found, "\n".join(found[:10])


@pytest.mark.parametrize("ball_dps, ref_dps, tol", PRECISIONS, ids=PRECISION_IDS)
@pytest.mark.parametrize("act, order", sorted(ACTIVATIONS), ids=lambda v: str(v))
def test_hidden_unit_functions_in_balls_enclose_mpmath_tightly(act, order, ball_dps, ref_dps, tol):
    found = check_activation(act, order, ball_dps, ref_dps, tol)
    assert not found, "\n".join(found[:10])


@pytest.mark.parametrize("act, order", [k for k in sorted(ACTIVATIONS) if k[1] > 0], ids=lambda v: str(v))
def test_the_derivative_references_are_derivatives(act, order):
    """The closed forms used above against mpmath's numerical differentiation of the definition."""
    reference, _ = ACTIVATIONS[(act, order)]
    with mpmath.workdps(60):
        for x in [mpmath.mpf(v) / 7 for v in (-60, -13, -2, 0, 1, 5, 33)]:
            num = mpmath.diff(DEFINING[act], x, order)
            assert abs(num - reference(x)) <= mpmath.mpf(10) ** -40 * max(1, abs(num))


@pytest.mark.parametrize("ball_dps, ref_dps, tol", PRECISIONS, ids=PRECISION_IDS)
def test_ball_logsumexp_encloses_mpmath(ball_dps, ref_dps, tol):
    rng = np.random.default_rng(5)
    vectors = [[Fraction(int(k), 1000) for k in rng.integers(-5000, 5000, size=8)],
               [Fraction(900), Fraction(-900), Fraction(1, 10**20), Fraction(899)],
               [Fraction(-1000), Fraction(-1000), Fraction(-1001)]]
    found = []
    with certify.ball_context(ball_dps) as ball:
        for vec in vectors:
            v = ball.logsumexp(ball.array(vec))
            with mpmath.workdps(ref_dps):
                ref = mpmath.log(mpmath.fsum(mpmath.exp(mp_of(q)) for q in vec))
            found += problems(f"logsumexp({[float(q) for q in vec]})", v, ref, True, tol, ref_dps)
    assert not found, "\n".join(found)


def test_ball_context_sets_and_restores_the_precision():
    flint = pytest.importorskip("flint")
    before = flint.ctx.prec
    with certify.ball_context(30):
        assert flint.ctx.prec >= 30 * 3.32  # at least 30 decimal digits
    assert flint.ctx.prec == before


# --- the checks can fail ----------------------------------------------------------------------------------


WRONG_SIGMOIDS = {
    "sign error": np.frompyfunc(lambda v: 1 / (1 + v.exp()), 1, 1),
    # off by one part in 10^27: far below double precision, far above the ball's radius
    "relative 1e-27": np.frompyfunc(
        lambda v: (1 / (1 + (-v).exp())) * certify._ball(1 + Fraction(1, 10**27), Fraction(0)), 1, 1),
}


@pytest.mark.parametrize("which", sorted(WRONG_SIGMOIDS))
def test_a_wrong_ball_sigmoid_is_caught(which, monkeypatch):
    wrong = dataclasses.replace(certify.BALL, sigmoid=WRONG_SIGMOIDS[which])
    monkeypatch.setattr(certify, "BALL", wrong)
    ball_dps, ref_dps, tol = PRECISIONS[0]
    with certify.ball_context(ball_dps) as ball:
        assert ball is wrong
    assert check_elementwise("sigmoid", ball_dps, ref_dps, tol)
    # and the hidden units that use it: the Bernoulli RBM's phi' and the silu network
    assert check_activation("softplus", 1, ball_dps, ref_dps, tol)
    assert check_activation("silu", 0, ball_dps, ref_dps, tol)
    # the others are untouched by the patch
    assert not check_elementwise("tanh", ball_dps, ref_dps, tol)
