"""Symbolic proofs of the E1 / F1 / H identities on closed forms, and that a wrong formula is caught."""

import dataclasses

import pytest
import sympy as sp

from theory.closed_forms import derive
from theory.models import model_from_spec
from verify.identities import IDENTITIES, prove_identities

EXACT = [
    {"family": "gim", "n": 2},
    {"family": "gim", "n": 3, "max_order": 2},
    {"family": "product", "n": 3},
    {"family": "product", "n": 2, "fields": True},
    {"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"},
    {"family": "mlp", "n": 2, "hidden": 1, "activation": "cubic"},
    {"family": "rbm", "n": 2, "hidden": 1},
    {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "bernoulli"},
    {"family": "custom", "n": 2, "energy": "a*s1 + b*s2 + log(cosh(c + w*s1*s2))", "params": ["a", "b", "c", "w"]},
]


@pytest.mark.parametrize("spec", EXACT, ids=lambda s: "-".join(str(v) for v in s.values())[:40])
def test_identities_hold_exactly(spec):
    checks = prove_identities(derive(model_from_spec(spec)))
    assert [c.name for c in checks] == list(IDENTITIES)
    assert all(c.holds for c in checks), [c.to_json() for c in checks if not c.holds]
    # gim, product and polynomial mlp must reach exactly 0; so do rbm N=2 M=1 and this custom model
    assert all(c.method == "exact" and c.residual == "0" for c in checks)


def test_softplus_network_is_checked_numerically_and_says_so():
    cf = derive(model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "softplus"}))
    checks = prove_identities(cf, names=("E1 gradient direct", "H formula"))
    assert all(c.holds and c.method == "numeric" and c.points >= 5 and c.dps == 100 for c in checks)
    assert all(float(c.residual) < 1e-90 for c in checks)


def test_a_wrong_curvature_term_fails_both_routes():
    cf = derive(model_from_spec({"family": "rbm", "n": 2, "hidden": 1}))
    wrong = dataclasses.replace(cf, coupling_hessians=tuple(2 * h for h in cf.coupling_hessians))
    (check,) = prove_identities(wrong, names=("H formula",))
    assert check.holds is False and check.method == "numeric" and float(check.residual) > 1e-3


def test_a_wrong_jacobian_entry_fails_the_gradient_identities():
    cf = derive(model_from_spec({"family": "product", "n": 2}))
    G = sp.Matrix(cf.jacobian)
    G[2, 2] = -G[2, 2]  # ∂J_12/∂u_12 with the wrong sign
    wrong = dataclasses.replace(cf, jacobian=sp.ImmutableMatrix(G))
    results = {c.name: c.holds for c in prove_identities(wrong, names=("E1 gradient phases", "E1 gradient direct"))}
    assert results == {"E1 gradient phases": False, "E1 gradient direct": False}


def test_large_models_prove_the_quadratic_identities_by_reduction():
    """rbm N = 3, M = 2 (D·P² = 847): the full expansion of G^T C G took 103 s; the reduction is exact and quick."""
    cf = derive(model_from_spec({"family": "rbm", "n": 3, "hidden": 2}))
    checks = {c.name: c for c in prove_identities(cf)}
    assert all(c.holds and c.residual == "0" for c in checks.values())
    assert {n for n, c in checks.items() if c.method == "reduced"} == {"F1 induced flow", "F1 likelihood increase",
                                                                      "H formula"}


def test_the_reduction_catches_a_wrong_curvature_term_and_a_wrong_jacobian():
    cf = derive(model_from_spec({"family": "rbm", "n": 3, "hidden": 2}))
    wrong = dataclasses.replace(cf, coupling_hessians=tuple(2 * h for h in cf.coupling_hessians))
    (check,) = prove_identities(wrong, names=("H formula",))
    assert check.holds is False and check.method == "numeric"
    G = sp.Matrix(cf.jacobian)
    G[3, 5] = -G[3, 5]
    wrong = dataclasses.replace(cf, jacobian=sp.ImmutableMatrix(G))
    (check,) = prove_identities(wrong, names=("F1 induced flow",))
    assert check.holds is False


def test_the_curvature_lemma_holds_and_is_not_vacuous(monkeypatch):
    from verify import identities

    assert identities.curvature_lemma(3)
    # with the Fisher matrix's sign flipped the generic identity fails
    import theory.closed_forms as closed_forms

    original = closed_forms.covariance
    monkeypatch.setattr(closed_forms, "covariance", lambda m, n: -original(m, n))
    assert identities.curvature_lemma.__wrapped__(2) is False
