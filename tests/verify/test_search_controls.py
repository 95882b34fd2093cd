"""The stopping rules of the searches, pinned against closed forms (issue 16, item 15).

* Gauss–Newton (:func:`verify.search.solve_couplings`): ``converged`` means
  :math:`\\|J(\\theta) - J^D\\| < 10^{-2\\,\\mathrm{dps}}` after the high-precision stage. A ``gim`` of
  order 1 cannot produce a pair coupling, so on a target with :math:`J^D_{12} \\ne 0` the smallest
  residual is exactly :math:`|J^D_{12}|`, at :math:`\\theta = (J^D_1, J^D_2)`: small targets pass the
  float64 stage and must be reported as not converged by the high-precision one.
* The fibre walk (:func:`verify.neutral.follow_fibre`) takes at most ``3 * ceil(distance/step)``
  steps; on an affine fibre the path is a straight line whose length is known.
* Newton (:func:`verify.search.newton_polish`) stops when five steps gained less than a decade of
  :math:`\\|\\nabla\\ell\\|`: on a one-parameter model whose likelihood increases for ever the iterates,
  the step where this happens and the residual there follow from the closed forms of :math:`\\ell'`
  and :math:`\\ell''`; at a full-order ``gim`` the fixed point is :math:`J = J^D` exactly.
* :meth:`verify.scaling.ScalingFit.worst_deviation` on slope tables computed by hand.
"""

import math
from fractions import Fraction

import mpmath
import pytest

from theory.arith import MP
from theory.models import GIM, Product, model_from_spec
from theory.targets import from_couplings
from verify import neutral
from verify.cases import random_params
from verify.scaling import ScalingFit, fit_slope, predicted_slopes
from verify.search import newton_polish, solve_couplings

RBM3 = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
RBM3_BASE = random_params(RBM3, 7, 0.8)

DPS = 30


def mp_of(q: Fraction):
    return mpmath.mpf(q.numerator) / q.denominator


# --- (a) Gauss–Newton's converged flag ----------------------------------------------------------------------


@pytest.mark.parametrize("pair", ["1e-9", "1e-45"])
def test_gauss_newton_reports_an_unreachable_target_as_not_converged(pair):
    """``J^D_12`` below float64's stall threshold (1e-8), so only the high-precision stage can tell:
    ``1e-45`` lies between ``10^-dps`` and the goal ``10^-2dps``."""
    target = from_couplings({"1": "0.3", "2": "-0.2", "1,2": pair}, 2)
    out = solve_couplings(GIM(2, 1), target, (0.0, 0.0), DPS)
    assert out.converged is False
    assert out.note == ""  # the float64 stage passed: the verdict is the high-precision stage's
    # least squares: J_1, J_2 matched exactly, the residual is |J^D_12|
    assert abs(out.theta[0] - Fraction(3, 10)) < Fraction(1, 10 ** (2 * DPS))
    assert abs(out.theta[1] + Fraction(1, 5)) < Fraction(1, 10 ** (2 * DPS))
    assert out.residual == pytest.approx(float(pair), rel=1e-12)


def test_gauss_newton_reports_a_float64_stall_as_not_converged():
    target = from_couplings({"1": "0.3", "2": "-0.2", "1,2": "0.5"}, 2)
    out = solve_couplings(GIM(2, 1), target, (0.0, 0.0), DPS)
    assert out.converged is False and "stalled" in out.note
    assert out.residual == pytest.approx(0.5, rel=1e-9)


def test_gauss_newton_converges_to_the_closed_form_solution():
    """``gim`` of full order: ``J(θ) = θ``, so the solution is ``θ = J^D``."""
    JD = {"1": Fraction(3, 10), "2": Fraction(-1, 5), "1,2": Fraction(3, 20)}
    target = from_couplings({k: str(v) for k, v in JD.items()}, 2)
    out = solve_couplings(GIM(2, 2), target, (0.9, 0.4, -0.7), DPS)
    goal = Fraction(1, 10 ** (2 * DPS))
    assert out.converged is True
    assert out.residual < float(goal)
    assert max(abs(t - j) for t, j in zip(out.theta, JD.values())) < goal


