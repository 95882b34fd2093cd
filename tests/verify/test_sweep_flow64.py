"""Issue 15, deliverable 2: the sweep on the float64 engine, its endpoint policy, case lists from files, and
Dask clusters (the store a LocalCluster writes equals the local one)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from theory.errors import SpecError
from verify import sweep
from verify.learning import METRICS, integrate, learning_times, order_errors

RBM3 = {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"}
MLP3 = {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"}


def _strip(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("seconds", "flow_seconds")}


def test_run_case_learning_times_agree_with_the_reference_path():
    """The float64 engine's learning times equal those of verify.learning's integrator and metrics."""
    sc = sweep.SweepCase("t/rc/eps0.01-seed0", RBM3, {"named": "random-couplings", "seed": 1}, 0.01, 0, 1e4,
                         "float64")
    rec = sweep.run_case(sc)
    model, target, theta0 = sc.build()
    tr = integrate(model, target, theta0, t_max=sc.t_max)
    for metric in METRICS:
        errors, _ = order_errors(model, target, tr.thetas, metric)
        for delta in sweep.THRESHOLDS:
            ref = learning_times(tr.times, errors, delta)
            got = rec["learning"][f"{metric}@{delta}"]["learning_times"]
            for k, t in enumerate(ref, start=1):
                assert (t is None) == (got[str(k)] is None), (metric, delta, k)
                if t is not None:
                    assert abs(got[str(k)] / t - 1) < 1e-4, (metric, delta, k, t, got[str(k)])
    assert rec["engine"] == "float64" and rec["endpoint"]["precision"] == "float64"
    assert "endpoint policy float64" in rec["endpoint"]["note"]


def test_the_auto_endpoint_policy_classifies_small_n_only():
    small = sweep.SweepCase("a", RBM3, {"named": "pairwise", "seed": 1}, 0.01, 0)
    large = sweep.SweepCase("b", {**RBM3, "n": 7}, {"named": "pairwise", "seed": 1}, 0.01, 0, 30.0)
    assert small.classifies() and not large.classifies()
    assert sweep.SweepCase("c", {**RBM3, "n": 7}, {}, 0.01, 0, endpoint="classify").classifies()
    rec = sweep.run_case(large)
    end = rec["endpoint"]
    assert end["kind"] == "unclassified" and "N = 7 > 6" in end["note"]
    assert end["float64_stable"] + end["float64_unstable"] + end["float64_near_zero"] == 7 + 2 + 14


def _write(tmp_path, doc, name="cases.json"):
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def test_a_case_file_expands_to_one_case_per_eps_and_seed(tmp_path):
    doc = {"t_max": 100, "cases": [
        {"model": RBM3, "target": "teacher-rbm", "eps": [0.1, 0.01], "seeds": [0, 1]},
        {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh", "target": {"named": "decaying-couplings", "seed": 2},
         "eps": 0.001, "seeds": 4, "endpoint": "classify"}]}
    cases = sweep.load_cases(_write(tmp_path, doc))
    ids = [c.id for c in cases]
    assert len(ids) == 5 == len(set(ids))
    assert ids[0] == "rbm-n3-m2-spin/teacher-rbm-s0/eps0.1-seed0"
    assert ids[-1] == "mlp-n3-m2-tanh/decaying-couplings-s2/eps0.001-seed4"
    assert cases[-1].endpoint == "classify" and cases[0].t_max == 100
    assert cases[0].reproduce() == f"ebm-verify sweep --cases '{tmp_path / 'cases.json'}' --case '{ids[0]}'"


@pytest.mark.parametrize("doc, words", [
    ("{not json", "not valid JSON"),
    ({"cases": {}}, "must be a JSON object with a list \"cases\""),
    ({"cases": [], "extra": 1}, "unknown keys ['extra']"),
    ({"cases": []}, "lists no cases"),
    ({"cases": [3]}, "cases[0] must be a JSON object"),
    ({"cases": [{"target": "pairwise", "eps": 0.1, "seeds": 0}]}, "must give the model either"),
    ({"cases": [{"model": RBM3, "n": 3, "target": "pairwise", "eps": 0.1, "seeds": 0}]}, "not both or neither"),
    ({"cases": [{"model": RBM3, "eps": 0.1, "seeds": 0}]}, "has no \"target\""),
    ({"cases": [{"model": RBM3, "target": "pairwise", "seeds": 0}]}, "has no \"eps\""),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": [0.1, -1], "seeds": 0}]}, "eps must be numbers in (0, 10]"),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": [], "seeds": 0}]}, "eps is empty"),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": 0.1, "seeds": [1.5]}]}, "seeds must be integers >= 0"),
    ({"cases": [{"model": RBM3, "target": "nope", "eps": 0.1, "seeds": 0}]}, "unknown named target"),
    ({"cases": [{"model": {**RBM3, "family": "zzz"}, "target": "pairwise", "eps": 0.1, "seeds": 0}]}, "cases[0]:"),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": 0.1, "seeds": 0, "endpoint": "x"}]}, "endpoint must be one of"),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": 0.1, "seeds": 0, "t_max": 0}]}, "t_max must be a number"),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": [0.1, 0.1], "seeds": 0}]}, "repeats the case"),
    ({"cases": [{"model": RBM3, "target": {"probabilities": [0.125] * 8}, "eps": 0.1, "seeds": 0}]}, "give the entry a \"tag\""),
    ({"cases": [{"model": RBM3, "target": "pairwise", "eps": 0.1, "seeds": 0, "hidden": 2}]}, "not both or neither"),
])
def test_malformed_case_files_are_one_line_errors(tmp_path, doc, words):
    with pytest.raises(SpecError) as err:
        sweep.load_cases(_write(tmp_path, doc))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_cli_refuses_a_malformed_case_file_in_one_line(tmp_path):
    p = _write(tmp_path, {"cases": [{"model": RBM3, "target": "pairwise", "eps": "big", "seeds": 0}]})
    proc = subprocess.run([sys.executable, "-m", "verify", "sweep", "--cases", str(p), "--store", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "eps must be numbers" in proc.stderr


def _small_cases(tmp_path):
    doc = {"t_max": 300, "endpoint": "float64", "cases": [
        {"model": RBM3, "target": "teacher-rbm", "eps": [0.1, 0.001], "seeds": [0, 1]},
        {"model": MLP3, "target": "decaying-couplings", "eps": [0.01], "seeds": [0]}]}
    return sweep.load_cases(_write(tmp_path, doc))


def test_a_local_dask_cluster_writes_the_same_store_as_local_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    cases = _small_cases(tmp_path)
    local = sweep.run_sweep(cases, tmp_path / "local.jsonl", workers=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = sweep.run_sweep(cases, tmp_path / "dask.jsonl", progress=False, scheduler=cluster.scheduler_address)
        assert sorted(remote) == sorted(local) == sorted(c.id for c in cases)
        stored = sweep.read_store(tmp_path / "dask.jsonl")
        assert {k: _strip(v) for k, v in stored.items()} == {k: _strip(v) for k, v in local.items()}
        # resumable: a rerun on the cluster finds everything stored and runs nothing
        lines = (tmp_path / "dask.jsonl").read_text()
        sweep.run_sweep(cases, tmp_path / "dask.jsonl", progress=False, scheduler=cluster.scheduler_address)
        assert (tmp_path / "dask.jsonl").read_text() == lines


_FAULTS = """
import json, resource
from verify import dask_worker, sweep
sc = sweep.SweepCase("t/faults", {"family": "rbm", "n": 6, "hidden": 3, "hidden_units": "spin"},
                     {"named": "teacher-rbm", "seed": 1}, 0.01, 0, 1e3, "float64")
