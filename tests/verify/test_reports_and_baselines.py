"""Reports (JSON determinism, Markdown, LaTeX), baselines, and theory mutations that run --quick must catch."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verify.baseline import diff_reports, format_diff, load_report

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_json_report_is_deterministic_and_reports_render(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    md, tex = tmp_path / "r.md", tmp_path / "r.tex"
    args = ("run", "--quick", "--n", "2", "--only", "E1,E2,F2,S2", "--no-progress")
    assert run(*args, "--json", str(a), "--md", str(md), "--tex", str(tex)).returncode == 0
    assert run(*args, "--json", str(b), "--jobs", "1").returncode == 0
    strip = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "meta"}  # noqa: E731
    assert strip(a) == strip(b)
    assert a.read_text().split('"meta"')[0] == b.read_text().split('"meta"')[0]
    assert "| E1 |" in md.read_text() and "\\begin{document}" in tex.read_text()
    import os

    if (os.environ.get("CI") or os.environ.get("EBM_VERIFY_REQUIRE_TEX")) and not shutil.which("pdflatex"):
        raise AssertionError(".ci/run installs TeX: pdflatex must be present in CI")
    if shutil.which("pdflatex"):  # a developer machine without TeX still checks the .tex text above
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert "Overfull" not in proc.stdout


def test_diff_finds_status_changes_and_drift(tmp_path):
    base = load_report(ROOT / "baselines" / "quick.json")
    assert diff_reports(base, base)["regressions"] == []
    worse = json.loads(json.dumps(base))
    worse["verdicts"][0]["status"] = "fails"
    kl = next(v for v in worse["verdicts"] if v["proposition"] == "E2")
    kl["evidence"]["kl_to_target"] = str(float(kl["evidence"]["kl_to_target"]) * 1.01)
    changes = diff_reports(base, worse)
    assert len(changes["status_regressions"]) == 1 and len(changes["drift"]) == 1
    text = format_diff(changes)
    assert "REGRESSION" in text and "DRIFT" in text
    p_old, p_new = tmp_path / "old.json", tmp_path / "new.json"
    p_old.write_text(json.dumps(base))
    p_new.write_text(json.dumps(worse))
    proc = run("diff", str(p_old), str(p_new))
    assert proc.returncode == 1 and "REGRESSION" in proc.stdout
    assert run("diff", str(p_old), str(p_old)).returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = run("diff", str(bad), str(p_old))
    assert proc.returncode == 2 and "not an ebm-verify report" in proc.stderr


def test_leaving_a_documented_outcome_is_a_regression():
    # H3C on the silu counterexample fails, as THEORY.md documents: moving to inconclusive (or holds) is a
    # regression, though by rank alone it would read as an improvement
    base = load_report(ROOT / "baselines" / "quick.json")
    silu = next(v for v in base["verdicts"] if v["proposition"] == "H3C" and "silu" in v["case"])
    assert silu["status"] == "fails" and silu["evidence"]["expected_outcome"]["status"] == "fails"
    for status in ("inconclusive", "holds"):
        moved = json.loads(json.dumps(base))
        next(v for v in moved["verdicts"] if v["case"] == silu["case"])["status"] = status
        changes = diff_reports(base, moved)
        assert [r["new"] for r in changes["status_regressions"]] == [status] and not changes["improvements"]
        back = diff_reports(moved, base)
        assert not back["status_regressions"] and [i["new"] for i in back["improvements"]] == ["fails"]


def test_committed_baseline_has_no_regression():
    """The CI guard: a change to theory/ that changes a verdict fails here unless the baseline is updated."""
    proc = run("run", "--quick", "--no-progress", "--baseline", str(ROOT / "baselines" / "quick.json"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "no change against the baseline" in proc.stdout or "no regression" in proc.stdout


MUTATIONS = {
    "sign of G^T C G in H": ("theory/flow.py", "- matmul(matmul(self.G.T, self.C), self.G)",
                             "+ matmul(matmul(self.G.T, self.C), self.G)"),
    "2^-N of the Walsh transform": ("theory/walsh.py", "extra_exponent=-_nbits(values.shape[0])", "extra_exponent=0"),
    "Boolean couplings where spin ones are required": (
        "theory/effective.py", "    return spin_couplings(model.energy(theta, arith), model.n)",
        "    from .walsh import boolean_couplings\n\n    return boolean_couplings(model.energy(theta, arith), model.n)"),
    "C_AB = m_A m_B - m_{A xor B}": ("theory/effective.py", "return m_xor - np.outer(m, m)",
                                      "return np.outer(m, m) - m_xor"),
    "transposed w in the hidden-layer energy": (
        "theory/families/hidden_layer.py",
        "        X = self.preactivations(theta, arith)\n        units = self.activation.value(X, arith)",
        "        _, b, w = self.split(theta)\n        X = spin_linear(b, w.reshape(w.shape[::-1]).T)\n"
        "        units = self.activation.value(X, arith)"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_run_quick_fails_on_a_theory_mutation(tmp_path, name):
    path, old, new = MUTATIONS[name]
    for pkg in ("theory", "verify"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    source = (tmp_path / path).read_text()
    assert source.count(old) == 1, f"mutation anchor for {name!r} not found once"
    (tmp_path / path).write_text(source.replace(old, new))
    import os

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    report = tmp_path / "mutated.json"
    proc = run("run", "--quick", "--n", "2", "--only", ",".join(MUTATION_RUN), "--no-progress", "--json", str(report),
               cwd=tmp_path, env=env)
    assert proc.returncode == 1, f"{name}: exit {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr
    # and the regression check reports it against the committed baseline of the same cases
    mutated = load_report(report)
    ran = {(v["proposition"], v["case"]) for v in mutated["verdicts"] + mutated["not_applicable"]}
    assert ran == _cases_of_mutation_run(), "the restricted baseline must cover exactly what the run checks"
    changes = diff_reports(_baseline_of_mutation_run(), mutated)
    assert changes["status_regressions"], f"{name}: not reported by the baseline diff\n{format_diff(changes)[:1500]}"


MUTATION_RUN = ("E1", "E2", "F1", "F2", "S1")


def _cases_of_mutation_run() -> set:
    from verify.registry import get

    return {(pid, case.name) for pid in MUTATION_RUN for case in get(pid).cases(ns=(2,), families=None, quick=True)}


def _baseline_of_mutation_run() -> dict:
    """The committed baseline restricted to the verdicts ``run --quick --n 2 --only E1,E2,F1,F2,S1`` gives."""
    wanted = _cases_of_mutation_run()
    base = load_report(ROOT / "baselines" / "quick.json")
    base["verdicts"] = [v for v in base["verdicts"] if (v["proposition"], v["case"]) in wanted]
    assert len(base["verdicts"]) >= 30
    return base


def test_dask_local_cluster_gives_the_same_report(tmp_path):
    import distributed  # in the test extra
    local, remote = tmp_path / "local.json", tmp_path / "dask.json"
    args = ("run", "--quick", "--n", "2", "--only", "E1,F2,S2", "--no-progress")
    assert run(*args, "--json", str(local)).returncode == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        proc = run(*args, "--json", str(remote), "--scheduler", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stderr[-2000:]
    strip = lambda p: {k: v for k, v in json.loads(p.read_text()).items() if k != "meta"}  # noqa: E731
    assert strip(local) == strip(remote)


def test_unreachable_scheduler_is_one_line():
    proc = run("run", "--quick", "--n", "2", "--only", "E1", "--no-progress", "--scheduler", "tcp://127.0.0.1:9")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Dask scheduler" in proc.stderr


def test_diff_flags_a_changed_derivation_but_not_another_sympy():
    base = load_report(ROOT / "baselines" / "quick.json")
    digests = base["closed_forms"]["digests"]
    assert any('"rbm"' in k for k in digests) and all(len(v) == 64 for v in digests.values())
    changed = json.loads(json.dumps(base))
    name = sorted(digests)[0]
    changed["closed_forms"]["digests"][name] = "0" * 64
    found = diff_reports(base, changed)
    assert [c["closed_form"] for c in found["closed_form_changes"]] == [name] and found["regressions"]
    assert "CLOSED FORM" in format_diff(found)
    changed["closed_forms"]["sympy"] = "9.9"
    other = diff_reports(base, changed)
    assert other["regressions"] == [] and "not compared" in format_diff(other)
