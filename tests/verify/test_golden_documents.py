"""Golden derivation documents (issue 12): three small documents are committed as LaTeX and a change of their
printed form fails here, with the differing lines; ``ebm-verify diff`` reports a change of the printed J and G of
any model a run derived (the closed-form digests of a report hash the printed LaTeX).

To accept a deliberate change of printed form, regenerate the files and review the diff::

    EBM_VERIFY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/verify/test_golden_documents.py
    git diff tests/verify/golden/
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest

from theory.models import model_from_spec
from verify.baseline import diff_reports, format_diff
from verify.closed_form_evaluators import printed_closed_forms
from verify.document import derivation_document

GOLDEN = Path(__file__).parent / "golden"
DOCUMENTS = {
    "rbm-n2-m1": {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"},
    "mlp-n2-m1-quadratic": {"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"},
    "product-n2": {"family": "product", "n": 2, "fields": False},
}


def normalised(text: str) -> str:
    """The document without the line naming the suite's version (a release is not a change of printed form)."""
    return re.sub(r"\\author\{ebm-verify [^}]*\}", r"\\author{ebm-verify}", text)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_VERIFY_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_document_matches_its_golden_file(name):
    text = normalised(derivation_document(model_from_spec(DOCUMENTS[name]), prove=True, cache=False))
    path = GOLDEN / f"{name}.tex"
    if os.environ.get("EBM_VERIFY_UPDATE_GOLDEN"):
        path.write_text(text)
    golden = path.read_text()
    if text != golden:
        delta = "".join(difflib.unified_diff(golden.splitlines(True), text.splitlines(True), "golden", "now", n=1))
        pytest.fail(f"the printed form of {name} changed (regenerate with EBM_VERIFY_UPDATE_GOLDEN=1 if deliberate):\n"
                    + delta[:4000])


def test_golden_rbm_has_the_log_of_a_ratio_and_the_papers_symbols():
    text = (GOLDEN / "rbm-n2-m1.tex").read_text()
    assert r"J_{12} &= \frac{1}{4}\log\frac{\cosh{\left(- b_{1} + w_{11} + w_{21} \right)}" in text
    assert r"T^{(n)}_{\mu,B} = 2^{-N}\sum_s \chi_B(s)" in text and "w_{1,1}" not in text


def test_a_change_of_printed_form_is_a_regression_of_diff(monkeypatch):
    """The report's closed-form digest hashes the printed LaTeX: printing w_{11} as w_{1,1} (a notation change, the
    same sympy expression) changes the digest, and ``diff`` reports it like any other regression."""
    import hashlib

    import theory.latex as latex

    model = model_from_spec(DOCUMENTS["rbm-n2-m1"])
    key = json.dumps(model.spec(), sort_keys=True)
    before = hashlib.sha256(printed_closed_forms(model).encode()).hexdigest()
    monkeypatch.setattr(latex, "symbol_names", lambda params: {})
    after = hashlib.sha256(printed_closed_forms(model).encode()).hexdigest()
    assert before != after
    old = {"verdicts": [], "closed_forms": {"sympy": "1.14.0", "digests": {key: before}}}
    new = {"verdicts": [], "closed_forms": {"sympy": "1.14.0", "digests": {key: after}}}
    changes = diff_reports(old, new)
    assert changes["regressions"] and "CLOSED FORM" in format_diff(changes)
