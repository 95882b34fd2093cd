r"""LaTeX for derivation documents and reports: one notation table, one printer, text with math.

:data:`NOTATION` is the single table of symbols (the paper's symbol, its meaning, its name in code and
JSON) that every derivation document prints and prints *with*: :func:`parameter_symbol` writes each
parameter as the table says (``w[1,2]`` is :math:`w_{12}`, the paper's :math:`w_{i\mu}`), and
:func:`notation` makes :func:`to_latex`, the one printer of sympy expressions, use those symbols.
:func:`equation_lines` breaks a long sum into the lines of an ``align*`` environment so that no line is
wider than the page, pulling a common rational factor in front (:math:`\tfrac14(\dots)`).
:func:`text_latex` typesets a line of text whose math is written between dollars (titles) or in Unicode
(``J_A``, ``J^D``, ``±r_A``, ``rank G < D``): math in math mode, never as text-mode glyphs;
:func:`plain_text` is the same line for a terminal.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> equation_lines("f", (x + y) / 4, width=80)
['f &= \\frac{1}{4}\\bigl(x + y\\bigr)']
>>> text_latex("spurious (r ≠ 0, rank G < D), ±r_A")
'spurious (r $\\ne$ 0, rank G $<$ D), $\\pm$$r_{A}$'
>>> plain_text(r"maximised at $J^D$, $\operatorname{rank} G < D$")
'maximised at J^D, rank G < D'
"""

from __future__ import annotations

import contextvars
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass

from .lazy_sympy import sp

__all__ = ["NOTATION", "NotationRow", "escape_text", "equation_lines", "notation", "notation_rows", "pack_lines",
           "parameter_symbol", "plain_text", "symbol_names", "text_latex", "to_latex", "visible_width"]


@dataclass(frozen=True)
class NotationRow:
    """One row of :data:`NOTATION`: the paper's symbol (LaTeX), its meaning (text, math between dollars), its
    name in the code and JSON, and for parameters the ``Param.group`` it names and the stem of its symbol."""

    tex: str
    meaning: str
    code: str
    groups: tuple = ()
    stem: str = ""
    parameter: bool = True  # a row of parameters: printed only for the models that have them


#: the one table of symbols: paper symbol, meaning, name in the code / JSON (documents print it, and print with it)
NOTATION = (
    NotationRow(r"s_i \in \{-1,+1\}", r"spin $i$ ($x$ has bit $i-1$ set iff $s_i=-1$)", "s1..sN"),
    NotationRow(r"\chi_A(s) = \prod_{i\in A}s_i", r"character of the subset $A$", 'A = "1,2"'),
    NotationRow(r"F_\theta(s) = -E_\theta(s)", "negative energy", "Model.energy"),
    NotationRow(r"a_i", r"field of spin $i$", "a[i]", ("a",), "a"),
    NotationRow(r"b_\mu", r"bias of hidden unit $\mu$", "b[mu]", ("b",), "b"),
    NotationRow(r"w_{i\mu}", r"weight between spin $i$ and hidden unit $\mu$ ($w_{12}$: $i = 1$, $\mu = 2$)",
                "w[i,mu]", ("w",), "w"),
    NotationRow(r"c_\mu", r"output weight of hidden unit $\mu$", "c[mu]", ("c",), "c"),
    NotationRow(r"u_A,\ v_A", r"the two factors of the coupling of $A$, $J_A = u_Av_A$", 'u["1,2"], v["1,2"]',
                ("u", "v")),
    NotationRow(r"h_i", r"field of spin $i$ of a product model", "h[i]", ("h",), "h"),
    NotationRow(r"J_A(\theta)", r"effective coupling $2^{-N}\sum_s F_\theta(s)\chi_A(s)$; $J_{12}$ is $A = \{1,2\}$",
                'couplings["1,2"]', ("J",), "J", parameter=False),
    NotationRow(r"T^{(n)}_{\mu,B}", r"Walsh coefficient $2^{-N}\sum_s\chi_B(s)\,\sigma^{(n)}(x_\mu(s))$ of hidden unit "
                r"$\mu$, with $x_\mu(s) = b_\mu + \sum_i w_{i\mu}s_i$",
                "HiddenUnit.tables[n][B]", ("b",)),  # shown with the hidden-layer models (those with biases)
    NotationRow(r"m_A", r"moment of $p_\theta$, $E_\theta[\chi_A]$", 'moments["1,2"]'),
    NotationRow(r"m^{D}_A", "moment of the target", "target moments"),
    NotationRow(r"r_A = m^{D}_A - m_A", r"moment residual ($r_{12}$: $A = \{1,2\}$)", 'r["1,2"]'),
    NotationRow(r"G_{Ak} = \partial J_A/\partial\theta_k", "Jacobian of the effective map", "G"),
    NotationRow(r"C_{AB} = m_{A\triangle B} - m_A m_B", r"Fisher matrix of $p_\theta$ ($m_\emptyset = 1$)", "C"),
    NotationRow(r"H = \nabla^2_\theta\ell", "Jacobian of the gradient flow", "H"),
)