sweep.run_case(sc)  # imports and caches
out = {"tuned": dask_worker.heap_thresholds_set()}
for name, run in (("plain", sweep.run_case), ("worker", sweep.run_case_on_worker)):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rec = run(sc)
    out[name] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    out[name + "_record"] = {k: v for k, v in rec.items() if k not in ("seconds", "flow_seconds")}
out["running"] = dask_worker._running
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_a_dask_worker_runs_flows_with_the_default_heap_thresholds():
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536: without run_case_on_worker a flow's
    temporaries are handed back to the OS and faulted in again (about 11x the page faults, 40 % more CPU per flow)."""
    import os
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["tuned"] and out["running"] == 0
    assert out["worker_record"] == out["plain_record"]
    assert out["worker"] < out["plain"] / 3, out
    from verify import dask_worker

    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:  # nothing to do in a process started without the variable
        assert not dask_worker.heap_thresholds_set()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "inproc://192.0.2.2/1/1"])
def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path, address):
    pytest.importorskip("distributed")
    cases = _small_cases(tmp_path)[:1]
    with pytest.raises(SpecError) as err:
        sweep.run_sweep(cases, tmp_path / "s.jsonl", progress=False, scheduler=address)
    assert "cannot reach the Dask scheduler" in str(err.value) and "\n" not in str(err.value)


def test_the_law_case_list_is_a_valid_case_file():
    doc = sweep.law_case_list(ns=(4, 10), eps=(0.1, 1e-6), seeds=(0, 1))
    cases = sweep.parse_cases(doc)
    assert len(cases) == 2 * 3 * 2 * 2 * 2
    assert {c.model["hidden"] for c in cases if c.model["n"] == 10} == {5, 10}
    assert all(not c.classifies() for c in cases)
    assert np.isclose(min(c.eps for c in cases), 1e-6)


def test_the_sweep_command_runs_on_a_scheduler_address(tmp_path):
    distributed = pytest.importorskip("distributed")
    doc = {"t_max": 100, "endpoint": "float64",
           "cases": [{"model": RBM3, "target": "teacher-rbm", "eps": [0.1, 0.01], "seeds": [0]}]}
    p = _write(tmp_path, doc)
    local = sweep.run_sweep(sweep.load_cases(p), tmp_path / "local.jsonl", workers=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                                  dashboard_address=None) as cluster:
        proc = subprocess.run([sys.executable, "-m", "verify", "sweep", "--cases", str(p), "--store", str(tmp_path / "d.jsonl"),
                               "--scheduler", cluster.scheduler_address, "--no-progress"],
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "H2 (moment@0.2)" in proc.stdout
    stored = sweep.read_store(tmp_path / "d.jsonl")
    assert {k: _strip(v) for k, v in stored.items()} == {k: _strip(v) for k, v in local.items()}


def test_a_case_file_can_start_from_zero_hidden_biases(tmp_path):
    doc = {"cases": [{"model": RBM3, "target": "teacher-rbm", "eps": 0.01, "seeds": 0, "bias_scale": 0}]}
    (sc,) = sweep.load_cases(_write(tmp_path, doc))
    assert sc.id == "rbm-n3-m2-spin-bias0/teacher-rbm-s0/eps0.01-seed0"
    model, _, theta0 = sc.build()
    groups = [p.group for p in model.params]
    assert all(q == 0 for q, g in zip(theta0, groups) if g == "b")
    assert any(q != 0 for q, g in zip(theta0, groups) if g == "w")
    doc["cases"][0]["bias_scale"] = -1
    with pytest.raises(SpecError, match="bias_scale must be a number in"):
        sweep.load_cases(_write(tmp_path, doc, "bad.json"))
