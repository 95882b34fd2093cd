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

from theory.closed_forms import ClosedForms, tanh_form
from theory.conventions import format_subset, latex_subset, order_of
from theory.errors import SpecError
from theory.latex import NOTATION, equation_lines, escape_text, pack_lines, to_latex
from theory.models import model_from_spec

from . import __version__
from .derivation_cache import cached, closed_forms
from .identities import NUMERIC_DPS, NUMERIC_POINTS, prove_identities

__all__ = ["applicable_propositions", "compile_pdf", "derivation_document", "load_model", "overfull_boxes",
           "paramagnetic_hessian"]

#: expressions with more nodes than this are referred to, not printed
PRINT_LIMIT = 400
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
    """Ids of the propositions of THEORY.md that speak about this model."""
    ids = ["E1", "E2", "F1", "F2"]
    if model.direct_parameters():
        ids.append("F3")
    ids += ["S1", "S2"]
    if model.family in ("rbm", "mlp"):
        ids += ["H1", "H2", "H3"]
    return ids


def _symbol_of(cf: ClosedForms, k: int) -> str:
    return to_latex(cf.theta[k])


def _align(rows: list[list[str]], chunk: int = 40) -> str:
    """``align*`` environments of at most ``chunk`` lines each (TeX's memory holds one environment)."""
    envs, current = [], []
    for row in rows:
        if current and len(current) + len(row) > chunk:
            envs.append(current)
            current = []
        current += row
    envs.append(current)
    return "".join("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n" for lines in envs if lines)


def _equations(pairs, width: int = 70) -> str:
    rows = [equation_lines(lhs, expr, width) for lhs, expr in pairs]
    return _align(rows) if rows else ""


def _short(expr) -> bool:
    """At most :data:`PRINT_LIMIT` nodes in the expression tree (counted without printing it)."""
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count >= PRINT_LIMIT:  # count is 0-based: the (PRINT_LIMIT + 1)-th node
            return False
    return True


def _header(model, cf: ClosedForms) -> list[str]:
    spec = escape_text(json.dumps(model.spec(), sort_keys=True)).replace(" ", r"\ \allowbreak ")
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
        r"Model: \texttt{" + spec + "}. $P = " + str(cf.P) + "$ parameters, $D = " + str(cf.D)
        + r"$ effective couplings. Derived with sympy " + escape_text(sp.__version__)
        + r" (Theory: arXiv:2605.07844, conventions of THEORY.md).",
        "",
    ]


def _notation(model, cf: ClosedForms) -> list[str]:
    out = [r"\section{Notation}", r"\begin{tabular}{lp{7.5cm}l}", r"symbol & meaning & in the code \\ \hline"]
    for tex, meaning, code in NOTATION:
        out.append(f"${tex}$ & {meaning} & \\texttt{{{escape_text(code)}}} \\\\")
    out.append(r"\end{tabular}")
    out.append("")
    out.append(r"\medskip Parameters $\theta$ (in this order):")
    names = [f"${to_latex(t)}$ (\\texttt{{{escape_text(label)}}})" for t, label in zip(cf.theta, cf.labels)]
    out.append(", ".join(names) + ".")
    out.append("")
    return out


def _energy(cf: ClosedForms) -> list[str]:
    out = [r"\section{Energy}", r"With $F_\theta(s) = -E_\theta(s)$ and $p_\theta(s) = e^{F_\theta(s)}/Z(\theta)$:"]
    out.append(_equations([(r"F_\theta(s)", cf.energy)]))
    return out


def _couplings(cf: ClosedForms) -> list[str]:
    out = [r"\section{Effective couplings}",
           r"$J_A(\theta) = 2^{-N}\sum_s F_\theta(s)\chi_A(s)$; $J_\emptyset$ only shifts $\log Z$ and is omitted."]
    for k in range(1, cf.n + 1):
        out.append(r"\subsection*{Order " + str(k) + "}")
        pairs = [(f"J_{{{latex_subset(A)}}}", j) for A, j in zip(cf.subsets, cf.couplings) if order_of(A) == k]
        out.append(_equations(pairs))
    return out


