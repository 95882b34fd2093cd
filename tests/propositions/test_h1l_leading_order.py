"""H1L: the Walsh-coefficient lemma proved exactly, the leading-order theorem checked up to N = 8, and that the
check fails on a wrong law and is inconclusive where the precision cannot decide."""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import mpmath
import pytest

from theory.activations import ACTIVATIONS
from theory.models import model_from_spec
from verify.cases import Case
from verify.propositions import h1l_leading_order as H
from verify.registry import get, propositions
from verify.verdict import FAILS, HOLDS, INCONCLUSIVE


def test_registered_between_h1_and_h2_for_the_hidden_layer_families():
    ids = [p.id for p in propositions()]
    assert ids.index("H1") < ids.index("H1L") < ids.index("H2")
    prop = get("H1L")
    assert prop.applies(model_from_spec({"family": "rbm", "n": 3, "hidden": 2}))
    assert not prop.applies(model_from_spec({"family": "product", "n": 3}))


def test_walsh_coefficients_of_small_powers_by_hand():
    """N = 2: (w1 s1 + w2 s2)^2 = w1^2 + w2^2 + 2 w1 w2 s1 s2, and the cube's order-1 coefficients."""
    sq = H.walsh_power(2, 2)
    assert sq[0b00] == {(2, 0): 1, (0, 2): 1} and sq[0b11] == {(1, 1): 2}
    assert sq[0b01] == {} and sq[0b10] == {}
    cube = H.walsh_power(3, 2)
    assert cube[0b01] == {(3, 0): 1, (1, 2): 3} and cube[0b11] == {} and cube[0b00] == {}


def test_the_lemma_holds_for_every_power_up_to_eight():
    rows = H.walsh_power_lemma()
    assert {r.n for r in rows} == set(range(H.MAX_POWER + 1))
    assert all(not r.failures for r in rows)
    # the leading clause was met for every k <= n at N = n, and N = n + 1, n + 2 were checked for n <= 6
    assert {(r.n, r.N) for r in rows} >= {(n, n) for n in range(1, 9)} | {(n, n + 2) for n in range(7)}
    assert all(r.leading >= 1 for r in rows)
    eight = next(r for r in rows if r.n == 8 and r.N == 8)
    assert eight.leading == 1 and eight.next_term == 28 and eight.zero == 128  # |A| = 8; |A| = 6; odd |A|


def test_the_lemma_catches_a_wrong_coefficient(monkeypatch):
    """Mutant: k! replaced by (k-1)! in the claimed value; the enumeration disagrees."""
    original = H._claimed

    def wrong(n, N, A):
        claim = original(n, N, A)
        k = A.bit_count()
        if claim and n == k and k >= 2:
            return {e: Fraction(factorial(k - 1)) for e in claim}
        return claim

    monkeypatch.setattr(H, "_claimed", wrong)
    rows = H.walsh_power_lemma.__wrapped__(4)
    assert any(r.failures for r in rows)


SPECS_UP_TO_8 = [
    ("h1l/rbm-spin-n8-m2/generic", {"family": "rbm", "n": 8, "hidden": 2}, "generic"),
    ("h1l/mlp-tanh-n8-m2/root", {"family": "mlp", "n": 8, "hidden": 2, "activation": "tanh"}, "root"),
    ("h1l/mlp-silu-n6-m3/zero-bias", {"family": "mlp", "n": 6, "hidden": 3, "activation": "silu"}, "zero-bias"),
    ("h1l/rbm-bernoulli-n5-m1/generic", {"family": "rbm", "n": 5, "hidden": 1, "hidden_units": "bernoulli"},
     "generic"),
]


def _case(name, spec, mode):
    from verify.cases import random_params

    model = model_from_spec(spec)
    params = random_params(model, seed=5, scale=0.8)
    if mode == "zero-bias":
        params = tuple(Fraction(0) if p.group == "b" else q for q, p in zip(params, model.params))
    if mode == "root":
        root = H.derivative_root(model.activation, 3)
        params = tuple(root if p.group == "b" else q for q, p in zip(params, model.params))
    return Case(name, model, params, None, {"mode": mode})


