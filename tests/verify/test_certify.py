"""Ball-arithmetic certificates: existence and uniqueness (Krawczyk), inertia, exact counts."""

from fractions import Fraction

import numpy as np
import pytest

from theory.models import GIM, RBM, model_from_spec
from theory.targets import from_couplings, from_probabilities, named
from verify.cases import random_params
from verify.certify import certify_point, exact_inertia, exact_rank, inertia, krawczyk
from verify.fixed_points import classify
from verify.search import integrate_flow, polish

DPS = 30


def found(model, target, seed=5):
    theta, _, _ = integrate_flow(model, target, random_params(model, seed, 0.3))
    out = polish(model, target, theta, DPS)
    assert out.converged
    return out.theta


@pytest.mark.parametrize("model, target, method", [
    (GIM(3, 2), named("random-couplings", 3, seed=4), "krawczyk"),
    (RBM(3, 2), named("random-couplings", 3, seed=1), "krawczyk-slice"),
])
def test_fixed_points_are_certified_and_a_shifted_point_is_not(model, target, method):
    theta = found(model, target)
    cert = certify_point(model, target, theta, DPS, classify(model, target, theta, DPS))
    assert cert["certified"] is True and cert["method"] == method and cert["q_nonsingular"]
    assert cert["positive"] == 0 and cert["negative"] == 2**model.n - 1 - (model.P < 7) * (7 - model.P)
    assert cert["rank_G_at_least"] == min(model.P, 2**model.n - 1)
    if model.family == "gim":
        assert cert["rank_G_exact"] == model.P  # G is a 0/1 selection matrix: rational, exact rank
    moved = list(theta)
    moved[0] += Fraction(1, 10**10)
    moved = tuple(moved)
    assert certify_point(model, target, moved, DPS, classify(model, target, moved, DPS))["certified"] is False


def test_certify_point_takes_a_classification():
    """Measure, then certify: the certificate never classifies the point itself."""
    model, target = GIM(2), named("pairwise", 2, seed=1)
    theta = (Fraction(1, 10), Fraction(0), Fraction(0))
    with pytest.raises(TypeError):
        certify_point(model, target, theta, DPS)
    with pytest.raises(TypeError, match="classification"):
        certify_point(model, target, theta, DPS, None)


def test_a_box_with_three_fixed_points_is_not_certified():
    """F = a^2 s1 on one spin with J^D = 1/4: fixed points a = -1/2, 0 (spurious), +1/2."""
    from theory.flow import FlowState

    from verify.certify import BALL, ball_context

    model = model_from_spec({"family": "custom", "n": 1, "energy": "a**2*s1", "params": ["a"]})
    target = from_couplings({"1": "0.25"}, 1)
    with ball_context(DPS):
        m_data = target.moment_array(BALL)

        def f(x):
            return FlowState(model, x, m_data, BALL).gradient

        def jac(x):
            return FlowState(model, x, m_data, BALL).hessian()

        inv = np.linalg.inv(np.array([[float(jac(BALL.array([Fraction(0)]))[0, 0].mid())]]))
        assert krawczyk(f, jac, (Fraction(0),), Fraction(1), inv).certified is False
        # the spurious point alone, in a small box, is isolated (H = 2 r_1 != 0) and certified
        assert krawczyk(f, jac, (Fraction(0),), Fraction(1, 10**12), inv).certified is True


