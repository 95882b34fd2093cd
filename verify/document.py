r"""Derivation documents: ``ebm-verify derive CASE.json --out FILE.tex [--pdf]``.

A standalone LaTeX article (amsmath, geometry) with the notation table, the energy, the effective
couplings order by order, the nonzero entries of :math:`G`, the gradient flow with the residual
written through the moments, the flow's Jacobian :math:`H` (its formula, the nonzero
:math:`\partial_k\partial_l J_A` and, where short, its entries), the identities proved on these closed
forms (:mod:`verify.identities`, exact or numeric, as checked) and the statement of every
proposition of THEORY.md that applies to the model, specialised where a closed form exists
(``product``: the switched-off spurious point and its eigenvalues :math:`\pm r_A`; ``rbm``/``mlp``:
the paramagnetic point :math:`w = 0`; F3: the parameters entering a coupling additively; H1: the
leading order of :math:`J_A` as :math:`w = \varepsilon\tilde w \to 0`). The text is deterministic: the
same model gives a byte-identical file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import sympy as sp

from theory.closed_forms import ClosedForms
from theory.conventions import latex_subset, order_of
from theory.errors import SpecError
from theory.families import model_from_spec
from theory.latex import equation_lines, escape_text, notation, notation_rows, pack_lines, text_latex, to_latex

from . import __version__
from .derivation_cache import cached, closed_forms
from .document_blocks import align_rows, equations, is_short, symbol_of
from .document_sections import paramagnetic_hessian
from .identities import NUMERIC_DPS, NUMERIC_POINTS, prove_identities

__all__ = ["applicable_propositions", "compile_pdf", "derivation_document", "load_model", "overfull_boxes",
           "paramagnetic_hessian"]

#: the entries of H are printed (when short) only for models with at most this many parameters
H_ENTRIES_MAX_P = 8


def load_model(path: str):
    """The model of a case file, or of a file holding only a model spec (``{"family": ..., "n": ...}``)."""
    from .cases import load_case

    p = Path(path)
    try:
        obj = json.loads(p.read_text())
    except OSError as err:
        raise SpecError(f"cannot read case file {str(p)!r}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"case file {str(p)!r} is not valid JSON: {err.msg} at line {err.lineno}") from None
    if isinstance(obj, dict) and "family" in obj:
        return model_from_spec(obj)
    case = load_case(path)
    case.require("model")
    return case.model


def applicable_propositions(model) -> list[str]:
    """Ids of the propositions of THEORY.md that speak about this model (each proposition declares it)."""
    from .registry import propositions

    return [p.id for p in propositions() if p.applies(model)]


def _spec_text(spec: dict) -> str:
    """The model spec as words and code (``hidden units: spin``): JSON keys with their underscores read as spaces."""
    def value(v):
        return r"\texttt{" + escape_text(json.dumps(v) if not isinstance(v, str) else v) + "}"

    return ", ".join(f"{escape_text(k.replace('_', ' '))}: {value(v)}" for k, v in sorted(spec.items()))


def _header(model, cf: ClosedForms) -> list[str]:
    spec = _spec_text(model.spec())
    return [
        r"\documentclass[10pt]{article}",
        r"\usepackage[a4paper,margin=2cm]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\allowdisplaybreaks",
        r"\setlength{\parindent}{0pt}",
        r"\title{Closed-form derivation: \texttt{" + escape_text(model.family) + "}, $N = " + str(model.n) + "$}",
        r"\author{ebm-verify " + escape_text(__version__) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\sloppy",
        r"Model: " + spec + ". $P = " + str(cf.P) + "$ parameters, $D = " + str(cf.D)
        + r"$ effective couplings. Derived with sympy " + escape_text(sp.__version__)
        + r" (Theory: arXiv:2605.07844, conventions of THEORY.md).",
        "",
    ]


def _notation(model, cf: ClosedForms) -> list[str]:
    out = [r"\section{Notation}", r"\begin{tabular}{lp{7.5cm}l}", r"symbol & meaning & in the code \\ \hline"]
    for row in notation_rows(model.params):
        out.append(f"${row.tex}$ & {text_latex(row.meaning)} & \\texttt{{{escape_text(row.code)}}} \\\\")
    out.append(r"\end{tabular}")
    out.append("")
    out.append(r"\medskip Parameters $\theta$ (in this order):")
    names = [f"${to_latex(t)}$ (\\texttt{{{escape_text(label)}}})" for t, label in zip(cf.theta, cf.labels)]
    out.append(", ".join(names) + ".")
    out.append("")
    return out


def _energy(cf: ClosedForms) -> list[str]:
    out = [r"\section{Energy}", r"With $F_\theta(s) = -E_\theta(s)$ and $p_\theta(s) = e^{F_\theta(s)}/Z(\theta)$:"]
    out.append(equations([(r"F_\theta(s)", cf.energy)]))
    return out


def _couplings(cf: ClosedForms) -> list[str]:
    out = [r"\section{Effective couplings}",
           r"$J_A(\theta) = 2^{-N}\sum_s F_\theta(s)\chi_A(s)$; $J_\emptyset$ only shifts $\log Z$ and is omitted."]
    for k in range(1, cf.n + 1):
        out.append(r"\subsection*{Order " + str(k) + "}")
        pairs = [(f"J_{{{latex_subset(A)}}}", j) for A, j in zip(cf.subsets, cf.couplings) if order_of(A) == k]
        out.append(equations(pairs))
    return out


def _jacobian(cf: ClosedForms) -> list[str]:
    out = [r"\section{Jacobian of the effective map}",
           r"$G_{Ak} = \partial J_A/\partial\theta_k$; the nonzero entries:"]
    pairs = []
    for a, A in enumerate(cf.subsets):
        for k in range(cf.P):
            g = cf.jacobian[a, k]
            if g != 0:
                pairs.append((rf"\frac{{\partial J_{{{latex_subset(A)}}}}}{{\partial {symbol_of(cf, k)}}}", g))
    out.append(equations(pairs) if pairs else r"\[G = 0.\]")
    return out


def _flow(cf: ClosedForms) -> list[str]:
    out = [r"\section{Gradient flow}",
           r"With the moments $m_A = E_\theta[\chi_A]$ of $p_\theta$ and $m^{D}_A$ of the target, "
           r"$r_A = m^{D}_A - m_A$ and $\dot\theta = \nabla\ell = G^\top r$:"]
    rows = []
    for k in range(cf.P):
        lhs = rf"\dot {symbol_of(cf, k)}"
        if is_short(cf.flow[k]):
            rows.append(equation_lines(lhs, cf.flow[k]))
            continue
        pieces = [rf"\frac{{\partial J_{{{latex_subset(A)}}}}}{{\partial {symbol_of(cf, k)}}}\,r_{{{latex_subset(A)}}}"
                  for a, A in enumerate(cf.subsets) if cf.jacobian[a, k] != 0]
        rows.append(pack_lines(lhs, [p if i == 0 else "+ " + p for i, p in enumerate(pieces)] or ["0"]))
    out.append(align_rows(rows))
    out.append(r"The induced flow of the effective couplings is $\dot J = G\dot\theta = GG^\top r$, i.e.\ "
               r"$\dot J_A = \sum_k G_{Ak}\dot\theta_k$:")
    pairs = [(f"\\dot J_{{{latex_subset(A)}}}", cf.induced_flow[a]) for a, A in enumerate(cf.subsets)
             if is_short(cf.induced_flow[a])]
    if pairs:
        out.append(equations(pairs))
    else:
        out.append(r"(the entries are too long to print; they follow from $G$ above).")
    return out


def _hessian(cf: ClosedForms) -> list[str]:
    out = [r"\section{Jacobian of the flow}",
           r"\[H = \nabla^2_\theta\ell = \sum_A r_A\nabla^2_\theta J_A - G^\top C G,\qquad "
           r"C_{AB} = m_{A\triangle B} - m_A m_B\ (m_\emptyset = 1).\]",
           r"The nonzero second derivatives $\partial_k\partial_l J_A$ ($k \le l$):"]
    pairs = []
    for a, A in enumerate(cf.subsets):
        hess = cf.coupling_hessians[a]
        for k in range(cf.P):
            for m in range(k, cf.P):
                if hess[k, m] != 0:
                    lhs = (rf"\frac{{\partial^2 J_{{{latex_subset(A)}}}}}{{\partial {symbol_of(cf, k)}"
                           rf"\,\partial {symbol_of(cf, m)}}}")
                    pairs.append((lhs, hess[k, m]))
    out.append(equations(pairs) if pairs else r"\[\nabla^2 J_A = 0 \text{ for every } A.\]")
    if cf.P > H_ENTRIES_MAX_P:
        return out
    H = cf.hessian
    entries = [(f"H_{{{symbol_of(cf, k)},{symbol_of(cf, m)}}}", sp.expand(H[k, m]) if cf.polynomial else H[k, m])
               for k in range(cf.P) for m in range(k, cf.P)]
    if all(is_short(e) for _, e in entries):
        out.append(r"Entries of $H$ ($k \le l$; $H$ is symmetric):")
        out.append(equations([(lhs, e) for lhs, e in entries if e != 0]))
    return out


def _identities(cf: ClosedForms) -> list[str]:
    checks = prove_identities(cf)
    out = [r"\section{Identities proved on these closed forms}",
           (r"Exact: the residual expands to $0$ in sympy. Numeric: largest residual at "
            f"{NUMERIC_POINTS} random rational points at {NUMERIC_DPS} digits."), "",
           r"\begin{tabular}{lll}", r"identity & method & residual \\ \hline"]
    for c in checks:
        status = c.method if c.holds else r"\textbf{FAILS} (" + c.method + ")"
        out.append(f"${c.statement}$ & {status} & {escape_text(c.residual)} \\\\")
    out += [r"\end{tabular}", ""]
    return out


def _statement(statement: str) -> str:
    parts = [p for p in re.split(r";\\ |,\\quad ", statement) if p.strip()]
    return "\\begin{gather*}\n" + " \\\\\n".join(parts) + "\n\\end{gather*}\n"


def _propositions(model, cf: ClosedForms) -> list[str]:
    from .registry import propositions

    out = [r"\section{Propositions that apply}"]
    for prop in propositions():
        if not prop.applies(model):
            continue
        out.append(r"\subsection*{" + prop.id + ": " + text_latex(prop.title) + "}")
        out.append(_statement(prop.statement))
        out.append(r"Hypotheses: " + text_latex(prop.hypotheses) + ".")
        out.append("")
        if prop.document is not None:
            out += prop.document(model, cf)
        out.append("")
    return out


def derivation_document(model, prove: bool = True, cache: bool = True) -> str:
    """The LaTeX source of the derivation document of ``model`` (cached on disk with the derivation)."""

    def compute():
        cf = closed_forms(model, cache=cache)
        with notation(model.params):
            parts = (_header(model, cf) + _notation(model, cf) + _energy(cf) + _couplings(cf) + _jacobian(cf)
                     + _flow(cf) + _hessian(cf) + (_identities(cf) if prove else []) + _propositions(model, cf)
                     + [r"\end{document}", ""])
        return "\n".join(parts)

    return cached(model, "document-proofs" if prove else "document", compute, str, cache)


def compile_pdf(tex_path: str) -> tuple[Path, str]:
    """Run ``pdflatex`` twice next to ``tex_path``; returns the PDF path and the log text."""
    if shutil.which("pdflatex") is None:
        raise SpecError("pdflatex is not installed; install TeX (Debian/Ubuntu: apt-get install texlive-latex-base, "
                        "macOS: MacTeX) or leave out --pdf")
    tex = Path(tex_path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}",
                                   str(tex)], capture_output=True, text=True, cwd=tmp)
        log = (Path(tmp) / (tex.stem + ".log")).read_text(errors="replace")
        if proc.returncode != 0:
            first = next((line for line in log.splitlines() if line.startswith("!")), "see the log")
            raise SpecError(f"pdflatex failed on {tex.name}: {first}")
        pdf = tex.with_suffix(".pdf")
        shutil.copyfile(Path(tmp) / (tex.stem + ".pdf"), pdf)
    return pdf, log


def overfull_boxes(log: str) -> list[float]:
    """Widths (pt) of the overfull boxes reported in a pdflatex log."""
    return [float(w) for w in re.findall(r"Overfull \\[hv]box \(([0-9.]+)pt too", log)]