def test_gauss_newton_solves_a_nonlinear_system_below_the_goal():
    """``product``: ``J_A = u_A v_A``; the residual is recomputed exactly from the returned rationals."""
    JD = [Fraction(3, 10), Fraction(-1, 5), Fraction(3, 20)]
    target = from_couplings({"1": "0.3", "2": "-0.2", "1,2": "0.15"}, 2)
    out = solve_couplings(Product(2), target, (0.5, -0.4, 0.3, 0.6, 0.5, 0.5), DPS)
    u, v = out.theta[:3], out.theta[3:]
    squared = sum((a * b - j) ** 2 for a, b, j in zip(u, v, JD))  # exact
    assert out.converged is True
    assert squared < Fraction(1, 10 ** (4 * DPS))
    assert out.residual < 10 ** (-2 * DPS)


# --- (b) the fibre walk's step cap -------------------------------------------------------------------------

# an affine fibre: J_1 = a + b, J_2 = c, J_12 = d, so J^{-1}(J^D) is the line (a, b) + t(1, -1)/sqrt(2)
LINE = model_from_spec({"family": "custom", "n": 2, "energy": "(a + b)*s1 + c*s2 + d*s1*s2",
                        "params": ["a", "b", "c", "d"]})
LINE_TARGET = from_couplings({"1": "0.3", "2": "-0.2", "1,2": "0.1"}, 2)
LINE_START = (Fraction(1, 10), Fraction(1, 5), Fraction(-1, 5), Fraction(1, 10))


def on_line_fibre(theta, dps):
    """``J(θ) = J^D`` checked on the exact end point with the closed form of ``J``."""
    a, b, c, d = theta
    tol = Fraction(1, 10 ** (dps - 10))
    return abs(a + b - Fraction(3, 10)) < tol and abs(c + Fraction(1, 5)) < tol and abs(d - Fraction(1, 10)) < tol


def shortened_projection(monkeypatch, start, fraction, dps):
    """Make every step of the walk move only ``fraction`` of the way from the last point to the projection.

    On the line fibre a point between two points of the fibre is on the fibre: the walk stays valid,
    only slower."""
    real = neutral._project
    state = {}

    def short(model, theta, J_data, dps_):
        last = state["last"] if "last" in state else MP.array(start)  # read at the walk's precision
        projected, err, ok = real(model, theta, J_data, dps_)
        new = last + (projected - last) * mp_of(fraction)
        state["last"] = new
        return new, err, ok

    monkeypatch.setattr(neutral, "_project", short)


@pytest.mark.parametrize("step, distance", [(0.05, 0.5), (0.1, 0.25)])
def test_fibre_walk_completes_on_a_straight_fibre(step, distance):
    path = neutral.follow_fibre(LINE, LINE_TARGET, LINE_START, DPS, step=step, distance=distance)
    with mpmath.workdps(DPS):
        assert path.completed is True
        assert path.travelled >= distance
        # every step has length `step` (the predictor lands on the fibre): ceil(distance/step) of them,
        # one more if the rounding of the sum falls short
        assert path.steps in (math.ceil(distance / step), math.ceil(distance / step) + 1)
        assert abs(path.travelled - path.steps * mpmath.mpf(step)) < mpmath.mpf(10) ** (-(DPS - 8))
        assert abs(path.displacement - path.travelled) < mpmath.mpf(10) ** (-(DPS - 8))  # a straight line
    assert on_line_fibre(path.end, DPS)
    a, b, c, d = (e - s for e, s in zip(path.end, LINE_START))
    assert abs(a + b) < Fraction(1, 10 ** (DPS - 10)) and abs(c) < Fraction(1, 10 ** (DPS - 10))