@pytest.mark.parametrize("name, spec, mode", SPECS_UP_TO_8, ids=[s[0] for s in SPECS_UP_TO_8])
def test_the_theorem_holds_up_to_eight_spins(name, spec, mode):
    verdict = H.check_h1l(_case(name, spec, mode), 30)
    assert verdict.status == HOLDS, {k: v for k, v in verdict.evidence.items()
                                     if isinstance(v, dict) and v.get("satisfied") is not True}
    assert not verdict.evidence.get("missing_requirements")
    if mode == "root":  # tanh''' vanishes at the biases: order 3 starts at eps^5 (the family's law says so too)
        assert verdict.evidence["orders"]["3"]["leading_power"] == 5
        assert "predicted 5" in verdict.evidence["order_3_starts_at_predicted_power"]["detail"]
    if mode == "zero-bias":  # silu - x/2 is even: odd orders >= 3 vanish identically at b = 0
        assert verdict.evidence["orders"]["3"]["leading_power"] is None


def test_the_root_of_tanh_third_derivative():
    """tanh''' = -2 (1 - t^2)(1 - 3 t^2): its positive root is atanh(1/sqrt 3), where tanh^(5) != 0."""
    root = H.derivative_root(ACTIVATIONS["tanh"], 3)
    with mpmath.workdps(60):
        exact = mpmath.atanh(1 / mpmath.sqrt(3))
        assert abs(mpmath.mpf(root.numerator) / root.denominator - exact) < mpmath.mpf(10) ** -55
    assert H.derivative_root(ACTIVATIONS["tanh"], 2) is None  # tanh'' < 0 on (0, 5]


def test_a_wrong_leading_coefficient_fails(monkeypatch):
    """Mutant: sigma^(k-1) in place of sigma^(k) in L_A; the remainder over eps^(k+2) then diverges."""
    original = H._derivatives
    monkeypatch.setattr(H, "_derivatives", lambda model, k, biases: original(model, k - 1, biases))
    verdict = H.check_h1l(_case("h1l/wrong", {"family": "rbm", "n": 3, "hidden": 2}, "generic"), 30)
    assert verdict.status == FAILS
    assert verdict.evidence["order_2_remainder_over_eps_k2_converges"]["satisfied"] is False


def test_an_order_k_plus_one_term_fails(monkeypatch):
    """Mutant: a coupling with a term of order |w|^(k+1) (what the theorem excludes) fails the check."""
    original = H._couplings

    def with_odd_term(model, theta):
        J = original(model, theta)
        w = sum(abs(t) for t, p in zip(theta, model.params) if p.group == "w")
        return J + [w ** (len(A) + 1) if len(A) >= 2 else 0 for A in H.subsets(model.n)]

    monkeypatch.setattr(H, "_couplings", with_odd_term)
    verdict = H.check_h1l(_case("h1l/odd", {"family": "mlp", "n": 3, "hidden": 2}, "generic"), 30)
    assert verdict.status == FAILS
    assert verdict.evidence["order_2_remainder_over_eps_k1_to_zero"]["satisfied"] is False


def test_inconclusive_when_the_precision_cannot_resolve_the_remainder(monkeypatch):
    """Without the digits the powers of eps cost, q is noise at dps but resolved at 2 dps: undecided."""
    monkeypatch.setattr(H, "epsilon_digits", lambda n: 0)
    verdict = H.check_h1l(_case("h1l/short", {"family": "rbm", "n": 3, "hidden": 2}, "generic"), 30)
    assert verdict.status == INCONCLUSIVE


def test_quick_cases_are_few_and_cheap():
    quick = H.h1l_cases(ns=(2, 3), quick=True)
    assert 3 <= len(quick) <= 6
    assert any(c.meta["mode"].startswith("root") for c in quick)
    full = H.h1l_cases(ns=(2, 3))
    assert {c.model.n for c in full} == {2, 3, 4}
    names = [c.name for c in full]
    assert len(names) == len(set(names))


def test_document_section_states_lemma_theorem_and_consequences():
    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"})
    text = "\n".join(H.leading_order_section(model, None))
    assert r"\paragraph{Lemma.}" in text and r"\emph{Proof.}" in text and r"\paragraph{Theorem.}" in text
    assert "all agree" in text
    # tanh at b = 0: even orders vanish identically, order 3 starts at eps^3; tanh''' has a root at 0.6585
    assert r"never (identically $0$)" in text and r"\sigma^{(3)}(\pm0.6585) = 0" in text
