"""Baseline diffs compare meaning, not noise (issue 16, item 5).

Another machine ends the float64 flows at other points of the same fibres and prints other digits
of every zero-floor residual: such a report must diff clean against the baseline, while every
change of a decided fact or of a meaningful number is still drift.
"""

import copy
import json
import random
import re
from pathlib import Path

import mpmath
import pytest

from verify.baseline import diff_reports, format_diff, load_report

ROOT = Path(__file__).resolve().parents[2]
SIGNED = ("positive", "nonnegative", "nonpositive")
REAL = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)[eE][-+]?\d+|[-+]?\d+\.\d+")


@pytest.fixture(scope="module")
def baseline():
    return load_report(ROOT / "baselines" / "quick.json")


def _is_number(x) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return not isinstance(x, bool)


def _below(rng: random.Random, exponent: float, signed: bool) -> str:
    """A random magnitude below ``10**exponent`` (down to 40 decades lower), printed as the report does."""
    x = mpmath.mpf(10) ** (exponent - 0.3 - 40 * rng.random())
    return mpmath.nstr(-x if signed and rng.random() < 0.5 else x, 5)


class Noise:
    """What another machine changes in a report: zero-floor digits and the point reached on a fibre."""

    def __init__(self, seed: int):
        self.rng, self.changed = random.Random(seed), 0

    def report(self, doc: dict) -> dict:
        doc = copy.deepcopy(doc)
        for v in doc["verdicts"]:
            self.walk(v["evidence"], v["dps"])
        return doc

    def walk(self, ev: dict, dps: int) -> None:
        dps = ev.get("dps", dps)
        if ev.get("expect") in ("zero",) + SIGNED:
            signed = ev["expect"] in SIGNED
            if abs(float(ev["value"])) <= 10.0 ** (-dps / 2):
                ev["value"] = self.mark(_below(self.rng, -dps / 2, signed))
            if abs(float(ev["value_at_2dps"])) <= 10.0 ** (-dps):
                ev["value_at_2dps"] = self.mark(_below(self.rng, -dps, signed))
            elif signed and float(ev["value"]) < 0:  # sign requirements now print the value at 2·dps signed
                ev["value_at_2dps"] = self.mark("-" + ev["value_at_2dps"].lstrip("-"))
            ev["threshold"] = self.mark(mpmath.nstr(mpmath.mpf(ev["threshold"]), 3))  # "1e-25" or "1.0e-25"
            return
        for key, x in ev.items():
            if key in ("fibre_travelled", "fibre_displacement"):
                ev[key] = self.mark(mpmath.nstr(0.5 + 0.05 * self.rng.random(), 6))
            elif key == "fibre_steps":
                ev[key] = self.mark(self.rng.randint(10, 14))
            elif key == "fibre_walk_completed":
                travelled, steps = 0.5 + 0.05 * self.rng.random(), self.rng.randint(10, 14)
                x["detail"] = self.mark(f"travelled {travelled:.4f} in {steps} steps")
            elif isinstance(x, dict):
                self.walk(x, dps)
            elif isinstance(x, str) and x.startswith("re-projection"):
                ev[key] = self.mark(REAL.sub(lambda m: self.zero_floor(m.group(), dps), x))
            elif key == "detail":
                ev[key] = REAL.sub(lambda m: self.zero_floor(m.group(), dps), x)
            elif isinstance(x, list):
                ev[key] = [self.zero_floor(e, dps) if isinstance(e, str) and _is_number(e) else e for e in x]

    def zero_floor(self, text: str, dps: int) -> str:
        return self.mark(_below(self.rng, -dps / 2, False)) if abs(float(text)) <= 10.0 ** (-dps / 2) else text

    def mark(self, x):
        self.changed += 1
        return x


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_zero_floor_noise_and_other_fibre_points_diff_clean(baseline, seed):
    noise = Noise(seed)
    noisy = noise.report(baseline)
    assert noise.changed > 1000, "the noise must touch the report"
    changes = diff_reports(baseline, noisy)
    assert changes["regressions"] == [], format_diff(changes)[:3000]
    assert diff_reports(noisy, baseline)["regressions"] == []


def _verdict(doc: dict, proposition: str, where=lambda v: True) -> dict:
    return next(v for v in doc["verdicts"] if v["proposition"] == proposition and where(v))


def _isolated(v) -> bool:
    return v["evidence"].get("neutral") == 0


