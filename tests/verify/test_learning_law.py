"""Issue 15, deliverable 3: the analysis of the learning-time law recovers known laws from synthetic records."""

import json
import subprocess
import sys

import numpy as np

from verify.learning import is_ordered
from verify.learning_law import (delay_elasticities, fit_law, law_points, law_summary, ordered_fractions, plot_law,
                                 series_of)

EPS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
KEY = "moment@0.2"


def _record(rid, n, eps, seed, times):
    lt = {str(k): (None if t is None else float(t)) for k, t in enumerate(times, start=1)}
    ordered = is_ordered(list(times))
    return {"id": rid, "eps": eps, "seed": seed, "case": {"model": {"n": n}},
            "learning": {KEY: {"learning_times": lt, "ordered": ordered}}, "reproduce": f"ebm-verify sweep --case '{rid}'"}


def synthetic(alpha, beta, gamma, delta, ns=(4, 6), series=8, noise=0.05, seed=0):
    """Records whose t_k (k >= 2) follow alpha + beta L + gamma_s (k-1) + delta_s (k-1) L + noise, with the
    series' gamma_s, delta_s drawn around gamma, delta (relative spread ``noise``) and a zero-mean noise per
    point; t_1 = 0.5."""
    rng = np.random.default_rng(seed)
    out = []
    for n in ns:
        for s in range(series):
            g, d = gamma * (1 + noise * rng.standard_normal()), delta * (1 + noise * rng.standard_normal())
            for e in EPS:
                L = np.log(1 / e)
                times = [0.5] + [alpha + beta * L + g * (k - 1) + d * (k - 1) * L + noise * rng.standard_normal()
                                 for k in range(2, n + 1)]
                out.append(_record(f"m-n{n}/t{s}/eps{e:g}-seed0", n, e, 0, times))
    return out


def test_series_are_the_cases_sharing_all_but_eps():
    recs = synthetic(1, 0, 1, 0, ns=(4,), series=3)
    assert {series_of(r) for r in recs} == {"m-n4/t0/seed0", "m-n4/t1/seed0", "m-n4/t2/seed0"}


def test_the_fit_recovers_a_known_law_exactly_without_noise():
    recs = synthetic(2.0, 0.3, 1.5, 0.7, noise=0.0)
    pts, _ = law_points(recs, KEY)
    fit = fit_law(pts)
    assert np.allclose([fit["alpha"], fit["beta"], fit["gamma"], fit["delta"]], [2.0, 0.3, 1.5, 0.7], atol=1e-9)


def test_delays_growing_with_k_log_inv_eps_are_recognised():
    law = law_summary(synthetic(1.0, 0.5, 2.0, 0.8), metrics=("moment",))["laws"][KEY]["pooled"]
    lo, hi = law["ci_small_eps"]["delta"]
    assert lo < 0.8 < hi and lo > 0.5
    assert law["delay_elasticity"]["median"] > 0.5
    assert law["b_delays_grow_with_k_log_inv_eps_survives"] is True
    assert law["a_linear_growth_survives"] is False


def test_delays_of_order_one_are_recognised():
    law = law_summary(synthetic(1.0, 1.0, 2.0, 0.0), metrics=("moment",))["laws"][KEY]["pooled"]
    lo, hi = law["ci_small_eps"]["delta"]
    assert lo < 0 < hi
    beta_lo, beta_hi = law["ci_small_eps"]["beta"]
    assert beta_lo < 1.0 < beta_hi
    assert law["a_delays_stay_o1"] is True and law["a_onset_grows_like_log_inv_eps"] is True
    assert law["a_linear_growth_survives"] is True
    assert law["b_delays_grow_with_k_log_inv_eps_survives"] is False


def test_onsets_that_do_not_grow_with_log_inv_eps_reject_a():
    """Times independent of eps: delays O(1), but no onset at L/lambda: (a) does not survive, nor does (b)."""
    law = law_summary(synthetic(5.0, 0.0, 2.0, 0.0), metrics=("moment",))["laws"][KEY]["pooled"]
    assert abs(law["onset_elasticity"]["median"]) < 0.05
    assert law["a_delays_stay_o1"] is True and law["a_onset_grows_like_log_inv_eps"] is False
    assert law["a_linear_growth_survives"] is False and law["b_delays_grow_with_k_log_inv_eps_survives"] is False


def test_elasticity_of_a_pure_power_of_log_inv_eps():
    """Delays t_k - t_2 exactly proportional to L^(3/2) have elasticity 3/2 in every series and order."""
    recs = []
    for e in EPS:
        L = np.log(1 / e)
        recs.append(_record(f"m/t/eps{e:g}-seed0", 4, e, 0, [1.0, 2.0, 2.0 + L**1.5, 2.0 + 2 * L**1.5]))
    el = delay_elasticities(recs, KEY)
    assert len(el) == 2 and np.allclose([v for _, _, v in el], 1.5)


def test_ordered_fractions_and_counterexamples():
    recs = [_record("a/x/eps0.1-seed0", 3, 0.1, 0, [1, 2, 3]), _record("b/x/eps0.1-seed0", 3, 0.1, 0, [1, 3, 2]),
            _record("c/x/eps0.1-seed0", 3, 0.1, 0, [None, None, None]), _record("d/x/eps0.1-seed0", 4, 0.1, 0, [1, 2, None, 5])]
    assert ordered_fractions(recs, KEY) == {
        "3": {"cases": 3, "ordered": 1, "not_ordered": 1, "nothing_learned": 1, "fraction_ordered": 0.5},
        "4": {"cases": 1, "ordered": 0, "not_ordered": 1, "nothing_learned": 0, "fraction_ordered": 0.0}}
    law = law_summary(recs, metrics=("moment",), per_n=False)["laws"][KEY]
    assert [c["id"] for c in law["counterexamples"]] == ["b/x/eps0.1-seed0", "d/x/eps0.1-seed0"]
    assert law["counterexamples"][0]["reproduce"] == "ebm-verify sweep --case 'b/x/eps0.1-seed0'"


def test_the_plot_has_two_panels(tmp_path):
    png = tmp_path / "law.png"
    plot_law(synthetic(1.0, 0.5, 2.0, 0.3), "moment", 0.2, str(png))
    assert png.stat().st_size > 20_000


def test_sweep_cli_writes_the_law_and_its_plot(tmp_path):
    cases = tmp_path / "c.json"
    cases.write_text(json.dumps({"t_max": 300, "endpoint": "float64", "cases": [
        {"model": {"family": "rbm", "n": 3, "hidden": 2}, "target": "teacher-rbm", "eps": [0.1, 0.01, 1e-3], "seeds": 0}]}))
    png, law = tmp_path / "law.png", tmp_path / "law.json"
    proc = subprocess.run([sys.executable, "-m", "verify", "sweep", "--cases", str(cases), "--store", str(tmp_path / "s.jsonl"),
                           "--jobs", "1", "--no-progress", "--plot", str(png), "--law", str(law)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "law (moment@0.2)" in proc.stdout
    doc = json.loads(law.read_text())
    assert set(doc["laws"]) == {f"{m}@{d}" for m in ("coupling", "coupling-boolean", "moment", "connected", "maxent")
                                for d in (0.5, 0.2, 0.1)}
    assert png.stat().st_size > 20_000