@pytest.mark.parametrize("step, distance, fraction", [
    (0.05, 0.5, Fraction(1, 10)),  # needs 100 steps, the cap is 30
    (0.1, 0.25, Fraction(1, 5)),   # needs 13 steps, the cap is 9
])
def test_fibre_walk_stops_at_three_times_the_nominal_step_count(monkeypatch, step, distance, fraction):
    shortened_projection(monkeypatch, LINE_START, fraction, DPS)
    path = neutral.follow_fibre(LINE, LINE_TARGET, LINE_START, DPS, step=step, distance=distance)
    cap = 3 * math.ceil(distance / step)
    assert path.completed is False
    assert path.steps == cap
    with mpmath.workdps(DPS):
        expected = cap * mp_of(fraction) * mpmath.mpf(step)
        assert abs(path.travelled - expected) < mpmath.mpf(10) ** (-(DPS - 8))
        assert path.travelled < distance


def test_fibre_walk_with_shorter_steps_still_completes_under_the_cap(monkeypatch):
    """``fraction = 0.4``: 25 steps of 0.02 cover 0.5, fewer than the cap of 30 (and more than twice 10)."""
    shortened_projection(monkeypatch, LINE_START, Fraction(2, 5), DPS)
    path = neutral.follow_fibre(LINE, LINE_TARGET, LINE_START, DPS, step=0.05, distance=0.5)
    assert path.completed is True
    assert path.steps in (25, 26)
    assert path.travelled >= 0.5
    assert on_line_fibre(path.end, DPS)


def test_fibre_walk_completes_on_a_curved_fibre():
    """``product`` on one spin: the fibre is the hyperbola ``u v = J^D_1``; the chord is shorter than the arc."""
    target = from_couplings({"1": "0.3"}, 1)
    start = (Fraction(1, 2), Fraction(3, 5))
    path = neutral.follow_fibre(Product(1), target, start, DPS, step=0.05, distance=0.5)
    assert path.completed is True
    with mpmath.workdps(DPS):
        assert path.travelled >= 0.5
        assert path.steps <= 3 * 10
        assert 0 < path.displacement <= path.travelled
    u, v = path.end
    assert abs(u * v - Fraction(3, 10)) < Fraction(1, 10 ** (DPS - 10))


# --- (c) Newton's stagnation rule ----------------------------------------------------------------------------

# one parameter, J_1(a) = a / sqrt(1 + a^2) < 1 < J^D_1 = 2: no fixed point anywhere, l(a) increases for ever
RUNAWAY = model_from_spec({"family": "custom", "n": 1, "energy": "a/sqrt(1 + a**2)*s1", "params": ["a"]})
RUNAWAY_TARGET = from_couplings({"1": "2"}, 1)


def runaway_derivatives(a):
    r""":math:`\ell'(a) = J'(m^D - \tanh J)`, :math:`\ell'' = J''(m^D - \tanh J) - J'^2\,\mathrm{sech}^2 J`."""
    mD = mpmath.tanh(2)
    J = a / mpmath.sqrt(1 + a * a)
    J1 = (1 + a * a) ** mpmath.mpf(-1.5)
    J2 = -3 * a * (1 + a * a) ** mpmath.mpf(-2.5)
    r = mD - mpmath.tanh(J)
    return J1 * r, J2 * r - J1**2 * mpmath.sech(J) ** 2


def predicted_newton_stop(a0, dps, max_step=1):
    """Newton on the closed forms with the documented rules (step bounded by 1, halving line search on
    |l'|, stop once five steps gained less than a decade): ``(steps, a, |l'(a)|)``."""
    with mpmath.workdps(dps):
        a = mp_of(a0)
        g, H = runaway_derivatives(a)
        history = [abs(g)]
        for step in range(1, 61):
            delta = -g / H
            if abs(delta) > max_step:
                delta = delta / abs(delta) * max_step
            t = mpmath.mpf(1)
            while abs(runaway_derivatives(a + t * delta)[0]) >= history[-1]:
                t /= 2
            a = a + t * delta
            g, H = runaway_derivatives(a)
            history.append(abs(g))
            if step >= 6 and history[-1] > history[-6] / 10:
                return step, a, abs(g)
    raise AssertionError("the closed-form iteration did not stagnate")


