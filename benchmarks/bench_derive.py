"""Benchmark: closed-form derivations with and without the disk cache, and a whole ``derive`` document.

For each model: a cold derivation (``closed_forms(model, cache=False)``: J, G, ∇²J_A and H), a
cache write, then a warm load from the cache; the ratio cold / warm is the speed-up a repeated
``derive`` or ``run`` sees. Then whole documents (``derive``), cold and repeated: the LaTeX text is cached
too, identity proofs included. The cache lives in a temporary directory.
Run: ``python benchmarks/bench_derive.py``. Prints times and ratios; asserts nothing.
"""

from __future__ import annotations

import os
import tempfile
import time

from theory.models import model_from_spec

SPECS = (
    {"family": "rbm", "n": 2, "hidden": 1},
    {"family": "product", "n": 3},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "rbm", "n": 3, "hidden": 2},
    {"family": "rbm", "n": 4, "hidden": 3},
)


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EBM_VERIFY_CACHE"] = tmp
        from verify.derivation_cache import closed_forms
        from verify.document import derivation_document

        for spec in SPECS:
            model = model_from_spec(spec)
            _, cold = timed(lambda: closed_forms(model, cache=False))
            closed_forms(model)  # writes the entry
            _, warm = timed(lambda: closed_forms(model))
            print(f"{spec}: derive {cold:7.2f} s, from cache {warm:6.3f} s, speed-up {cold / warm:6.0f}x")
        for spec, prove in ((SPECS[1], True), (SPECS[-1], False)):
            model = model_from_spec(spec)
            _, cold = timed(lambda: derivation_document(model, prove=prove, cache=False))
            derivation_document(model, prove=prove)  # writes the entries
            _, warm = timed(lambda: derivation_document(model, prove=prove))
            print(f"derive document {spec} (proofs: {prove}): {cold:6.2f} s, repeated {warm:6.3f} s, "
                  f"speed-up {cold / warm:6.0f}x")


if __name__ == "__main__":
    main()
