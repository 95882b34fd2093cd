"""Benchmark: certified enumeration (issue 14) in [-3, 3]^P at dps 30.

Cases: ``gim`` N = 3, K = 2 (P = 6), ``product`` N = 2 (P = 6), ``rbm`` N = 2, M = 1 spin (P = 5), plus the
small complete cases of the tests (``gim`` N = 2, ``product`` N = 1, a one-parameter custom energy with three
roots), and the boxes around manifolds of ``tests/verify/test_enumerate_manifolds.py``. Issue 14's goal: complete (0 % undecided) in under 60 s each on 2 cores. Each run stops at a time budget
(``--seconds``, default 60) and prints boxes per second, the time, the undecided volume fraction and the statement.
Run: ``python benchmarks/bench_enumerate.py [--seconds 60] [--jobs 2] [--only product]``. Asserts nothing.
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction

from theory.models import model_from_spec
from theory.targets import from_probabilities
from verify.enumerate_store import enumerate_fixed_points

P3 = [0.2, 0.1, 0.1, 0.05, 0.15, 0.1, 0.1, 0.2]
P2 = [0.45, 0.1, 0.15, 0.3]  # m_1 = 0.2, m_2 = 0.1, pair correlation m_12 = 0.5: every residual nonzero at J = 0
# product needs a target without a zero coupling: P2 has J_2 = log(p0 p1 / (p2 p3)) / 4 = 0 exactly, so its
# data-consistent set contains the cross u_2 v_2 = 0 (two sheets meeting where G loses a row), which is no manifold.
# PG: J^D = (0.207, -0.193, 0.486), m^D = (0.12, -0.1, 0.42); every switched-off fit has non-zero fitted couplings
# and non-zero residuals on the switched-off subsets.
PG = [0.36, 0.09, 0.2, 0.35]

F = Fraction
PRODUCT, RBM = {"family": "product", "n": 2}, {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"}
#: boxes around the manifolds (the tests of tests/verify/test_enumerate_manifolds.py): complete in a few seconds
MANIFOLD_CASES = [
    ("product origin [-1/4,1/4]^6", PRODUCT, PG, ((-F(1, 4),) * 6, (F(1, 4),) * 6)),
    ("product switched-off {1}", PRODUCT, PG, ((F(0), F(3, 4), F(3, 4), F(0), F(-1, 4), F(1, 4)),
                                              (F(1, 2), F(5, 4), F(5, 4), F(1, 2), F(0), F(3, 4)))),
    ("rbm paramagnetic line", RBM, P2, ((F(1, 8), F(-1, 16), F(-1, 8), F(-1, 8), F(-1, 8)),
                                        (F(5, 16), F(3, 16), F(1, 8), F(1), F(1)))),
]

CASES = [
    ("gim N=2 K=2 (P=3)", {"family": "gim", "n": 2, "max_order": 2}, P2),
    ("product N=1 (P=2)", {"family": "product", "n": 1}, [0.7, 0.3]),
    ("custom (a^2-1) s1 (P=1)", {"family": "custom", "n": 1, "energy": "(a**2 - 1)*s1", "params": ["a"]}, [0.7, 0.3]),
    ("gim N=3 K=2 (P=6)", {"family": "gim", "n": 3, "max_order": 2}, P3),
    ("product N=2 (P=6)", {"family": "product", "n": 2}, PG),
    ("rbm N=2 M=1 (P=5)", {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"}, P2),
]


def main() -> None:
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 60.0
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else 1
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    print(f"{'case':26s} {'boxes':>7s} {'boxes/s':>8s} {'time s':>7s} {'undecided %':>12s}  complete")
    cases = [(name, spec, probs, (Fraction(-3), Fraction(3))) for name, spec, probs in CASES] + MANIFOLD_CASES
    for name, spec, probs, (lo, hi) in cases:
        if only not in name:
            continue
        model = model_from_spec(spec)
        target = from_probabilities(probs, model.n)
        start = time.perf_counter()
        width = Fraction(6, 1024) if not isinstance(lo, tuple) else None
        res = enumerate_fixed_points(model, target, lo, hi, dps=30, min_width=width, max_seconds=seconds, jobs=jobs)
        took = time.perf_counter() - start
        print(f"{name:26s} {res['boxes_processed']:7d} {res['boxes_per_second'] or 0:8.0f} {took:7.1f} "
              f"{100 * res['undecided_volume_fraction']:12.3g}  {res['complete']}")
        print(f"    {res['statement']}")


if __name__ == "__main__":
    main()
