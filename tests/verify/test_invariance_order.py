"""Invariance of J along neutral directions, decided beyond second order (issue 16, items 1 and 2).

Each case has a closed form for how J moves along the neutral directions; the classifier must
find the same order, and S1 must hold with its invariance clause not applicable where the rank
of G drops (THEORY.md S1).
"""

from fractions import Fraction

import mpmath
import pytest

from theory.arith import MP
from theory.effective import model_couplings
from theory.models import model_from_spec
from theory.targets import from_couplings, from_probabilities
from verify.fixed_points import classify
from verify.linalg import norm
from verify.point_checks import point_verdicts
from verify.verdict import HOLDS

DPS = 30


def _s1(model, target, c):
    return next(v for v in point_verdicts(model, target, c, with_f1=False) if v.proposition == "S1")


def _straight_line_order(model, theta, v, ts=(Fraction(1, 100), Fraction(1, 1000))):
    """Independent of the classifier: the slope of |J(θ + tv) − J(θ)| against t (no correction at all)."""
    with mpmath.workdps(60):
        base = model_couplings(model, MP.array(theta), MP)
        sizes = [norm(model_couplings(model, MP.array([q + t * d for q, d in zip(theta, v)]), MP) - base) for t in ts]
        return float(mpmath.log(sizes[1] / sizes[0]) / mpmath.log(mpmath.mpf(ts[1].numerator) / ts[1].denominator * ts[0].denominator / ts[0].numerator))


def test_a_coupling_cubic_in_a_neutral_parameter_moves_at_third_order():
    # F = a s1 + b s1 s2 + c^3 s1 s2 s3: J_1 = a, J_12 = b, J_123 = c^3 exactly. At c = 0 on the target
    # (J_1, J_12) = (a, b): data-consistent, ker G = e_c, and J_123 = t^3 along it: not invariant.
    model = model_from_spec({"family": "custom", "n": 3, "energy": "a*s1 + b*s1*s2 + c**3*s1*s2*s3",
                             "params": ["a", "b", "c"]})
    target = from_couplings({"1": "0.3", "1,2": "-0.2"}, 3)
    theta = (Fraction(3, 10), Fraction(-1, 5), Fraction(0))
    assert _straight_line_order(model, theta, (0, 0, 1)) == pytest.approx(3, abs=1e-6)
    c = classify(model, target, theta, DPS)
    assert c.kind == "data-consistent" and c.neutral == 1 and c.rank_G == 2
    assert c.non_invariant_neutral == 0  # G e_c = 0: invisible at first order
    assert c.neutral_invariant is False and c.invariance_order == 3
    # rank 2 here, 3 wherever c != 0: the rank drops, so S1's invariance clause does not apply
    assert c.rank_G_nearby == 3 and c.rank_drops is True
    s1 = _s1(model, target, c)
    assert s1.status == HOLDS
    assert "neutral_directions_leave_J_invariant" not in s1.evidence
    assert s1.evidence["order_at_which_J_moves"] == 3 and "not applicable" in s1.evidence["invariance_clause"]


def test_rbm_without_weights_on_a_uniform_target_holds_with_the_clause_not_applicable():
    # w = 0, a = b = 0 reproduces the uniform target; rank G = 3 (the fields). A single weight keeps
    # J = 0 (log 2cosh is even), two weights make J_ij = O(t^2): J moves at second order along their mix.
    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 1})
    target = from_probabilities(["1/8"] * 8, 3)
    theta = tuple(Fraction(0) for _ in range(model.P))
    mix = [0] * model.P
    mix[model.P - 3], mix[model.P - 2] = 1, 1  # w_11 and w_21
    assert _straight_line_order(model, theta, mix) == pytest.approx(2, abs=1e-3)
    c = classify(model, target, theta, DPS)
    assert c.kind == "data-consistent" and c.rank_G == 3
    assert c.neutral_invariant is False and c.invariance_order == 2
    assert c.rank_drops is True and c.rank_G_nearby > 3
    s1 = _s1(model, target, c)
    assert s1.status == HOLDS and s1.evidence["order_at_which_J_moves"] == 2
    # evidence and decision say the same thing: no line claims "0 neutral directions move J"
    assert "0 neutral directions move J" not in str(s1.evidence)


def test_paramagnetic_tanh_network_moves_J_at_third_order():
    # tanh at w = 0, b = 0: tanh''(0) = 0, so directions mixing b and w move J_12 only at t^3
    model = model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "tanh"})
    target = from_couplings({"1,2": "0.4"}, 2)
    theta = (0, 0, 0, 0, 0, Fraction(7, 10))  # a1, a2, b, w11, w21, c
    # a neutral direction: b and w moved, the fields compensating c·tanh'(0)·w at first order
    assert [p.label for p in model.params] == ["a[1]", "a[2]", "b[1]", "w[1,1]", "w[2,1]", "c[1]"]
    mix = [Fraction(-7, 10), Fraction(-7, 10), 1, 1, 1, 0]
    assert _straight_line_order(model, theta, mix) == pytest.approx(3, abs=1e-3)
    c = classify(model, target, theta, DPS)
    assert c.kind == "spurious" and c.unstable == 0
    assert c.non_invariant_neutral == 0
    assert c.neutral_invariant is False and c.invariance_order == 3


