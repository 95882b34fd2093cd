"""Lambdified closed forms agree with the structured evaluators (two derivations of one quantity)."""

import random

import mpmath
import numpy as np
import pytest

from theory import effective, flow
from theory.arith import FLOAT64, MP
from theory.models import model_from_spec
from verify.closed_form_evaluators import ClosedFormEvaluators
from verify.derivation_cache import closed_forms

SPECS = [
    {"family": "gim", "n": 3},
    {"family": "rbm", "n": 3, "hidden": 2},
    {"family": "rbm", "n": 2, "hidden": 2, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 2, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 3, "hidden": 1, "activation": "cubic"},
    {"family": "mlp", "n": 2, "hidden": 1, "activation": "silu"},
    {"family": "product", "n": 3, "fields": True},
    {"family": "custom", "n": 2, "energy": "a*s1 + b*s2 + log(cosh(c + w*s1*s2))", "params": ["a", "b", "c", "w"]},
]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_VERIFY_CACHE", str(tmp_path))


def worst(a, b):
    return max(abs(x - y) for x, y in zip(np.ravel(a), np.ravel(b)))


def point(model, rng):
    return [mpmath.mpf(rng.randint(-9, 9)) / 7 for _ in range(model.P)]


@pytest.mark.parametrize("dps", [30, 50])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(str(v) for v in s.values())[:40])
def test_mpmath_evaluators_match_structured_ones(spec, dps):
    model = model_from_spec(spec)
    ev = ClosedFormEvaluators(closed_forms(model), "mpmath")
    rng = random.Random(dps)
    tol = mpmath.mpf(10) ** -(dps - 5)
    with mpmath.workdps(dps):
        theta = point(model, rng)
        th = np.array(theta, dtype=object)
        m_data = np.array([mpmath.mpf(rng.randint(-5, 5)) / 11 for _ in range(2**model.n - 1)], dtype=object)
        assert worst(ev.couplings(theta), effective.model_couplings(model, th, MP)) < tol
        assert worst(ev.jacobian(theta), effective.jacobian(model, th, MP)) < tol
        p = effective.model_probabilities(model, th, MP)
        assert worst(ev.moments(theta), effective.moments(p, model.n)) < tol
        assert worst(ev.gradient(theta, m_data), effective.gradient(model, th, m_data, MP)) < tol
        assert worst(ev.hessian(theta, m_data), flow.flow_jacobian(model, th, m_data, MP)) < tol


@pytest.mark.parametrize("activation", ["softplus", "silu"])
def test_exponential_networks_have_closed_forms_at_n4(activation):
    """Issue 12 D1: softplus and silu networks are derived from their structure beyond N = 3 (their limit is 6)."""
    model = model_from_spec({"family": "mlp", "n": 4, "hidden": 2, "activation": activation})
    assert model.closed_form_max_n == 6
    ev = ClosedFormEvaluators(closed_forms(model), "mpmath")
    rng = random.Random(4)
    with mpmath.workdps(30):
        theta = point(model, rng)
        th = np.array(theta, dtype=object)
        tol = mpmath.mpf(10) ** -25
        assert worst(ev.couplings(theta), effective.model_couplings(model, th, MP)) < tol
        assert worst(ev.jacobian(theta), effective.jacobian(model, th, MP)) < tol


def test_numpy_evaluators_match_float64_structured_ones():
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    ev = ClosedFormEvaluators(closed_forms(model), "numpy")
    theta = np.array([0.3, -0.2, 0.5, 0.1, -0.4, 0.7, -0.6, 0.2, 0.9, -0.3, 0.45])
    m_data = np.linspace(-0.3, 0.3, 7)
    assert worst(ev.couplings(theta), effective.model_couplings(model, theta, FLOAT64)) < 1e-12
    assert worst(ev.hessian(theta, m_data), flow.flow_jacobian(model, theta, m_data, FLOAT64)) < 1e-12


def test_a_backend_other_than_mpmath_or_numpy_is_refused():
    with pytest.raises(ValueError, match="backend"):
        ClosedFormEvaluators(closed_forms(model_from_spec({"family": "gim", "n": 2})), "torch")
