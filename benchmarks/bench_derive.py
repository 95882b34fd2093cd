"""Benchmark: closed-form derivations and ``derive`` documents, with and without the disk cache.

1. Closed forms (``closed_forms(model)``: J, G, every Hessian of J_A, and H where it is small): a cold derivation
   (``cache=False``), a cache write, then a warm load; the ratio cold / warm is what a repeated ``derive`` or ``run``
   saves. The hidden-layer families are derived from their structure (issue 12): ``rbm`` N = 6, M = 4 included.
2. Whole documents with proofs (what ``ebm-verify derive CASE --out F.tex`` writes), issue 12's figures: ``rbm``
   N = 3, M = 2 and N = 4, M = 3, ``mlp`` tanh N = 4, M = 2; uncached (``--no-cache``: closed forms, identities and
   text computed afresh) and cached (the same command again: the document text is read back). The page count
   comes from ``pdflatex`` when it is installed.

The cache lives in a temporary directory. Run: ``python benchmarks/bench_derive.py [--quick]``; prints times and
ratios; asserts nothing (the 2-minute and 40-page limits of ``rbm`` N = 4, M = 3 are printed next to the figures).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from theory.models import model_from_spec

CLOSED_FORMS = (
    {"family": "rbm", "n": 2, "hidden": 1},
    {"family": "product", "n": 3},
    {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"},
    {"family": "rbm", "n": 3, "hidden": 2},
    {"family": "rbm", "n": 4, "hidden": 3},
    {"family": "rbm", "n": 6, "hidden": 4},
)
DOCUMENTS = (
    {"family": "rbm", "n": 3, "hidden": 2},
    {"family": "rbm", "n": 4, "hidden": 3},
    {"family": "mlp", "n": 4, "hidden": 2, "activation": "tanh"},
)


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def pages(text: str) -> str:
    """The page count of the compiled document (``-`` without pdflatex)."""
    if shutil.which("pdflatex") is None:
        return "-"
    from verify.document import compile_pdf

    with tempfile.TemporaryDirectory() as tmp:
        tex = Path(tmp) / "doc.tex"
        tex.write_text(text)
        _, log = compile_pdf(str(tex))
        found = [line for line in log.splitlines() if "Output written" in line]
        return found[-1].split("(")[1].split()[0] if found else "?"


def main(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EBM_VERIFY_CACHE"] = tmp
        from verify.derivation_cache import closed_forms
        from verify.document import derivation_document

        print("closed forms (J, G, Hessians of J_A; H where small): cold, then loaded from the cache")
        for spec in CLOSED_FORMS[:4] if quick else CLOSED_FORMS:
            model = model_from_spec(spec)
            _, cold = timed(lambda: closed_forms(model, cache=False))
            closed_forms(model)  # writes the entry
            _, warm = timed(lambda: closed_forms(model))
            print(f"  {spec}: derive {cold:7.2f} s, from cache {warm:6.3f} s, speed-up {cold / warm:6.0f}x")
        print("derive with proofs (identities proved): uncached, then cached")
        for spec in DOCUMENTS[:1] if quick else DOCUMENTS:
            model = model_from_spec(spec)
            text, cold = timed(lambda: derivation_document(model, prove=True, cache=False))
            derivation_document(model, prove=True)  # writes the entries (closed forms and text)
            _, warm = timed(lambda: derivation_document(model, prove=True))
            print(f"  {spec}: uncached {cold:6.1f} s, cached {warm * 1000:7.1f} ms, {len(text) // 1000} kB, "
                  f"{pages(text)} pages")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
