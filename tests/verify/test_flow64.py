"""The float64 flow engine (verify.flow64, verify.orders64) against the mpmath path and the existing float64 path."""

import warnings

import mpmath
import numpy as np
import pytest

from theory.arith import FLOAT64, MP
from theory.conventions import canonical_masks
from theory.effective import gradient, moments_by_mask
from theory.flow import FlowState
from theory.models import GIM, MLP, RBM, Product
from theory.targets import named
from verify import orders64
from verify.cases import random_params
from verify.flow64 import (
    all_order_errors64,
    data_distribution,
    gradient64,
    integrate64,
    jacobian64,
)
from verify.learning import METRICS, connected_correlations, integrate, maxent_couplings, order_errors, small_weight_init

# distinct sizes (N != M, M != N - 1 in places) so that a transposed index cannot pass
MODELS = [RBM(3, 2, "spin"), RBM(4, 3, "bernoulli"), RBM(4, 2, "spin"), MLP(3, 2, "tanh"), MLP(4, 3, "silu"),
          MLP(3, 2, "quadratic"), MLP(4, 2, "cubic"), MLP(3, 3, "softplus")]
GENERIC = [GIM(3), Product(3, fields=True)]


def _mp_reference(model, theta, target, dps=40):
    """∇ℓ = Gᵀr and H = Σ r_A ∇²J_A − GᵀCG from the structured evaluators in mpmath (theory.flow)."""
    with mpmath.workdps(dps):
        state = FlowState(model, MP.array(theta), target.moment_array(MP), MP)
        grad = np.array([float(v) for v in state.gradient])
        hess = np.array([[float(v) for v in row] for row in state.hessian()])
    return grad, hess


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("model", MODELS + GENERIC, ids=lambda m: "-".join(str(v) for v in m.spec().values()))
@pytest.mark.parametrize("seed", [3, 8])
def test_gradient_and_jacobian_match_mpmath(model, seed):
    target = named("random-couplings", model.n, seed=seed)
    theta = random_params(model, seed, 0.8)
    grad, hess = _mp_reference(model, theta, target)
    assert _rel(gradient64(model, theta, target), grad) < 1e-12
    H = jacobian64(model, theta, target)
    assert _rel(H, hess) < 1e-12
    assert np.array_equal(H, H.T)


def test_data_given_as_target_probabilities_or_moments():
    model = MLP(4, 3, "tanh")
    target = named("pairwise", 4, seed=2)
    theta = random_params(model, 1, 0.6)
    by_target = gradient64(model, theta, target)
    p = target.probability_array(FLOAT64)
    assert np.abs(data_distribution(target.moment_array(FLOAT64), 4) - p).max() < 1e-15
    assert np.abs(gradient64(model, theta, p) - by_target).max() < 1e-15
    assert np.abs(gradient64(model, theta, target.moment_array(FLOAT64)) - by_target).max() < 1e-14
    with pytest.raises(ValueError, match="2\\^n = 16 probabilities or 15 moments"):
        gradient64(model, theta, p[:5])


@pytest.mark.parametrize("model", [RBM(4, 3, "spin"), MLP(3, 2, "tanh"), MLP(4, 3, "silu")], ids=lambda m: m.family)
def test_jacobian_is_the_derivative_of_the_gradient(model):
    target = named("random-couplings", model.n, seed=5)
    theta = np.array([float(q) for q in random_params(model, 4, 0.7)])
    H = jacobian64(model, theta, target)
    h = 1e-5
    columns = [(gradient64(model, theta + h * e, target) - gradient64(model, theta - h * e, target)) / (2 * h)
               for e in np.eye(model.P)]
    assert _rel(np.array(columns).T, H) < 1e-8


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


from theory.activations import ACTIVATIONS

#: the activations' accurate float64 forms (theory.activations, Activation.float64)
UNITS = {name: act.float64 for name, act in ACTIVATIONS.items() if act.float64 is not None}

# (u, u', u'') from the defining formulas, evaluated at 40 digits
EXACT_UNITS = {
    "logcosh": (lambda x: mpmath.log(2 * mpmath.cosh(x)), mpmath.tanh, lambda x: mpmath.sech(x) ** 2),
    "softplus": (lambda x: mpmath.log1p(mpmath.exp(x)), _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x)),
    "tanh": (mpmath.tanh, lambda x: mpmath.sech(x) ** 2, lambda x: -2 * mpmath.tanh(x) * mpmath.sech(x) ** 2),
    "silu": (lambda x: x * _sigmoid(x), lambda x: mpmath.diff(lambda y: y * _sigmoid(y), x),
             lambda x: mpmath.diff(lambda y: y * _sigmoid(y), x, 2)),
    "quadratic": (lambda x: x**2, lambda x: 2 * x, lambda x: mpmath.mpf(2)),
    "cubic": (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x),
}


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_functions_are_accurate_at_extreme_arguments(name):
    """u, u', u'' relative to 40-digit values, where the naive forms cancel or overflow (|x| = 40, 1e-9)."""
    xs = np.array([-40.0, -3.0, -1e-9, 0.0, 2e-7, 0.8, 25.0, 40.0])
    (u, du), d2u = UNITS[name][0](xs), UNITS[name][1](xs)
    with mpmath.workdps(40):
        exact = [np.array([float(f(mpmath.mpf(x))) for x in xs]) for f in EXACT_UNITS[name]]
    for got, want in zip((u, du, d2u), exact):
        scale = np.where(want == 0, 1.0, np.abs(want))
        assert (np.abs(got - want) / scale).max() < 1e-14


