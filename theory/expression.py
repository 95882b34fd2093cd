r"""User-written energies, parsed without ``eval``, and compiled expression evaluators.

:func:`parse_energy` walks the Python AST of the text with a whitelist: the declared spins
``s1..sN``, declared parameter names, numbers (read exactly, ``0.1`` is :math:`1/10`), the operators
``+ - * / **`` and the functions ``exp log cosh sinh tanh sqrt``. Anything else (attribute access,
other calls, lambdas, subscripts, comparisons, ``__import__``) is refused with a one-line
:class:`~theory.errors.SpecError`.

:func:`compile_on_configurations` turns a list of sympy expressions into a function that
evaluates all of them on every configuration with one number system
(:mod:`theory.arith`), through ``lambdify`` with common-subexpression elimination.
"""

from __future__ import annotations

import ast
import keyword
import re
from functools import lru_cache

import numpy as np
import sympy as sp

from .arith import Arith
from .conventions import spin_table
from .errors import SpecError

__all__ = ["FUNCTIONS", "parse_energy", "spin_symbols", "check_parameter_names", "compile_on_configurations"]

#: The whitelisted functions of a custom energy.
FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "tanh": sp.tanh,
    "sqrt": sp.sqrt,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}

_SPIN_NAME = re.compile(r"^s([1-9][0-9]*)$")


def spin_symbols(n: int) -> tuple[sp.Symbol, ...]:
    """The symbols ``s1..sn`` of the spins."""
    return tuple(sp.Symbol(f"s{i}") for i in range(1, n + 1))


def check_parameter_names(names, n: int) -> None:
    """Parameter names must be distinct identifiers that are neither spins nor functions."""
    problems = []
    seen = set()
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            problems.append(f"parameter name {name!r} is not an identifier")
        elif _SPIN_NAME.match(name) or name in FUNCTIONS or name.startswith("_"):
            problems.append(f"parameter name {name!r} is reserved (spins s1..s{n}, functions, leading underscore)")
        elif name in seen:
            problems.append(f"parameter name {name!r} is declared twice")
        seen.add(name)
    if problems:
        raise SpecError(problems)


def parse_energy(text: str, n: int, parameters) -> sp.Expr:
    r"""Parse ``F = -E`` from ``text`` into a sympy expression, refusing anything off the whitelist.

    >>> parse_energy("a*s1 + log(cosh(b + 0.5*s2))", 2, ["a", "b"])
    a*s1 + log(cosh(b + s2/2))
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError("custom energy must be a non-empty string such as \"a*s1 + log(cosh(b + w*s2))\"")
    check_parameter_names(parameters, n)
    symbols = {f"s{i}": sp.Symbol(f"s{i}") for i in range(1, n + 1)}
    symbols.update({name: sp.Symbol(name) for name in parameters})
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise SpecError(f"custom energy is not a valid expression ({err.msg} at column {err.offset}): {text!r}") from None
    return _Walker(text.strip(), symbols, n).visit(tree.body)


class _Walker:
    def __init__(self, source: str, symbols: dict, n: int):
        self.source = source
        self.symbols = symbols
        self.n = n

    def refuse(self, node, what: str):
        segment = ast.get_source_segment(self.source, node) or what
        raise SpecError(
            f"custom energy: {what} {segment!r} is not allowed; use s1..s{self.n}, the declared parameters, "
            "numbers, + - * / ** and exp log cosh sinh tanh sqrt"
        )

    def visit(self, node):
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.visit(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            self.refuse(node, "attribute access")
        if isinstance(node, ast.Lambda):
            self.refuse(node, "lambda")
        self.refuse(node, type(node).__name__.lower())

    def number(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.refuse(node, "constant")
        text = ast.get_source_segment(self.source, node)
        return sp.Rational(text.replace("_", "")) if text else sp.Rational(str(node.value))

    def name(self, node):
        if node.id in self.symbols:
            return self.symbols[node.id]
        if _SPIN_NAME.match(node.id):
            raise SpecError(f"custom energy uses spin {node.id!r} but the model has n = {self.n} spins (s1..s{self.n})")
        raise SpecError(
            f"custom energy uses the undeclared name {node.id!r}; declare it in \"params\" or use s1..s{self.n}"
        )

    def call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            self.refuse(node, "call")
        if len(node.args) != 1 or node.keywords:
            self.refuse(node, "call with other than one argument")
        return FUNCTIONS[node.func.id](self.visit(node.args[0]))


def _module_for(arith: Arith) -> list:
    mapping = {
        "exp": arith.exp,
        "log": arith.log,
        "cosh": arith.cosh,
        "sinh": arith.sinh,
        "tanh": arith.tanh,
        "sqrt": arith.sqrt,
    }
    return [mapping, "mpmath" if arith.name == "mpmath" else "numpy"]


@lru_cache(maxsize=256)
def _lambdified(exprs: tuple, args: tuple, arith_name: str, arith: Arith):
    printer = _ball_printer() if arith_name == "ball" else None
    return sp.lambdify(args, list(exprs), modules=_module_for(arith), cse=True, printer=printer)


def _ball_printer():
    """A lambdify printer writing ``x**n`` (small integer ``n``) as a product, for number types whose
    ``**`` goes through exp/log (an Arb ball around 0 squared would be NaN, while ``x*x`` is exact)."""
    from sympy.printing.numpy import NumPyPrinter

    class UnrolledPowers(NumPyPrinter):
        def _print_Pow(self, expr, rational=False):
            if expr.exp.is_Integer and 0 < int(expr.exp) <= 8:
                base = self.parenthesize(expr.base, 100)
                return "(" + "*".join([base] * int(expr.exp)) + ")"
            if expr.exp.is_Integer and -8 <= int(expr.exp) < 0:
                base = self.parenthesize(expr.base, 100)
                return "(1/(" + "*".join([base] * -int(expr.exp)) + "))"
            return super()._print_Pow(expr, rational=rational)

    return UnrolledPowers


def compile_on_configurations(exprs, spins, params, arith: Arith):
    """Evaluator of ``exprs`` (sympy) on all ``2^n`` configurations.

    Returns ``f(theta) -> ndarray`` of shape ``(len(exprs), 2^n)`` in ``arith``'s number type; the
    lambdified function (with cse) is cached on the expressions.
    """
    n = len(spins)
    exprs = tuple(sp.sympify(e) for e in exprs)
    table = spin_table(n)
    if arith.is_exact:

        def evaluate_exact(theta):
            out = np.empty((len(exprs), 2**n), dtype=object)
            for x in range(2**n):
                subs = dict(zip(spins, [sp.Integer(int(v)) for v in table[x]]))
                subs.update(zip(params, theta))
                for k, e in enumerate(exprs):
                    out[k, x] = e.xreplace(subs)
            return out

        return evaluate_exact
    f = _lambdified(exprs, tuple(spins) + tuple(params), arith.name, arith)
    spin_columns = [arith.ints(table[:, i]) for i in range(n)]

    def evaluate(theta):
        values = f(*spin_columns, *list(theta))
        out = arith.zeros((len(exprs), 2**n))
        for k, v in enumerate(values):
            out[k] = v  # broadcasts spin-independent results
        return out

    return evaluate