def test_runaway_closed_forms_are_the_derivatives_of_the_likelihood():
    with mpmath.workdps(40):
        def ell(a):
            J = a / mpmath.sqrt(1 + a * a)
            return J * mpmath.tanh(2) - mpmath.log(2 * mpmath.cosh(J))

        for a in (mpmath.mpf("0.3"), mpmath.mpf(4), mpmath.mpf("9.5")):
            g, H = runaway_derivatives(a)
            assert abs(mpmath.diff(ell, a) - g) < mpmath.mpf(10) ** -30
            assert abs(mpmath.diff(ell, a, 2) - H) < mpmath.mpf(10) ** -30
            assert g > 0 and H < 0  # increasing, concave: the supremum is at a = +infinity


@pytest.mark.parametrize("a0", [Fraction(1), Fraction(3)])
def test_newton_stops_where_no_fixed_point_is_near(a0):
    steps, a_end, g_end = predicted_newton_stop(a0, DPS)
    out = newton_polish(RUNAWAY, RUNAWAY_TARGET, (a0,), DPS)
    assert out.converged is False
    assert out.steps == steps and steps < 60  # stopped by stagnation, long before max_steps
    with mpmath.workdps(DPS):
        assert abs(mp_of(out.theta[0]) - a_end) < mpmath.mpf(10) ** -20
        assert abs(out.residual - g_end) <= 1e-12 * float(g_end)
        # it stopped although the gradient is nowhere near zero
        assert g_end > mpmath.mpf(10) ** -6


def test_newton_converges_to_the_closed_form_fixed_point():
    """Full-order ``gim`` on two spins: ``G = I``, the only fixed point is ``θ = J^D``."""
    JD = [Fraction(2, 5), Fraction(-3, 10), Fraction(7, 20)]
    target = from_couplings({"1": "0.4", "2": "-0.3", "1,2": "0.35"}, 2)
    start = (Fraction(1, 10), Fraction(1, 5), Fraction(-1, 4))  # |start - J^D| ~ 0.8
    out = newton_polish(GIM(2, 2), target, start, DPS)
    assert out.converged is True
    assert out.residual <= 10.0 ** (-(DPS - 6))
    assert max(abs(t - j) for t, j in zip(out.theta, JD)) < Fraction(1, 10 ** (DPS - 8))
    assert out.steps < 12  # quadratic convergence, never mistaken for stagnation


def test_newton_started_on_the_fixed_point_stays_there():
    JD = [Fraction(2, 5), Fraction(-3, 10), Fraction(7, 20)]
    target = from_couplings({"1": "0.4", "2": "-0.3", "1,2": "0.35"}, 2)
    out = newton_polish(GIM(2, 2), target, tuple(JD), DPS)
    assert out.converged is True and out.steps == 1
    assert max(abs(t - j) for t, j in zip(out.theta, JD)) < Fraction(1, 10 ** DPS)


# --- (d) scaling.worst_deviation ---------------------------------------------------------------------------


def fit(slopes, predicted):
    return ScalingFit(epsilons=(), norms=[], slopes=slopes, predicted=predicted, dps=30, fit_decades=5)


