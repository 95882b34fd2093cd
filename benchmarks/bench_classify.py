"""Benchmark: ``classify`` for rbm N = 4, M = 3 and N = 6, M = 4 at dps 30, 50, 100, against a naive baseline.

The naive baseline computes the quantities behind a classification (F, ∂F, ∂²F on every
configuration, then p, ∇ℓ and H = E_D[∂²F] − E_θ[∂²F] − Cov_θ(∂F)) from sympy expressions with
``subs``/``evalf`` at the same precision. For N = 6 it evaluates a subset of the configurations
and scales the time up (printed as an estimate). Note that ``classify`` does more than the
baseline: it repeats everything at 2·dps, decomposes H and G, and checks F1 by finite differences.

Run: ``python benchmarks/bench_classify.py [--quick]``. Prints times and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import mpmath
import sympy as sp

from theory.conventions import spin_table
from theory.models import RBM
from theory.targets import named
from theory.arith import MP
from theory.flow import FlowState
from verify.cases import random_params
from verify.fixed_points import classify
from verify.numeric import working_precision


def structured_seconds(model, target, theta, dps: int) -> float:
    """F, ∂F, ∂²F, p, ∇ℓ and H at ``dps`` from the structured evaluators (what the naive baseline computes)."""
    start = time.perf_counter()
    with working_precision(dps):
        state = FlowState(model, MP.array(theta), target.moment_array(MP), MP)
        state.hessian()
    return time.perf_counter() - start


def naive_seconds(model, target, theta, dps: int, max_configs: int) -> tuple[float, bool]:
    """Time of the naive sympy subs/evalf computation (scaled up when configurations are subsampled)."""
    start = time.perf_counter()
    F = model.energy_expr()
    syms = model.symbols
    values = {t: sp.Rational(q.numerator, q.denominator) for t, q in zip(syms, theta)}
    S = spin_table(model.n)
    configs = list(range(2**model.n))
    used = configs[:max_configs]
    rows = []
    for x in used:
        Fx = F.subs(dict(zip(model.spins, [int(v) for v in S[x]])))
        grad = [sp.diff(Fx, t) for t in syms]
        hess = [[sp.diff(g, t) for t in syms[: k + 1]] for k, g in enumerate(grad)]
        rows.append(
            (
                Fx.evalf(dps, subs=values),
                [g.evalf(dps, subs=values) for g in grad],
                [[h.evalf(dps, subs=values) for h in row] for row in hess],
            )
        )
    with mpmath.workdps(dps):
        Fv = [mpmath.mpf(str(r[0])) for r in rows]
        top = max(Fv)
        w = [mpmath.exp(f - top) for f in Fv]
        Z = mpmath.fsum(w)
        p = [v / Z for v in w]
        _ = [mpmath.fsum(p[k] * mpmath.mpf(str(rows[k][1][j])) for k in range(len(rows))) for j in range(model.P)]
    elapsed = time.perf_counter() - start
    scaled = len(used) < len(configs)
    return elapsed * len(configs) / len(used), scaled


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only N = 4, M = 3 at dps 30 and 50")
    args = ap.parse_args()
    sizes = [(4, 3)] if args.quick else [(4, 3), (6, 4)]
    precisions = (30, 50) if args.quick else (30, 50, 100)
    for n, M in sizes:
        model = RBM(n, M, "spin")
        target = named("random-couplings", n, seed=1)
        theta = random_params(model, seed=1, scale=0.5)
        for dps in precisions:
            start = time.perf_counter()
            classify(model, target, theta, dps)
            fast = time.perf_counter() - start
            same = structured_seconds(model, target, theta, dps)
            naive, scaled = naive_seconds(model, target, theta, dps, max_configs=16 if n <= 4 else 4)
            note = " (estimated from 4 of 64 configurations)" if scaled else ""
            print(
                f"rbm N={n} M={M} (P={model.P}) dps={dps:3d}: full classify {fast:7.2f} s | "
                f"∇ℓ and H: structured {same:6.3f} s, naive sympy subs/evalf {naive:8.1f} s{note}, "
                f"ratio {naive / same:7.0f}x"
            )


if __name__ == "__main__":
    main()