_STEMS: dict = {}
for _row in NOTATION:
    for _group in _row.groups:
        _STEMS.setdefault(_group, _row)  # the first row naming a group writes its parameters


def _index(index: tuple) -> str:
    """Indices written together (``12``), with commas once one has two digits (``1,10``)."""
    return "".join(map(str, index)) if all(int(i) < 10 for i in index) else ",".join(map(str, index))


def parameter_symbol(param) -> str:
    r"""The LaTeX symbol of a parameter (a :class:`theory.families.Param`) as :data:`NOTATION` writes it: its group's
    stem with its indices (``w[1,2]``: ``w_{12}``; the gim parameter ``J[1,2]``: ``J_{12}``); a parameter of a group the
    table does not name (a custom energy's) keeps its own LaTeX."""
    row = _STEMS.get(param.group)
    if row is None:
        return param.latex
    stem = row.stem or param.group
    return f"{stem}_{{{_index(param.index)}}}"


def notation_rows(params) -> list[NotationRow]:
    """The rows of :data:`NOTATION` a model needs: every row that is not a parameter's, and the rows of its parameters."""
    groups = {p.group for p in params}
    return [row for row in NOTATION if not (row.groups and row.parameter) or groups & set(row.groups)]


def symbol_names(params) -> dict:
    """``{sympy symbol: LaTeX}`` of the parameters whose printed symbol differs from the symbol's own name."""
    out = {}
    for p in params:
        tex = parameter_symbol(p)
        if tex != p.latex:
            out[p.symbol] = tex
    return out


#: the symbol names :func:`to_latex` prints with (set by :func:`notation`)
_NAMES = contextvars.ContextVar("ebm_verify_symbol_names", default=None)


@contextmanager
def notation(params):
    """``with notation(model.params):`` every :func:`to_latex` inside prints the parameters as :data:`NOTATION` says."""
    token = _NAMES.set(symbol_names(params) or None)
    try:
        yield
    finally:
        _NAMES.reset(token)


def to_latex(expr) -> str:
    """The one LaTeX printer of the suite's documents (deterministic for a given sympy), with the parameter
    symbols of the enclosing :func:`notation`."""
    names = _NAMES.get()
    if names:
        return sp.latex(sp.sympify(expr), symbol_names=names)
    return sp.latex(sp.sympify(expr))


_COMMAND = re.compile(r"\\([A-Za-z]+)")


def _group(tex: str, start: int) -> int:
    """The index just past the brace group opening at ``tex[start]``."""
    depth = 0
    for k in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[k], 0)
        if depth == 0:
            return k + 1
    return len(tex)


def _collapse_fractions(tex: str) -> str:
    r"""``\frac{a}{b}`` replaced by the wider of ``a`` and ``b`` (they are stacked), innermost first."""
    start = tex.find(r"\frac{")
    if start < 0:
        return tex
    num_end = _group(tex, start + 5)
    den_end = _group(tex, num_end) if num_end < len(tex) and tex[num_end] == "{" else num_end
    num, den = _collapse_fractions(tex[start + 6:num_end - 1]), _collapse_fractions(tex[num_end + 1:den_end - 1])
    wider = num if visible_width(num) >= visible_width(den) else den
    return tex[:start] + "{" + wider + "}" + _collapse_fractions(tex[den_end:])


def visible_width(tex: str) -> int:
    r"""A conservative estimate of the printed width of ``tex`` in characters.

    Sizing commands (``\left``, ``\right``, ``\bigl`` ...) and braces take no room, other commands
    count as their name (``\cosh`` as 4), everything else as one character each (subscripts are
    counted at full size, which over-estimates).
    """
    tex = _collapse_fractions(tex)
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
        logs = _log_pieces(term) if _ratio_width(term, text) > width else _log_fraction(term)
        if logs:
            logs[0] = sign + logs[0]
            out += logs
            continue
        inner = [f for f in sp.Mul.make_args(term) if f.is_Add] if term.is_Mul else []
        if visible_width(text) <= width or not inner:
            out.append(sign + text)
            continue
        widest = max(inner, key=lambda f: visible_width(to_latex(f)))
        rest = term / widest
        factor = r"\left(" + to_latex(rest) + r"\right)" if rest.is_Add else to_latex(rest)
        prefix, inner_terms, suffix = _split(widest)  # a denominator shared inside goes in front of the sum
        head = sign + ("" if rest == 1 else factor + r"\,") + (prefix or r"\bigl(")
        pieces = _fragments(inner_terms, width)
        pieces[0] = head + pieces[0]
        pieces[-1] = pieces[-1] + (suffix or r"\bigr)")
        out += pieces
    return out


