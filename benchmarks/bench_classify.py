"""Benchmark: ``classify`` for rbm N = 4, M = 3 and N = 6, M = 4 at dps 30, 50, 100, against two baselines.

The FLINT engine (verify.linalg on Arb, exact integer products on fmpz_mat) against the mpmath path it
replaced (eigsy / svd_r, numpy object products: the same code with ``verify.linalg``'s ``mpmath_*``
reference routines swapped in), in the same run; and the command as a user runs it (process included).

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


def mpmath_path():
    """A context in which classify runs on the pre-FLINT routines (mpmath decompositions, numpy products)."""
    import contextlib

    import numpy as np

    import theory.fixedpoint as fixedpoint
    import verify.fixed_points as fp
    from verify import linalg

    def svd_values(A):
        values, _ = linalg.mpmath_right_singular(A if A.shape[0] >= A.shape[1] else A.T)
        return values[: min(A.shape)]

    def mpmath_right(A, gram_values=False):
        sigma, vecs = linalg.mpmath_right_singular(A)
        return (sigma, vecs, sorted(v * v for v in sigma)) if gram_values else (sigma, vecs)

    patches = [(fp, "symmetric_eigen", linalg.mpmath_symmetric_eigen), (fp, "right_singular", mpmath_right),
               (fp, "singular_values", svd_values), (fixedpoint, "_integer_matmul", lambda a, b: np.asarray(a) @ np.asarray(b))]

    @contextlib.contextmanager
    def patched():
        saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patches]
        try:
            for mod, name, value in patches:
                setattr(mod, name, value)
            yield
        finally:
            for mod, name, value in saved:
                setattr(mod, name, value)

    return patched()


def command_seconds(model, target, theta, dps: int) -> float:
    """``ebm-verify classify CASE.json --dps D`` as a user runs it (a fresh process, imports included)."""
    import json
    import subprocess
    import sys
    import tempfile

    case = {"model": model.spec(), "params": model.params_to_json(theta), "target": target.spec}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(case, fh)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "verify", "classify", fh.name, "--dps", str(dps)], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def structured_seconds(model, target, theta, dps: int, repeats: int = 5) -> float:
    """F, ∂F, ∂²F, p, ∇ℓ and H at ``dps`` from the structured evaluators (what the naive baseline computes): the
    median of ``repeats`` timings (one run of a few milliseconds is at the mercy of the scheduler)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with working_precision(dps):
            state = FlowState(model, MP.array(theta), target.moment_array(MP), MP)
            state.hessian()
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 2]


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
            with mpmath_path():
                start = time.perf_counter()
                classify(model, target, theta, dps)
                slow = time.perf_counter() - start
            process = command_seconds(model, target, theta, dps)
            print(f"rbm N={n} M={M} (P={model.P}) dps={dps:3d}: classify (measure and decide) FLINT {fast:6.2f} s, "
                  f"mpmath path {slow:7.2f} s, ratio {slow / fast:5.1f}x; `ebm-verify classify` with F1 and the "
                  f"other verdicts, process included: {process:6.2f} s")
            same = structured_seconds(model, target, theta, dps)
            naive, scaled = naive_seconds(model, target, theta, dps, max_configs=16 if n <= 4 else 4)
            note = " (estimated from 4 of 64 configurations)" if scaled else ""
            print(
                f"    full classify {fast:7.2f} s | "
                f"∇ℓ and H: structured {same:6.3f} s, naive sympy subs/evalf {naive:8.1f} s{note}, "
                f"ratio {naive / same:7.0f}x"
            )


if __name__ == "__main__":
    main()
