"""Closed forms of J, G and ∇²J_A against hand derivations (multilinear reduction by hand, s_i² = 1)."""

import mpmath
import pytest
import sympy as sp

from theory.closed_forms import configuration_values, derive
from theory.models import model_from_spec


def sym(name):
    return sp.Symbol(name, real=True)


a1, a2, b1, c1 = sym("a_{1}"), sym("a_{2}"), sym("b_{1}"), sym("c_{1}")
w1, w2 = sym("w_{1,1}"), sym("w_{2,1}")


def logcosh(x):
    return sp.log(sp.cosh(x))


def test_gim_is_the_identity_map():
    cf = derive(model_from_spec({"family": "gim", "n": 3}))
    assert cf.couplings == sp.Matrix(cf.theta)
    assert cf.jacobian == sp.eye(7)
    assert all(h == sp.zeros(7, 7) for h in cf.coupling_hessians)


def test_gim_of_lower_order_has_zero_top_couplings():
    cf = derive(model_from_spec({"family": "gim", "n": 3, "max_order": 2}))
    assert cf.coupling((1, 2, 3)) == 0 and cf.jacobian.shape == (7, 6)


def test_product_couplings_are_products():
    cf = derive(model_from_spec({"family": "product", "n": 3, "fields": True}))
    u12, v12, h1 = sym("u_{12}"), sym("v_{12}"), sym("h_{1}")
    u1, v1 = sym("u_{1}"), sym("v_{1}")
    assert cf.coupling((1, 2)) == u12 * v12
    assert cf.coupling((1,)) == h1 + u1 * v1
    k = cf.theta.index(u12)
    assert cf.coupling_hessians[cf.subsets.index((1, 2))][k, cf.theta.index(v12)] == 1


def test_quadratic_mlp_by_hand():
    # c (b + w1 s1 + w2 s2)^2 = c (b^2 + w1^2 + w2^2) + 2 c b w1 s1 + 2 c b w2 s2 + 2 c w1 w2 s1 s2
    cf = derive(model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"}))
    assert cf.couplings == sp.Matrix([a1 + 2 * c1 * b1 * w1, a2 + 2 * c1 * b1 * w2, 2 * c1 * w1 * w2])
    assert sp.expand(cf.empty - c1 * (b1**2 + w1**2 + w2**2)) == 0


def test_cubic_mlp_by_hand():
    # (w1 s1 + w2 s2)^3 = (w1^3 + 3 w1 w2^2) s1 + (w2^3 + 3 w1^2 w2) s2; 3b(w1 s1 + w2 s2)^2 -> 6 b w1 w2 s1 s2
    cf = derive(model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "cubic"}))
    expected = [a1 + c1 * (3 * b1**2 * w1 + w1**3 + 3 * w1 * w2**2),
                a2 + c1 * (3 * b1**2 * w2 + w2**3 + 3 * w1**2 * w2),
                6 * b1 * c1 * w1 * w2]
    assert [sp.expand(j - e) for j, e in zip(cf.couplings, expected)] == [0, 0, 0]


def test_spin_rbm_coupling_is_a_log_cosh_difference():
    cf = derive(model_from_spec({"family": "rbm", "n": 2, "hidden": 1}))
    hand = (logcosh(b1 + w1 + w2) + logcosh(b1 - w1 - w2) - logcosh(b1 + w1 - w2) - logcosh(b1 - w1 + w2)) / 4
    assert sp.expand(cf.coupling((1, 2)) - hand) == 0
    assert sp.expand(cf.coupling((1,)) - a1 - (logcosh(b1 + w1 + w2) + logcosh(b1 + w1 - w2)
                                               - logcosh(b1 - w1 + w2) - logcosh(b1 - w1 - w2)) / 4) == 0
    # derivatives are written with tanh
    assert cf.jacobian.has(sp.tanh) and not cf.jacobian.has(sp.sinh)


def test_bernoulli_normal_form_is_an_identity():
    # log(1 + e^u) = u/2 + log 2 + log cosh(u/2), checked at 60 digits at several points
    model = model_from_spec({"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "bernoulli"})
    F = model.energy_expr()
    values = configuration_values(model)
    point = {a1: sp.Rational(1, 3), a2: sp.Rational(-2, 7), b1: sp.Rational(5, 4), w1: sp.Rational(-3, 2), w2: 2}
    for x, v in enumerate(values):
        s = [1 - 2 * ((x >> i) & 1) for i in range(2)]
        direct = F.xreplace(dict(zip(model.spins, s))).xreplace(point)
        assert abs(sp.N(direct - v.xreplace(point), 60)) < sp.Float(10) ** -55


def test_couplings_reconstruct_the_energy_at_high_precision():
    """An independent numeric check: F(s) = J_∅ + Σ J_A χ_A(s) at 50 digits for the tanh network."""
    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 1, "activation": "tanh"})
    cf = derive(model)
    point = dict(zip(cf.theta, [sp.Rational(k - 3, 5) for k in range(len(cf.theta))]))
    with mpmath.workdps(50):
        for x in range(8):
            s = [1 - 2 * ((x >> i) & 1) for i in range(3)]
            F = sp.N(model.energy_expr().xreplace(dict(zip(model.spins, s))).xreplace(point), 50)
            total = cf.empty.xreplace(point)
            for A, j in zip(cf.subsets, cf.couplings):
                total += j.xreplace(point) * sp.Mul(*[s[i - 1] for i in A])
            assert abs(F - sp.N(total, 50)) < 1e-45


