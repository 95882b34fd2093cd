"""Derivation documents: golden LaTeX, determinism, the cache, the propositions named, and real PDFs.

The golden strings are sympy 1.14's printing of the closed forms; a change of sympy's printer (or of
a derivation) shows up here first.
"""

import os
import shutil
import subprocess
import sys

import pytest

from theory.closed_forms import ClosedForms, derive
from theory.errors import SpecError
from theory.latex import equation_lines
from theory.models import model_from_spec
from verify import derivation_cache
from verify.document import applicable_propositions, compile_pdf, derivation_document, overfull_boxes

RBM_2_1 = {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"}
DOCUMENTS = {
    "gim-n2": {"family": "gim", "n": 2},
    "rbm-n2-m1": RBM_2_1,
    "product-n3": {"family": "product", "n": 3},
    "mlp-n2-m1-quadratic": {"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"},
    "custom-n2": {"family": "custom", "n": 2, "energy": "a*s1 + b*s2 + log(cosh(c + w*s1*s2))",
                  "params": ["a", "b", "c", "w"]},
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_VERIFY_CACHE", str(tmp_path / "cache"))


def lines_of(spec, A):
    cf = derive(model_from_spec(spec))
    return equation_lines("J_{" + "".join(map(str, A)) + "}", cf.coupling(A))


def test_golden_rbm_pair_coupling():
    """Issue 12: the products of cosh collected into one logarithm of a ratio,
    J_12 = 1/4 log[cosh(b+w11+w21) cosh(b-w11-w21) / (cosh(b+w11-w21) cosh(b-w11+w21))] (cosh is even: sympy writes
    cosh(b - w11 - w21) as cosh(-b + w11 + w21))."""
    C = r"\cosh{\left(%s \right)}"
    assert lines_of(RBM_2_1, (1, 2)) == [
        r"J_{12} &= \frac{1}{4}\log\frac{" + C % "- b_{1} + w_{1,1} + w_{2,1}" + " " + C % "b_{1} + w_{1,1} + w_{2,1}"
        + "}{" + C % "b_{1} - w_{1,1} + w_{2,1}" + " " + C % "b_{1} + w_{1,1} - w_{2,1}" + "}",
    ]


def test_golden_polynomial_couplings():
    quadratic = DOCUMENTS["mlp-n2-m1-quadratic"]
    assert lines_of(quadratic, (1, 2)) == [r"J_{12} &= 2 c_{1} w_{1,1} w_{2,1}"]
    assert lines_of(quadratic, (1,)) == [r"J_{1} &= a_{1} + 2 b_{1} c_{1} w_{1,1}"]
    assert lines_of(DOCUMENTS["product-n3"], (1, 2, 3)) == [r"J_{123} &= u_{123} v_{123}"]


def test_golden_document_fragments():
    text = derivation_document(model_from_spec(RBM_2_1), prove=False)
    assert r"J_{12} &= 0" in text  # the paramagnetic point
    assert r"\varepsilon^{2} w_{11} w_{21} \left(1 - \tanh^{2}{\left(b_{1} \right)}\right) + O(\varepsilon^{4})" in text
    product = derivation_document(model_from_spec(DOCUMENTS["product-n3"]), prove=False)
    assert r"\text{eigenvalues} &= \left\{- m^{D}_{12} + m_{12}, m^{D}_{12} - m_{12}\right\}" in product


def test_same_derivation_is_byte_identical_across_processes(tmp_path):
    spec = tmp_path / "rbm.json"
    spec.write_text('{"family": "rbm", "n": 2, "hidden": 1}')
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"d{seed}.tex"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-m", "verify", "derive", str(spec), "--out", str(out), "--no-cache",
                               "--no-proofs"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_cache_stores_reuses_and_invalidates(tmp_path):
    model = model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "cubic"})
    path = derivation_cache.entry_path(model, "closed-forms")
    assert not path.exists()
    first = derivation_cache.closed_forms(model)
    assert path.exists() and "hessian" in vars(first)  # H is stored with the entry
    again = derivation_cache.closed_forms(model)
    assert again.couplings == first.couplings and again.hessian == first.hessian
    # a different spec is a different key; a corrupt entry is derived again and rewritten
    other = model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"})
    assert derivation_cache.cache_key(other) != derivation_cache.cache_key(model)
    path.write_bytes(b"not a cache entry")
    assert derivation_cache.closed_forms(model).couplings == first.couplings
    assert derivation_cache.decode(path.read_text(), ClosedForms) == first  # rewritten as JSON


