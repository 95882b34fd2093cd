"""Benchmark (issue 15): sweep flows of N = 6 on local processes and through a Dask ``LocalCluster``.

Cases: ``rbm`` M = 3, 6 and ``mlp`` tanh M = 3 on the ``teacher-rbm`` and ``decaying-couplings`` targets, ε = 1e-2,
start seeds 0, 1, …, t = 1e6, the five metrics, float64 endpoint summaries (no high-precision classification).
Prints the wall time of ``--flows`` flows on ``--jobs`` processes, then through a ``LocalCluster`` of ``--jobs``
single-threaded worker processes, and their ratio; both stores are compared (equal up to the timings). The CPU
time of the two sets of worker processes is printed too: on a shared machine it compares the paths where the wall
times cannot.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sweep_cluster.py [--flows 1000] [--jobs 2] [--n 6]``.
"""

from __future__ import annotations

import argparse
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
    ap.add_argument("--no-cluster", action="store_true")
    args = ap.parse_args()
    todo = cases(args.flows, args.n)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, faults0 = _children()
        start = time.perf_counter()
        local = run_sweep(todo, Path(tmp) / "local.jsonl", workers=args.jobs, progress=False)
        wall_local = time.perf_counter() - start
        cpu1, faults1 = _children()
        cpu = sum(r["seconds"] for r in local.values())
        print(f"{len(local)} flows of N = {args.n} on {args.jobs} processes: {wall_local:.1f} s wall "
              f"({60 * len(local) / wall_local:.1f} flows/min; {cpu / len(local):.2f} s per flow; "
              f"1,000 flows would take {1000 * wall_local / len(local) / 60:.1f} min)")
        if args.no_cluster:
            return
        from distributed import LocalCluster

        with LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            start, own0 = time.perf_counter(), time.process_time()
            remote = run_sweep(todo, Path(tmp) / "dask.jsonl", progress=False, scheduler=cluster.scheduler_address)
            wall_dask, own = time.perf_counter() - start, time.process_time() - own0
        cpu2, faults2 = _children()  # the workers are reaped when the cluster closes
        same = {k: _strip(v) for k, v in read_store(Path(tmp) / "dask.jsonl").items()} == \
            {k: _strip(v) for k, v in local.items()}
        cpu_dask = sum(r["seconds"] for r in remote.values())
        print(f"the same through a {args.jobs}-worker LocalCluster: {wall_dask:.1f} s wall, "
              f"ratio {wall_dask / wall_local:.3f} ({cpu_dask / len(remote):.2f} s per flow, "
              f"{cpu_dask / cpu:.3f} of the local figure); stores equal: {same}; {len(remote)} records")
        print(f"CPU of the worker processes (robust to other load): {cpu1 - cpu0:.1f} s local, {cpu2 - cpu1:.1f} s in the "
              f"cluster's (with their start-up), ratio {(cpu2 - cpu1) / (cpu1 - cpu0):.3f}; page faults "
              f"{faults1 - faults0} and {faults2 - faults1}; this process (client, scheduler, nannies) {own:.1f} s CPU "
              "during the cluster run")


if __name__ == "__main__":
    main()
