"""Benchmark: ball-arithmetic certificate next to the plain classification, rbm at dps 50.

Sizes (N, M): (4, 3), (6, 4), (8, 6) and, with ``--large``, (10, 8) (P = 98, D = 1023). Issue 13's goals:
classify + certify under 15 s for (8, 6), under 2 minutes for (10, 8).

The target is the RBM's own distribution at a seeded point (couplings rounded to 2·dps + 20 digits), so a
data-consistent fixed point exists; Newton finds it, then ``classify`` and ``certify_point`` are timed.
Run: ``python benchmarks/bench_certify.py``. Prints times and ratios; asserts nothing.
"""

from __future__ import annotations

import time

import mpmath

from theory.arith import MP
from theory.effective import model_couplings
from theory.models import RBM
from theory.targets import from_couplings
from theory.conventions import format_subset, subsets
from verify.cases import random_params
from verify.certify import certify_point
from verify.fixed_points import classify
from verify.search import polish


def main(dps: int = 50) -> None:
    import sys

    sizes = [(4, 3), (6, 4), (8, 6)] + ([(10, 8)] if "--large" in sys.argv else [])
    for n, M in sizes:
        model = RBM(n, M)
        theta0 = random_params(model, seed=2, scale=0.4)
        digits = 2 * dps + 20  # the target must be representable to beyond 2·dps for a decided classification
        with mpmath.workdps(digits + 10):
            J = model_couplings(model, MP.array(theta0), MP)
            target = from_couplings({format_subset(A): mpmath.nstr(v, digits) for A, v in zip(subsets(n), J)}, n)
        found = polish(model, target, theta0, dps)
        start = time.perf_counter()
        c = classify(model, target, found.theta, dps)
        t_classify = time.perf_counter() - start
        start = time.perf_counter()
        cert = certify_point(model, target, found.theta, dps, c)
        t_cert = time.perf_counter() - start
        print(f"rbm N={n} M={M} (P={model.P}, D={2**n - 1}) dps={dps}: kind {c.kind}, classify {t_classify:6.2f} s, "
              f"certificate {t_cert:6.2f} s ({cert.get('method')}, certified {cert.get('certified')}, "
              f"{cert.get('negative')} negative / {cert.get('undecided')} undecided), together {t_classify + t_cert:6.2f} s")


if __name__ == "__main__":
    main()