def test_paramagnetic_tanh_network_with_four_spins_decides_the_rank_nearby():
    # N = 4, M = 2: at t = 1e-3 from the point the smallest singular value of G is about 6e-26 (a high
    # power of t), straddling the zero threshold at dps 50; the rank nearby must still be decided (by
    # stepping further out, valid because J is analytic) and J found to move at third order
    from verify.cases import parse_target
    from verify.spurious import construct

    model = model_from_spec({"family": "mlp", "n": 4, "hidden": 2, "activation": "tanh"})
    target = parse_target({"named": "pairwise", "seed": 1}, 4)
    point = construct("paramagnetic", model, target, 50)
    c = classify(model, target, point.theta, 50)
    assert c.rank_G == 4 and c.rank_G_nearby is not None and c.rank_G_nearby > 4
    assert c.neutral_invariant is False and c.invariance_order == 3


def test_a_smooth_fibre_is_invariant_at_every_order():
    # product N = 2 at a data-consistent point: the fibre u_A v_A = J^D_A is a smooth product of
    # hyperbolas, and the rescalings are tangent to it
    model = model_from_spec({"family": "product", "n": 2})
    target = from_couplings({"1": "0.3", "2": "-0.2", "1,2": "0.5"}, 2)
    theta = (Fraction(1), Fraction(1), Fraction(1), Fraction(3, 10), Fraction(-1, 5), Fraction(1, 2))
    c = classify(model, target, theta, DPS)
    assert c.kind == "data-consistent" and c.neutral == 3 and c.rank_G == 3
    # the rank is 3 here and nearby: invariant by the constant-rank theorem
    assert c.rank_G_nearby == 3 and c.rank_drops is False
    assert c.neutral_invariant is True and c.invariance_order is None and c.fibre_motion.method == "constant rank"
    assert _s1(model, target, c).status == HOLDS
    # the reduction, run directly, agrees: every tested direction (basis, sum, random mix) is tangent
    from verify.fixed_points import _test_directions
    from verify.neutral import fibre_motion

    idx = [k for k, z in enumerate(c.eigen_zero) if z]
    low, high = _test_directions(c.low, c.high, idx)
    motion = fibre_motion(model, theta, low, high, c.rank_G, DPS)
    assert motion.invariant is True and motion.per_direction == ("tangent",) * 5


def test_fibre_walk_end_is_checked_against_the_target_independently(monkeypatch):
    # audit (issue 16, item 11): a walk that projects onto J = 0 instead of J = J^D used to pass,
    # because the end was re-projected by the same function
    import verify.neutral as neutral
    from verify.propositions.s1_neutral import fibre_requirements
    from verify.verdict import FAILS, judge

    model = model_from_spec({"family": "product", "n": 2})
    target = from_couplings({"1": "0.3", "2": "-0.2", "1,2": "0.5"}, 2)
    theta = (Fraction(1), Fraction(1), Fraction(1), Fraction(3, 10), Fraction(-1, 5), Fraction(1, 2))
    reqs, _ = fibre_requirements(model, target, theta, DPS)
    assert judge("S1", "c", reqs, DPS, "r").status == HOLDS
    real = neutral._project
    monkeypatch.setattr(neutral, "_project", lambda m, th, J_data, dps, max_iter=30: real(m, th, J_data * 0, dps, max_iter))
    reqs, _ = fibre_requirements(model, target, theta, DPS)
    verdict = judge("S1", "c", reqs, DPS, "r")
    assert verdict.status == FAILS
    assert verdict.evidence["fibre_end_has_the_target_couplings"]["satisfied"] is False


def test_fixed_points_reports_the_degenerate_fixed_point_it_starts_on(tmp_path):
    # audit (issue 16, item 4): at w = 0 Newton cannot converge (H is singular in a non-manifold way),
    # and the point the search started on was missing from the answer
    import json

    from verify.commands import fixed_points_document

    case = {"model": {"family": "rbm", "n": 3, "hidden": 1},
            "params": {"a": [0, 0, 0], "b": [0], "w": [[0], [0], [0]]},
            "target": {"probabilities": ["1/8"] * 8}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case))
    docs = fixed_points_document(str(path), seeds=0, dps=DPS, t_max=10.0)
    given = [d for d in docs if any("given point" in f for f in d.get("found_from", []))]
    assert len(given) == 1 and given[0]["kind"] == "data-consistent"
    assert given[0]["order_at_which_J_moves"] == 2 and given[0]["rank_drops_here"] is True


def test_a_large_neutral_space_is_tested_along_generic_directions():
    # product N = 4 at a data-consistent point: 15 neutral directions (the rescalings), more than
    # MAX_BASIS_DIRECTIONS; the sum and two seeded random combinations decide tangency (a cone of tangent
    # directions containing a generic one is all of the neutral space), and they are tangent
    from fractions import Fraction as Q

    from verify.fixed_points import MAX_BASIS_DIRECTIONS, _test_directions

    model = model_from_spec({"family": "product", "n": 4})
    values = {"1": "0.3", "2": "-0.2", "3": "0.1", "4": "0.25", "1,2": "0.5", "3,4": "-0.4", "1,2,3,4": "0.2"}
    target = from_couplings(values, 4)
    J = {tuple(int(i) for i in k.split(",")): Q(v) for k, v in values.items()}
    theta = []
    for A in model.subsets:  # u_A = 1, v_A = J^D_A (the u's first, then the v's)
        theta.append(Q(1))
    for A in model.subsets:
        theta.append(J.get(tuple(A), Q(0)))
    c = classify(model, target, tuple(theta), DPS)
    assert c.kind == "data-consistent" and c.neutral == 15 > MAX_BASIS_DIRECTIONS
    idx = [k for k, z in enumerate(c.eigen_zero) if z]
    low, _ = _test_directions(c.low, c.high, idx)
    assert len(low) == 3  # the sum and two random combinations, no basis vector
    assert c.neutral_invariant is True
