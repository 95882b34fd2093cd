r"""User-written energies, parsed without ``eval``, and compiled expression evaluators.

:func:`parse_energy` walks the Python AST of the text with a whitelist: the declared spins
``s1..sN``, declared parameter names, numbers (read exactly, ``0.1`` is :math:`1/10`), the operators
``+ - * / **`` and the functions ``exp log cosh sinh tanh sqrt``. Anything else (attribute access,
other calls, lambdas, subscripts, comparisons, ``__import__``) is refused with a one-line
:class:`~theory.errors.SpecError`.

Hostile input is bounded before it can cost anything: at most :data:`MAX_ENERGY_LENGTH` characters,
:data:`MAX_ENERGY_NODES` syntax-tree nodes and :data:`MAX_ENERGY_DEPTH` levels of nesting (a chain
``a + b + c + …`` or ``- - - a`` counts as one level); numbers are decimal literals in the range of
:func:`~theory.conventions.parse_number` (no ``0x10``, no ``1e1000000000``); an exponent must be a
number (``x**2``, ``x**0.5``, not ``s1**a``: write ``exp(a*log(x))``) with
:math:`|k| \le` :data:`MAX_EXPONENT` and a denominator of at most :data:`MAX_EXPONENT_DENOMINATOR`;
constants computed while parsing obey the same range as numbers.

:func:`~theory.energy_values.check_energy_values` (re-exported here) then checks that :math:`F` is a
real, finite function of the spins. Every refusal is one line naming the offending sub-expression,
shortened to about 80 characters.

:func:`compile_on_configurations` turns a list of sympy expressions into a function that
evaluates all of them on every configuration with one number system
(:mod:`theory.arith`), through ``lambdify`` with common-subexpression elimination.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import sys
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from .lazy_sympy import sp
from .arith import Arith
from .conventions import (
    MAX_MAGNITUDE_EXPONENT,
    MIN_MAGNITUDE_EXPONENT,
    parse_number,
    show_value,
    spin_table,
)
from .energy_values import _not_finite, check_energy_values, overflow_guard
from .energy_values import short_expression as _short
from .errors import SpecError

__all__ = [
    "FUNCTIONS",
    "MAX_ENERGY_LENGTH",
    "MAX_ENERGY_NODES",
    "MAX_ENERGY_DEPTH",
    "MAX_EXPONENT",
    "MAX_EXPONENT_DENOMINATOR",
    "parse_energy",
    "spin_symbols",
    "check_parameter_names",
    "check_energy_values",
    "compile_on_configurations",
    "lambdified",
]

class _SympyFunctions(Mapping):
    """``{name: sympy function}`` for a fixed tuple of names, sympy's objects looked up when first read."""

    def __init__(self, names: tuple[str, ...]):
        self._names = names

    def __getitem__(self, name: str):
        if name not in self._names:
            raise KeyError(name)
        return getattr(sp, name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


#: The whitelisted functions of a custom energy.
FUNCTIONS = _SympyFunctions(("exp", "log", "cosh", "sinh", "tanh", "sqrt"))

#: Longest custom energy, in characters.
MAX_ENERGY_LENGTH = 10_000
#: Most nodes of its syntax tree (names, numbers, operators, calls).
MAX_ENERGY_NODES = 5_000
#: Deepest nesting of calls, powers and parenthesised groups (a chain of ``+``/``-``, of ``*``/``/`` or of
#: signs is one level).
MAX_ENERGY_DEPTH = 50
#: Largest ``|k|`` of an exponent ``x**k``.
MAX_EXPONENT = 100
#: Largest denominator of a non-integer exponent (``x**0.5`` is ``x**(1/2)``).
MAX_EXPONENT_DENOMINATOR = 1000

_SPIN_NAME = re.compile(r"^s([1-9][0-9]*)$")
_LITERAL = re.compile(r"^(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?$")
_MAX_LOG10 = MAX_MAGNITUDE_EXPONENT
_MIN_LOG10 = MIN_MAGNITUDE_EXPONENT
_MAX_BITS = 50_000  # of the numerator or denominator of a constant computed while parsing


def spin_symbols(n: int) -> tuple[sp.Symbol, ...]:
    """The symbols ``s1..sn`` of the spins."""
    return tuple(sp.Symbol(f"s{i}") for i in range(1, n + 1))


def check_parameter_names(names, n: int) -> None:
    """Parameter names must be distinct identifiers that are neither spins nor functions."""
    problems = []
    seen = set()
    for name in names:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or len(name) > 100:
            problems.append(f"parameter name {show_value(name)} is not an identifier (of at most 100 characters)")
        elif _SPIN_NAME.match(name) or name in FUNCTIONS or name.startswith("_"):
            problems.append(f"parameter name {name!r} is reserved (spins s1..s{n}, functions, leading underscore)")
        elif name in seen:
            problems.append(f"parameter name {name!r} is declared twice")
        else:
            seen.add(name)
        if len(problems) >= 3:
            break
    if problems:
        raise SpecError(problems)


def parse_energy(text: str, n: int, parameters) -> sp.Expr:
    r"""Parse ``F = -E`` from ``text`` into a sympy expression, refusing anything off the whitelist,
    anything too large, and anything that is not a real, finite function of the spins.

    Parameters become real symbols. The result is cached on ``(text, n, parameters)``.

    >>> parse_energy("a*s1 + log(cosh(b + 0.5*s2))", 2, ["a", "b"])
    a*s1 + log(cosh(b + s2/2))
    """
    if not isinstance(text, str) or not text.strip():
        raise SpecError("custom energy must be a non-empty string such as \"a*s1 + log(cosh(b + w*s2))\"")
    if len(text) > MAX_ENERGY_LENGTH:
        raise SpecError(
            f"custom energy has {len(text)} characters; at most {MAX_ENERGY_LENGTH} are allowed"
        )
    if not isinstance(parameters, (list, tuple)):
        raise SpecError("model.params must be a list of parameter names")
    check_parameter_names(parameters, n)
    return _parse_energy(text.strip(), n, tuple(parameters))


@lru_cache(maxsize=256)
def _parse_energy(text: str, n: int, parameters: tuple) -> sp.Expr:
    tree = _syntax_tree(text)
    symbols = {f"s{i}": sp.Symbol(f"s{i}") for i in range(1, n + 1)}
    symbols.update({name: sp.Symbol(name, real=True) for name in parameters})
    expr = _Walker(text, symbols, n).visit(tree.body)
    check_energy_values(expr, spin_symbols(n))
    return expr


def _syntax_tree(text: str) -> ast.Expression:
    """``ast.parse`` of a bounded text, with its size and nesting checked (without recursion)."""
    # A chain of n operators is n levels deep in Python's own AST construction; the text is at most
    # MAX_ENERGY_LENGTH characters, so a recursion limit above that always suffices.
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, MAX_ENERGY_LENGTH + 2_000))
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise SpecError(
            f"custom energy is not a valid expression ({err.msg} at column {err.offset}): {show_value(text, 80)}"
        ) from None
    except (MemoryError, RecursionError):
        raise SpecError(
            "custom energy is nested too deeply for the parser (thousands of signs or parentheses in a row)"
        ) from None
    finally:
        sys.setrecursionlimit(limit)
    nodes = sum(1 for node in ast.walk(tree) if not isinstance(node, (ast.expr_context, ast.operator, ast.unaryop)))
    if nodes > MAX_ENERGY_NODES:
        raise SpecError(
            f"custom energy has {nodes} terms, names, numbers and operators; at most {MAX_ENERGY_NODES} are allowed"
        )
    depth = _nesting_depth(tree.body)
    if depth > MAX_ENERGY_DEPTH:
        raise SpecError(
            f"custom energy is nested {depth} levels deep; at most {MAX_ENERGY_DEPTH} are allowed"
        )
    return tree