def _plant(doc: dict, change: str) -> str:
    """Make one change of meaning in ``doc``; returns the evidence path the diff must name."""
    if change == "count":
        v = _verdict(doc, "S1", lambda v: v["evidence"]["neutral"] > 0)
        v["evidence"]["neutral"] += 1
        return "evidence.neutral"
    if change == "kind":
        v = _verdict(doc, "F2", lambda v: v["evidence"]["kind"] == "spurious")
        v["evidence"]["kind"] = "data-consistent"
        return "evidence.kind"
    if change == "rank":
        _verdict(doc, "F2")["evidence"]["rank_G"] -= 1
        return "evidence.rank_G"
    if change == "inertia":
        v = _verdict(doc, "S2", lambda v: v["evidence"]["unstable"] > 0)
        v["evidence"]["unstable"] -= 1
        return "evidence.unstable"
    if change == "order":
        v = _verdict(doc, "F2", lambda v: v["evidence"]["lowest_inconsistent_order"] is not None)
        v["evidence"]["lowest_inconsistent_order"] += 1
        return "evidence.lowest_inconsistent_order"
    if change == "satisfied":
        _verdict(doc, "E1")["evidence"]["gradient_formula"]["satisfied"] = False
        return "evidence.gradient_formula.satisfied"
    if change == "is-zero at dps":
        _verdict(doc, "E1")["evidence"]["gradient_formula"]["value"] = "3.2e-20"
        return "evidence.gradient_formula.value"
    if change == "is-zero at 2 dps":
        _verdict(doc, "F2")["evidence"]["gradient_norm"]["value_at_2dps"] = "4.1e-40"
        return "evidence.gradient_norm.value_at_2dps"
    if change == "zero eigenvalue becomes non-zero":
        v = _verdict(doc, "F1", lambda v: float(v["evidence"]["min_eigenvalue_K"]["value"]) < 1e-25)
        v["evidence"]["min_eigenvalue_K"]["value"] = "0.0012"
        return "evidence.min_eigenvalue_K.value"
    if change == "threshold":
        _verdict(doc, "E2")["evidence"]["kl_identity"]["threshold"] = "1e-20"
        return "evidence.kl_identity.threshold"
    if change == "KL divergence":
        ev = _verdict(doc, "E2")["evidence"]
        ev["kl_to_target"] = mpmath.nstr(mpmath.mpf(ev["kl_to_target"]) * (1 + 1e-4), 8)
        return "evidence.kl_to_target"
    if change == "smallest eigenvalue of C":
        ev = _verdict(doc, "E2")["evidence"]["min_eigenvalue_C"]
        ev["value"] = mpmath.nstr(mpmath.mpf(ev["value"]) * (1 + 1e-3), 5)
        return "evidence.min_eigenvalue_C.value"
    if change == "eigenvalue at an isolated fixed point":
        ev = _verdict(doc, "S1", _isolated)["evidence"]["max_eigenvalue_H"]
        ev["value"] = mpmath.nstr(mpmath.mpf(ev["value"]) * 1.01, 5)
        return "evidence.max_eigenvalue_H.value"
    if change == "dl/dt":
        ev = _verdict(doc, "F1")["evidence"]["dl_dt"]
        ev["value_at_2dps"] = mpmath.nstr(mpmath.mpf(ev["value_at_2dps"]) * 1.01, 5)
        return "evidence.dl_dt.value_at_2dps"
    if change == "fitted slope":
        fit = _verdict(doc, "H1")["evidence"]["fit"]
        fit["slopes"]["J"]["2"] += 0.01
        return "evidence.fit.slopes.J.2"
    if change == "predicted slope":
        _verdict(doc, "H1")["evidence"]["fit"]["predicted"]["J"]["2"] += 1
        return "evidence.fit.predicted.J.2"
    if change == "predicted eigenvalue":
        ev = _verdict(doc, "S2", lambda v: v["evidence"]["unstable"] > 0)["evidence"]
        ev["predicted_eigenvalues"][0] = mpmath.nstr(mpmath.mpf(ev["predicted_eigenvalues"][0]) * (1 + 1e-5), 12)
        return "evidence.predicted_eigenvalues[0]"
    if change == "fact detail":
        ev = _verdict(doc, "S1")["evidence"]["dim_ker_H_equals_dim_ker_G"]
        ev["detail"] = re.sub(r"dim ker H = (\d+)", lambda m: f"dim ker H = {int(m.group(1)) + 1}", ev["detail"])
        return "evidence.dim_ker_H_equals_dim_ker_G.detail"
    if change == "H3 endpoint":
        _verdict(doc, "H3")["evidence"]["endpoint"]["stable"] -= 1
        return "evidence.endpoint.stable"
    if change == "invariance decision":
        ev = _verdict(doc, "S2")["evidence"]
        ev["neutral_directions_leave_J_invariant"] = not ev["neutral_directions_leave_J_invariant"]
        return "evidence.neutral_directions_leave_J_invariant"
    if change == "missing evidence":
        del _verdict(doc, "F2")["evidence"]["rank_G"]
        return "evidence.rank_G"
    raise AssertionError(change)


