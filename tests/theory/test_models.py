"""Structured evaluators of every family against sympy's derivatives of the symbolic energy."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.arith import FLOAT64, MP
from theory.conventions import spin_table
from theory.errors import SpecError
from theory.models import model_from_spec

SPECS = [
    {"family": "gim", "n": 3, "max_order": 3},
    {"family": "gim", "n": 3, "max_order": 2},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "softplus"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "silu"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "quadratic"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "cubic"},
    {"family": "product", "n": 3, "fields": False},
    {"family": "product", "n": 3, "fields": True},
    {"family": "custom", "n": 2, "energy": "a1*s1 + log(cosh(b + w1*s1 + w2*s2))", "params": ["a1", "b", "w1", "w2"]},
]


def ident(spec):
    return "-".join(str(v) for v in spec.values())[:40]


def point(model, seed):
    rng = np.random.default_rng(seed)
    return tuple(Fraction(int(k), 1000) for k in rng.integers(-900, 900, size=model.P))


def sympy_reference(model, theta, dps=60):
    """F, dF, d2F on all configurations from sympy's own differentiation of energy_expr()."""
    expr = model.energy_expr()
    syms = model.symbols
    grad = [sp.diff(expr, t) for t in syms]
    hess = [[sp.diff(g, t) for t in syms] for g in grad]
    args = list(model.spins) + syms
    f = sp.lambdify(args, [expr] + grad + [h for row in hess for h in row], modules="mpmath")
    S = spin_table(model.n)
    out = []
    with mpmath.workdps(dps):
        th = [mpmath.mpf(q.numerator) / q.denominator for q in theta]
        for x in range(2**model.n):
            out.append(f(*[int(v) for v in S[x]], *th))
    P = model.P
    F = [row[0] for row in out]
    dF = [row[1 : 1 + P] for row in out]
    d2F = [np.array(row[1 + P :], dtype=object).reshape(P, P) for row in out]
    return F, dF, d2F


@pytest.mark.parametrize("spec", SPECS, ids=ident)
def test_structured_derivatives_equal_sympy(spec):
    model = model_from_spec(spec)
    theta = point(model, 11)
    F_ref, dF_ref, d2F_ref = sympy_reference(model, theta)
    with mpmath.workdps(50):
        th = MP.array(theta)
        F = model.energy(th, MP)
        dF = model.energy_grad(th, MP)
        d2F = model.energy_hessian(th, MP)
        tol = mpmath.mpf(10) ** -45
        for x in range(2**model.n):
            assert abs(F[x] - F_ref[x]) < tol
            assert max(abs(dF[x, k] - dF_ref[x][k]) for k in range(model.P)) < tol
            assert max(abs(d2F[x, j, k] - d2F_ref[x][j, k]) for j in range(model.P) for k in range(model.P)) < tol


@pytest.mark.parametrize("spec", SPECS, ids=ident)
def test_weighted_hessian_equals_the_weighted_sum_of_sympy_hessians(spec):
    # sum_s w(s) d2F(s) against sympy's d2F, in every number type the engines use (mpf, float64, Arb balls):
    # catches a family's structured contraction (Walsh coefficients per hidden unit) reading a wrong character
    model = model_from_spec(spec)
    theta = point(model, 7)
    _, _, d2F_ref = sympy_reference(model, theta)
    weights = [Fraction((3 * x) % 7 - 3, 5) for x in range(2**model.n)]
    ref = sum(float(w) * d2F_ref[x].astype(float) for x, w in enumerate(weights))
    with mpmath.workdps(50):
        ref_mp = sum(mpmath.mpf(w.numerator) / w.denominator * d2F_ref[x] for x, w in enumerate(weights))
        got = model.weighted_energy_hessian(MP.array(theta), MP.array(weights), MP)
        assert max(abs(g - r) for g, r in zip(got.reshape(-1), ref_mp.reshape(-1))) < mpmath.mpf(10) ** -45
    got64 = model.weighted_energy_hessian(FLOAT64.array(theta), FLOAT64.array(weights), FLOAT64)
    np.testing.assert_allclose(got64, ref, rtol=1e-12, atol=1e-12)
    from verify.certify import BALL, ball_context

    import flint

    with ball_context(30):
        balls = model.weighted_energy_hessian(BALL.array(theta), BALL.array(weights), BALL)
    with ball_context(60):  # the reference as a ball of radius ~1e-50 (sympy's value is good to 50 digits)
        exact = [flint.arb(mpmath.nstr(r, 55)) + flint.arb(0, 1e-50) for r in ref_mp.reshape(-1)]
    assert all(b.overlaps(e) for b, e in zip(balls.reshape(-1), exact))  # both hold the true value
    assert max(float(b.rad()) for b in balls.reshape(-1)) < 1e-20