def _chain(node) -> str | None:
    """The chain a node belongs to: ``+``/``-``, ``*``/``/``, or signs (``None`` for anything else)."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, (ast.Add, ast.Sub)):
            return "add"
        if isinstance(node.op, (ast.Mult, ast.Div)):
            return "mul"
    if isinstance(node, ast.UnaryOp):
        return "sign"
    return None


def _chain_continues(parent, child) -> bool:
    kind = _chain(parent)
    if kind is None or _chain(child) != kind:
        return False
    return child is parent.operand if kind == "sign" else child is parent.left


def _nesting_depth(root) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr_context, ast.operator, ast.unaryop)):
                continue
            stack.append((child, depth if _chain_continues(node, child) else depth + 1))
    return deepest


def _rational_log10(q: sp.Rational) -> float:
    return math.log10(abs(int(q.p))) - math.log10(int(q.q))


class _Walker:
    """Builds the sympy expression bottom-up; chains of ``+ -``, ``* /`` and signs are walked in a loop
    (so their length never meets the recursion limit), everything else recursively (at most
    :data:`MAX_ENERGY_DEPTH` levels)."""

    def __init__(self, source: str, symbols: dict, n: int):
        self.source = source
        self.symbols = symbols
        self.n = n
        # ast.get_source_segment splits the whole text at every call (quadratic in the length)
        self.lines = source.encode().splitlines(keepends=True)

    def source_text(self, node) -> str:
        """The source of ``node`` (its offsets are in UTF-8 bytes), or ``""``."""
        try:
            first, last = node.lineno - 1, node.end_lineno - 1
            if first == last:
                raw = self.lines[first][node.col_offset : node.end_col_offset]
            else:
                raw = b"".join([self.lines[first][node.col_offset :], *self.lines[first + 1 : last],
                                self.lines[last][: node.end_col_offset]])
        except (AttributeError, IndexError, TypeError):
            return ""
        return raw.decode("utf-8", errors="replace")

    def segment(self, node) -> str:
        return _short(self.source_text(node) or type(node).__name__)

    def refuse(self, node, what: str):
        raise SpecError(
            f"custom energy: {what} {self.segment(node)!r} is not allowed; use s1..s{self.n}, the declared parameters, "
            "numbers, + - * / ** and exp log cosh sinh tanh sqrt"
        )

    def checked(self, node, value):
        """Refuse a sub-expression that sympy already knows is not a real finite number, or a constant
        out of the range of numbers."""
        if value.has(*_not_finite()):
            raise SpecError(
                f"custom energy: {self.segment(node)} is infinite or undefined ({_short(value, 40)}): "
                "a division by zero or the log of zero"
            )
        if value.has(sp.I):
            raise SpecError(f"custom energy: {self.segment(node)} is not real ({_short(value, 40)})")
        if value.is_Rational and value != 0:
            if max(int(value.p).bit_length(), int(value.q).bit_length()) > _MAX_BITS or not (
                _MIN_LOG10 - 1 <= _rational_log10(value) <= _MAX_LOG10
            ):
                raise SpecError(
                    f"custom energy: the constant {self.segment(node)} is out of range: numbers must have "
                    f"|x| <= 1e{_MAX_LOG10} and, if not zero, |x| >= 1e{_MIN_LOG10}"
                )
        return value

    def visit(self, node):
        kind = _chain(node)
        if kind == "add":
            return self.add_chain(node)
        if kind == "mul":
            return self.mul_chain(node)
        if kind == "sign":
            return self.signs(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(node)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            self.refuse(node, f"the operator {type(node.op).__name__.lower()} in")
        if isinstance(node, ast.Attribute):
            self.refuse(node, "attribute access")
        if isinstance(node, ast.Lambda):
            self.refuse(node, "lambda")
        self.refuse(node, type(node).__name__.lower())

    def _links(self, node, kind):
        """The operands of a left-associated chain, first operand first, with their operators."""
        links = []
        while _chain(node) == kind:
            links.append((node.op, node.right, node))
            node = node.left
        return node, links[::-1]

    def add_chain(self, node):
        first, links = self._links(node, "add")
        terms = [self.visit(first)]
        constant = terms[0] if terms[0].is_Number else sp.S.Zero
        for op, right, whole in links:
            value = self.visit(right)
            value = -value if isinstance(op, ast.Sub) else value
            if value.is_Number:  # the numbers are added up as they come, so no partial sum is out of range
                constant = self.checked(whole, constant + value)
            terms.append(value)
        return self.checked(node, sp.Add(*terms))

    def mul_chain(self, node):
        first, links = self._links(node, "mul")
        factors = [self.visit(first)]
        constant = factors[0] if factors[0].is_Number else sp.S.One
        for op, right, whole in links:
            value = self.visit(right)
            if isinstance(op, ast.Div):
                value = self.checked(whole, sp.Pow(value, -1))
            if value.is_Number:
                constant = self.checked(whole, constant * value)
            factors.append(value)
        return self.checked(node, sp.Mul(*factors))

    def signs(self, node):
        negative = False
        while isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                self.refuse(node, "the operator " + type(node.op).__name__.lower() + " in")
            negative ^= isinstance(node.op, ast.USub)
            node = node.operand
        value = self.visit(node)
        return -value if negative else value

    def power(self, node):
        base = self.visit(node.left)
        exponent = self.visit(node.right)
        if not exponent.is_Rational:
            raise SpecError(
                f"custom energy: the exponent of {self.segment(node)!r} must be a number (x**2, x**0.5); "
                "for a variable power write exp(y*log(x))"
            )
        if abs(exponent) > MAX_EXPONENT or exponent.q > MAX_EXPONENT_DENOMINATOR:
            raise SpecError(
                f"custom energy: the exponent {_short(exponent, 40)} of {self.segment(node)!r} is too large: "
                f"exponents must have |k| <= {MAX_EXPONENT} and a denominator <= {MAX_EXPONENT_DENOMINATOR}"
            )
        if base.is_Rational and base != 0:
            size = _rational_log10(base) * float(exponent)
            if not _MIN_LOG10 - 1 <= size <= _MAX_LOG10 + 1:
                raise SpecError(
                    f"custom energy: the constant {self.segment(node)!r} is out of range: numbers must have "
                    f"|x| <= 1e{_MAX_LOG10} and, if not zero, |x| >= 1e{_MIN_LOG10}"
                )
            if base < 0 and not exponent.is_Integer:
                raise SpecError(
                    f"custom energy: {self.segment(node)} is not real (a non-integer power of a negative number)"
                )
        return self.checked(node, base**exponent)

    def number(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.refuse(node, "constant")
        text = self.source_text(node)
        if not _LITERAL.match(text):
            raise SpecError(
                f"custom energy: the number {_short(text or repr(node.value), 40)!r} is not a decimal number "
                "(write numbers like 2, 0.5 or 1e-3)"
            )
        value = parse_number(text.replace("_", ""), "custom energy")
        return sp.Rational(value.numerator, value.denominator)

    def name(self, node):
        if node.id in self.symbols:
            return self.symbols[node.id]
        if _SPIN_NAME.match(node.id):
            raise SpecError(f"custom energy uses spin {node.id!r} but the model has n = {self.n} spins (s1..s{self.n})")
        raise SpecError(
            f"custom energy uses the undeclared name {show_value(node.id)}; "
            f"declare it in \"params\" or use s1..s{self.n}"
        )

    def call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            self.refuse(node, "call")
        if len(node.args) != 1 or node.keywords:
            self.refuse(node, "call with other than one argument")
        return self.checked(node, FUNCTIONS[node.func.id](self.visit(node.args[0])))


def _module_for(arith: Arith) -> list:
    mapping = {
        "exp": arith.exp,
        "log": arith.log,
        "cosh": arith.cosh,
        "sinh": arith.sinh,
        "tanh": arith.tanh,
        "sqrt": arith.sqrt,
    }
    if arith.name == "mpmath":
        mapping["exp"] = overflow_guard(arith.exp, "exp", two_sided=False)
        mapping["cosh"] = overflow_guard(arith.cosh, "cosh", two_sided=True)
        mapping["sinh"] = overflow_guard(arith.sinh, "sinh", two_sided=True)
    return [mapping, "mpmath" if arith.name == "mpmath" else "numpy"]


def lambdified(exprs: tuple, args: tuple, arith: Arith):
    """``f(*args) -> [values of exprs]`` in ``arith``'s number type (lambdify with cse, cached)."""
    return _lambdified(tuple(exprs), tuple(args), arith.name, arith)


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
