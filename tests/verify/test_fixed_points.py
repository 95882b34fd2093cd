"""Search and classification of fixed points against closed forms; honesty of the classifier."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theory.arith import MP
from theory.effective import covariance, moments_by_mask, probabilities
from theory.models import GIM, model_from_spec
from theory.targets import from_couplings, named
from verify.cases import random_params
from verify.fixed_points import classify
from verify.neutral import follow_fibre
from verify.point_checks import classification_document, point_verdicts
from verify.search import integrate_flow, polish, solve_couplings, to_exact
from verify.verdict import HOLDS

DPS = 30


@pytest.fixture(scope="module")
def rbm_fixed_point():
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    target = named("random-couplings", 3, seed=1)
    theta, _, _ = integrate_flow(model, target, random_params(model, 5, 0.3))
    found = polish(model, target, theta, DPS)
    assert found.converged
    return model, target, found.theta


def test_rbm_data_consistent_point(rbm_fixed_point):
    model, target, theta = rbm_fixed_point
    c = classify(model, target, theta, DPS)
    assert c.fixed_point is True and c.kind == "data-consistent"
    assert c.rank_G == 7 and c.unstable == 0 and c.neutral == model.P - 7
    assert c.neutral_invariant is True
    verdicts = point_verdicts(model, target, c)
    assert {v.proposition: v.status for v in verdicts} == {"F1": HOLDS, "F2": HOLDS, "F3": HOLDS, "S1": HOLDS}
    doc = classification_document(c, verdicts, model)
    assert doc["verdict"] == HOLDS and set(doc["propositions"]) == {"F1", "F2", "F3", "S1"}
    assert list(doc)[-3:] == ["verdict", "propositions", "params"]  # the judgement before the point, as before
    assert "verdict" not in c.to_json(model) and not hasattr(c, "verdicts")  # classify measures, never judges
    # p_theta equals p_D: the KL is zero at working precision
    assert c.low.kl < mpmath.mpf(10) ** -(DPS - 5)


@pytest.mark.parametrize("offset", ["1e-10", "1e-20"])
def test_a_nearby_point_is_never_a_fixed_point(rbm_fixed_point, offset):
    model, target, theta = rbm_fixed_point
    moved = list(theta)
    moved[6] += Fraction(offset)
    c = classify(model, target, tuple(moved), DPS)
    assert c.fixed_point is not True
    assert c.kind != "data-consistent"
    assert all(v.proposition == "F1" for v in point_verdicts(model, target, c))  # F2/S1 are not claimed


def test_fibre_stays_on_the_data_consistent_set(rbm_fixed_point):
    model, target, theta = rbm_fixed_point
    path = follow_fibre(model, target, theta, DPS)
    assert path.completed and path.travelled >= 0.5 and path.displacement > 0.4
    assert path.max_coupling_error < mpmath.mpf(10) ** -(DPS - 10)


def test_gauss_newton_reaches_the_data_consistent_set():
    model = model_from_spec({"family": "mlp", "n": 3, "hidden": 3, "activation": "tanh"})
    target = named("random-couplings", 3, seed=2)
    found = solve_couplings(model, target, random_params(model, 3, 0.5), DPS)
    assert found.converged
    c = classify(model, target, found.theta, DPS)
    assert c.kind == "data-consistent" and c.unstable == 0


def test_truncated_gim_ends_spurious_at_the_missing_order():
    """gim K = 2 < N = 3 on a target with a 3-body coupling: fixed, not data-consistent at order 3."""
    model = GIM(3, 2)
    target = named("random-couplings", 3, seed=4)
    theta, _, _ = integrate_flow(model, target, model.zero_params())
    found = polish(model, target, theta, DPS)
    c = classify(model, target, found.theta, DPS)
    assert c.kind == "spurious"
    assert c.inconsistent_orders == [3] and c.lowest_inconsistent_order == 3
    assert "S1" not in {v.proposition for v in point_verdicts(model, target, c)}
    # G is a selection matrix: H = -C restricted to orders 1, 2 (strictly stable, nothing neutral)
    assert c.stable == 6 and c.neutral == 0 and c.unstable == 0


def test_full_gim_spectrum_is_minus_fisher_eigenvalues():
    model = GIM(3)
    target = named("pairwise", 3, seed=3)
    with mpmath.workdps(2 * DPS + 10):
        theta = to_exact(target.coupling_array(MP))
    c = classify(model, target, theta, DPS)
    assert c.kind == "data-consistent" and c.rank_G == 7 and c.neutral == 0
    with mpmath.workdps(DPS):
        C = covariance(moments_by_mask(probabilities(MP.array(theta), 3, MP)), 3)
        expected = sorted(-e for e in mpmath.eigsy(mpmath.matrix(C.tolist()), eigvals_only=True))
        assert max(abs(a - b) for a, b in zip(expected, c.eigenvalues)) < mpmath.mpf(10) ** -(DPS - 5)


def test_product_switched_off_pair_has_eigenvalues_plus_minus_r():
    from verify.spurious import product_switched_off

    target = named("random-couplings", 3, seed=2)
    point = product_switched_off(model_from_spec({"family": "product", "n": 3}), target, [(1, 2)], DPS)
    c = classify(point.model, target, point.theta, DPS)
    assert c.kind == "spurious" and c.unstable == 1
    r12 = point.predicted_eigenvalues[0]
    with mpmath.workdps(DPS):
        assert min(abs(e - r12) for e in c.eigenvalues) < mpmath.mpf(10) ** -(DPS - 5)
        assert min(abs(e + r12) for e in c.eigenvalues) < mpmath.mpf(10) ** -(DPS - 5)
    assert c.inconsistent_orders == [2]


def test_paramagnetic_rbm_spectrum_closed_form():
    """Spectrum {-(1-m_i^2)} ∪ {0}^M ∪ spec(Ĉ)^M computed here from the data directly."""
    from verify.spurious import paramagnetic

    n, M = 3, 2
    model = model_from_spec({"family": "rbm", "n": n, "hidden": M})
    target = named("pairwise", n, seed=5)
    point = paramagnetic(model, target, DPS)
    c = classify(model, target, point.theta, DPS)
    with mpmath.workdps(DPS):
        p = target.probability_array(MP)
        from theory.conventions import spin_table

        S = spin_table(n)
        m = [sum(p[x] * S[x, i] for x in range(2**n)) for i in range(n)]
        Chat = mpmath.matrix(n, n)
        for i in range(n):
            for j in range(n):
                if i != j:
                    Chat[i, j] = sum(p[x] * S[x, i] * S[x, j] for x in range(2**n)) - m[i] * m[j]
        spec = mpmath.eigsy(Chat, eigvals_only=True)
        expected = sorted([-(1 - mi**2) for mi in m] + [mpmath.mpf(0)] * M + [spec[k] for k in range(n)] * M)
        assert max(abs(a - b) for a, b in zip(expected, c.eigenvalues)) < mpmath.mpf(10) ** -(DPS - 5)
    assert c.kind == "spurious" and c.unstable == M * sum(1 for k in range(n) if spec[k] > 0) > 0


def test_paramagnetic_point_of_an_independent_target_is_data_consistent():
    from verify.spurious import paramagnetic

    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    target = named("independent", 3, seed=2)
    c = classify(model, target, paramagnetic(model, target, DPS).theta, DPS)
    assert c.kind == "data-consistent"


def test_degenerate_spurious_directions_are_not_invariant():
    """Pure 3-body target, w = 0: neutral directions with Gv = 0 that still move J (at second order)."""
    from verify.spurious import paramagnetic

    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    target = from_couplings({"1,2,3": "0.8"}, 3)
    c = classify(model, target, paramagnetic(model, target, DPS).theta, DPS)
    assert c.kind == "spurious" and c.inconsistent_orders == [3]
    assert c.unstable == 0 and c.neutral == 3 * 2 + 2
    assert c.non_invariant_neutral == 0  # invisible at first order
    assert c.neutral_invariant is False and c.invariance_order == 2  # seen at second order


def test_product_data_consistent_points_merge_along_rescalings(tmp_path):
    import json

    from verify.commands import fixed_points_document

    case = {"model": {"family": "product", "n": 2}, "target": {"named": "random-couplings", "seed": 1}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(case))
    docs = fixed_points_document(str(p), seeds=3, dps=DPS)
    consistent = [d for d in docs if d.get("kind") == "data-consistent"]
    assert len(consistent) == 1 and len(consistent[0]["found_from"]) >= 3
    assert consistent[0]["neutral"] == 3 and consistent[0]["neutral_directions_leave_J_invariant"] is True


def test_sign_error_in_H_is_caught(rbm_fixed_point, monkeypatch):
    """Mutation: H = Σ r ∇²J + GᵀCG. S1 must fail at a data-consistent point."""
    import theory.flow as flow

    model, target, theta = rbm_fixed_point
    monkeypatch.setattr(flow.FlowState, "hessian",
                        lambda self: flow.curvature_term(self.model, self.theta, self.r, self.arith) + self.G.T @ self.C @ self.G)
    c = classify(model, target, theta, DPS)
    s1 = next(v for v in point_verdicts(model, target, c) if v.proposition == "S1")
    assert s1.status == "fails"


def test_diverging_flow_is_not_a_fixed_point():
    from verify.search import diverging, flow_record

    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 1})
    target = named("random-couplings", 3, seed=1)
    _, _, gn, record = flow_record(model, target, random_params(model, 5, 0.3))
    assert diverging(record) and gn > 1e-7
    assert np.isfinite(record[-1][1])


def test_a_slow_flow_that_looks_like_a_runaway_one_is_polished_not_dismissed():
    # gim N = 5 (every order) on a seeded target: ℓ is concave with the finite maximiser J = J^D, but over
    # t = 1e2..1e4 its flow has ‖∇ℓ‖ falling ~17x per decade while ‖θ‖ grows, the runaway signature; F2 was
    # "not applicable: the flow runs off to infinity" until Newton was tried first
    from verify.endpoints import flow_endpoint
    from verify.registry import get
    from verify.search import diverging, flow_record

    case = next(c for c in get("F2").cases(ns=(5,), families=["gim"]) if c.name == "fp/gim-n5-k5/random-couplings-s4")
    _, _, _, record = flow_record(case.model, case.target, case.params, t_max=1e5)
    assert diverging(record)  # the heuristic alone would have said runaway
    end = flow_endpoint(case, 30)
    assert end.classification is not None and end.classification.kind == "data-consistent"
    assert get("F2").check(case, 30).status == "holds"


def test_a_wrong_hidden_unit_contraction_fails_F1_by_its_finite_difference(monkeypatch):
    """Mutation: the family's Σ_s w(s)∂²F(s) reads w_1's field character with the wrong sign. H and its phase
    form share the contraction, so their identity still holds; the central difference of ∇ℓ must catch it."""
    from theory.families.hidden_layer import HiddenLayer
    from verify.point_checks import f1_requirements

    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 2})
    target = named("random-couplings", 3, seed=1)
    theta = random_params(model, 3, 0.5)
    right = HiddenLayer.weighted_energy_hessian

    def wrong(self, th, weights, arith):
        out = right(self, th, weights, arith)
        ib, iw = self._ib(0), self._iw(0, 0)
        out[ib, iw] = out[iw, ib] = -out[ib, iw]
        return out

    def decided(reqs):
        return {r.name: r.satisfied for r in reqs}

    assert all(decided(f1_requirements(model, target, theta, DPS)).values())
    monkeypatch.setattr(HiddenLayer, "weighted_energy_hessian", wrong)
    after = decided(f1_requirements(model, target, theta, DPS))
    assert after["H_equals_its_phase_form"] is True and after["H_is_the_flow_jacobian"] is False


def test_a_runaway_note_gives_the_newton_goal_it_missed():
    # rbm N = 3, M = 1 on the seeded target runs off to infinity; Newton ends near 1e-16, which read as a zero
    # next to "does not converge": the note now names the goal of the stage that stopped
    from verify.endpoints import flow_endpoint
    from verify.registry import get

    case = next(c for c in get("F2").cases(ns=(3,), families=["rbm"]) if c.name == "fp/rbm-n3-m1-spin/random-couplings-s1")
    end = flow_endpoint(case, 30)
    assert end.classification is None and "run off to infinity" in end.note
    assert f"stops at ‖∇ℓ‖ = {end.outcome.residual:.1e}, short of its goal 1e-34" in end.note
    assert end.outcome.residual > 1e-34