def test_cache_key_covers_the_theory_source(monkeypatch):
    digest = derivation_cache.theory_source_hash()
    assert len(digest) == 64
    derivation_cache.theory_source_hash.cache_clear()
    assert derivation_cache.theory_source_hash() == digest
    model = model_from_spec(RBM_2_1)
    key = derivation_cache.cache_key(model)
    monkeypatch.setattr(derivation_cache, "theory_source_hash", lambda: "0" * 64)  # an edited theory/
    assert derivation_cache.cache_key(model) != key


def require_tex():
    if os.environ.get("EBM_VERIFY_REQUIRE_TEX") and not shutil.which("pdflatex"):
        raise AssertionError(".ci/run installs TeX: pdflatex must be present in CI")
    return shutil.which("pdflatex") is not None


#: glyphs that betray text typeset as text-mode math: ``<``, ``>`` print as ¡ ¿ in OT1, ``^``/``~`` as accents
FORBIDDEN_GLYPHS = ("¡", "¿", "_", "^", "ˆ", "˜", "`")
#: LaTeX that prints code characters as text where the document means math
FORBIDDEN_SOURCE = (r"\_", r"\textasciicircum", r"\textasciitilde")


def text_problems(tex_source: str, pdf_text: str) -> list[str]:
    """What a clean document must not contain: the glyphs of math set in text mode, in the PDF's text, and the
    escapes that produce them, in its source."""
    out = [f"{g!r} x{pdf_text.count(g)} in the PDF" for g in FORBIDDEN_GLYPHS if g in pdf_text]
    return out + [f"{s!r} in the source" for s in FORBIDDEN_SOURCE if s in tex_source]


def test_the_text_check_catches_text_mode_math():
    from theory.latex import escape_text, text_latex

    assert text_problems(escape_text("a_i, J^D"), "rank G ¡ D, J`D") != []
    assert text_problems(text_latex("a_i, J^D, rank G < D, ±r_A, ε^(k-1)"), "rank G < D") == []


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_documents_compile_cleanly(name, tmp_path):
    """Every test document compiles with no overfull box over 1 pt, and its text (pdftotext) shows no math set in
    text mode (no ¡, ¿, literal _ or ^, stray backtick)."""
    model = model_from_spec(DOCUMENTS[name])
    text = derivation_document(model)
    for pid in applicable_propositions(model):
        assert f"\\subsection*{{{pid}:" in text, pid
    assert r"\section{Identities proved on these closed forms}" in text and "FAILS" not in text
    tex = tmp_path / f"{name}.tex"
    tex.write_text(text)
    if require_tex():  # a machine without TeX still checks the text above
        pdf, log = compile_pdf(str(tex))
        assert pdf.exists() and pdf.stat().st_size > 10_000
        assert [w for w in overfull_boxes(log) if w > 1] == []
        if shutil.which("pdftotext") or os.environ.get("EBM_VERIFY_REQUIRE_TEX"):
            pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
            assert text_problems(text, pdf_text) == []


def test_applicable_propositions():
    assert applicable_propositions(model_from_spec({"family": "gim", "n": 2})) == ["E1", "E2", "F1", "F2", "F3", "S1", "S2"]
    assert applicable_propositions(model_from_spec({"family": "product", "n": 2})) == ["E1", "E2", "F1", "F2", "S1", "S2"]
    assert "H1" in applicable_propositions(model_from_spec(RBM_2_1))


