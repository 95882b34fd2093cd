"""Certified enumeration (issue 14): answers known in closed form, a diverging flow, two roots, a mutation, resuming."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from theory.arith import FLOAT64
from theory.flow import FlowState
from theory.models import model_from_spec
from theory.targets import from_probabilities
from verify.cli import main
from verify.enumerate import BoxSystem
from verify.enumerate_store import enumerate_fixed_points

P3 = [0.2, 0.1, 0.1, 0.05, 0.15, 0.1, 0.1, 0.2]
P2 = [0.4, 0.1, 0.2, 0.3]


def _run(spec, probs, R, **kw):
    model = model_from_spec(spec)
    target = from_probabilities(probs, model.n)
    return model, target, enumerate_fixed_points(model, target, Fraction(-R), Fraction(R), **kw)


def _newton(model, target, theta, steps=60):
    """An independent float64 Newton solve of grad l = 0 (FlowState in float64)."""
    m_data = target.moment_array(FLOAT64)
    theta = np.array(theta, dtype=float)
    for _ in range(steps):
        st = FlowState(model, theta, m_data, FLOAT64)
        theta = theta - np.linalg.solve(st.hessian(), st.gradient)
    return theta


def _points(res):
    return [np.array([float(v.split(" +/-")[0].strip("[")) for v in r["point"]]) for r in res["isolated_points"]]


def _accounted(res):
    assert res["volume_accounted"]
    assert abs(sum(res["volume_fraction"].values()) - 1) < 1e-12


def test_gim_concave_has_exactly_the_maxent_fit():
    # gim with K = N = 2: G = I, l concave, the only fixed point is J = J^D (data-consistent, a strict maximum)
    model, target, res = _run({"family": "gim", "n": 2, "max_order": 2}, P2, 3, min_width=Fraction(1, 64))
    _accounted(res)
    assert res["complete"] and res["counts"]["undecided"] == 0
    assert len(res["isolated_points"]) == 1
    root = res["isolated_points"][0]
    assert root["kind"] == "data-consistent" and root["nature"] == "strict maximum" and root["negative"] == 3
    expected = np.array([float(v) for v in target.coupling_array(FLOAT64)])
    assert np.allclose(_points(res)[0], expected, atol=1e-12)
    assert res["statement"] == ("in [-3, 3]^3: 1 isolated data-consistent point (strict maximum), and nothing else; "
                                "0 % of the volume undecided")


def test_gim_n3_k2_the_maxent_fit_is_spurious_at_order_3():
    # gim N = 3, K = 2 (P = 6): l concave, one fixed point, the pairwise max-ent fit; the target's
    # three-body moment is not matched there, so by F2 it is spurious, inconsistent at order 3
    model, target, res = _run({"family": "gim", "n": 3, "max_order": 2}, P3, 3, min_width=Fraction(1, 256))
    _accounted(res)
    assert res["complete"]
    assert len(res["isolated_points"]) == 1
    root = res["isolated_points"][0]
    assert root["kind"] == "spurious" and root["lowest_inconsistent_order"] == 3
    assert root["nature"] == "strict maximum" and root["residual_nonzero"] == [7]
    newton = _newton(model, target, np.zeros(6))
    assert np.allclose(_points(res)[0], newton, atol=1e-10)
    assert res["statement"] == ("in [-3, 3]^6: 1 isolated spurious point (strict maximum, inconsistent at order 3), "
                                "and nothing else; 0 % of the volume undecided")


def test_gim_n3_k2_without_the_concavity_certificate_on_a_small_box():
    # the same point found by the interval tests alone (no global concavity proof), on a box of side 1/4
    class NoConcavity(BoxSystem):
        def strictly_concave_on(self, R):
            return False

    model = model_from_spec({"family": "gim", "n": 3, "max_order": 2})
    target = from_probabilities(P3, 3)
    q = Fraction(1, 4)
    res = enumerate_fixed_points(model, target, (0, 0, -q, 0, 0, 0), (q, q, 0, q, q, q), min_width=Fraction(1, 512),
                                 system=NoConcavity(model, target, 30))
    _accounted(res)
    assert res["complete"] and len(res["isolated_points"]) == 1
    assert np.allclose(_points(res)[0], _newton(model, target, np.zeros(6)), atol=1e-10)


def test_two_isolated_roots_and_a_spurious_minimum_are_separated():
    # F = (a^2 - 1) s1: grad l = 2a r; roots a = 0 (J = -1, r != 0: spurious, H = 2r > 0) and
    # a = +-sqrt(1 + atanh(m^D)) (data-consistent strict maxima), all in one starting box
    spec = {"family": "custom", "n": 1, "energy": "(a**2 - 1)*s1", "params": ["a"]}
    model, target, res = _run(spec, [0.7, 0.3], 3, min_width=Fraction(1, 1024))
    _accounted(res)
    assert res["complete"]
    pts = sorted(float(p[0]) for p in _points(res))
    a = math.sqrt(1 + math.atanh(0.4))
    assert np.allclose(pts, [-a, 0.0, a], atol=1e-12)
    kinds = sorted((r["kind"], r["nature"]) for r in res["isolated_points"])
    assert kinds == [("data-consistent", "strict maximum")] * 2 + [("spurious", "strict minimum")]
    assert "2 isolated data-consistent points (strict maximum)" in res["statement"]
    assert "1 isolated spurious point (strict minimum, inconsistent at order 1)" in res["statement"]


def test_product_switched_off_saddle_and_the_consistent_set():
    # product N = 1: u = v = 0 is a strict saddle with eigenvalues +-r (S2); elsewhere G = (v, u) has full rank
    model, target, res = _run({"family": "product", "n": 1}, [0.7, 0.3], 3, min_width=Fraction(1, 64))
    _accounted(res)
    assert res["complete"]
    assert len(res["isolated_points"]) == 1 and res["duplicate_certificates"] >= 1  # the saddle sits on box faces
    root = res["isolated_points"][0]
    assert root["kind"] == "spurious" and root["nature"] == "strict saddle, 1 unstable" and root["rank_G_at_least"] == 0
    assert np.allclose(_points(res)[0], [0, 0], atol=1e-30)
    assert res["counts"]["consistent"] > 0
    # the hyperbola uv = J^D: data-consistent points proved (Krawczyk on J = J^D over one coordinate) in some of them
    assert 0 < res["consistent_boxes_with_a_proved_data_consistent_point"] <= res["counts"]["consistent"]


def test_flow_running_off_to_infinity_has_no_fixed_point_in_any_box():
    # J_12 = exp(a) > 0 can never reach a negative target pair coupling: sup l is approached as a -> -inf,
    # grad l != 0 everywhere. Boxes are excluded or undecided, never consistent or isolated.
    spec = {"family": "custom", "n": 2, "energy": "exp(a)*s1*s2 + c*s1", "params": ["a", "c"]}
    model, target, res = _run(spec, [0.1, 0.4, 0.4, 0.1], 3, min_width=Fraction(1, 64))
    _accounted(res)
    assert res["counts"]["consistent"] == 0 and res["counts"]["isolated"] == 0 and not res["isolated_points"]
    assert res["statement"].startswith("in [-3, 3]^2: no fixed point")


class _FlippedTerm(BoxSystem):
    """A wrong gradient: the model term of component 1 has the wrong sign (m^D_1 + m_1); H is left as it was."""

    def state(self, theta, center=None):
        st = super().state(theta, center)
        g = st.gradient.copy()
        g[0] = g[0] + 2 * st.m[0]
        st.gradient = g
        return st

    def gradient_at(self, theta):
        return self.state(theta).gradient


def test_a_wrong_gradient_does_not_give_the_same_statement():
    spec = {"family": "gim", "n": 2, "max_order": 2}
    model = model_from_spec(spec)
    target = from_probabilities(P2, 2)
    kw = {"min_width": Fraction(1, 64), "max_boxes": 3000}
    right = enumerate_fixed_points(model, target, Fraction(-3), Fraction(3), **kw)
    wrong = enumerate_fixed_points(model, target, Fraction(-3), Fraction(3), system=_FlippedTerm(model, target, 30), **kw)
    assert wrong["statement"] != right["statement"]


def test_an_interrupted_run_resumes_from_its_store(tmp_path):
    spec = {"family": "custom", "n": 1, "energy": "(a**2 - 1)*s1", "params": ["a"]}
    model = model_from_spec(spec)
    target = from_probabilities([0.7, 0.3], 1)
    kw = {"min_width": Fraction(1, 1024)}
    full = enumerate_fixed_points(model, target, Fraction(-3), Fraction(3), **kw)
    store = tmp_path / "boxes.jsonl"
    part = enumerate_fixed_points(model, target, Fraction(-3), Fraction(3), max_boxes=7, store=str(store), **kw)
    assert part["boxes_unprocessed"] > 0 and part["counts"]["undecided"] >= part["boxes_unprocessed"]
    assert "not processed" in part["statement"]
    with open(store, "a") as fh:  # a write torn by the interruption
        fh.write('{"kind": "box", "box": {"id": "0.1.')
    resumed = enumerate_fixed_points(model, target, Fraction(-3), Fraction(3), store=str(store), **kw)
    assert resumed["boxes_resumed"] == 7
    assert resumed["statement"] == full["statement"]
    assert resumed["counts"] == full["counts"]
    lines = [json.loads(t) for t in store.read_text().splitlines()[1:]]  # the torn line is gone
    assert len({rec["box"]["id"] for rec in lines}) == len(lines) == full["boxes_processed"]


def test_cli_prints_the_statement_and_refuses_bad_input(tmp_path, capsys):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"model": {"family": "product", "n": 1}, "target": {"probabilities": [0.7, 0.3]}}))
    out = tmp_path / "out.json"
    assert main(["enumerate", str(case), "--box", "3", "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == json.loads(out.read_text())["statement"]
    assert printed.endswith("0 % of the volume undecided")
    for bad in (["--box", "0"], ["--box", "3,1"], ["--box", "x"], ["--box", "3", "--min-width", "-1"],
                ["--box", "3", "--max-boxes", "0"]):
        assert main(["enumerate", str(case), "--no-progress", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ebm-verify: error:") and err.count("\n") == 1


@pytest.mark.parametrize("R", [3])
def test_no_box_is_dropped_when_the_budget_runs_out(R):
    model, target, res = _run({"family": "product", "n": 1}, [0.7, 0.3], R, max_boxes=5)
    _accounted(res)
    assert res["boxes_unprocessed"] > 0 and res["undecided_hull"] is not None


def test_cli_store_resumes(tmp_path, capsys):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"model": {"family": "custom", "n": 1, "energy": "(a**2 - 1)*s1", "params": ["a"]},
                                "target": {"probabilities": [0.7, 0.3]}}))
    store = tmp_path / "boxes.jsonl"
    args = ["enumerate", str(case), "--box", "3", "--min-width", "1/1024", "--store", str(store), "--no-progress"]
    assert main(args + ["--max-boxes", "5"]) == 0
    first = capsys.readouterr().out
    assert "not processed" in first
    assert main(args) == 0
    assert capsys.readouterr().out.strip().endswith("and nothing else; 0 % of the volume undecided")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model": {"family": "product", "n": 1}, "target": {"probabilities": [0.7, 0.3]}}))
    assert main(["enumerate", str(other), "--box", "3", "--store", str(store), "--no-progress"]) == 2
    assert "belongs to another enumeration" in capsys.readouterr().err


def test_two_workers_reach_the_same_statement():
    spec = {"family": "custom", "n": 1, "energy": "(a**2 - 1)*s1", "params": ["a"]}
    _, _, one = _run(spec, [0.7, 0.3], 3, min_width=Fraction(1, 1024))
    _, _, two = _run(spec, [0.7, 0.3], 3, min_width=Fraction(1, 1024), jobs=2)
    _accounted(two)
    assert two["statement"] == one["statement"] and two["complete"]


def test_cli_bounds_per_parameter_group(tmp_path, capsys):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"model": {"family": "product", "n": 1}, "target": {"probabilities": [0.7, 0.3]}}))
    out = tmp_path / "out.json"
    assert main(["enumerate", str(case), "--box", "u=-3,3;v=1/2,3", "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out.strip()
    doc = json.loads(out.read_text())
    assert doc["box"] == {"lo": ["-3", "1/2"], "hi": ["3", "3"]}
    assert printed.startswith("in [-3, 3] × [0.5, 3]: ") and printed.endswith("0 % of the volume undecided")
    assert main(["enumerate", str(case), "--box", "2;v=1/2,3", "--no-progress"]) == 0  # a default for u
    assert capsys.readouterr().out.startswith("in [-2, 2] × [0.5, 3]: ")
    for bad, words in ((["--box", "x=1;u=1;v=1"], "unknown parameter group 'x'; this model's groups are u, v"),
                       (["--box", "u=3,1;v=1"], "--box u= must have LO < HI"),
                       (["--box", "u=1"], "no bounds for the parameter group v"),
                       (["--box", "u=a;v=1"], "--box u= expects numbers"),
                       (["--box", "u=1;u=2;v=1"], "names the group 'u' twice")):
        assert main(["enumerate", str(case), "--no-progress", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ebm-verify: error:") and err.count("\n") == 1 and words in err, err
