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


from theory.lazy_sympy import sp
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
    short = compact_arguments(cf)
    for k in range(1, cf.n + 1):
        out.append(r"\subsection*{Order " + str(k) + "}")
        pairs = [(f"J_{{{latex_subset(A)}}}", j.xreplace(short)) for A, j in zip(cf.subsets, cf.couplings)
                 if order_of(A) == k]
        out.append(equations(pairs))
    return out


#: from this many spins on, a hidden unit's argument at a configuration is written by its signs, x^{+-+}_mu
COMPACT_FROM_N = 3


def _signs(row) -> str:
    return "".join("+" if v > 0 else "-" for v in row)


def compact_arguments(cf: ClosedForms) -> dict:
    r"""``{b_\mu + \sum_i s_iw_{i\mu}: x^{s}_\mu, \text{its negative}: -x^{s}_\mu}`` for every unit and configuration
    (from :data:`COMPACT_FROM_N` spins on; ``{}`` before): a unit's linear form written by the signs of the spins."""
    from theory.conventions import spin_table

    if not cf.units or cf.n < COMPACT_FROM_N:
        return {}
    S = spin_table(cf.n)
    out = {}
    for mu, u in enumerate(cf.units, start=1):
        for x in range(2**cf.n):
            arg = u.bias + sp.Add(*[int(S[x, i]) * w for i, w in enumerate(u.weights)])
            symbol = sp.Symbol(f"x^{{{_signs(S[x])}}}_{{{mu}}}", real=True)
            out[arg], out[sp.expand(-arg)] = symbol, -symbol
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


# --- hidden-layer models: the closed forms from the structure (theory.closed_forms.derive_structured) ----------


def _T(order: int, mu: int, mask: int, n: int) -> sp.Symbol:
    r"""The symbol :math:`T^{(n)}_{\mu,B}` of a unit's Walsh coefficient (``mu`` 1-based, ``B`` by its mask)."""
    A = tuple(i + 1 for i in range(n) if (mask >> i) & 1)
    return sp.Symbol(f"T^{{({order})}}_{{{mu},{latex_subset(A) if A else chr(92) + 'emptyset'}}}")