def _ratio_width(term, text: str) -> int:
    r"""The printed width of a term; for :math:`c\log(u/v)`, typeset as a fraction, the wider of :math:`u` and :math:`v`."""
    coeff, rest = term.as_coeff_Mul()
    if isinstance(rest, sp.log) and rest.args[0].is_Mul:
        num, den = sp.fraction(rest.args[0])
        if den != 1:
            return 12 + max(visible_width(to_latex(num)), visible_width(to_latex(den)))
    return visible_width(text)


def _log_fraction(term) -> list[str] | None:
    r"""``[c\log\frac{u}{v}]`` for a term :math:`c\log(u/v)` (the coefficient in front, the fraction at display size);
    ``None`` for any other term."""
    coeff, rest = term.as_coeff_Mul()
    if not isinstance(rest, sp.log) or not rest.args[0].is_Mul:
        return None
    num, den = sp.fraction(rest.args[0])
    if den == 1:
        return None
    head = "" if coeff == 1 else to_latex(coeff)
    return [head + r"\log\frac{" + to_latex(num) + "}{" + to_latex(den) + "}"]


def _log_pieces(term) -> list[str] | None:
    r"""A wide :math:`c\log(\prod_j u_j/\prod_k v_k)` as pieces between which a line may break:
    ``c\bigl[\log\bigl(u_1`` ... ``u_m\bigr) - \log\bigl(v_1`` ... ``v_n\bigr)\bigr]`` (``None``: not such a term)."""
    coeff, rest = term.as_coeff_Mul()
    if not isinstance(rest, sp.log) or not rest.args[0].is_Mul:
        return None
    num, den = sp.fraction(rest.args[0])
    pieces = []
    for k, part in enumerate((num, den)):
        factors = [to_latex(f) for f in sp.Mul.make_args(part) if f != 1]
        if not factors:
            continue
        factors[0] = (r"- " if k else "") + r"\log\bigl(" + factors[0]
        factors[-1] += r"\bigr)"
        pieces += factors
    if coeff != 1:
        pieces[0] = to_latex(coeff) + r"\bigl[" + pieces[0]
        pieces[-1] += r"\bigr]"
    return pieces


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
                 "{": r"\{", "}": r"\}", "~": r"$\sim$", "^": r"\textasciicircum{}", "<": "$<$", ">": "$>$",
                 "|": r"$|$"}

_SYMBOLS = {"‖": r"\|", "≥": r"\ge", "≤": r"\le", "≠": r"\ne", "⪰": r"\succeq", "⪯": r"\preceq", "≺": r"\prec",
            "ᵀ": r"^\top", "ℓ": r"\ell", "ε": r"\varepsilon", "φ": r"\varphi", "±": r"\pm", "∇": r"\nabla",
            "²": r"^2", "→": r"\to", "−": "-", "·": r"\cdot", "△": r"\triangle", "∅": r"\emptyset", "∈": r"\in",
            "∝": r"\propto", "×": r"\times", "↦": r"\mapsto", "Σ": r"\sum", "∏": r"\prod", "∞": r"\infty",
            "≈": r"\approx", "⇒": r"\Rightarrow", "∂": r"\partial", "√": r"\sqrt{}", "≡": r"\equiv"}


def _math_char(c: str) -> str | None:
    """The math-mode LaTeX of one non-ASCII character (``None``: not a mathematical character)."""
    if c in _SYMBOLS:
        return _SYMBOLS[c]
    name = unicodedata.name(c, "")
    if name.startswith("GREEK"):
        letter = name.split()[-1].lower().replace("lamda", "lambda")
        if letter in ("epsilon", "phi"):
            letter = "var" + letter
        return "\\" + (letter.capitalize() if "CAPITAL" in name else letter)
    return None