def _jacobian(cf: ClosedForms) -> list[str]:
    out = [r"\section{Jacobian of the effective map}",
           r"$G_{Ak} = \partial J_A/\partial\theta_k$; the nonzero entries:"]
    pairs = []
    for a, A in enumerate(cf.subsets):
        for k in range(cf.P):
            g = cf.jacobian[a, k]
            if g != 0:
                pairs.append((rf"\frac{{\partial J_{{{latex_subset(A)}}}}}{{\partial {_symbol_of(cf, k)}}}", g))
    out.append(_equations(pairs) if pairs else r"\[G = 0.\]")
    return out


def _flow(cf: ClosedForms) -> list[str]:
    out = [r"\section{Gradient flow}",
           r"With the moments $m_A = E_\theta[\chi_A]$ of $p_\theta$ and $m^{D}_A$ of the target, "
           r"$r_A = m^{D}_A - m_A$ and $\dot\theta = \nabla\ell = G^\top r$:"]
    rows = []
    for k in range(cf.P):
        lhs = rf"\dot {_symbol_of(cf, k)}"
        if _short(cf.flow[k]):
            rows.append(equation_lines(lhs, cf.flow[k]))
            continue
        pieces = [rf"\frac{{\partial J_{{{latex_subset(A)}}}}}{{\partial {_symbol_of(cf, k)}}}\,r_{{{latex_subset(A)}}}"
                  for a, A in enumerate(cf.subsets) if cf.jacobian[a, k] != 0]
        rows.append(pack_lines(lhs, [p if i == 0 else "+ " + p for i, p in enumerate(pieces)] or ["0"]))
    out.append(_align(rows))
    out.append(r"The induced flow of the effective couplings is $\dot J = G\dot\theta = GG^\top r$, i.e.\ "
               r"$\dot J_A = \sum_k G_{Ak}\dot\theta_k$:")
    pairs = [(f"\\dot J_{{{latex_subset(A)}}}", cf.induced_flow[a]) for a, A in enumerate(cf.subsets)
             if _short(cf.induced_flow[a])]
    if pairs:
        out.append(_equations(pairs))
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
                    lhs = (rf"\frac{{\partial^2 J_{{{latex_subset(A)}}}}}{{\partial {_symbol_of(cf, k)}"
                           rf"\,\partial {_symbol_of(cf, m)}}}")
                    pairs.append((lhs, hess[k, m]))
    out.append(_equations(pairs) if pairs else r"\[\nabla^2 J_A = 0 \text{ for every } A.\]")
    if cf.P > H_ENTRIES_MAX_P:
        return out
    H = cf.hessian
    entries = [(f"H_{{{_symbol_of(cf, k)},{_symbol_of(cf, m)}}}", sp.expand(H[k, m]) if cf.polynomial else H[k, m])
               for k in range(cf.P) for m in range(k, cf.P)]
    if all(_short(e) for _, e in entries):
        out.append(r"Entries of $H$ ($k \le l$; $H$ is symmetric):")
        out.append(_equations([(lhs, e) for lhs, e in entries if e != 0]))
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


def _product_spurious(cf: ClosedForms) -> list[str]:
    off = {t: 0 for t, label in zip(cf.theta, cf.labels) if label[0] in "uv"}
    point = cf.at(off)
    H = point.hessian
    out = [r"\paragraph{Specialised (switched-off point).} At $u_A = v_A = 0$ for every $A$ the columns of "
           r"$G$ for $u, v$ vanish and $\nabla^2 J_A$ couples only $u_A$ and $v_A$:"]
    pairs = []
    for A in cf.subsets:
        if f"u[{format_subset(A)}]" not in cf.labels:
            continue  # a subset the model does not couple
        iu, iv = cf.labels.index(f"u[{format_subset(A)}]"), cf.labels.index(f"v[{format_subset(A)}]")
        block = sp.Matrix([[H[iu, iu], H[iu, iv]], [H[iv, iu], H[iv, iv]]])
        eig = sorted(block.eigenvals(), key=sp.default_sort_key)
        pairs.append((rf"H\big|_{{(u_{{{latex_subset(A)}}},v_{{{latex_subset(A)}}})}}", block))
        pairs.append((r"\text{eigenvalues}", sp.FiniteSet(*[sp.factor(e) for e in eig])))
    out.append(_align([[f"{lhs} &= {to_latex(rhs)}"] for lhs, rhs in pairs]))
    out.append(r"so each block has eigenvalues $\pm r_A$ with $r_A = m^D_A - m_A$: a strict saddle "
               r"whenever some $r_A \ne 0$.")
    return out


