"""Issue 12, clean documents: one notation table printed with, titles and statements in math mode, and the
LaTeX report as clean as the derivation documents."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from theory.latex import NOTATION, notation, parameter_symbol, plain_text, text_latex, to_latex
from theory.models import model_from_spec
from verify.registry import Skip, propositions
from verify.report import latex_report
from verify.verdict import HOLDS, Verdict

from .test_derivation_documents import FORBIDDEN_SOURCE, require_tex, text_problems


def test_the_table_has_the_papers_symbols():
    symbols = {row.tex for row in NOTATION}
    assert {"a_i", r"b_\mu", r"w_{i\mu}", r"c_\mu", r"r_A = m^{D}_A - m_A"} <= symbols
    assert any("J_{12}" in row.meaning for row in NOTATION)


def test_parameters_print_as_the_table_says():
    mlp = model_from_spec({"family": "mlp", "n": 3, "hidden": 2})
    by_label = {p.label: p for p in mlp.params}
    assert parameter_symbol(by_label["w[1,2]"]) == "w_{12}" and parameter_symbol(by_label["c[2]"]) == "c_{2}"
    w12 = by_label["w[1,2]"].symbol
    assert to_latex(2 * w12) == "2 w_{1,2}"  # the symbol's own name outside a document
    with notation(mlp.params):
        assert to_latex(2 * w12) == "2 w_{12}"
    gim = model_from_spec({"family": "gim", "n": 3})
    assert [parameter_symbol(p) for p in gim.params][3] == "J_{12}"
    custom = model_from_spec({"family": "custom", "n": 2, "energy": "k*s1*s2", "params": ["k"]})
    assert parameter_symbol(custom.params[0]) == "k"


def test_titles_and_hypotheses_typeset_their_math():
    for prop in propositions():
        for text in (prop.title, prop.hypotheses):
            tex = text_latex(text)
            assert not any(s in tex for s in FORBIDDEN_SOURCE), (prop.id, tex)
            plain = plain_text(text)
            assert "$" not in plain and "\\" not in plain, (prop.id, plain)


def test_plain_text_of_titles_reads_in_a_terminal():
    titles = {p.id: plain_text(p.title) for p in propositions()}
    assert "rank G < D" in titles["F2"] and "J^D" in titles["E2"] and "±r_A" in titles["S2"]
    assert "ε^(k-1)" in titles["H1"]


def _report_tex() -> str:
    verdicts = [Verdict(p.id, f"{p.id.lower()}/case", HOLDS, {}, 30, "ebm-verify run", 3.0) for p in propositions()]
    skips = [Skip("F2", "fp/rbm-n3-m1-spin/random-couplings-s1",
                  "the flow runs off to infinity (‖∇ℓ‖ ∝ 1/t, ‖θ‖ ∝ log t): no fixed point; J_A stays finite")]
    return latex_report(verdicts, {"version": "0.1.0", "dps": 30}, skips)


def test_latex_report_titles_are_math():
    tex = _report_tex()
    assert r"$\operatorname{rank} G < D$" in tex and r"$J^D$" in tex
    assert not any(s in tex for s in FORBIDDEN_SOURCE)


def test_latex_report_compiles_cleanly(tmp_path):
    if not require_tex():
        pytest.skip("pdflatex is not installed (CI sets EBM_VERIFY_REQUIRE_TEX=1, which fails here instead)")
    path = tmp_path / "report.tex"
    path.write_text(_report_tex())
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", path.name], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "Overfull" not in proc.stdout
    if shutil.which("pdftotext") or os.environ.get("EBM_VERIFY_REQUIRE_TEX"):
        text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert text_problems(path.read_text(), text) == []
        assert "rank G < D" in text


def test_statements_are_math():
    """Statements are LaTeX math (displayed as they are): no Unicode math left in them."""
    for prop in propositions():
        assert all(ord(c) < 128 for c in prop.statement), prop.id