def escape_text(text: str) -> str:
    """Plain text made safe for LaTeX: specials escaped, mathematical symbols and Greek letters typeset in math
    mode (``Λ`` becomes ``$\\Lambda$``, ``<`` becomes ``$<$``: text-mode ``<`` prints as ``¡``), a combining tilde
    as ``\\tilde``; any other non-ASCII character becomes ``?``."""
    out = []
    text = unicodedata.normalize("NFC", str(text).replace("…", "...").replace("—", "--"))
    for k, c in enumerate(text):
        if c == "\u0303":  # combining tilde: the letter before it, tilded
            out[-1] = "$\\tilde{" + out[-1].strip("$") + "}$" if out else "?"
        elif ord(c) < 128:
            out.append(_TEXT_ESCAPES.get(c, c))
        elif _math_char(c) is not None:
            out.append(f"${_math_char(c)}$")
        else:
            out.append("?")
    return "".join(out)


#: a Unicode math token in running text: a letter with sub/superscripts (``J_A``, ``J^D``, ``ε^(k-1)``, ``w_iμ``)
_TOKEN = re.compile(r"(?<![\w\\])([A-Za-z\u0370-\u03ff]\u0303?)((?:[_^](?:\([^()\s]*\)|\{[^{}\s]*\}|[A-Za-z0-9\u0370-\u03ff]+))+)")
_SCRIPT = re.compile(r"([_^])(\([^()\s]*\)|\{[^{}\s]*\}|[A-Za-z0-9\u0370-\u03ff]+)")


def _script_math(text: str) -> str:
    return "".join(_math_char(c) + " " if _math_char(c) else c for c in text).replace(" }", "}").strip()


def _token_math(match) -> str:
    base = _script_math(match.group(1).replace("\u0303", ""))
    if "\u0303" in match.group(1):
        base = r"\tilde{" + base + "}"
    scripts = "".join(f"{kind}{{{_script_math(body.strip('(){}'))}}}" for kind, body in _SCRIPT.findall(match.group(2)))
    return f"${base}{scripts}$"


def _auto_math(text: str) -> str:
    """Text with its Unicode math tokens (:data:`_TOKEN`) in math mode and the rest escaped."""
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        out.append(escape_text(text[last:match.start()]))
        out.append(_token_math(match))
        last = match.end()
    out.append(escape_text(text[last:]))
    return "".join(out)


def text_latex(text: str) -> str:
    r"""A line of text for LaTeX: what stands between dollars is math and kept as written (``rank $G < D$``); the
    rest is escaped (:func:`escape_text`) with its Unicode math tokens (``J_A``, ``J^D``, ``ε^(k-1)``) in math mode."""
    parts = re.split(r"(?<!\\)\$", str(text))
    if len(parts) % 2 == 0:  # an unmatched dollar: all text
        return _auto_math(str(text))
    return "".join(f"${part}$" if k % 2 else _auto_math(part) for k, part in enumerate(parts))


_PLAIN = {r"\operatorname": "", r"\mathrm": "", r"\text": "", r"\sum": "Σ", r"\prod": "∏", r"\mu": "μ", r"\sigma": "σ",
          r"\varepsilon": "ε", r"\epsilon": "ε", r"\Lambda": "Λ", r"\theta": "θ", r"\ell": "ℓ", r"\top": "ᵀ",
          r"\succeq": "⪰", r"\preceq": "⪯", r"\pm": "±", r"\ne": "≠", r"\neq": "≠", r"\le": "≤", r"\ge": "≥",
          r"\sim": "~", r"\in": "∈", r"\|": "‖", r"\cdot": "·", r"\to": "→", r"\varphi": "φ",
          r"\nabla": "∇", r"\chi": "χ", r"\infty": "∞", r"\,": " ", r"\ ": " ", r"\quad": "  "}


def plain_text(text: str) -> str:
    r"""The same line for a terminal: dollars dropped, common commands as Unicode (``\sigma`` is σ), one-character
    scripts kept (``J^D``), longer ones in parentheses (``ε^(k-1)``)."""
    out = str(text).replace("$", "")
    out = re.sub(r"\\dot\s*(\\?[A-Za-z]+)", r"d\1/dt", out).replace("^\\top", "\\top")
    out = re.sub(r"\\tilde\s*\{?([A-Za-z])\}?", " \\1\u0303", out)
    for command in sorted(_PLAIN, key=len, reverse=True):
        after = r"(?![A-Za-z])" if command[-1].isalpha() else ""
        out = re.sub(re.escape(command) + after + (r"\s*" if command == r"\pm" else ""),
                     lambda m, c=command: _PLAIN[c], out)
    out = re.sub(r"([_^])\{(\([^{}]*\)|[^{}]{2,})\}", lambda m: m.group(1) + (
        m.group(2) if m.group(2).startswith("(") else f"({m.group(2)})"), out)
    return re.sub(r"\s+", " ", out.replace("{", "").replace("}", "")).strip()
