"""Certified enumeration around manifolds of fixed points (issue 14): product's switched-off saddles and manifolds,
rbm's paramagnetic line, each checked against its closed form (THEORY.md S2), with nothing else and 0 % undecided."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from theory.arith import FLOAT64
from theory.flow import FlowState
from theory.models import model_from_spec
from theory.targets import from_probabilities
from verify.enumerate_store import enumerate_fixed_points

# product's target (the benchmark's): J^D = (0.207, -0.193, 0.486), m^D = (0.12, -0.1, 0.42); no coupling is 0 and
# every switched-off fit leaves non-zero residuals on the switched-off subsets
PG = [0.36, 0.09, 0.2, 0.35]
# rbm's target: m^D = (0.2, 0.1), m^D_12 = 0.5, connected pair correlation 0.48
P2 = [0.45, 0.1, 0.15, 0.3]
CHI = np.array([[1, 1, 1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]], dtype=float)  # chi_1, chi_2, chi_12 for x = 0..3


def _moments(J):
    w = np.exp(CHI @ J)
    return CHI.T @ (w / w.sum())


def _fit(m_data, support):
    """Max-ent fit on ``support`` (the other couplings 0), by Newton in J (independent of the suite)."""
    J = np.zeros(3)
    for _ in range(60):
        p = np.exp(CHI @ J)
        p /= p.sum()
        m = CHI.T @ p
        C = (CHI * p[:, None]).T @ CHI - np.outer(m, m)
        J[support] += np.linalg.solve(C[np.ix_(support, support)], (m_data - m)[support])
    return J


def _product(lo, hi, **kw):
    model = model_from_spec({"family": "product", "n": 2})
    target = from_probabilities(PG, 2)
    return model, target, enumerate_fixed_points(model, target, lo, hi, **kw)


def _complete(res):
    assert res["volume_accounted"] and res["complete"] and res["counts"]["undecided"] == 0
    assert abs(sum(res["volume_fraction"].values()) - 1) < 1e-12
    assert res["statement"].endswith("and nothing else; 0 % of the volume undecided")


def test_product_origin_is_the_switched_off_saddle_with_eigenvalues_plus_minus_r():
    # u = v = 0 on every subset: H is block diagonal with blocks r_A [[0, 1], [1, 0]] (S2), r = m^D at J = 0,
    # so its spectrum is {+-m^D_A}: 3 unstable and 3 stable directions; nothing else in [-1/4, 1/4]^6 (the
    # switched-off fits need |u_B v_B| = |J*_B| >= 0.1 > 1/16)
    q = Fraction(1, 4)
    model, target, res = _product((-q,) * 6, (q,) * 6)
    _complete(res)
    assert res["counts"]["reduced"] > 0 and not res["manifolds"]
    (root,) = res["isolated_points"]
    assert root["kind"] == "spurious" and root["negative"] == 3 and root["positive"] == 3
    assert root["nature"] == "strict saddle, 3 unstable" and root["lowest_inconsistent_order"] == 1
    assert all(float(v.split(" +/-")[0].strip("[")) == 0 for v in root["point"])
    m_data = np.array([float(v) for v in target.moment_array(FLOAT64)])
    H = FlowState(model, np.zeros(6), target.moment_array(FLOAT64), FLOAT64).hessian()
    assert np.allclose(np.sort(np.linalg.eigvalsh(H)), np.sort(np.concatenate([m_data, -m_data])), atol=1e-12)
    assert res["statement"].startswith("in [-0.25, 0.25]^6: 1 isolated spurious point (strict saddle, 3 unstable, "
                                       "inconsistent at order 1)")


def test_product_switched_off_manifold_and_the_data_consistent_set():
    # u_1, v_1 in [0, 1/2]: the box holds a piece of the switched-off manifold u_1 = v_1 = 0, u_B v_B = J*_B
    # (the max-ent fit on {2, 12} with J_1 = 0), of dimension 4 - 2 = 2, spurious (r_1 != 0), and a piece of the
    # data-consistent set u_A v_A = J^D_A (dimension 6 - 3 = 3); nothing else
    lo = (Fraction(0), Fraction(3, 4), Fraction(3, 4), Fraction(0), Fraction(-1, 4), Fraction(1, 4))
    hi = (Fraction(1, 2), Fraction(5, 4), Fraction(5, 4), Fraction(1, 2), Fraction(0), Fraction(3, 4))
    model, target, res = _product(lo, hi)
    _complete(res)
    assert not res["isolated_points"]
    (comp,) = res["manifolds"]
    assert comp["dimension"] == 2 and comp["kind"] == "spurious" and comp["fixed_points"]
    assert comp["lowest_inconsistent_order"] == 1 and comp["boxes_with_a_proved_point"] > 0
    # inertia: +-r_1 on (u_1, v_1), two stable directions of the fitted pairs, the two rescalings neutral
    assert (comp["negative"], comp["positive"], comp["zero"]) == (3, 1, 2)
    assert comp["nature"] == "strict saddles, 1 unstable"
    assert comp["free"] == ["u[2], u[1,2]"]
    u1, u2, u12, v1, v2, v12 = comp["point"]
    J = _fit(np.array([float(v) for v in target.moment_array(FLOAT64)]), [1, 2])
    assert abs(u1) < 1e-9 and abs(v1) < 1e-9
    assert np.allclose([u2 * v2, u12 * v12], J[1:], atol=1e-9)
    assert res["counts"]["consistent"] > 0 and res["consistent_boxes_with_a_proved_data_consistent_point"] > 0
    assert ("1 2-dimensional manifold of spurious fixed points (strict saddles, 1 unstable, inconsistent at order 1; "
            "free coordinates u[2], u[1,2])") in res["statement"]


def test_rbm_paramagnetic_line_and_the_data_consistent_set():
    # rbm N = 2, M = 1 (spin): the paramagnetic line a_i = atanh(m^D_i), w = 0, b free (J does not depend on b
    # at w = 0), a strict saddle (S2: spec H = {-(1 - m_i^2)} u {0} u {+-C_12 sech^2 b}); and the data-consistent
    # set (w_1 w_2 ~ J^D_12); nothing else in the box
    model = model_from_spec({"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"})
    target = from_probabilities(P2, 2)
    lo = (Fraction(1, 8), Fraction(-1, 16), Fraction(-1, 8), Fraction(-1, 8), Fraction(-1, 8))
    hi = (Fraction(5, 16), Fraction(3, 16), Fraction(1, 8), Fraction(1), Fraction(1))
    res = enumerate_fixed_points(model, target, lo, hi)
    _complete(res)
    assert not res["isolated_points"]
    (line,) = res["manifolds"]
    assert line["dimension"] == 1 and line["free"] == ["b[1]"] and line["kind"] == "spurious"
    assert line["proof"].startswith("dead directions") and line["lowest_inconsistent_order"] == 2
    assert (line["negative"], line["positive"], line["zero"]) == (3, 1, 1)
    a1, a2, b, w1, w2 = line["point"]
    assert np.allclose([a1, a2], [math.atanh(0.2), math.atanh(0.1)], atol=1e-12) and abs(w1) + abs(w2) < 1e-9
    assert -0.125 <= b <= 0.125
    assert res["counts"]["consistent"] > 0 and res["consistent_boxes_with_a_proved_data_consistent_point"] > 0
    assert ("1 1-dimensional manifold of spurious fixed points (strict saddles, 1 unstable, inconsistent at order 2; "
            "free coordinate b[1])") in res["statement"]


def test_pinned_boxes_resume_from_the_store(tmp_path):
    # the reductions' pinned boxes (with the volume scale they stand for) survive an interruption
    q = Fraction(1, 4)
    store = tmp_path / "boxes.jsonl"
    _, _, part = _product((-q,) * 6, (q,) * 6, max_boxes=300, store=str(store))
    assert part["boxes_unprocessed"] > 0
    assert any('"scale"' in line for line in store.read_text().splitlines())
    _, _, full = _product((-q,) * 6, (q,) * 6, store=str(store))
    _complete(full)
    assert full["boxes_resumed"] == 300 and len(full["isolated_points"]) == 1