def test_cli_derive_and_its_errors(tmp_path, monkeypatch):
    case = tmp_path / "case.json"
    case.write_text('{"model": {"family": "gim", "n": 2}, "target": {"probabilities": [0.1, 0.2, 0.3, 0.4]}}')
    run = lambda *a: subprocess.run([sys.executable, "-m", "verify", *a], capture_output=True, text=True)  # noqa: E731
    ok = run("derive", str(case), "--out", str(tmp_path / "g.tex"), "--no-proofs")
    assert ok.returncode == 0 and (tmp_path / "g.tex").read_text().startswith(r"\documentclass")
    bad = run("derive", str(case), "--out", str(tmp_path / "g.pdf"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and ".tex" in bad.stderr
    (tmp_path / "t.json").write_text('{"target": {"probabilities": [0.5, 0.5]}}')
    nomodel = run("derive", str(tmp_path / "t.json"), "--out", str(tmp_path / "t.tex"))
    assert nomodel.returncode == 2 and "model" in nomodel.stderr and "Traceback" not in nomodel.stderr
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SpecError, match="install TeX"):
        compile_pdf(str(tmp_path / "g.tex"))


def test_product_with_some_subsets_and_fields_specialises_only_its_couplings():
    model = model_from_spec({"family": "product", "n": 3, "subsets": ["1,2", "1,2,3"], "fields": True})
    text = derivation_document(model, prove=False)
    assert r"H\big|_{(u_{12},v_{12})}" in text and r"H\big|_{(u_{123},v_{123})}" in text
    assert r"H\big|_{(u_{13},v_{13})}" not in text
    assert r"$h_{1}$ enters $J_{1}$ additively" in text and "not confirmed" not in text


def test_paramagnetic_spin_rbm_spectrum_of_theory_s2_in_closed_form():
    """THEORY S2 / verify.spurious: at w = 0, b = 0 with fields matched, H = diag(m_i^2 - 1) on a, 0 on b, and
    the connected-correlation matrix Ĉ (zero diagonal) on the weights of every hidden unit."""
    import sympy as sp

    from verify.document import paramagnetic_hessian

    cf = derive(model_from_spec({"family": "rbm", "n": 3, "hidden": 2}))
    H = paramagnetic_hessian(cf)
    m = {A: d for A, d in zip(cf.subsets, cf.data_moments)}
    C_hat = sp.Matrix(3, 3, lambda i, j: 0 if i == j else m[tuple(sorted((i + 1, j + 1)))] - m[(i + 1,)] * m[(j + 1,)])
    expected = sp.zeros(cf.P, cf.P)
    for i in range(3):
        expected[i, i] = m[(i + 1,)] ** 2 - 1
    for mu in range(2):
        w = [cf.labels.index(f"w[{i + 1},{mu + 1}]") for i in range(3)]
        for i in range(3):
            for j in range(3):
                expected[w[i], w[j]] = C_hat[i, j]
    assert (H - expected).applyfunc(sp.expand) == sp.zeros(cf.P, cf.P)


def test_paramagnetic_tanh_network_is_degenerate_whatever_the_correlations():
    """At w = 0, b = 0 a tanh network has σ''(0) = 0: H = -(1 - m_i^2) v_i v_iᵀ with v_i = e_a_i + c e_w_i, so its
    eigenvalues are -(1 - m_i^2)(1 + c^2) and 0: no unstable direction (THEORY.md's S2 wording covers rbm; for
    mlp the connected correlations reach H only when σ''(b) ≠ 0). S2 checks the same spectrum numerically."""
    import sympy as sp

    from verify.document import paramagnetic_hessian

    cf = derive(model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "tanh"}))
    H = paramagnetic_hessian(cf)
    c = cf.theta[cf.labels.index("c[1]")]
    expected = sp.zeros(cf.P, cf.P)
    for i in range(2):
        v = sp.zeros(cf.P, 1)
        v[cf.labels.index(f"a[{i + 1}]")] = 1
        v[cf.labels.index(f"w[{i + 1},1]")] = c
        expected += (cf.data_moments[i] ** 2 - 1) * v * v.T
    assert (H - expected).applyfunc(sp.expand) == sp.zeros(cf.P, cf.P)


def test_derive_refuses_models_too_large_in_one_line(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"family": "rbm", "n": 7, "hidden": 2}')
    proc = subprocess.run([sys.executable, "-m", "verify", "derive", str(big), "--out", str(tmp_path / "b.tex")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "N <= 6" in proc.stderr
    with pytest.raises(SpecError, match="N <= 6"):  # exponential activations too, since their per-unit tables
        derive(model_from_spec({"family": "mlp", "n": 7, "hidden": 1, "activation": "silu"}))


@pytest.mark.slow
def test_rbm_four_spins_three_units_with_proofs_is_at_most_forty_pages(tmp_path):
    """Issue 12: ``derive`` of rbm N = 4, M = 3 with proofs (about a minute on two cores; the benchmark prints the
    time) fits in 40 pages, compiles cleanly and proves every identity exactly or by reduction."""
    model = model_from_spec({"family": "rbm", "n": 4, "hidden": 3})
    text = derivation_document(model, prove=True, cache=False)
    assert "FAILS" not in text and "numeric" not in text.split(r"\section{Identities proved")[1].split(r"\section")[0]
    tex = tmp_path / "rbm-n4-m3.tex"
    tex.write_text(text)
    if require_tex():
        pdf, log = compile_pdf(str(tex))
        written = [line for line in log.splitlines() if "Output written" in line][-1]
        assert int(written.split("(")[1].split()[0]) <= 40, written
        assert [w for w in overfull_boxes(log) if w > 1] == []
        if shutil.which("pdftotext"):
            pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
            assert text_problems(text, pdf_text) == []
