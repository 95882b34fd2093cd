"""The ebm-verify command line, driven as a user would."""

import json
import subprocess
import sys
from fractions import Fraction

import mpmath

from verify.cli import main


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def test_couplings_of_a_full_gim_are_its_parameters(tmp_path, capsys):
    case = {"model": {"family": "gim", "n": 3}, "params": {"J": {"1": "0.1", "2,3": "-0.7", "1,2,3": "1.25"}}}
    p = tmp_path / "gim.json"
    p.write_text(json.dumps(case))
    assert main(["couplings", str(p), "--dps", "30"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n"] == 3 and doc["dps"] == 30 and doc["gauge"] == "spin"
    assert list(doc["couplings"]) == ["1", "2", "3", "1,2", "1,3", "2,3", "1,2,3"]
    with mpmath.workdps(30):
        assert mpmath.mpf(doc["couplings"]["2,3"]) == mpmath.mpf("-0.7")
        assert mpmath.mpf(doc["couplings"]["1,2"]) == 0
    # 30 significant digits
    assert len(doc["couplings"]["1"].replace("0.", "", 1).lstrip("0")) >= 29


def test_couplings_boolean_gauge_of_a_product_of_v(tmp_path, capsys):
    # target only: p ∝ exp(v1 v2) in the Boolean gauge has K_12 = 1 and K_1 = K_2 = 0
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"target": {"n": 2, "couplings": {"1,2": 1}, "gauge": "boolean"}}))
    assert main(["couplings", str(p), "--gauge", "boolean", "--dps", "20"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "target"
    assert abs(Fraction(doc["couplings"]["1,2"]) - 1) < Fraction(1, 10**18)
    assert abs(Fraction(doc["couplings"]["1"])) < Fraction(1, 10**18)


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"model": {"family": "rbm", "n": 3, "hidden": 2}, "params": {"a": [1]}}')
    code, out, err = run_cli("couplings", str(p))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "params.a must be a list of 3" in err and "Traceback" not in err


def test_run_quick_prints_the_table_and_exits_zero(tmp_path):
    report = tmp_path / "r.json"
    code, out, err = run_cli("run", "--quick", "--n", "2", "--no-progress", "--json", str(report))
    assert code == 0, out + err
    assert "E1" in out and "E2" in out and "holds" in out
    doc = json.loads(report.read_text())
    assert doc["verdicts"] and all(v["status"] == "holds" for v in doc["verdicts"])
    assert all(v["reproduce"].startswith("ebm-verify run --only") for v in doc["verdicts"])


def test_run_one_case_by_reproduce_line():
    code, out, _ = run_cli("run", "--only", "E2", "--case", "rbm-n2-m1-spin/parity-s1", "--dps", "30", "--no-progress")
    assert code == 0 and "E2" in out


def test_unknown_proposition_and_list():
    code, _, err = run_cli("run", "--only", "Z9")
    assert code == 2 and "unknown proposition 'Z9'" in err
    code, out, _ = run_cli("list")
    assert code == 0 and out.startswith("E1")


def test_classify_prints_the_documented_fields(tmp_path):
    from theory.models import model_from_spec
    from theory.targets import named
    from verify.spurious import product_switched_off

    target = named("random-couplings", 3, seed=2)
    point = product_switched_off(model_from_spec({"family": "product", "n": 3}), target, [(1, 2)], 20)
    case = {"model": point.model.spec(), "params": point.model.params_to_json([str(q) for q in point.theta]),
            "target": {"named": "random-couplings", "seed": 2}}
    p = tmp_path / "spurious.json"
    p.write_text(json.dumps(case))
    code, out, err = run_cli("classify", str(p), "--dps", "20")
    assert code == 0, err
    doc = json.loads(out)
    for key in ("fixed_point", "gradient_norm", "kind", "rank_G", "D", "P", "eigenvalues", "stable", "neutral",
                "unstable", "neutral_directions_leave_J_invariant", "lowest_inconsistent_order", "dps",
                "confirmed_at_dps", "verdict"):
        assert key in doc
    assert doc["kind"] == "spurious" and doc["unstable"] == 1 and doc["lowest_inconsistent_order"] == 2
    assert doc["dps"] == 20 and doc["confirmed_at_dps"] == 40 and doc["verdict"] == "holds"
    assert [float(e) for e in doc["eigenvalues"]] == sorted(float(e) for e in doc["eigenvalues"])


def test_classify_refuses_a_case_without_params(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"model": {"family": "gim", "n": 2}, "target": {"named": "parity"}}))
    code, _, err = run_cli("classify", str(p))
    assert code == 2 and "needs 'params'" in err


def test_fixed_points_lists_merged_points(tmp_path):
    p = tmp_path / "g.json"
    p.write_text(json.dumps({"model": {"family": "gim", "n": 3, "max_order": 2},
                             "target": {"named": "random-couplings", "seed": 1}}))
    code, out, err = run_cli("fixed-points", str(p), "--seeds", "3", "--dps", "20")
    assert code == 0, err
    docs = json.loads(out)
    # the truncated gim has a concave objective: one fixed point, reached from every start
    assert len(docs) == 1 and docs[0]["kind"] == "spurious" and len(docs[0]["found_from"]) == 3
    assert "params" in docs[0]