def test_exact_inertia_of_the_paramagnetic_closed_form_matches_balls():
    """Rational data: H = diag(-(1 - m_i^2)) ⊕ 0_M ⊕ Ĉ ⊗ I_M exactly (verify/spurious.py)."""
    from theory.flow import FlowState

    from verify.certify import ball_context
    from verify.spurious import paramagnetic

    probs = [Fraction(k, 100) for k in (17, 6, 11, 14, 9, 13, 19, 11)]
    target = from_probabilities(probs, 3)
    n, M = 3, 2
    S = [[1 - 2 * ((x >> i) & 1) for i in range(n)] for x in range(8)]
    m = [sum(p * S[x][i] for x, p in enumerate(probs)) for i in range(n)]
    Chat = [[Fraction(0) if i == j else sum(p * S[x][i] * S[x][j] for x, p in enumerate(probs)) - m[i] * m[j]
             for j in range(n)] for i in range(n)]
    P = n + M + n * M
    H = [[Fraction(0)] * P for _ in range(P)]
    for i in range(n):
        H[i][i] = -(1 - m[i] ** 2)
    for mu in range(M):
        for i in range(n):
            for j in range(n):
                H[n + M + i * M + mu][n + M + j * M + mu] = Chat[i][j]
    exact = exact_inertia(H)
    model = RBM(n, M)
    point = paramagnetic(model, target, DPS)
    with ball_context(DPS) as ball:
        Hb = FlowState(model, ball.array(point.theta), target.moment_array(ball), ball).hessian()
    import mpmath

    with mpmath.workdps(DPS):
        _, Q = mpmath.eigsy(mpmath.matrix([[float(v.mid()) for v in row] for row in Hb]))
        Qf = np.array([[float(Q[i, j]) for j in range(P)] for i in range(P)])
    balls = inertia(Hb, Qf)
    assert exact.zero == M and exact.negative + exact.positive + exact.zero == P
    assert (balls.negative, balls.positive) == (exact.negative, exact.positive) and balls.undecided == exact.zero


def test_exact_rank_of_a_selection_jacobian():
    from theory.arith import EXACT
    from theory.effective import jacobian

    model = GIM(3, 2)
    G = jacobian(model, EXACT.array(model.zero_params()), EXACT)
    assert exact_rank([[Fraction(int(v)) for v in row] for row in G]) == 6


def test_spurious_constructions_are_certified_through_s2():
    from verify.registry import get

    def kind(case):
        return "degenerate" if case.meta.get("degenerate") else case.meta["construction"]

    cases = [c for c in get("S2").cases(ns=(3,), families=None, quick=True)
             if kind(c) in ("switched-off", "paramagnetic", "degenerate")]
    assert {kind(c) for c in cases} == {"switched-off", "paramagnetic", "degenerate"}
    for case in cases:
        v = get("S2").check(case, DPS, certify=True)
        assert v.status == "holds" and v.certified is True, (case.name, v.certificate)
        assert v.to_json()["certificate"]["method"] in ("krawczyk-support", "krawczyk")


def test_four_spin_rbm_data_consistent_point_is_certified():
    model, target = RBM(4, 3), named("pairwise", 4, seed=1)
    theta = found(model, target)
    cert = certify_point(model, target, theta, DPS, classify(model, target, theta, DPS))
    assert cert["certified"] and cert["method"] == "krawczyk-slice" and cert["positive"] == 0


def test_a_contradicting_certificate_is_a_failure(monkeypatch):
    import verify.certify as certify
    from verify.registry import get

    case = next(c for c in get("F2").cases(ns=(3,), families=["rbm"], quick=True) if "m2-spin" in c.name)
    honest = get("F2").check(case, DPS, certify=True)
    assert honest.status == "holds" and honest.certified
    monkeypatch.setattr(certify, "certify_point", lambda *a, **k: {"certified": True, "negative": 0, "positive": 99})
    lying = get("F2").check(case, DPS, certify=True)
    assert lying.status == "fails"
    assert lying.evidence["certificate_agrees_with_classification"]["satisfied"] is False


