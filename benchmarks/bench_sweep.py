"""Benchmark: 100 sweep cases of N = 3 (rbm M = 2, 3; mlp tanh) on 2 processes; prints the throughput.

Run: ``python benchmarks/bench_sweep.py [--cases 100] [--jobs 2]``. Uses a temporary store.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from verify.sweep import SweepCase, _models, run_sweep, summarize


def cases(count: int) -> list[SweepCase]:
    targets = [(f"random-couplings-s{s}", {"named": "random-couplings", "seed": s}) for s in range(1, 6)]
    targets += [("pairwise-s1", {"named": "pairwise", "seed": 1}), ("parity-s1", {"named": "parity", "seed": 1})]
    out = []
    seed = 0
    while len(out) < count:
        for mtag, spec in _models(3):
            for ttag, tspec in targets:
                out.append(SweepCase(f"{mtag}/{ttag}/eps0.01-seed{seed}", spec, tspec, 1e-2, seed))
        seed += 1
    return out[:count]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    todo = cases(args.cases)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.jsonl"
        start = time.perf_counter()
        records = run_sweep(todo, store, workers=args.jobs, progress=False)
        elapsed = time.perf_counter() - start
    per_case = sorted(r["seconds"] for r in records.values())
    s = summarize(records)
    print(f"{len(records)} cases of N = 3 on {args.jobs} processes: {elapsed:.1f} s wall, "
          f"{60 * len(records) / elapsed:.1f} cases/min; per case median {per_case[len(per_case) // 2]:.1f} s, "
          f"max {per_case[-1]:.1f} s")
    print(f"H2 moment@0.2 ordered {s['H2']['moment@0.2']['ordered']}/{len(records)}, "
          f"coupling@0.2 {s['H2']['coupling@0.2']['ordered']}/{len(records)}; H3 {s['H3']['endpoint_kinds']}")


if __name__ == "__main__":
    main()