def _paramagnetic_point(cf: ClosedForms) -> ClosedForms:
    """The closed forms at :math:`w = 0`, :math:`b = 0`."""
    return cf.at({t: 0 for t, label in zip(cf.theta, cf.labels) if label.startswith(("w[", "b["))})


def _paramagnetic(cf: ClosedForms, family: str) -> list[str]:
    point = _paramagnetic_point(cf)
    out = [r"\paragraph{Specialised (paramagnetic point).} At $w = 0$, $b = 0$ the model is a product measure "
           r"and the effective couplings are"]
    out.append(_equations([(f"J_{{{latex_subset(A)}}}", j) for A, j in zip(cf.subsets, point.couplings)]))
    pairs = []
    for a, A in enumerate(cf.subsets):
        for k in range(cf.P):
            for m in range(k, cf.P):
                h = point.coupling_hessians[a][k, m]
                if h != 0:
                    pairs.append((rf"\partial_{{{_symbol_of(cf, k)}}}\partial_{{{_symbol_of(cf, m)}}} "
                                  rf"J_{{{latex_subset(A)}}}", h))
    out.append(r"The nonzero second derivatives there (the curvature term $\sum_A r_A\nabla^2 J_A$):")
    out.append(_equations(pairs) if pairs else r"\[\nabla^2 J_A = 0.\]")
    out += _blocks_of_h(cf, point)
    if family == "rbm":
        out.append(r"THEORY.md's S2 prediction for spin hidden units: "
                   r"$\operatorname{spec} H = \{-(1-(m^D_i)^2)\}_i \cup \{0\}^M \cup "
                   r"\operatorname{spec}(\hat C)^{\times M}$, "
                   r"$\hat C_{ij} = m^D_{ij} - m^D_i m^D_j$ ($i \ne j$), $\hat C_{ii} = 0$: "
                   r"a strict saddle whenever a connected pair correlation is nonzero.")
    return out


def paramagnetic_hessian(cf: ClosedForms, point: ClosedForms | None = None) -> sp.Matrix:
    r""":math:`H` at :math:`w = 0`, :math:`b = 0` with the fields matched, where :math:`p_\theta` is the product
    measure :math:`m_A = \prod_{i\in A} m^D_i` (entries factored; the target's moments stay symbols).
    ``point`` is :func:`_paramagnetic_point` of ``cf`` when already computed."""
    point = _paramagnetic_point(cf) if point is None else point
    product = {}
    for A, m in zip(cf.subsets, cf.moments):
        product[m] = sp.Mul(*[cf.data_moments[cf.subsets.index((i,))] for i in A])
    return point.hessian.xreplace(product).applyfunc(lambda e: sp.factor(sp.expand(e)))


def _blocks_of_h(cf: ClosedForms, point: ClosedForms) -> list[str]:
    """:func:`paramagnetic_hessian` split into its decoupled blocks (eigenvalues of blocks of size ≤ 2)."""
    H = paramagnetic_hessian(cf, point)
    blocks = _components(H)
    out = [r"With the fields matched ($m_A = \prod_{i\in A} m^D_i$ for the model), $H$ decouples into the "
           r"blocks below (parameters not listed have a zero row and column):"]
    rows = []
    for block in blocks:
        sub = H.extract(block, block)
        if sub.is_zero_matrix:
            continue
        names = ", ".join(_symbol_of(cf, k) for k in block)
        rows.append([rf"H\big|_{{({names})}} &= {to_latex(sub)}"])
        if len(block) <= 2:
            eig = [sp.factor(e) for e in sorted(sub.eigenvals(), key=sp.default_sort_key)]
            rows.append([rf"\text{{eigenvalues}} &= {to_latex(sp.FiniteSet(*eig))}"])
    out.append(_align(rows) if rows else r"\[H = 0.\]")
    return out


