"""What each built-in family declares, checked against the mathematics it states."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theory.arith import MP
from theory.effective import jacobian, model_couplings
from theory.families import FAMILIES, model_from_spec

SPECS = [
    {"family": "gim", "n": 3, "max_order": 2},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"},
    {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "bernoulli"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "silu"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "softplus"},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "cubic"},
    {"family": "product", "n": 3, "fields": True},
    {"family": "custom", "n": 2, "energy": "a*s1 + b*s1*s2", "params": ["a", "b"]},
]


def _point(model, seed=3):
    rng = np.random.default_rng(seed)
    return tuple(Fraction(int(rng.integers(-90, 90)), 97) for _ in model.params)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(str(v) for v in s.values())[:40])
def test_declared_symmetries_leave_every_coupling_unchanged(spec):
    model = model_from_spec(spec)
    theta = _point(model)
    with mpmath.workdps(50):
        J = model_couplings(model, MP.array(theta), MP)
        for sym in model.symmetries():
            moved = sym.act(theta, sym.example)
            assert moved != theta, sym.name
            J2 = model_couplings(model, MP.array(moved), MP)
            assert max(abs(x - y) for x, y in zip(J, J2)) < mpmath.mpf(10) ** -45, sym.name
            if sym.continuous:
                G = jacobian(model, MP.array(theta), MP)
                for v in sym.tangents(theta):
                    assert max(abs(x) for x in G @ MP.array(v)) < mpmath.mpf(10) ** -45, sym.name


def test_which_families_declare_which_symmetries():
    declared = {(s["family"], s.get("hidden_units", s.get("activation"))): [sym.name for sym in model_from_spec(s).symmetries()]
                for s in SPECS}
    flip = ["hidden-unit permutation", "sign flip of a hidden unit"]
    assert declared[("rbm", "spin")] == flip and declared[("rbm", "bernoulli")] == flip  # softplus: a_i -> a_i + w_i
    assert declared[("mlp", "tanh")] == flip and declared[("mlp", "silu")] == flip
    assert declared[("gim", None)] == [] and declared[("custom", None)] == []
    assert declared[("product", None)] == ["rescaling of a factor pair"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(str(v) for v in s.values())[:40])
def test_count_parameters_without_building(spec):
    model = model_from_spec(spec)
    counted = FAMILIES[spec["family"]].count_parameters(spec)
    assert counted is None or counted == model.P


def test_small_weight_start_is_the_sweeps():
    """The seeded start of the hierarchy flows (value pin: the sweep store and baseline depend on it):
    fields 0, biases 0.5 z, weights eps z, outputs z, z drawn in parameter order; other families eps z."""
    model = model_from_spec({"family": "mlp", "n": 2, "hidden": 1})
    z = np.random.default_rng(4).standard_normal(model.P)
    expected = [0.0, 0.0, 0.5 * z[2], 0.01 * z[3], 0.01 * z[4], z[5]]
    assert model.small_weight_start(0.01, 4) == tuple(Fraction(f"{v:.6e}") for v in expected)
    gim = model_from_spec({"family": "gim", "n": 2})
    z = np.random.default_rng(4).standard_normal(gim.P)
    assert gim.small_weight_start(0.01, 4) == tuple(Fraction(f"{0.01 * v:.6e}") for v in z)


def test_polynomial_declarations():
    polynomial = {(s["family"], s.get("hidden_units", s.get("activation"))): model_from_spec(s).polynomial for s in SPECS}
    assert polynomial == {("gim", None): True, ("rbm", "spin"): False, ("rbm", "bernoulli"): False,
                          ("mlp", "tanh"): False, ("mlp", "silu"): False, ("mlp", "softplus"): False,
                          ("mlp", "cubic"): True, ("product", None): True, ("custom", None): True}


def test_special_points_and_closed_form_limits():
    points = {(s["family"], s.get("hidden_units", s.get("activation"))): model_from_spec(s).special_points() for s in SPECS}
    assert points[("rbm", "spin")] == ("paramagnetic", "dead-unit")  # phi'(0) = tanh 0 = 0
    assert points[("rbm", "bernoulli")] == ("paramagnetic",)  # sigmoid(0) = 1/2: the dead unit does not decouple
    assert points[("mlp", "tanh")] == ("paramagnetic",) and points[("product", None)] == ("switched-off",)
    assert points[("gim", None)] == () and points[("custom", None)] == ()
    limits = {(s["family"], s.get("activation")): model_from_spec(s).closed_form_max_n for s in SPECS}
    assert limits[("mlp", "silu")] == limits[("mlp", "softplus")] == limits[("mlp", "tanh")] == 6
    assert limits[("rbm", None)] == 6  # issue 12: closed forms from the structure up to N = 6


@pytest.mark.parametrize("kind", ["paramagnetic", "dead-unit"])
def test_a_quadratic_network_inherits_the_closed_form_spectra(kind):
    """sigma = x^2 has sigma'(0) = 0, sigma''(0) = 2: the paramagnetic spectrum is {-(1 - m_i^2)} with 2M zeros and
    c_mu * 2 * spec(C-hat) per unit, and a dead unit adds {0, 0} and 2 spec(R) -- predictions the family derives from
    its activation; S2 finds them in the computed spectrum of H."""
    from verify.registry import get
    from verify.registry import cases_for_model

    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": "quadratic"})
    cases = [c for c in cases_for_model(get("S2"), model, None, {"named": "pairwise", "seed": 1})
             if c.meta["construction"] == kind]
    verdict = get("S2").check(cases[0], 30)
    assert verdict.status == "holds", verdict.evidence
    assert verdict.evidence["predicted_eigenvalues_present"]["satisfied"] is True


def test_homogeneous_activations_give_a_rescaling_symmetry():
    """sigma(lambda x) = lambda^p sigma(x): c (lambda x)^p / lambda^p = c x^p, a continuous symmetry per unit."""
    for activation, p in (("quadratic", 2), ("cubic", 3)):
        model = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": activation})
        assert model.activation.homogeneity == p
        assert [s.name for s in model.symmetries() if s.continuous] == ["rescaling of a hidden unit"]
    tanh = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"})
    assert not any(s.continuous for s in tanh.symmetries())
