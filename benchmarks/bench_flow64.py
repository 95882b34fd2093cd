"""Benchmark: one flow of ``rbm`` (spin hidden units) to t = 1e6 with the float64 engine (verify.flow64).

Sizes N = 6 M = 4, N = 8 M = 6, N = 10 M = 8, N = 12 M = 8, N = 14 M = 10, each in a fresh process (so that
its peak resident memory is its own). The target and the start are a sweep's (verify.sweep): the seeded
``random-couplings`` target (every coupling ~ 0.5·N(0,1)) and ``small_weight_init(model, eps=1e-2, seed=0)``.
Prints per size: the flow's seconds, LSODA's Jacobian evaluations, the peak RSS (and the RSS after the imports),
the per-order errors of the five metrics (seconds, and how many maxent fits failed), and for N = 6, 8 the
ratio against the existing path (verify.learning.integrate and order_errors).

``--target decaying`` uses couplings ~ 0.5·2^(1-|A|)·N(0,1) instead (structure at every order, better
conditioned for the maxent metric at N >= 8, where the default target's Fisher matrices reach 1e12).

BLAS runs on one thread (``OPENBLAS_NUM_THREADS=1`` in each child): on two cores shared with another job,
OpenBLAS's second thread makes small matmuls ~100x slower.

Run: ``python benchmarks/bench_flow64.py [--sizes 6x4,8x6,10x8,12x8,14x10] [--no-baseline] [--no-metrics]
[--target default|decaying]``. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

BASELINE_SIZES = ((6, 4), (8, 6))
MAXENT_MAX_N = 10  # larger N: the maxent metric is skipped (cost ~ 2^N per conjugate-gradient step, many steps)


def build(n: int, m: int, target_kind: str):
    import numpy as np

    from theory.conventions import format_subset, subsets
    from theory.models import RBM
    from theory.targets import from_couplings, named
    from verify.learning import small_weight_init

    model = RBM(n, m, "spin")
    if target_kind == "decaying":
        rng = np.random.default_rng(1)
        values = {format_subset(A): f"{0.5 * 2.0 ** (1 - len(A)) * rng.standard_normal():.4f}" for A in subsets(n)}
        target = from_couplings(values, n)
    else:
        target = named("random-couplings", n, seed=1)
    return model, target, small_weight_init(model, 1e-2, 0)


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n: int, m: int, engine: str, target_kind: str, metrics: bool) -> dict:
    """Run in the child: one flow (and its metrics) with ``engine`` = ``flow64`` or ``existing``."""
    import warnings

    import numpy as np

    from verify import flow64, learning

    model, target, theta0 = build(n, m, target_kind)
    before = rss_mb()
    calls = {"jacobian": 0}
    hessian = flow64.State64.hessian

    def counted(self):
        calls["jacobian"] += 1
        return hessian(self)

    flow64.State64.hessian = counted
    integrate = flow64.integrate64 if engine == "flow64" else learning.integrate
    start = time.perf_counter()
    tr = integrate(model, target, theta0, t_max=1e6)
    out = {"n": n, "m": m, "engine": engine, "flow_s": time.perf_counter() - start, "ok": tr.success,
           "jacobians": calls["jacobian"], "rss_imports_mb": before, "points": len(tr.times)}
    if metrics:
        names = [k for k in learning.METRICS if k != "maxent" or n <= MAXENT_MAX_N]
        timings, failed = {}, 0
        for name in names:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if engine == "flow64":
                        errors = flow64.order_errors64(model, target, tr.thetas, name)[0]
                    else:
                        errors = learning.order_errors(model, target, tr.thetas, name)[0]
                except np.linalg.LinAlgError as err:
                    timings[name] = f"LinAlgError: {err}"
                    continue
            timings[name] = round(time.perf_counter() - start, 3)
            failed += int(np.isnan(errors).sum()) if name == "maxent" else 0
        out.update(metrics_s=timings, maxent_nan=failed)
    out["rss_peak_mb"] = rss_mb()
    return out


def spawn(n, m, engine, target_kind, metrics) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", f"{n}x{m}", "--engine", engine, "--target", target_kind]
    if not metrics:
        cmd.append("--no-metrics")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"n": n, "m": m, "engine": engine, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(r: dict) -> str:
    if "error" in r:
        return f"N={r['n']:2d} M={r['m']:2d} {r['engine']:8s} failed: {r['error']}"
    jac = f"{r['jacobians']} Jacobians, " if r["engine"] == "flow64" else ""
    text = (f"N={r['n']:2d} M={r['m']:2d} {r['engine']:8s} flow {r['flow_s']:7.2f} s ({jac}"
            f"{'ok' if r['ok'] else 'FAILED'}), peak RSS {r['rss_peak_mb']:.0f} MB (imports {r['rss_imports_mb']:.0f} MB)")
    if "metrics_s" in r:
        text += "\n      metrics: " + ", ".join(f"{k} {v}" + ("" if isinstance(v, str) else " s")
                                            for k, v in r["metrics_s"].items())
        text += f"; maxent nan {r['maxent_nan']}" if r.get("maxent_nan") else ""
    return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="6x4,8x6,10x8,12x8,14x10")
    ap.add_argument("--target", choices=("default", "decaying"), default="default")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-metrics", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--engine", default="flow64")
    args = ap.parse_args()
    if args.child:
        n, m = map(int, args.child.split("x"))
        print(json.dumps(one(n, m, args.engine, args.target, not args.no_metrics)))
        return
    sizes = [tuple(map(int, s.split("x"))) for s in args.sizes.split(",")]
    print(f"rbm spin, target {args.target}, t_max = 1e6, one BLAS thread per process")
    results = {}
    for n, m in sizes:
        results[(n, m)] = spawn(n, m, "flow64", args.target, not args.no_metrics)
        print(show(results[(n, m)]), flush=True)
    if args.no_baseline:
        return
    for n, m in BASELINE_SIZES:
        if (n, m) not in results or "error" in results[(n, m)]:
            continue
        base = spawn(n, m, "existing", args.target, not args.no_metrics)
        print(show(base), flush=True)
        if "error" not in base:
            new = results[(n, m)]
            line = f"      ratio existing/flow64: flow {base['flow_s'] / new['flow_s']:.1f}x"
            for k, v in base.get("metrics_s", {}).items():
                w = new["metrics_s"].get(k)
                if isinstance(v, float) and isinstance(w, float) and w > 0:
                    line += f", {k} {v / w:.1f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