def _structure_section(model, cf: ClosedForms) -> list[str]:
    """The general-N, general-M formulas of a hidden-layer model, with indexed sums."""
    from theory.closed_forms import unit_functions
    from theory.activations import X

    outputs = cf.units[0].output != 1
    c = r"c_\mu\," if outputs else ""
    normal = unit_functions(model)[0]
    logs = normal.has(sp.log)
    sigma = to_latex(normal.xreplace({X: sp.Symbol("x")}))
    out = [r"\section{Structure: one hidden unit at a time}",
           r"With $x_\mu(s) = b_\mu + \sum_{i=1}^{N} w_{i\mu}s_i$ and $\sigma(x) = " + model.activation.latex + "$"
           + ("" if outputs else r" ($c_\mu = 1$)") + r", for $N$ spins and $M$ hidden units",
           r"\[F_\theta(s) = \sum_{i=1}^{N} a_i s_i + \sum_{\mu=1}^{M} " + c + r"\sigma\bigl(x_\mu(s)\bigr).\]",
           r"A hidden unit enters every coupling through the Walsh coefficients of $\sigma$ and its derivatives along "
           r"its linear form,",
           r"\[T^{(n)}_{\mu,B} = 2^{-N}\sum_s \chi_B(s)\,\sigma^{(n)}\bigl(x_\mu(s)\bigr),\qquad n = 0, 1, 2,\]"]
    if logs:
        out.append(r"and since $\sigma(x) = " + sigma + r"$ is a sum of logarithms, the sum over $s$ collects into one "
                   r"logarithm of a ratio of products: the factors with $\chi_B(s) = +1$ over those with $\chi_B(s) = -1$ "
                   r"(the constants cancel for $B \neq \emptyset$).")
    d = lambda x: r"\frac{\partial J_A}{\partial " + x + "}"  # noqa: E731
    d2 = lambda x, y: r"\frac{\partial^2 J_A}{\partial " + x + r"\,\partial " + y + "}"  # noqa: E731
    rows = [r"J_A &= \delta_{A,\{i\}}\,a_i + \sum_{\mu=1}^{M} " + c + r"T^{(0)}_{\mu,A}",
            d("a_i") + r" &= \delta_{A,\{i\}},\quad " + d(r"b_\mu") + " = " + c + r"T^{(1)}_{\mu,A}",
            d(r"w_{i\mu}") + " &= " + c + r"T^{(1)}_{\mu,A\triangle\{i\}}"
            + (r",\quad " + d(r"c_\mu") + r" = T^{(0)}_{\mu,A}" if outputs else ""),
            r"\frac{\partial^2 J_A}{\partial b_\mu^2} &= " + c + r"T^{(2)}_{\mu,A},\quad " + d2(r"b_\mu", r"w_{i\mu}")
            + " = " + c + r"T^{(2)}_{\mu,A\triangle\{i\}}",
            d2(r"w_{i\mu}", r"w_{j\mu}") + " &= " + c + r"T^{(2)}_{\mu,A\triangle\{i\}\triangle\{j\}}"]
    if outputs:
        rows.append(d2(r"c_\mu", r"b_\mu") + r" &= T^{(1)}_{\mu,A},\quad " + d2(r"c_\mu", r"w_{i\mu}")
                    + r" = T^{(1)}_{\mu,A\triangle\{i\}}")
    flow = [r"\dot a_i &= r_i,\quad \dot b_\mu = " + c + r"\sum_A r_A T^{(1)}_{\mu,A} = " + c
            + r"(E_D - E_\theta)\bigl[\sigma'(x_\mu)\bigr]",
            r"\dot w_{i\mu} &= " + c + r"(E_D - E_\theta)\bigl[s_i\,\sigma'(x_\mu)\bigr]"
            + (r",\quad \dot c_\mu = (E_D - E_\theta)\bigl[\sigma(x_\mu)\bigr]" if outputs else ""),
            r"H &= (E_D - E_\theta)\bigl[\nabla^2_\theta F\bigr] - \operatorname{Cov}_\theta(\nabla_\theta F)",
            r"\nabla_\theta F &= \bigl(s_i;\ " + c + r"\sigma'(x_\mu);\ " + c + r"s_i\,\sigma'(x_\mu)"
            + (r";\ \sigma(x_\mu)" if outputs else "") + r"\bigr)"]
    out += [r"With $s_i\chi_A = \chi_{A\triangle\{i\}}$ and $s_i^2 = 1$, for every $A \neq \emptyset$:",
            r"\begin{align*}", ",\\\\\n".join(rows), r"\end{align*}",
            r"and every other second derivative vanishes (two units, a field" + (r", $c_\mu$ twice" if outputs else "")
            + r"): $\nabla^2J_A$ is block diagonal over the hidden units. The cost is $3\cdot 2^N$ expressions per unit, "
            r"linear in $M$. Since $\sum_A r_A\chi_A(s) = 2^N(p_D(s) - p_\theta(s))$, the gradient flow and its Jacobian "
            r"read, in blocks,",
            r"\begin{align*}", ",\\\\\n".join(flow), r"\end{align*}",
            r"($\operatorname{Cov}_\theta(\nabla F) = G^\top CG$; the curvature term $(E_D - E_\theta)[\nabla^2F] = "
            r"\sum_A r_A\nabla^2J_A$ has the blocks of $\nabla^2 J_A$ above). For this model ($N = " + str(cf.n)
            + r"$, $M = " + str(len(cf.units)) + r"$) the sections below write these out"
            + (r", with the argument of unit $\mu$ at a configuration written by its signs, $x^{s}_\mu = x_\mu(s)$: "
               r"$x^{" + "+-" + "+" * (cf.n - 2) + r"}_{1} = b_1 + w_{11} - w_{21}" + "".join(
                   f" + w_{{{i}1}}" for i in range(3, cf.n + 1)) + r"$" if compact_arguments(cf) else "")
            + ".", ""]
    return out


def _unit_tables_section(cf: ClosedForms) -> list[str]:
    r"""Every :math:`T^{(1)}_{\mu,B}` and :math:`T^{(2)}_{\mu,B}`: the entries of :math:`G` and :math:`\nabla^2J_A`."""
    out = [r"\section{Walsh coefficients of the hidden units}",
           r"The entries of $G$ (from $T^{(1)}$, and $T^{(0)}$ for output weights) and of every $\nabla^2 J_A$ (from "
           r"$T^{(2)}$, and $T^{(1)}$), by the rules of Section~3:"]
    for order in (1, 2):
        out.append(r"\subsection*{$T^{(" + str(order) + r")}_{\mu,B}$}")
        short = compact_arguments(cf)
        pairs = [(to_latex(_T(order, mu + 1, mask, cf.n)), u.table(order, mask).xreplace(short))
                 for mu, u in enumerate(cf.units) for mask in range(2**cf.n)]
        out.append(equations([(lhs, e) for lhs, e in pairs if is_short(e)]))
        if not all(is_short(e) for _, e in pairs):
            out.append(r"(the coefficients not written out are too long to print.)")
    return out