def test_worst_deviation_by_hand():
    predicted = {"J": {2: 2, 3: 3}, "G": {1: 0, 2: 1, 3: 2}, "K": {(1, 1): 0, (1, 2): 1, (2, 3): 3}}
    slopes = {
        "J": {2: 2.004, 3: 2.97},          # deviations 0.004, 0.03 (below the prediction)
        "G": {1: 0.001, 2: 1.02, 3: None},  # 0.001, 0.02, and no slope (a zero quantity): skipped
        "K": {(1, 1): -0.005, (1, 2): 1.0},  # 0.005, 0; (2, 3) has no fitted entry: skipped
    }
    assert fit(slopes, predicted).worst_deviation() == pytest.approx(0.03, abs=1e-12)
    slopes["J"][3] = 3.0
    assert fit(slopes, predicted).worst_deviation() == pytest.approx(0.02, abs=1e-12)
    slopes["G"][2] = 1.0
    assert fit(slopes, predicted).worst_deviation() == pytest.approx(0.005, abs=1e-12)
    slopes["K"][(1, 1)] = 0.0
    assert fit(slopes, predicted).worst_deviation() == pytest.approx(0.004, abs=1e-12)


@pytest.mark.parametrize("sign", [1, -1])
def test_a_slope_off_by_two_hundredths_is_reported(sign):
    predicted = predicted_slopes(RBM3, RBM3_BASE)
    slopes = {q: {key: float(v) for key, v in table.items()} for q, table in predicted.items()}
    slopes["K"][(2, 3)] += sign * 0.02
    result = fit(slopes, predicted)
    assert result.worst_deviation() == pytest.approx(0.02, abs=1e-12)
    assert result.worst_deviation() > 0.01  # H1's tolerance
    assert result.to_json()["worst_deviation"] == pytest.approx(0.02, abs=1e-9)


def test_predicted_slopes_are_the_theorys():
    """THEORY.md H1 at generic biases: ``J_k ~ ε^k`` (k ≥ 2), ``G_k ~ ε^(k-1)``, ``K_kl ~ ε^(k+l-2)``; ``product``
    under the uniform rescaling: 2, 1, 2 on the diagonal blocks, and its off-diagonal blocks identically zero."""
    p = predicted_slopes(RBM3, RBM3_BASE)
    assert p["J"] == {2: 2, 3: 3}
    assert p["G"] == {1: 0, 2: 1, 3: 2}
    assert p["K"] == {(1, 1): 0, (1, 2): 1, (1, 3): 2, (2, 2): 2, (2, 3): 3, (3, 3): 4}
    product = model_from_spec({"family": "product", "n": 2})
    q = predicted_slopes(product, random_params(product, 7, 0.8), scale_all=True)
    assert q["J"] == {1: 2, 2: 2} and q["G"] == {1: 1, 2: 1} and q["K"] == {(1, 1): 2, (1, 2): None, (2, 2): 2}


def test_zero_bias_shifts_the_predicted_orders():
    """H1's exact leading order: at b = 0 an even phi (log 2cosh) has phi^(k)(0) = 0 for odd k, so the odd orders
    are identically zero; an odd sigma (tanh) loses its even orders the same way, and a quadratic one has no
    coupling beyond order 2."""
    base = tuple(Fraction(0) if p.group == "b" else q for q, p in zip(RBM3_BASE, RBM3.params))
    assert RBM3.leading_orders(base) == {1: None, 2: 2, 3: None}
    tanh = model_from_spec({"family": "mlp", "n": 4, "hidden": 2, "activation": "tanh"})
    zero = tuple(Fraction(0) if p.group == "b" else Fraction(1, 3) for p in tanh.params)
    assert tanh.leading_orders(zero) == {1: 1, 2: None, 3: 3, 4: None}
    quadratic = model_from_spec({"family": "mlp", "n": 4, "hidden": 2, "activation": "quadratic"})
    generic = tuple(Fraction(1, 3) for _ in quadratic.params)
    assert quadratic.leading_orders(generic) == {1: 1, 2: 2, 3: None, 4: None}


def test_fit_slope_of_an_exact_power_law():
    with mpmath.workdps(40):
        xs = [mpmath.mpf(10) ** -k for k in range(1, 9)]
        assert fit_slope(xs, [3 * x**5 for x in xs]) == pytest.approx(5, abs=1e-9)
        assert fit_slope(xs[3:], [x**2 * (1 + x) for x in xs[3:]]) == pytest.approx(2, abs=1e-3)