def _components(H: sp.Matrix) -> list[list[int]]:
    """Index sets of the connected components of the nonzero pattern of a symmetric matrix."""
    P = H.shape[0]
    seen, blocks = set(), []
    for start in range(P):
        if start in seen:
            continue
        stack, block = [start], []
        seen.add(start)
        while stack:
            k = stack.pop()
            block.append(k)
            for m in range(P):
                if m not in seen and H[k, m] != 0:
                    seen.add(m)
                    stack.append(m)
        blocks.append(sorted(block))
    return blocks


def _direct_parameters(model, cf: ClosedForms) -> list[str]:
    direct = model.direct_parameters()
    rows = []
    for k, A in direct.items():
        a = cf.subsets.index(tuple(A))
        column = [cf.jacobian[b, k] for b in range(cf.D)]
        ok = column[a] == 1 and all(c == 0 for b, c in enumerate(column) if b != a)
        rows.append(f"${_symbol_of(cf, k)}$ enters $J_{{{latex_subset(A)}}}$ additively"
                    + ("" if ok else r" \textbf{(not confirmed by the closed form)}"))
    return [r"\paragraph{Specialised.} " + "; ".join(rows)
            + r" (checked on the closed form: $\partial J_B/\partial\theta_k = \delta_{AB}$)."]


def _leading_orders(cf: ClosedForms) -> list[str]:
    r"""Leading term of :math:`J_A(\varepsilon)` with :math:`w \to \varepsilon w`:
    :math:`\tfrac{1}{k!}\partial_\varepsilon^k J_A|_0\,\varepsilon^k`, :math:`k = |A|`."""
    eps = sp.Symbol(r"\varepsilon", positive=True)
    scale = {t: eps * t for t, label in zip(cf.theta, cf.labels) if label.startswith("w[")}
    rows = []
    for k in range(2, cf.n + 1):
        A = next(B for B in cf.subsets if order_of(B) == k)
        J = cf.coupling(A).xreplace(scale)
        lead = sp.factor_terms(sp.expand(tanh_form(sp.diff(J, eps, k).xreplace({eps: 0}) / sp.factorial(k))))
        lines = equation_lines(f"J_{{{latex_subset(A)}}}", lead * eps**k)
        lines[-1] += rf" + O(\varepsilon^{{{k + 1}}})"
        rows.append(lines)
    if not rows:
        return []
    return [r"\paragraph{Specialised (leading orders).} With $w = \varepsilon\tilde w$ (written $w$), the first "
            r"coupling of each order:", _align(rows)]


def _propositions(model, cf: ClosedForms) -> list[str]:
    from .registry import get

    out = [r"\section{Propositions that apply}"]
    for pid in applicable_propositions(model):
        prop = get(pid)
        out.append(r"\subsection*{" + pid + ": " + escape_text(prop.title) + "}")
        out.append(_statement(prop.statement))
        out.append(r"Hypotheses: " + escape_text(prop.hypotheses) + ".")
        out.append("")
        if pid == "F3":
            out += _direct_parameters(model, cf)
        if pid == "S2" and model.family == "product":
            out += _product_spurious(cf)
        if pid == "S2" and model.family in ("rbm", "mlp"):
            out += _paramagnetic(cf, model.family)
        if pid == "H1":
            out += _leading_orders(cf)
        if pid == "E2":
            out.append(r"$\Lambda(J) = J\cdot m^D - \log Z(J)$ does not depend on the model: "
                       r"all non-convexity of $-\ell$ comes from $\theta \mapsto J(\theta)$ above.")
        out.append("")
    return out


def derivation_document(model, prove: bool = True, cache: bool = True) -> str:
    """The LaTeX source of the derivation document of ``model`` (cached on disk with the derivation)."""

    def compute():
        cf = closed_forms(model, cache=cache)
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

