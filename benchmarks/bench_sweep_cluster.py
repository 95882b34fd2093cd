"""Benchmark (issue 15): sweep flows of N = 6 on local processes and through a Dask ``LocalCluster``.

Cases: ``rbm`` M = 3, 6 and ``mlp`` tanh M = 3 on the ``teacher-rbm`` and ``decaying-couplings`` targets, ε = 1e-2,
start seeds 0, 1, …, t = 1e6, the five metrics, float64 endpoint summaries (no high-precision classification).
Prints the wall time of ``--flows`` flows on ``--jobs`` processes, then through a ``LocalCluster`` of ``--jobs``
single-threaded worker processes, and their ratio; both stores are compared (equal up to the timings). The CPU
time of the two sets of worker processes is printed too: on a shared machine it compares the paths where the wall
times cannot.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep_cluster.py [--flows 1000] [--jobs 2] [--n 6] [--rounds 4]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import tempfile
import time
from pathlib import Path

from verify.sweep import parse_cases, read_store, run_sweep


def cases(count: int, n: int):
    half = n // 2
    models = [{"family": "rbm", "n": n, "hidden": half, "hidden_units": "spin"},
              {"family": "rbm", "n": n, "hidden": n, "hidden_units": "spin"},
              {"family": "mlp", "n": n, "hidden": half, "activation": "tanh"}]
    targets = [{"named": "teacher-rbm", "seed": 1}, {"named": "decaying-couplings", "seed": 1}]
    per_seed = len(models) * len(targets)
    seeds = list(range(-(-count // per_seed)))
    doc = {"endpoint": "float64", "cases": [{"model": m, "target": t, "eps": 1e-2, "seeds": seeds}
                                            for m in models for t in targets]}
    return parse_cases(doc)[:count]


def _children() -> tuple[float, int]:
    """CPU seconds and minor page faults of the reaped child processes (the pool's or the cluster's workers)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime, r.ru_minflt


def _strip(rec):
    return {k: v for k, v in rec.items() if k not in ("seconds", "flow_seconds")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate the two paths over this many slices of the flows (each store resumed), so that "
                         "load from other work drifting during a long run weighs on both alike")
    ap.add_argument("--no-cluster", action="store_true")
    args = ap.parse_args()
    todo = cases(args.flows, args.n)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rounds = max(1, min(args.rounds, len(todo)))
    cuts = [len(todo) * (i + 1) // rounds for i in range(rounds)]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cluster = None
        if not args.no_cluster:
            from distributed import LocalCluster

            cluster = stack.enter_context(LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
        wall_local = wall_dask = cpu_local = own = 0.0
        faults_local = 0
        for cut in cuts:
            cpu0, faults0 = _children()
            start = time.perf_counter()
            local = run_sweep(todo[:cut], tmp / "local.jsonl", workers=args.jobs, progress=False)
            wall_local += time.perf_counter() - start
            cpu1, faults1 = _children()  # the pool's workers, reaped at its shutdown
            cpu_local, faults_local = cpu_local + cpu1 - cpu0, faults_local + faults1 - faults0
            if cluster is not None:
                start, own0 = time.perf_counter(), time.process_time()
                remote = run_sweep(todo[:cut], tmp / "dask.jsonl", progress=False, scheduler=cluster.scheduler_address)
                wall_dask, own = wall_dask + time.perf_counter() - start, own + time.process_time() - own0
        cpu = sum(r["seconds"] for r in local.values())
        print(f"{len(local)} flows of N = {args.n} on {args.jobs} processes: {wall_local:.1f} s wall "
              f"({60 * len(local) / wall_local:.1f} flows/min; {cpu / len(local):.2f} s per flow; "
              f"1,000 flows would take {1000 * wall_local / len(local) / 60:.1f} min)"
              + (f" in {rounds} rounds alternating with the cluster" if rounds > 1 and cluster is not None else ""))
        if cluster is None:
            return
        same = {k: _strip(v) for k, v in read_store(tmp / "dask.jsonl").items()} == \
            {k: _strip(v) for k, v in local.items()}
        cpu_before_close, faults_before_close = _children()
        stack.pop_all().close()  # the cluster's workers are reaped when it closes (the folder goes too)
        cpu2, faults2 = _children()
        cpu_dask, faults_dask = cpu2 - cpu_before_close, faults2 - faults_before_close
        per_flow = sum(r["seconds"] for r in remote.values())
        print(f"the same through a {args.jobs}-worker LocalCluster: {wall_dask:.1f} s wall, "
              f"ratio {wall_dask / wall_local:.3f} ({per_flow / len(remote):.2f} s per flow, "
              f"{per_flow / cpu:.3f} of the local figure); stores equal: {same}; {len(remote)} records")
        print(f"CPU of the worker processes (robust to other load): {cpu_local:.1f} s local, {cpu_dask:.1f} s in the "
              f"cluster's (with their start-up), ratio {cpu_dask / cpu_local:.3f}; page faults "
              f"{faults_local} and {faults_dask}; this process (client, scheduler, nannies) {own:.1f} s CPU "
              "during the cluster runs")


if __name__ == "__main__":
    main()