@pytest.mark.parametrize("spec, polynomial", [
    ({"family": "gim", "n": 2}, True),
    ({"family": "mlp", "n": 2, "hidden": 1, "activation": "cubic"}, True),
    ({"family": "mlp", "n": 2, "hidden": 1, "activation": "tanh"}, False),
    ({"family": "custom", "n": 2, "energy": "a*s1*s2 + b*s1", "params": ["a", "b"]}, True),
    ({"family": "custom", "n": 2, "energy": "log(cosh(a*s1*s2))", "params": ["a"]}, False),
])
def test_polynomial_families(spec, polynomial):
    assert model_from_spec(spec).polynomial is polynomial


def test_at_substitutes_a_point():
    cf = derive(model_from_spec({"family": "rbm", "n": 2, "hidden": 1}))
    para = cf.at({w1: 0, w2: 0})
    assert list(para.couplings) == [a1, a2, 0]


# --- issue 12: closed forms from the family's structure -----------------------------------------------------------

from theory.closed_forms import derive_expanded, derive_structured  # noqa: E402

STRUCTURED = [
    {"family": "rbm", "n": 3, "hidden": 2},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 3, "hidden": 1, "activation": "cubic"},
    {"family": "mlp", "n": 2, "hidden": 2, "activation": "silu"},
]


@pytest.mark.parametrize("spec", STRUCTURED, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_structured_closed_forms_equal_the_expanded_ones(spec):
    """Two derivations: per-unit Walsh coefficients (structure) and the Walsh butterfly over 2^N values with sympy
    differentiating the couplings (expansion); J, G and every Hessian of J_A agree at a rational point to 40 digits."""
    import random

    model = model_from_spec(spec)
    s, e = derive_structured(model), derive_expanded(model)
    assert s.units and not e.units
    rng = random.Random(3)
    point = {t: sp.Rational(rng.randint(-9, 9), 7) for t in s.theta}
    pairs = [(s.couplings, e.couplings), (s.jacobian, e.jacobian)] + list(zip(s.coupling_hessians, e.coupling_hessians))
    for ours, theirs in pairs:
        for x, y in zip(ours, theirs):
            assert abs(sp.N((x - y).xreplace(point), 50)) < 1e-40


def test_a_spin_rbm_coupling_is_one_log_of_a_ratio_per_unit():
    """Issue 12: J_12 = 1/4 sum_mu log[cosh(b+w1+w2) cosh(b-w1-w2) / (cosh(b+w1-w2) cosh(b-w1+w2))]."""
    cf = derive(model_from_spec({"family": "rbm", "n": 2, "hidden": 2}))
    J = cf.coupling((1, 2))
    assert len(J.atoms(sp.log)) == 2  # one logarithm per hidden unit
    b, w = sym("b_{2}"), (sym("w_{1,2}"), sym("w_{2,2}"))
    ratio = sp.cosh(b + w[0] + w[1]) * sp.cosh(b - w[0] - w[1]) / (sp.cosh(b + w[0] - w[1]) * sp.cosh(b - w[0] + w[1]))
    assert sp.log(ratio) / 4 in sp.Add.make_args(J)


def test_structured_entries_follow_the_block_rules():
    """G[A, w_i mu] = c_mu T1[A xor {i}], Hess J_A[w_i mu, w_j mu] = c_mu T2[A xor {i} xor {j}], zero across units."""
    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"})
    cf = derive(model)
    index = {t: k for k, t in enumerate(cf.theta)}
    A = (1, 3)
    a, mask = cf.subsets.index(A), 0b101
    u = cf.units[1]
    w1, w2 = index[u.weights[0]], index[u.weights[1]]
    assert cf.jacobian[a, w2] == u.output * u.table(1, mask ^ 0b010)
    assert cf.coupling_hessians[a][w1, w2] == u.output * u.table(2, mask ^ 0b011)
    assert cf.coupling_hessians[a][index[cf.units[0].bias], w2] == 0
    # 3 tables of 2^N coefficients per unit: the cost is linear in M
    assert [len(t) for t in u.tables] == [8, 8, 8] and len(cf.units) == 2


def test_structured_closed_forms_reach_six_spins():
    model = model_from_spec({"family": "rbm", "n": 6, "hidden": 2})
    cf = derive(model)
    assert len(cf.units) == 2 and cf.couplings.shape == (63, 1)
    assert not cf.hessian_is_small  # H (3969 terms of G^T C G per entry) is built only on demand
    # J_123456 = 2^-6 log prod cosh^{chi}: 32 factors over 32
    num, den = sp.fraction(cf.coupling((1, 2, 3, 4, 5, 6)).atoms(sp.log).pop().args[0])
    assert len(sp.Mul.make_args(num)) == len(sp.Mul.make_args(den)) == 32