CHANGES = ["count", "kind", "rank", "inertia", "order", "satisfied", "is-zero at dps", "is-zero at 2 dps",
           "zero eigenvalue becomes non-zero", "threshold", "KL divergence", "smallest eigenvalue of C",
           "eigenvalue at an isolated fixed point", "dl/dt", "fitted slope", "predicted slope", "predicted eigenvalue",
           "fact detail", "H3 endpoint", "invariance decision", "missing evidence"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_of_meaning_is_drift_even_under_noise(baseline, change):
    noisy = Noise(7).report(baseline)
    path = _plant(noisy, change)
    drift = diff_reports(baseline, noisy)["drift"]
    assert [d["path"] for d in drift] == [path], format_diff(diff_reports(baseline, noisy))[:2000]


def test_printed_digits_and_formats_are_not_drift(baseline):
    same = copy.deepcopy(baseline)
    ev = _verdict(same, "E2")["evidence"]["min_eigenvalue_C"]
    last = mpmath.mpf(10) ** (mpmath.floor(mpmath.log10(abs(mpmath.mpf(ev["value"])))) - 4)
    ev["value"] = mpmath.nstr(mpmath.mpf(ev["value"]) + last, 5)  # one unit in the last printed digit
    kl = _verdict(same, "E2")["evidence"]
    kl["kl_to_target"] = mpmath.nstr(mpmath.mpf(kl["kl_to_target"]) * (1 + 5e-7), 8)
    _verdict(same, "H1")["evidence"]["fit"]["slopes"]["J"]["2"] += 2e-7
    assert diff_reports(baseline, same)["regressions"] == [], format_diff(diff_reports(baseline, same))


def _run_fixed_point_checks() -> dict:
    """F2, F3 and S1 on the quick N = 2 cases (their flows' endpoints), in this process's workers."""
    from verify.endpoints import flow_endpoint
    from verify.registry import get
    from verify.report import json_report
    from verify.runner import run_jobs

    flow_endpoint.cache_clear()
    jobs = [(get(pid), case) for pid in ("F2", "F3", "S1")
            for case in get(pid).cases(ns=(2,), families=None, quick=True)]
    verdicts, skips, observations, _ = run_jobs(jobs, 50, workers=None, progress=False)
    flow_endpoint.cache_clear()
    return json.loads(json_report(verdicts, {}, skips, observations))


def _leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for k, v in enumerate(x):
            yield from _leaves(v, f"{path}[{k}]")
    else:
        yield path, x


def test_another_flow_tolerance_and_fibre_point_diff_clean(monkeypatch):
    """End to end: the fixed-point propositions at the default float64 flow tolerance, then with the
    flow's rtol/atol changed and its end moved by 1e-3 before Newton (another point of the same
    fibre): the two reports differ in many digits and diff clean."""
    import numpy as np
    import scipy.integrate

    from verify import endpoints

    reference = _run_fixed_point_checks()
    solve_ivp, flow_record = scipy.integrate.solve_ivp, endpoints.flow_record

    def other_tolerance(*args, **kwargs):
        return solve_ivp(*args, **{**kwargs, "rtol": 1e-7, "atol": 1e-9})

    def other_point(model, target, theta0, *args, **kwargs):
        theta, t, gn, record = flow_record(model, target, theta0, *args, **kwargs)
        rng = np.random.default_rng(len(theta))
        return theta + 1e-3 * rng.standard_normal(theta.shape), t, gn, record

    monkeypatch.setattr(scipy.integrate, "solve_ivp", other_tolerance)
    monkeypatch.setattr(endpoints, "flow_record", other_point)
    other = _run_fixed_point_checks()
    assert [v["status"] for v in other["verdicts"]] == [v["status"] for v in reference["verdicts"]]
    old, new = dict(_leaves(reference["verdicts"])), dict(_leaves(other["verdicts"]))
    moved = [p for p in old if old[p] != new.get(p)]
    assert sum("fibre_displacement" in p for p in moved) >= 4 and sum(".value" in p for p in moved) >= 10, moved
    changes = diff_reports(reference, other)
    assert changes["regressions"] == [], format_diff(changes)
