"""Effective quantities against closed forms, direct enumeration and finite differences."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.arith import FLOAT64, MP
from theory.conventions import canonical_masks, spin_table, subsets
from theory.effective import (
    concave_objective,
    covariance,
    gradient,
    gradient_phases,
    jacobian,
    kl_divergence,
    log_likelihood,
    log_partition,
    log_probabilities,
    model_couplings,
    moments,
    moments_by_mask,
    probabilities,
)
from theory.models import model_from_spec
from theory.targets import named
from theory.walsh import character_table

TOL50 = mpmath.mpf(10) ** -45


def mp_vec(values):
    return MP.array([Fraction(v) for v in values])


def test_single_spin_magnetisation_is_tanh():
    with mpmath.workdps(50):
        for j in ("0.3", "-1.7", "12.5"):
            J = mp_vec([j])
            m = moments(probabilities(J, 1, MP), 1)
            assert abs(m[0] - mpmath.tanh(mpmath.mpf(j))) < TOL50
            assert abs(log_partition(J, 1, MP) - mpmath.log(2 * mpmath.cosh(mpmath.mpf(j)))) < TOL50


def test_two_spin_ising_closed_forms():
    """Z = 2 e^{J12} cosh(J1+J2) + 2 e^{-J12} cosh(J1-J2) and its derivatives."""
    with mpmath.workdps(50):
        j1, j2, j12 = mpmath.mpf("0.4"), mpmath.mpf("-0.9"), mpmath.mpf("0.35")
        J = mp_vec(["0.4", "-0.9", "0.35"])  # canonical order: 1, 2, 12
        plus, minus = mpmath.exp(j12) * mpmath.cosh(j1 + j2), mpmath.exp(-j12) * mpmath.cosh(j1 - j2)
        Z = 2 * (plus + minus)
        m1 = (mpmath.exp(j12) * mpmath.sinh(j1 + j2) + mpmath.exp(-j12) * mpmath.sinh(j1 - j2)) / (plus + minus)
        m2 = (mpmath.exp(j12) * mpmath.sinh(j1 + j2) - mpmath.exp(-j12) * mpmath.sinh(j1 - j2)) / (plus + minus)
        m12 = (plus - minus) / (plus + minus)
        assert abs(log_partition(J, 2, MP) - mpmath.log(Z)) < TOL50
        m = moments(probabilities(J, 2, MP), 2)
        assert max(abs(a - b) for a, b in zip(m, [m1, m2, m12])) < TOL50


def test_rbm_two_spins_one_hidden_closed_form():
    """J_12 = 1/4 log[cosh(b+w1+w2) cosh(b-w1-w2) / (cosh(b+w1-w2) cosh(b-w1+w2))], J_i = a_i + ...; 60 digits."""
    model = model_from_spec({"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"})
    theta = model.parse_params({"a": ["0.2", "-0.3"], "b": ["0.45"], "w": [["0.8"], ["-1.1"]]})
    with mpmath.workdps(60):
        a1, a2, b, w1, w2 = (mpmath.mpf(q.numerator) / q.denominator for q in theta)
        c = lambda x: mpmath.cosh(x)  # noqa: E731
        J1 = a1 + mpmath.log(c(b + w1 + w2) * c(b + w1 - w2) / (c(b - w1 + w2) * c(b - w1 - w2))) / 4
        J2 = a2 + mpmath.log(c(b + w1 + w2) * c(b - w1 + w2) / (c(b + w1 - w2) * c(b - w1 - w2))) / 4
        J12 = mpmath.log(c(b + w1 + w2) * c(b - w1 - w2) / (c(b + w1 - w2) * c(b - w1 + w2))) / 4
        got = model_couplings(model, MP.array(theta), MP)
        assert max(abs(x - y) for x, y in zip(got, [J1, J2, J12])) < mpmath.mpf(10) ** -55


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 10**6))
def test_fisher_matrix_formula_and_positive_definite(n, seed):
    rng = np.random.default_rng(seed)
    with mpmath.workdps(40):
        J = MP.array([Fraction(int(k), 100) for k in rng.integers(-150, 150, size=2**n - 1)])
        p = probabilities(J, n, MP)
        C = covariance(moments_by_mask(p), n)
        chi = character_table(n)[:, canonical_masks(n)]
        m = moments(p, n)
        direct = np.array(
            [[sum(p[x] * chi[x, a] * chi[x, b] for x in range(2**n)) - m[a] * m[b] for b in range(2**n - 1)]
             for a in range(2**n - 1)],
            dtype=object,
        )
        assert max(abs(v) for v in (C - direct).reshape(-1)) < mpmath.mpf(10) ** -35
        assert min(mpmath.eigsy(mpmath.matrix(C.tolist()), eigvals_only=True)) > 0


@pytest.mark.parametrize("n", [2, 3, 4])
def test_concave_gap_is_kl(n):
    target = named("random-couplings", n, seed=n)
    with mpmath.workdps(50):
        JD, mD = target.coupling_array(MP), target.moment_array(MP)
        rng = np.random.default_rng(1)
        J = MP.array([Fraction(int(k), 50) for k in rng.integers(-50, 50, size=2**n - 1)])
        gap = concave_objective(JD, mD, n, MP) - concave_objective(J, mD, n, MP)
        kl = kl_divergence(target.probability_array(MP), target.log_probability_array(MP), log_probabilities(J, n, MP))
        assert kl > 0
        assert abs(gap - kl) < TOL50


def test_log_partition_does_not_overflow_at_float64():
    J = FLOAT64.array(["800", "-650", "900"])
    with mpmath.workdps(30):
        ref = log_partition(MP.array(["800", "-650", "900"]), 2, MP)
    got = log_partition(J, 2, FLOAT64)
    assert np.isfinite(got) and abs(got - float(ref)) < 1e-9 * abs(float(ref))
    p = probabilities(J, 2, FLOAT64)
    assert np.all(np.isfinite(p)) and abs(p.sum() - 1) < 1e-12


GRADIENT_SPECS = [
    {"family": "gim", "n": 3, "max_order": 2},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 2, "hidden": 1, "activation": "softplus"},
    {"family": "mlp", "n": 2, "hidden": 1, "activation": "silu"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "quadratic"},
    {"family": "mlp", "n": 3, "hidden": 1, "activation": "cubic"},
    {"family": "product", "n": 3, "fields": True},
    {"family": "custom", "n": 2, "energy": "a*s1*s2 + sinh(b)*s1 + tanh(c*s2)", "params": ["a", "b", "c"]},
]


@pytest.mark.parametrize("spec", GRADIENT_SPECS, ids=lambda s: s["family"] + str(s.get("activation", "")))
def test_gradient_three_ways(spec):
    """G^T r = E_D[dF] - E_theta[dF] = central finite difference of ell (step 1e-20) at 50 digits."""
    model = model_from_spec(spec)
    target = named("random-couplings", model.n, seed=4)
    rng = np.random.default_rng(2)
    exact = [Fraction(int(k), 1000) for k in rng.integers(-800, 800, size=model.P)]
    with mpmath.workdps(50):
        theta = MP.array(exact)
        pD = target.probability_array(MP)
        g = gradient(model, theta, moments(pD, model.n), MP)
        phases = gradient_phases(model, theta, pD, MP)
        h = mpmath.mpf("1e-20")
        for k in range(model.P):
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            fd = (log_likelihood(model, up, pD, MP) - log_likelihood(model, down, pD, MP)) / (2 * h)
            assert abs(g[k] - phases[k]) < TOL50
            assert abs(g[k] - fd) < mpmath.mpf(10) ** -28


def test_jacobian_of_full_gim_is_identity_and_of_rbm_matches_finite_differences():
    gim = model_from_spec({"family": "gim", "n": 3})
    G = jacobian(gim, FLOAT64.array(gim.zero_params()), FLOAT64)
    np.testing.assert_array_equal(G, np.eye(7))
    rbm = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    exact = [Fraction(k, 10) for k in (1, -2, 3, 4, -5, 6, -7, 8, 9, -1, 2)]
    with mpmath.workdps(50):
        theta = MP.array(exact)
        G = jacobian(rbm, theta, MP)
        h = mpmath.mpf("1e-20")
        for k in range(rbm.P):
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            col = (model_couplings(rbm, up, MP) - model_couplings(rbm, down, MP)) / (2 * h)
            assert max(abs(a - b) for a, b in zip(col, G[:, k])) < mpmath.mpf(10) ** -28


def test_probabilities_from_couplings_invert_couplings_of_log_p():
    from theory.walsh import spin_couplings

    rng = np.random.default_rng(3)
    n = 3
    p = rng.uniform(0.1, 1.0, size=2**n)
    p = [Fraction(v).limit_denominator(10**6) for v in p]
    total = sum(p)
    p = [v / total for v in p]
    with mpmath.workdps(50):
        pm = MP.array(p)
        J = spin_couplings(MP.log(pm), n)
        back = probabilities(J, n, MP)
        assert max(abs(a - b) for a, b in zip(back, pm)) < TOL50
    assert spin_table(n).shape == (8, 3) and len(subsets(n)) == 7