def _reference_jacobian(cf: ClosedForms) -> sp.Matrix:
    r""":math:`G` with every entry written as its symbol :math:`c_\mu T^{(n)}_{\mu,B}` (the rules of the structure)."""
    index = {t: k for k, t in enumerate(cf.theta)}
    G = sp.zeros(cf.D, cf.P)
    masks = [sum(1 << (i - 1) for i in A) for A in cf.subsets]
    for a, mask in enumerate(masks):
        for k, A in cf.fields:
            if tuple(A) == cf.subsets[a]:
                G[a, k] = 1
        for mu, u in enumerate(cf.units, start=1):
            G[a, index[u.bias]] = u.output * _T(1, mu, mask, cf.n)
            for i, w in enumerate(u.weights):
                G[a, index[w]] = u.output * _T(1, mu, mask ^ (1 << i), cf.n)
            if u.output in index:
                G[a, index[u.output]] = _T(0, mu, mask, cf.n)
    return G


def _structured_flow(cf: ClosedForms) -> list[str]:
    flow = _reference_jacobian(cf).T * sp.Matrix(_r_symbols(cf))
    out = [r"\section{Gradient flow}",
           r"With the moments $m_A = E_\theta[\chi_A]$ of $p_\theta$ and $m^{D}_A$ of the target, "
           r"$r_A = m^{D}_A - m_A$ and $\dot\theta = \nabla\ell = G^\top r$, in the coefficients of Section~5:"]
    out.append(equations([(rf"\dot {symbol_of(cf, k)}", sp.factor_terms(flow[k])) for k in range(cf.P)]))
    out.append(r"The induced flow of the effective couplings is $\dot J = G\dot\theta = GG^\top r$.")
    return out


def _r_symbols(cf: ClosedForms) -> list:
    return [sp.Symbol(f"r_{{{latex_subset(A)}}}") for A in cf.subsets]


def _structured_hessian(cf: ClosedForms) -> list[str]:
    out = [r"\section{Jacobian of the flow}",
           r"\[H = \nabla^2_\theta\ell = \sum_A r_A\nabla^2_\theta J_A - G^\top C G,\qquad "
           r"C_{AB} = m_{A\triangle B} - m_A m_B\ (m_\emptyset = 1),\]",
           r"with $G$ and the blocks of $\nabla^2_\theta J_A$ of Sections~3 and~5."]
    if cf.P <= H_ENTRIES_MAX_P and cf.hessian_is_small:
        entries = [(f"H_{{{symbol_of(cf, k)},{symbol_of(cf, m)}}}", cf.hessian[k, m])
                   for k in range(cf.P) for m in range(k, cf.P)]
        if all(is_short(e) for _, e in entries):
            out.append(r"Entries of $H$ ($k \le l$; $H$ is symmetric):")
            out.append(equations([(lhs, e) for lhs, e in entries if e != 0]))
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
           (r"Exact: the residual expands to $0$ in sympy. Reduced: exact, from identities linear in the closed forms, "
            r"checked entry by entry in sympy ($G = \partial J$; $G$ and $\nabla^2 J_A$ are the Walsh transforms of "
            r"$\partial F$ and $\partial^2 F$; $\nabla\ell = G^\top r$) and, for $H$, a lemma on $N$ spins proved for "
            r"generic functions. Numeric: largest residual at "
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
            if cf.units:
                body = (_structure_section(model, cf) + _couplings(cf) + _unit_tables_section(cf)
                        + _structured_flow(cf) + _structured_hessian(cf))
            else:
                body = _couplings(cf) + _jacobian(cf) + _flow(cf) + _hessian(cf)
            parts = (_header(model, cf) + _notation(model, cf) + _energy(cf) + body
                     + (_identities(cf) if prove else []) + _propositions(model, cf) + [r"\end{document}", ""])
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

