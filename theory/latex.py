r"""LaTeX for derivation documents: one notation table and equations broken across lines.

:data:`NOTATION` is the single table of symbols (paper symbol, meaning, name in code and JSON)
that every derivation document prints; :func:`to_latex` is the one printer of sympy expressions;
:func:`equation_lines` breaks a long sum into the lines of an ``align*`` environment so that no
line is wider than the page, pulling a common rational factor in front
(:math:`\tfrac14(\dots)`).

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> equation_lines("f", (x + y) / 4, width=80)
['f &= \\frac{1}{4}\\bigl(x + y\\bigr)']
"""

from __future__ import annotations

import re

import sympy as sp

__all__ = ["NOTATION", "to_latex", "visible_width", "equation_lines", "pack_lines", "escape_text"]

#: (LaTeX symbol, meaning, name in the code / JSON) — one source of truth for documents.
NOTATION = (
    (r"s_i \in \{-1,+1\}", "spin $i$ ($x$ has bit $i-1$ set iff $s_i=-1$)", "s1..sN"),
    (r"\chi_A(s) = \prod_{i\in A}s_i", "character of the subset $A$", "A = \"1,2\""),
    (r"F_\theta(s) = -E_\theta(s)", "negative energy", "Model.energy"),
    (r"J_A(\theta)", r"effective coupling, $2^{-N}\sum_s F_\theta(s)\chi_A(s)$", "couplings[\"1,2\"]"),
    (r"m_A", r"moment of $p_\theta$, $E_\theta[\chi_A]$", "moments[\"1,2\"]"),
    (r"m^{D}_A", "moment of the target", "target moments"),
    (r"r_A = m^{D}_A - m_A", "moment residual", "r"),
    (r"G_{Ak} = \partial J_A/\partial\theta_k", "Jacobian of the effective map", "G"),
    (r"C_{AB} = m_{A\triangle B} - m_A m_B", r"Fisher matrix of $p_\theta$ ($m_\emptyset = 1$)", "C"),
    (r"H = \nabla^2_\theta\ell", "Jacobian of the gradient flow", "H"),
)


def to_latex(expr) -> str:
    """The one LaTeX printer of the suite's documents (deterministic for a given sympy)."""
    return sp.latex(sp.sympify(expr))


_COMMAND = re.compile(r"\\([A-Za-z]+)")


def visible_width(tex: str) -> int:
    r"""A conservative estimate of the printed width of ``tex`` in characters.

    Sizing commands (``\left``, ``\right``, ``\bigl`` ...) and braces take no room, other commands
    count as their name (``\cosh`` as 4), everything else as one character each (subscripts are
    counted at full size, which over-estimates).
    """
    tex = re.sub(r"\\(left|right|bigl|bigr|Bigl|Bigr|quad|qquad|,|;|!)", "", tex)
    tex = _COMMAND.sub(lambda m: "x" * len(m.group(1)), tex)
    return len(re.sub(r"[{}&_^]", "", tex))


def _split(expr) -> tuple[str, list, str]:
    """``(prefix, terms, suffix)`` of a sum; a denominator shared by every term's coefficient is pulled
    in front (``J = (a - b)/4`` prints as ``\\frac{1}{4}(a - b)``)."""
    expr = sp.sympify(expr)
    terms = list(sp.Add.make_args(expr))
    coeffs = [t.as_coeff_Mul()[0] for t in terms]
    dens = {c.q for c in coeffs if c.is_Rational}
    if len(terms) > 1 and len(dens) == 1 and len(coeffs) == len([c for c in coeffs if c.is_Rational]) and dens != {1}:
        den = dens.pop()
        return to_latex(sp.Rational(1, den)) + r"\bigl(", [den * t for t in terms], r"\bigr)"
    return "", terms, ""


def _signed(term, first: bool) -> tuple[str, sp.Expr]:
    if term.could_extract_minus_sign():
        return ("-" if first else "- "), -term
    return ("" if first else "+ "), term


def _fragments(terms, width: int) -> list[str]:
    """LaTeX pieces of a sum between which a line may break; a product of a short factor and a
    sum wider than ``width`` is opened up (``a\bigl(x + y\bigr)``) so that its sum may break too."""
    out = []
    for k, term in enumerate(terms):
        sign, term = _signed(term, k == 0)
        text = to_latex(term)
        inner = [f for f in sp.Mul.make_args(term) if f.is_Add] if term.is_Mul else []
        if visible_width(text) <= width or not inner:
            out.append(sign + text)
            continue
        widest = max(inner, key=lambda f: visible_width(to_latex(f)))
        rest = term / widest
        factor = r"\left(" + to_latex(rest) + r"\right)" if rest.is_Add else to_latex(rest)
        head = sign + ("" if rest == 1 else factor + r"\,") + r"\bigl("
        pieces = _fragments(list(sp.Add.make_args(widest)), width)
        pieces[0] = head + pieces[0]
        pieces[-1] = pieces[-1] + r"\bigr)"
        out += pieces
    return out


def equation_lines(lhs: str, expr, width: int = 70) -> list[str]:
    r"""Lines of an ``align*`` row ``lhs &= expr``, broken between terms so each fits ``width``.

    Continuation lines start with ``&\quad``; products with a long sum are opened up; an atomic
    term wider than ``width`` gets a line of its own.
    """
    prefix, terms, suffix = _split(expr)
    return pack_lines(lhs, _fragments(terms, width), width, prefix, suffix)


def pack_lines(lhs: str, pieces: list[str], width: int = 70, prefix: str = "", suffix: str = "") -> list[str]:
    r"""Pack LaTeX ``pieces`` (each already signed, ``"+ x"``) greedily into ``align*`` lines of ``width``."""
    head = f"{lhs} &= {prefix}"
    lines, current = [], head
    for piece in pieces:
        if current not in (head, "&\\quad ") and visible_width(current + piece) > width:
            lines.append(current.rstrip())
            current = "&\\quad " + piece + " "
        else:
            current += piece + " "
    lines.append(current.rstrip() + suffix)
    return lines


_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}

_SYMBOLS = {"‖": r"\|", "≥": r"\ge", "≤": r"\le", "≠": r"\ne", "⪰": r"\succeq", "⪯": r"\preceq", "≺": r"\prec",
            "ᵀ": r"^\top", "ℓ": r"\ell", "ε": r"\varepsilon", "φ": r"\varphi", "±": r"\pm", "∇": r"\nabla",
            "²": r"^2", "→": r"\to", "−": "-", "·": r"\cdot", "△": r"\triangle", "∅": r"\emptyset", "∈": r"\in",
            "∝": r"\propto", "×": r"\times", "↦": r"\mapsto"}


def escape_text(text: str) -> str:
    """Plain text made safe for LaTeX: specials escaped, mathematical symbols and Greek letters typeset
    in math mode (``Λ`` becomes ``$\\Lambda$``); any other non-ASCII character becomes ``?``."""
    import unicodedata

    out = []
    for c in str(text).replace("…", "...").replace("—", "--"):
        if ord(c) < 128:
            out.append(_TEXT_ESCAPES.get(c, c))
        elif c in _SYMBOLS:
            out.append(f"${_SYMBOLS[c]}$")
        elif unicodedata.name(c, "").startswith("GREEK"):
            name = unicodedata.name(c).split()[-1].lower().replace("lamda", "lambda")
            out.append("$\\" + (name.capitalize() if "CAPITAL" in unicodedata.name(c) else name) + "$")
        else:
            out.append("?")
    return "".join(out)
