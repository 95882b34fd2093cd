"""Benchmark: effective couplings of an RBM (N = 10, M = 8) and the butterfly against the dense matrix.

Run: ``python benchmarks/bench_couplings.py``. Prints times and ratios; asserts nothing.
"""

from __future__ import annotations

import time
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import FLOAT64, MP
from theory.effective import jacobian, model_couplings
from theory.models import RBM
from theory.walsh import walsh_hadamard, walsh_matrix


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    n, M = 10, 8
    model = RBM(n, M)
    rng = np.random.default_rng(0)
    exact = [Fraction(int(k), 1000) for k in rng.integers(-500, 500, size=model.P)]
    theta64 = FLOAT64.array(exact)
    t64 = best_of(lambda: model_couplings(model, theta64, FLOAT64))
    g64 = best_of(lambda: jacobian(model, theta64, FLOAT64))
    with mpmath.workdps(50):
        theta_mp = MP.array(exact)
        tmp = best_of(lambda: model_couplings(model, theta_mp, MP), repeat=1)
        gmp = best_of(lambda: jacobian(model, theta_mp, MP), repeat=1)
    print(f"rbm N={n} M={M} (P={model.P}, 2^N={2**n})")
    print(f"  couplings J(theta)  float64 {t64 * 1e3:9.2f} ms   dps=50 {tmp * 1e3:9.1f} ms   ratio {tmp / t64:7.0f}x")
    print(f"  Jacobian G          float64 {g64 * 1e3:9.2f} ms   dps=50 {gmp * 1e3:9.1f} ms   ratio {gmp / g64:7.0f}x")

    print("butterfly O(N 2^N) against the dense 2^N x 2^N matrix (float64, one vector):")
    for k in (8, 10, 12):
        f = rng.normal(size=2**k)
        fast = best_of(lambda: walsh_hadamard(f))
        H = walsh_matrix(k).astype(float)
        dense = best_of(lambda: H @ f)
        build = best_of(lambda: walsh_matrix(k), repeat=1)
        assert np.allclose(walsh_hadamard(f), H @ f)
        print(
            f"  N={k:2d}: butterfly {fast * 1e3:8.3f} ms   dense matvec {dense * 1e3:8.3f} ms "
            f"(+ {build * 1e3:8.1f} ms to build, {H.nbytes / 2**20:6.1f} MiB)   matvec/butterfly {dense / fast:6.1f}x"
        )
    with mpmath.workdps(50):
        k = 8
        f = MP.array([Fraction(int(v), 97) for v in rng.integers(-100, 100, size=2**k)])
        fast = best_of(lambda: walsh_hadamard(f), repeat=1)
        H = walsh_matrix(k).astype(object)
        dense = best_of(lambda: H @ f, repeat=1)
        print(f"  N={k:2d} at dps=50: butterfly {fast * 1e3:8.1f} ms   dense {dense * 1e3:8.1f} ms   ratio {dense / fast:6.1f}x")


if __name__ == "__main__":
    main()
