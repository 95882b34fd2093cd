"""Typesetting blocks shared by the derivation documents: aligned equations and the print limit."""

from __future__ import annotations


from theory.lazy_sympy import sp
from theory.closed_forms import ClosedForms
from theory.latex import equation_lines, to_latex

__all__ = ["PRINT_LIMIT", "align_rows", "equations", "is_short", "symbol_of"]

#: expressions with more nodes than this are referred to, not printed
PRINT_LIMIT = 400


def symbol_of(cf: ClosedForms, k: int) -> str:
    """The LaTeX symbol of parameter ``k``."""
    return to_latex(cf.theta[k])


def align_rows(rows: list[list[str]], chunk: int = 40) -> str:
    """``align*`` environments of at most ``chunk`` lines each (TeX's memory holds one environment)."""
    envs, current = [], []
    for row in rows:
        if current and len(current) + len(row) > chunk:
            envs.append(current)
            current = []
        current += row
    envs.append(current)
    return "".join("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n" for lines in envs if lines)


def equations(pairs, width: int = 70) -> str:
    """``lhs = expr`` for each pair, broken into lines of at most ``width`` characters and aligned."""
    rows = [equation_lines(lhs, expr, width) for lhs, expr in pairs]
    return align_rows(rows) if rows else ""


def is_short(expr) -> bool:
    """At most :data:`PRINT_LIMIT` nodes in the expression tree (counted without printing it)."""
    for count, _ in enumerate(sp.preorder_traversal(expr)):
        if count >= PRINT_LIMIT:  # count is 0-based: the (PRINT_LIMIT + 1)-th node
            return False
    return True
