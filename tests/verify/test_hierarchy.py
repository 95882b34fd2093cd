"""H1 scaling, per-order metrics, learning times, and the resumable sweep."""

import json
import signal
import subprocess
import sys
import time

import mpmath
import numpy as np
import pytest

from theory.arith import FLOAT64, MP
from theory.conventions import spin_table, subsets
from theory.effective import moments_by_mask, probabilities
from theory.models import MLP, RBM, Product
from theory.targets import named
from verify.cases import random_params
from verify.learning import (
    connected_correlations,
    is_ordered,
    learning_times,
    maxent_couplings,
    order_errors,
    settling_times,
)
from verify.scaling import scaling_fit


@pytest.mark.parametrize("model", [RBM(3, 2, "spin"), RBM(4, 3, "bernoulli"), MLP(3, 2, "tanh")],
                         ids=lambda m: f"{m.family}{m.n}")
def test_slopes_are_the_orders(model):
    fit = scaling_fit(model, random_params(model, 11, 0.8))
    assert fit.worst_deviation() < 0.01
    for k in range(2, model.n + 1):
        assert abs(fit.slopes["J"][k] - k) < 0.01
        assert abs(fit.slopes["G"][k] - (k - 1)) < 0.01
    # the precision was raised to resolve the smallest kernel block, eps^(2N-2) at eps = 1e-8
    assert fit.dps >= 2 * model.n * 8


def test_rbm_two_spins_leading_coupling_closed_form():
    """N = 2, M = 1, spin: J_12 = (1/4) log[cosh(b+w1+w2)cosh(b-w1-w2)/(cosh(b+w1-w2)cosh(b-w1+w2))]
    = sech^2(b) w1 w2 + O(w^4), so J_12 / eps^2 -> sech^2(b) w1 w2."""
    model = RBM(2, 1, "spin")
    base = model.parse_params({"a": [0, 0], "b": ["0.3"], "w": [["0.7"], ["-1.2"]]})
    fit = scaling_fit(model, base)
    with mpmath.workdps(fit.dps):
        eps = mpmath.mpf(10) ** -8
        leading = mpmath.sech(mpmath.mpf("0.3")) ** 2 * mpmath.mpf("0.7") * mpmath.mpf("1.2")
        assert abs(fit.norms[-1]["J"][2] / eps**2 - leading) < mpmath.mpf(10) ** -14


def test_product_has_no_hierarchy():
    model = Product(3)
    fit = scaling_fit(model, random_params(model, 3, 0.8), scale_all=True)
    assert all(abs(fit.slopes["J"][k] - 2) < 0.01 for k in (1, 2, 3))


def test_connected_correlations_are_cumulants():
    target = named("random-couplings", 3, seed=6)
    p = target.probability_array(FLOAT64)
    m = moments_by_mask(p)
    kappa = dict(zip(subsets(3), connected_correlations(m, 3)))
    S = spin_table(3).astype(float)
    mean = p @ S
    centred = S - mean
    # second and third cumulants are central moments
    assert abs(kappa[(1, 2)] - p @ (centred[:, 0] * centred[:, 1])) < 1e-14
    assert abs(kappa[(1, 2, 3)] - p @ (centred[:, 0] * centred[:, 1] * centred[:, 2])) < 1e-14
    assert abs(kappa[(2,)] - mean[1]) < 1e-15


def test_maxent_matches_lower_moments_and_drops_higher_couplings():
    target = named("random-couplings", 4, seed=2)
    m = moments_by_mask(target.probability_array(FLOAT64))
    J2 = maxent_couplings(m, 4, 2)
    orders = np.array([len(A) for A in subsets(4)])
    assert np.all(J2[orders > 2] == 0)
    m2 = moments_by_mask(probabilities(J2, 4, FLOAT64))
    from theory.conventions import canonical_masks

    low = canonical_masks(4)[orders <= 2]
    assert np.max(np.abs(m2[low] - m[low])) < 1e-11
    # order N reproduces the target itself
    np.testing.assert_allclose(maxent_couplings(m, 4, 4), target.coupling_array(FLOAT64), atol=1e-9)


def test_learning_and_settling_times_on_a_synthetic_curve():
    t = np.logspace(-2, 2, 401)
    e = np.stack([1 / (1 + t), np.where(t < 1, 0.1, 0.3), 1 / (1 + t / 10)], axis=1)
    lt = learning_times(t, e, 0.2)
    assert lt[0] == pytest.approx(4.0, rel=0.02) and lt[1] == t[0] and lt[2] == pytest.approx(40.0, rel=0.02)
    st = settling_times(t, e, 0.2)
    assert st[1] is None and st[0] == pytest.approx(4.0, rel=0.02)
    assert is_ordered(lt) is False and is_ordered([1.0, None, None]) is True and is_ordered([None, None]) is None


def test_errors_vanish_when_the_model_is_the_target():
    """A full gim sitting at J^D has zero error of every order under every metric."""
    from theory.models import GIM
    from verify.learning import METRICS

    target = named("random-couplings", 3, seed=1)
    theta = target.coupling_array(FLOAT64)[None, :]
    for metric in METRICS:
        errors, _ = order_errors(GIM(3), target, theta, metric)
        assert np.max(errors) < 1e-9, metric


def test_flow_command_reports_learning_times(tmp_path):
    case = {"model": {"family": "rbm", "n": 3, "hidden": 3}, "target": {"named": "random-couplings", "seed": 1}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(case))
    png = tmp_path / "flow.png"
    proc = subprocess.run([sys.executable, "-m", "verify", "flow", str(p), "--metric", "moment", "--plot", str(png)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    for key in ("metric", "threshold", "learning_times", "settling_times", "ordered", "final_kl"):
        assert key in doc
    assert doc["ordered"] is True and doc["final_kl"] < 1e-8
    assert png.stat().st_size > 10_000


def test_sweep_resumes_after_an_interruption(tmp_path):
    """Interrupt a sweep after its first stored case; the rerun runs only the rest."""
    store = tmp_path / "store.jsonl"
    cmd = [sys.executable, "-m", "verify", "sweep", "--quick", "--store", str(store), "--jobs", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and (not store.exists() or not store.read_text().strip()):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "rerun the same command to resume" in err
    first = [json.loads(line)["id"] for line in store.read_text().splitlines()]
    assert 1 <= len(first) < 12
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"resuming: {len(first)} of 12" in proc.stderr
    ids = [json.loads(line)["id"] for line in store.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 12 and ids[: len(first)] == first
    assert "H2 (moment@0.2)" in proc.stdout and "H3 endpoints" in proc.stdout


def test_float64_flow_agrees_with_a_high_precision_taylor_integration():
    """Short cross-check: LSODA at float64 against mpmath's Taylor-series ODE solver at 30 digits."""
    from verify.learning import integrate, small_weight_init
    from theory.effective import gradient

    model = RBM(2, 1, "spin")
    target = named("random-couplings", 2, seed=3)
    start = small_weight_init(model, 0.1, 2)
    traj = integrate(model, target, start, t_max=1.0, t_min=0.5, points=2)
    with mpmath.workdps(30):
        m_data = target.moment_array(MP)
        solution = mpmath.odefun(lambda t, y: list(gradient(model, np.array(y, dtype=object), m_data, MP)),
                                 0, [mpmath.mpf(q.numerator) / q.denominator for q in start])
        exact = solution(1)
    assert np.max(np.abs(traj.thetas[-1] - np.array(exact, dtype=float))) < 1e-7
