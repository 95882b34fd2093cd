"""The flow's Jacobian H against an independent algorithm and finite differences."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theory.arith import FLOAT64, MP
from theory.effective import covariance, gradient, jacobian, moments_by_mask, probabilities
from theory.flow import FlowState, coupling_hessians, flow_jacobian, flow_jacobian_phases
from theory.models import model_from_spec
from theory.targets import named

SPECS = [
    {"family": "gim", "n": 3, "max_order": 2},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"},
    {"family": "rbm", "n": 2, "hidden": 3, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 2, "hidden": 2, "activation": "silu"},
    {"family": "product", "n": 3, "fields": True},
    {"family": "custom", "n": 2, "energy": "a*s1*s2 + log(cosh(b + c*s1))", "params": ["a", "b", "c"]},
]


def point(model, seed=3):
    rng = np.random.default_rng(seed)
    return [Fraction(int(k), 1000) for k in rng.integers(-800, 800, size=model.P)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["family"] + str(s.get("activation", s.get("hidden_units", ""))))
def test_hessian_two_algorithms_and_finite_differences(spec):
    model = model_from_spec(spec)
    target = named("random-couplings", model.n, seed=5)
    with mpmath.workdps(50):
        theta = MP.array(point(model))
        m_data, p_data = target.moment_array(MP), target.probability_array(MP)
        H = flow_jacobian(model, theta, m_data, MP)
        H2 = flow_jacobian_phases(model, theta, p_data, MP)
        assert max(abs(v) for v in (H - H2).reshape(-1)) < mpmath.mpf(10) ** -45
        h = mpmath.mpf("1e-20")
        for k in range(model.P):
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            col = (gradient(model, up, m_data, MP) - gradient(model, down, m_data, MP)) / (2 * h)
            assert max(abs(a - b) for a, b in zip(col, H[:, k])) < mpmath.mpf(10) ** -28


def test_coupling_hessians_are_derivatives_of_G():
    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"})
    with mpmath.workdps(50):
        theta = MP.array(point(model, 8))
        d2J = coupling_hessians(model, theta, MP)
        h = mpmath.mpf("1e-20")
        for k in range(model.P):
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            dG = (jacobian(model, up, MP) - jacobian(model, down, MP)) / (2 * h)
            assert max(abs(v) for v in (dG - d2J[:, :, k]).reshape(-1)) < mpmath.mpf(10) ** -28


def test_full_gim_hessian_is_minus_fisher_matrix():
    """gim with K = N: G = I, so H = sum_A r_A 0 - C = -C(J) exactly."""
    model = model_from_spec({"family": "gim", "n": 3})
    target = named("pairwise", 3, seed=2)
    with mpmath.workdps(40):
        theta = MP.array(point(model))
        H = flow_jacobian(model, theta, target.moment_array(MP), MP)
        C = covariance(moments_by_mask(probabilities(theta, 3, MP)), 3)
        assert max(abs(v) for v in (H + C).reshape(-1)) < mpmath.mpf(10) ** -35


def test_float64_state_agrees():
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    target = named("random-couplings", 3, seed=1)
    th = point(model)
    with mpmath.workdps(30):
        ref = np.array(FlowState(model, MP.array(th), target.moment_array(MP), MP).hessian(), dtype=float)
    got = FlowState(model, FLOAT64.array(th), target.moment_array(FLOAT64), FLOAT64).hessian()
    np.testing.assert_allclose(got, ref, atol=1e-12)