@pytest.mark.parametrize("spec", SPECS, ids=ident)
def test_float64_agrees_with_mpmath(spec):
    model = model_from_spec(spec)
    theta = point(model, 5)
    with mpmath.workdps(30):
        ref = np.array(model.energy_grad(MP.array(theta), MP), dtype=float)
    got = model.energy_grad(FLOAT64.array(theta), FLOAT64)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


def test_shapes_distinct_sizes():
    # N = 3 spins, M = 2 hidden units: a transposed w would change F
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    assert model.P == 3 + 2 + 6
    assert [p.label for p in model.params][5:7] == ["w[1,1]", "w[1,2]"]
    theta = model.parse_params({"a": [0, 0, 0], "b": [0, 0], "w": [[1, 0], [0, 0], [0, 0]]})
    F = model.energy(FLOAT64.array(theta), FLOAT64)
    # only spin 1 couples to hidden unit 1: F = log 2cosh(s1) + log 2
    np.testing.assert_allclose(F, np.log(2 * np.cosh(1.0)) + np.log(2.0))


def test_product_energy_is_sum_of_factored_couplings():
    model = model_from_spec({"family": "product", "n": 2, "fields": True})
    theta = model.parse_params({"u": {"1,2": 2}, "v": {"1,2": "0.25"}, "h": [1, -1]})
    F = model.energy(MP.array(theta), MP)
    S = spin_table(2)
    for x in range(4):
        assert F[x] == S[x, 0] - S[x, 1] + mpmath.mpf("0.5") * S[x, 0] * S[x, 1]


# --- custom energies are parsed, never evaluated --------------------------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("__import__('os').system('true')", "call"),
        ("s1.__class__", "attribute access"),
        ("(lambda x: x)(s1)", "call"),
        ("lambda: s1", "lambda"),
        ("open('f')", "call"),
        ("s1[0]", "subscript"),
        ("a if s1 else s2", "ifexp"),
        ("s1 < s2", "compare"),
        ("exp(s1, s2)", "one argument"),
        ("'text'", "constant"),
        ("s3 * a", "n = 2 spins"),
        ("q * s1", "undeclared name 'q'"),
        ("a *", "not a valid expression"),
    ],
)
def test_custom_energy_refuses_anything_off_the_whitelist(text, fragment):
    with pytest.raises(SpecError) as err:
        model_from_spec({"family": "custom", "n": 2, "energy": text, "params": ["a"]})
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_custom_energy_numbers_are_exact():
    model = model_from_spec({"family": "custom", "n": 1, "energy": "0.1*s1 + a*sqrt(2)", "params": ["a"]})
    s1, a = sp.Symbol("s1"), model.symbols[0]
    assert sp.simplify(model.energy_expr() - (sp.Rational(1, 10) * s1 + a * sp.sqrt(2))) == 0


def test_custom_parameter_names_are_checked():
    with pytest.raises(SpecError, match="reserved"):
        model_from_spec({"family": "custom", "n": 2, "energy": "s1", "params": ["s2"]})
    with pytest.raises(SpecError, match="declared twice"):
        model_from_spec({"family": "custom", "n": 2, "energy": "a*s1", "params": ["a", "a"]})


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"family": "rbn", "n": 3}, "unknown model family 'rbn'"),
        ({"family": "rbm", "n": 3}, "model.hidden"),
        ({"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "gauss"}, "hidden_units"),
        ({"family": "mlp", "n": 3, "hidden": 2, "activation": "relu"}, "activation"),
        ({"family": "gim", "n": 3, "max_order": 4}, "exceeds n"),
        ({"family": "gim", "n": 21}, "n > 20"),
        ({"family": "gim", "n": 3, "order": 2}, "unknown keys"),
    ],
)
def test_model_spec_errors(spec, fragment):
    with pytest.raises(SpecError, match=fragment.replace("(", r"\(").replace(">", ">")):
        model_from_spec(spec)


def test_param_errors_are_reported_together():
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    with pytest.raises(SpecError) as err:
        model.parse_params({"a": [1, 2], "w": [[1, 2]], "b": ["x", 1]})
    msg = str(err.value)
    assert "params.a must be a list of 3" in msg and "params.w must be 3 rows" in msg and "params.b[0]" in msg
    gim = model_from_spec({"family": "gim", "n": 3, "max_order": 2})
    with pytest.raises(SpecError, match="not a parameter of this model"):
        gim.parse_params({"J": {"1,2,3": 1}})
    with pytest.raises(SpecError, match="unknown subset"):
        gim.parse_params({"J": {"1,4": 1}})