def test_trajectory_matches_a_30_digit_taylor_integration():
    """The float64 flow (LSODA, rtol 1e-9) against mpmath's Taylor-series odefun on the mpmath path's ∇ℓ."""
    model = RBM(3, 2, "spin")
    target = named("random-couplings", 3, seed=1)
    theta0 = random_params(model, 3, 0.5)
    tr = integrate64(model, target, theta0, t_min=1.0, t_max=10.0, points=3)
    assert tr.success
    with mpmath.workdps(30):
        m_data = target.moment_array(MP)
        exact = mpmath.odefun(lambda t, y: list(gradient(model, np.array(y, dtype=object), m_data, MP)), 0,
                              list(MP.array(theta0)), tol=mpmath.mpf(10) ** -18, degree=24)
        reference = [np.array([float(v) for v in exact(mpmath.mpf(t))]) for t in tr.times]
    for t, want, got in zip(tr.times, reference, tr.thetas):
        assert _rel(got, want) < 1e-7, t
    assert _rel(tr.thetas[-1], tr.thetas[0]) > 1e-2  # the parameters did move


def test_trajectory_matches_the_existing_float64_path():
    model = RBM(4, 3, "spin")
    target = named("random-couplings", 4, seed=2)
    theta0 = small_weight_init(model, 1e-2, 0)
    new = integrate64(model, target, theta0, t_max=1e3, points=9)
    old = integrate(model, target, theta0, t_max=1e3, points=9)
    assert np.allclose(new.times, old.times)
    assert _rel(new.thetas, old.thetas) < 1e-6


@pytest.mark.parametrize("model", [RBM(3, 2, "spin"), MLP(4, 3, "tanh")], ids=lambda m: m.family)
def test_order_errors_match_the_existing_metrics(model):
    target = named("random-couplings", model.n, seed=1)
    tr = integrate64(model, target, small_weight_init(model, 1e-2, 0), t_max=1e4, points=25)
    ours = all_order_errors64(model, target, tr.thetas)
    for metric in METRICS:
        errors, absolute = order_errors(model, target, tr.thetas, metric)
        assert ours[metric][1] == absolute
        assert np.abs(ours[metric][0] - errors).max() < (1e-9 if metric == "maxent" else 1e-12), metric


def test_connected_correlations_by_recursion_equal_the_partition_sum():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(32), size=3).T  # three distributions on N = 5 spins, as columns
    ours = orders64.connected64(orders64.wht(p), 5)
    for col in range(3):
        want = connected_correlations(moments_by_mask(p[:, col]), 5)
        assert np.abs(ours[:, col] - want).max() < 1e-14


@pytest.mark.parametrize("dense_max", [orders64.DENSE_MAX, 0], ids=["dense", "conjugate-gradients"])
def test_maxent_fits_match_the_dense_newton(monkeypatch, dense_max):
    monkeypatch.setattr(orders64, "DENSE_MAX", dense_max)
    n = 5
    rng = np.random.default_rng(1)
    p = rng.dirichlet(2 * np.ones(2**n), size=4).T
    m = orders64.wht(p)
    support = (np.arange(2**n) > 0) & (orders64._popcount(n) <= 3)
    J, residual = orders64.maxent64(m, support)
    assert residual.max() < 1e-12
    for col in range(4):
        want = maxent_couplings(moments_by_mask(p[:, col]), n, 3)
        assert np.abs(J[canonical_masks(n), col] - want).max() < 1e-9


def test_a_failed_maxent_fit_is_nan_with_a_warning(monkeypatch):
    model = RBM(3, 2, "spin")
    target = named("random-couplings", 3, seed=1)
    thetas = [np.array([float(q) for q in random_params(model, s, 0.5)]) for s in range(3)]
    monkeypatch.setattr(orders64, "MAXENT_FAILED", -1.0)  # every fit counts as failed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        errors, _ = all_order_errors64(model, target, thetas, ("maxent",))["maxent"]
    assert np.isnan(errors[:, :2]).all() and np.isfinite(errors[:, 2]).all()
    assert any("did not converge" in str(w.message) for w in caught)