def test_classify_certify_reports_what_is_proved(tmp_path):
    import json
    import subprocess
    import sys

    p = tmp_path / "g.json"
    p.write_text(json.dumps({"model": {"family": "gim", "n": 3, "max_order": 2},
                             "params": {"J": {"1": 0.1}}, "target": {"named": "random-couplings", "seed": 4}}))
    out = subprocess.run([sys.executable, "-m", "verify", "classify", str(p), "--polish", "--certify", "--dps", "30"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["certified"] is True and doc["certificate"]["negative"] == 6
    not_fixed = subprocess.run([sys.executable, "-m", "verify", "classify", str(p), "--certify", "--dps", "30"],
                               capture_output=True, text=True)
    assert json.loads(not_fixed.stdout)["certified"] is False


# --- non-isolated fixed points: orbits of continuous symmetries (issue 13) -----------------------------------


@pytest.mark.parametrize("n", [2, 3])
def test_a_user_given_switched_off_product_point_is_certified_on_a_slice(n):
    """product with u_12 = v_12 = 0 and the rest fitted, given as a bare point (no construction metadata): the
    rescalings of the fitted pairs make it non-isolated; on the slice transversal to their orbits Krawczyk
    proves a fixed point, and the inertia is the closed form's: one +r_12 and one -r_12 with the fitted block
    negative definite, plus exactly as many zeros as the orbit dimension (2^n - 2 fitted subsets)."""
    from verify.spurious import product_switched_off

    model = model_from_spec({"family": "product", "n": n})
    target = named("random-couplings", n, seed=1)
    point = product_switched_off(model, target, [(1, 2)], DPS)
    c = classify(model, target, point.theta, DPS)
    cert = certify_point(model, target, point.theta, DPS, c)
    assert cert["certified"] is True and cert["method"] == "krawczyk-orbit"
    assert cert["orbit_dimension"] == cert["zero"] == 2**n - 2 == c.neutral
    assert (cert["positive"], cert["negative"], cert["undecided"]) == (1, 2**n - 1, 0)


def test_neutral_directions_no_symmetry_explains_are_not_certified():
    """An independent target: switching off the pair leaves r_12 = 0, so the (u_12, v_12) block of H is zero:
    two neutral directions that no rescaling generates (its generator vanishes at u = v = 0)."""
    from verify.certify import TOO_FEW_TANGENTS
    from verify.spurious import product_switched_off

    model = model_from_spec({"family": "product", "n": 2})
    target = from_couplings({"1": "0.3", "2": "-0.2"}, 2)
    point = product_switched_off(model, target, [(1, 2)], DPS)
    c = classify(model, target, point.theta, DPS)
    assert c.neutral == 4
    cert = certify_point(model, target, point.theta, DPS, c)
    assert c.kind == "data-consistent" and c.rank_G == 2  # r_12 = 0 too: every residual vanishes
    assert cert["certified"] is False and cert["reason"] == "rank-deficient-data-consistent"
    assert cert["orbit_dimension"] == 2 and cert["note"].endswith(TOO_FEW_TANGENTS.format(
        names="rescaling of a factor pair", m=2, d=4, rest=2))


def test_a_family_without_continuous_symmetries_says_so():
    """The paramagnetic rbm point (w = 0, b = 0, fields matched) has neutral directions and rbm declares no
    continuous symmetry: not certified here, with the reason (S2 certifies it on its own support slice)."""
    from verify.spurious import paramagnetic

    model, target = RBM(3, 2), named("random-couplings", 3, seed=1)
    point = paramagnetic(model, target, DPS)
    c = classify(model, target, point.theta, DPS)
    assert c.neutral and c.neutral > 0
    cert = certify_point(model, target, point.theta, DPS, c)
    assert cert["certified"] is False and cert["reason"] == "no-continuous-symmetry"
    assert "declares no continuous symmetry" in cert["note"]


def test_a_rank_deficient_data_consistent_point_says_why():
    """The paramagnetic rbm point on an independent target is data-consistent (a product measure fits it) with
    rank G = N < D: neither the slice for J = J^D (needs rank G = D) nor an orbit (rbm has no continuous
    symmetry) isolates it; the certificate says both."""
    from verify.certify import RANK_DEFICIENT
    from verify.spurious import paramagnetic

    model, target = RBM(3, 2), named("independent", 3, seed=1)
    point = paramagnetic(model, target, DPS)
    c = classify(model, target, point.theta, DPS)
    assert c.kind == "data-consistent" and c.rank_G == 3 < c.D == 7
    cert = certify_point(model, target, point.theta, DPS, c)
    assert cert["certified"] is False and cert["reason"] == "rank-deficient-data-consistent"
    assert cert["note"].startswith(RANK_DEFICIENT.format(rank=3, D=7)) and "no continuous symmetry" in cert["note"]


def test_neutral_directions_the_symmetries_do_not_explain_are_named():
    """A spurious fixed point of the quadratic network (F2's enumerated case): its 7 neutral directions include
    the 2 per-unit rescalings sigma(lambda x) = lambda^2 sigma(x) declares, and 5 more (J depends on W only
    through the off-diagonal part of W diag(c) W^T, and bias shifts are absorbed by the fields) that no declared
    symmetry generates: not certified, and the reason counts them."""
    from verify.certify import TOO_FEW_TANGENTS
    from verify.registry import find_case, get

    case, _ = find_case("fp/mlp-n3-m2-quadratic/random-couplings-s1", ["F2"])
    v = get("F2").check(case, DPS, certify=True)
    assert v.status == "holds" and v.evidence["kind"] == "spurious"
    cert = v.certificate
    assert cert["certified"] is False and cert["reason"] == "neutral-directions-not-explained"
    assert cert["note"] == TOO_FEW_TANGENTS.format(names="rescaling of a hidden unit", m=2, d=7, rest=5)


def _undecided_top_eigenvalue(c):
    """The classification with its largest eigenvalue made undecided between the precisions (zero at dps, not at
    2·dps) and the spectrum counts unknown, as a near-degenerate point leaves them."""
    import mpmath

    c.low.eigenvalues[-1], c.high.eigenvalues[-1] = mpmath.mpf("1e-20"), mpmath.mpf("1e-20")
    c.stable = c.neutral = c.unstable = None
    return c


def test_an_undecided_sign_is_settled_by_the_certificate():
    from verify.point_checks import certificate_requirements, s1_requirements
    from verify.verdict import HOLDS, INCONCLUSIVE, judge

    model = GIM(3, 2)
    target = named("random-couplings", 3, seed=4)
    theta = found(model, target)
    c = _undecided_top_eigenvalue(classify(model, target, theta, DPS))
    reqs = s1_requirements(c)
    assert judge("S1", "x", list(reqs), DPS, "").status == INCONCLUSIVE
    cert = certificate_requirements(model, target, c, DPS, reqs)
    assert cert["method"] == "krawczyk" and cert["undecided"] == 0
    assert cert["settled"] == ["max_eigenvalue_H", "dim_ker_H_equals_dim_ker_G"]
    assert judge("S1", "x", reqs, DPS, "").status == HOLDS
    assert "ball arithmetic" in str(next(r for r in reqs if r.name == "max_eigenvalue_H").evidence()["detail"])


def test_a_certified_positive_eigenvalue_settles_the_sign_against():
    """The switched-off saddle of product N = 1 (H = [[0, r], [r, 0]], eigenvalues ±r): with its top eigenvalue made
    undecided, the certificate decides it positive, so 'no positive eigenvalue' is decided false."""
    from verify.point_checks import certificate_requirements, s1_requirements

    model = model_from_spec({"family": "product", "n": 1})
    target = from_probabilities([Fraction(7, 10), Fraction(3, 10)], 1)
    c = _undecided_top_eigenvalue(classify(model, target, (Fraction(0), Fraction(0)), DPS))
    reqs = s1_requirements(c)
    cert = certificate_requirements(model, target, c, DPS, reqs)
    assert (cert["negative"], cert["positive"], cert["undecided"]) == (1, 1, 0)
    assert next(r for r in reqs if r.name == "max_eigenvalue_H").satisfied is False


def test_a_certificate_that_cannot_decide_leaves_the_requirement_undecided():
    """A non-isolated point (a fibre of data-consistent points): Krawczyk cannot isolate it, nothing is settled."""
    from verify.point_checks import certificate_requirements, s1_requirements

    model, target = RBM(3, 2), named("random-couplings", 3, seed=1)
    theta = found(model, target)
    c = _undecided_top_eigenvalue(classify(model, target, theta, DPS))
    reqs = s1_requirements(c)
    cert = certificate_requirements(model, target, c, DPS, reqs)
    assert "settled" not in cert and next(r for r in reqs if r.name == "max_eigenvalue_H").satisfied is None
