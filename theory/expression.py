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

:func:`check_energy_values` then checks that :math:`F` is a real, finite function of the spins: on
every spin configuration, every logarithm has a positive argument, every non-integer power a
non-negative base, no division is by zero, and every value stays within
:math:`10^{300}` in magnitude (the range of float64, in which flows evaluate the energy). Parts of
the expression that involve only spins and numbers are evaluated exactly or at 100 bits while
parsing; parts with parameters are decided symbolically where sympy can (``log(-1 - a**2)``), and
numerically at the case's parameter values once they are known (:meth:`theory.models.Custom.parse_params`).
Every refusal is one line naming the offending sub-expression, shortened to about 80 characters.

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
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from .arith import Arith
from .conventions import (
    MAX_MAGNITUDE_EXPONENT,
    MIN_MAGNITUDE_EXPONENT,
    parse_number,
    short_number,
    show_value,
    spin_table,
)
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
]

#: The whitelisted functions of a custom energy.
FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "tanh": sp.tanh,
    "sqrt": sp.sqrt,
}

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


def _short(expr, limit: int = 80) -> str:
    """An expression (sympy or source text) for an error message, at most about ``limit`` characters."""
    text = expr if isinstance(expr, str) else sp.sstr(expr)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


_NOT_FINITE = (sp.S.ComplexInfinity, sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity)


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
        if value.has(*_NOT_FINITE):
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


# --- is F a real, finite function of the spins? ----------------------------------------------------------


_CTX = mpmath.MPContext()
_CTX.prec = 100
_EXP_LIMIT = _CTX.log(_CTX.mpf(10) ** _MAX_LOG10)  # exp(x) > 1e300 beyond
_COSH_LIMIT = _CTX.log(2 * _CTX.mpf(10) ** _MAX_LOG10)  # cosh, sinh
_BIG = _CTX.mpf(10) ** _MAX_LOG10
_BIG_FRACTION = Fraction(10**_MAX_LOG10)
_EXACT_BITS = 20_000  # beyond, exact values are carried as 100-bit floats
#: A sub-expression on at most 2^12 spin assignments is evaluated exactly (Fraction, else 100-bit mpf),
#: within a budget of element operations; beyond, in float64 arrays (every configuration up to N = 20),
#: within a larger budget; beyond both, it is left to the number systems.
_EXACT_SIZE = 1 << 12
_EXACT_BUDGET = 300_000
_FLOAT_BUDGET = 40_000_000


class _Refusal(Exception):
    def __init__(self, node, what: str, where: dict | None):
        super().__init__(what)
        self.node, self.what, self.where = node, what, where


def _mp(v):
    if isinstance(v, Fraction):
        return _CTX.mpf(v.numerator) / v.denominator
    return v


def _exact_ok(q: Fraction) -> bool:
    return max(q.numerator.bit_length(), q.denominator.bit_length()) <= _EXACT_BITS


def _show(v) -> str:
    if isinstance(v, Fraction):
        return short_number(v) if len(str(v)) <= 20 else _CTX.nstr(_mp(v), 5)
    return f"{v:.5g}" if isinstance(v, float) else _CTX.nstr(v, 5)


class _Checker:
    """Values of every sub-expression on every assignment of its own spins: a list (exact ``Fraction``
    while cheap, else 100-bit ``mpf``) for few assignments, a float64 array for many; ``None`` where a
    parameter has no value (or the budget ran out)."""

    def __init__(self, spins, values):
        self.position = {s: k for k, s in enumerate(spins)}
        self.spins = spins
        self.values = values
        self.memo: dict = {}
        self.maps: dict = {}
        self.exact_spent = 0
        self.float_spent = 0
        self.symbolic_checks = 0

    # -- bookkeeping --------------------------------------------------------------------------------
    def index_map(self, outer: tuple, inner: tuple) -> np.ndarray:
        """``m[x]``: the index, among the assignments of ``inner``, of the assignment ``x`` of ``outer``."""
        key = (outer, inner)
        if key not in self.maps:
            x = np.arange(1 << len(outer), dtype=np.int64)
            m = (x >> outer.index(inner[0])) & 1 if inner else np.zeros_like(x)
            for j, p in enumerate(inner[1:], start=1):
                m |= ((x >> outer.index(p)) & 1) << j
            self.maps[key] = m
        return self.maps[key]

    def positions_of(self, node) -> tuple:
        return tuple(sorted(self.position[s] for s in node.free_symbols if s in self.position))

    def describe(self, positions: tuple, x) -> dict:
        return {self.spins[p]: 1 - 2 * ((int(x) >> j) & 1) for j, p in enumerate(positions)}

    def refuse(self, node, what, positions=(), x=0):
        raise _Refusal(node, what, self.describe(positions, x))

    def expand(self, val, positions: tuple, exact: bool):
        """``val``'s data on the assignments of ``positions`` (a superset of its own)."""
        pos, data = val
        if pos == positions and (exact or isinstance(data, np.ndarray)):
            return data
        m = self.index_map(positions, pos)
        if isinstance(data, np.ndarray):
            return data[m]
        if exact:
            return [data[i] for i in m.tolist()]
        return np.array([float(v) for v in data], dtype=np.float64)[m]

    # -- evaluation -------------------------------------------------------------------------------------
    def value(self, node):
        """``(positions, data)`` of ``node`` or ``None``."""
        if node in self.memo:
            return self.memo[node]
        result = self._value(node)
        if result is not None:
            self.check_range(node, *result)
        if result is None or not isinstance(result[1], np.ndarray) or len(result[1]) <= _EXACT_SIZE:
            self.memo[node] = result  # large float arrays are recomputed if shared, not kept
        return result

    def check_range(self, node, positions, data):
        if isinstance(data, np.ndarray):
            bad = np.flatnonzero(~np.isfinite(data) | (np.abs(data) > 1e300))
            if bad.size:
                what = f"reaches {_show(float(data[bad[0]]))}, beyond 1e{_MAX_LOG10} in magnitude"
                self.refuse(node, what, positions, bad[0])
            return
        for x, v in enumerate(data):
            if isinstance(v, Fraction):
                if abs(v) > _BIG_FRACTION:
                    self.refuse(node, f"reaches {_show(v)}, beyond 1e{_MAX_LOG10} in magnitude", positions, x)
            elif not _CTX.isfinite(v) or abs(v) > _BIG:
                self.refuse(node, f"reaches {_show(v)}, beyond 1e{_MAX_LOG10} in magnitude", positions, x)

    def tier(self, size: int, operations: int):
        """``True`` (exact lists), ``False`` (float64 arrays) or ``None`` (over budget), and spend it."""
        work = size * max(operations, 1)
        if size <= _EXACT_SIZE and self.exact_spent + work <= _EXACT_BUDGET:
            self.exact_spent += work
            return True
        if self.float_spent + work <= _FLOAT_BUDGET:
            self.float_spent += work
            return False
        return None

    def _value(self, node):
        if node.is_Symbol:
            if node in self.position:
                return (self.position[node],), [Fraction(1), Fraction(-1)]
            if self.values is not None and node in self.values:
                return (), [Fraction(self.values[node])]
            return None
        if node.is_Rational:
            return (), [Fraction(int(node.p), int(node.q))]
        if node in _NOT_FINITE or node is sp.I:
            self.refuse(node, "is not a real, finite number")
        if node.is_Number or node.is_NumberSymbol:
            return (), [_CTX.mpf(sp.Float(node, 35))]
        if isinstance(node, sp.Pow):
            return self.power(node)
        is_sum = isinstance(node, (sp.Add, sp.Mul))
        known = is_sum or (
            len(node.args) == 1 and isinstance(node, (sp.exp, sp.log, sp.cosh, sp.sinh, sp.tanh, sp.Abs))
        )
        positions = self.positions_of(node)
        if not is_sum:
            kids = [self.value(arg) for arg in node.args]
            if any(k is None for k in kids):
                self.symbolic(node)
                return None
            exact = self.tier(1 << len(positions), 1) if known else None
            if exact is None:
                return None  # a form the check does not know (or over budget): left to the number systems
            return positions, self.function(node, self.expand(kids[0], positions, exact), positions)
        # sums and products are accumulated one term at a time (one float64 array per term at most)
        exact = self.tier(1 << len(positions), len(node.args))
        total, unknown = None, False
        for arg in node.args:
            val = self.value(arg)
            if val is None:
                unknown = True
            if unknown or exact is None:
                continue
            data = self.expand(val, positions, exact)
            total = data if total is None else self.combine(total, data, isinstance(node, sp.Add))
        return None if unknown or exact is None else (positions, total)

    @staticmethod
    def combine(left, right, add: bool):
        if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            a = left if isinstance(left, np.ndarray) else np.array([float(v) for v in left])
            b = right if isinstance(right, np.ndarray) else np.array([float(v) for v in right])
            with np.errstate(all="ignore"):
                return a + b if add else a * b
        out = []
        for a, b in zip(left, right):
            if isinstance(a, Fraction) and isinstance(b, Fraction):
                q = a + b if add else a * b
                out.append(q if _exact_ok(q) else _mp(q))
            else:
                out.append(_mp(a) + _mp(b) if add else _mp(a) * _mp(b))
        return out

    def power(self, node):
        base = self.value(node.base)
        if not node.exp.is_Rational:
            self.value(node.exp)
            return None
        if base is None:
            self.symbolic(node)
            return None
        positions = base[0]
        exact = self.tier(1 << len(positions), 1)
        if exact is None:
            return None
        data = self.expand(base, positions, exact)
        k = Fraction(int(node.exp.p), int(node.exp.q))
        if isinstance(data, np.ndarray):
            return positions, self.power_array(node, data, k, positions)
        out = []
        for x, v in enumerate(data):
            if v == 0 and k < 0:
                self.refuse(node, "divides by zero", positions, x)
            if v < 0 and k.denominator != 1:
                self.refuse(node, f"is a non-integer power of the negative value {_show(v)}", positions, x)
            if v == 0:
                out.append(Fraction(0))
                continue
            size = float(_CTX.log10(abs(_mp(v)))) * float(k)
            if size > _MAX_LOG10 + 1:
                self.refuse(node, f"reaches about 1e{int(size)}, beyond 1e{_MAX_LOG10} in magnitude", positions, x)
            bits = max(v.numerator.bit_length(), v.denominator.bit_length()) if isinstance(v, Fraction) else 0
            if isinstance(v, Fraction) and k.denominator == 1 and bits * abs(k.numerator) <= _EXACT_BITS:
                q = v ** int(k)
                out.append(q if _exact_ok(q) else _mp(q))
            else:
                out.append(_CTX.power(_mp(v), _CTX.mpf(k.numerator) / k.denominator))
        return positions, out

    def power_array(self, node, data, k: Fraction, positions):
        if k < 0 and (data == 0).any():
            self.refuse(node, "divides by zero", positions, np.flatnonzero(data == 0)[0])
        if k.denominator != 1 and (data < 0).any():
            x = np.flatnonzero(data < 0)[0]
            self.refuse(node, f"is a non-integer power of the negative value {_show(float(data[x]))}", positions, x)
        with np.errstate(all="ignore"):
            size = np.where(data == 0, 0.0, np.log10(np.abs(data))) * float(k)
            if (size > _MAX_LOG10 + 1).any():
                x = np.flatnonzero(size > _MAX_LOG10 + 1)[0]
                self.refuse(node, f"reaches about 1e{int(size[x])}, beyond 1e{_MAX_LOG10} in magnitude", positions, x)
            return np.power(data, float(k))

    _LIMITS = {"exp": (float(_EXP_LIMIT), False), "cosh": (float(_COSH_LIMIT), True),
               "sinh": (float(_COSH_LIMIT), True)}
    _NUMPY = {"log": np.log, "exp": np.exp, "cosh": np.cosh, "sinh": np.sinh, "tanh": np.tanh, "Abs": np.abs}

    def function(self, node, data, positions):
        name = type(node).__name__
        if not isinstance(data, np.ndarray):
            return [self.scalar_function(node, name, v, positions, x) for x, v in enumerate(data)]
        if name == "log":
            bad = np.flatnonzero(data <= 0)
            if bad.size:
                what = f"is the log of the non-positive value {_show(float(data[bad[0]]))}"
                self.refuse(node, what, positions, bad[0])
        if name in self._LIMITS:
            limit, two_sided = self._LIMITS[name]
            bad = np.flatnonzero((np.abs(data) if two_sided else data) > limit)
            if bad.size:
                self.refuse(node, f"is {name} of {_show(float(data[bad[0]]))}, beyond 1e{_MAX_LOG10} in magnitude",
                            positions, bad[0])
        with np.errstate(all="ignore"):
            return self._NUMPY[name](data)

    def scalar_function(self, node, name, v, positions, x):
        if name == "Abs":
            return abs(v)
        if name == "log":
            if v <= 0:
                self.refuse(node, f"is the log of the non-positive value {_show(v)}", positions, x)
            return _CTX.log(_mp(v))
        m = _mp(v)
        if name in self._LIMITS:
            limit, two_sided = self._LIMITS[name]
            if (abs(m) if two_sided else m) > limit:
                self.refuse(node, f"is {name} of {_show(m)}, beyond 1e{_MAX_LOG10} in magnitude", positions, x)
            return {"exp": _CTX.exp, "cosh": _CTX.cosh, "sinh": _CTX.sinh}[name](m)
        return _CTX.tanh(m)

    # -- what sympy decides without the parameter values ------------------------------------------------
    def symbolic(self, node):
        """For a log, a root or a division whose argument involves parameters (no values given): refuse when
        sympy proves it undefined for every real value of them on some assignment of the spins (a bounded
        number of tries; what sympy cannot decide waits for the parameter values)."""
        if self.values is not None:
            return
        if isinstance(node, sp.log):
            arg, test, what = node.args[0], "is_extended_nonpositive", "is the log of a value that is never positive"
        elif isinstance(node, sp.Pow) and node.exp.is_Rational and not node.exp.is_Integer:
            arg, test = node.base, "is_extended_negative"
            what = "is a non-integer power of a value that is always negative"
        elif isinstance(node, sp.Pow) and node.exp.is_Rational and node.exp < 0:
            arg, test, what = node.base, "is_zero", "divides by zero"
        else:
            return
        spins = sorted((s for s in arg.free_symbols if s in self.position), key=self.position.get)
        if len(spins) > 6 or sp.count_ops(arg) > 200 or self.symbolic_checks > 2_000:
            return
        positions = tuple(self.position[s] for s in spins)
        for x in range(1 << len(spins)):
            self.symbolic_checks += 1
            if getattr(arg.xreplace(self.describe(positions, x)), test):
                self.refuse(node, what + " (for any value of the parameters)", positions, x)


def check_energy_values(expr, spins, values: dict | None = None) -> None:
    r"""Refuse (one line) an energy that is not a real, finite function on every spin configuration.

    ``values`` maps parameter symbols to exact values (then every configuration is evaluated there);
    without it, the parts without parameters are evaluated and the rest is decided symbolically where
    sympy can. Logarithms need positive arguments, non-integer powers non-negative bases, divisions
    non-zero divisors, and every value must stay within ``1e300`` in magnitude.
    """
    checker = _Checker(tuple(spins), values)
    try:
        checker.value(sp.sympify(expr))
    except _Refusal as err:
        shown = list(err.where.items()) if err.where else []
        at = ", ".join(f"{s}={v:+d}" for s, v in shown[:6]) + (", ..." if len(shown) > 6 else "")
        context = " at " + at if at else ""
        if values is not None:
            context += (" and " if at else " at ") + "the given params"
        raise SpecError(
            f"custom energy is not a real, finite function of the spins: {_short(err.node)} {err.what}{context}"
        ) from None


def _overflow_guard(f, name: str, two_sided: bool):
    """``f`` refusing (one line) an argument whose result would pass 1e300 in magnitude: at a parameter
    point that a flow or a Newton step reaches, ``exp(1e13)`` is representable in mpmath but every later
    ``exp`` of it (the log-sum-exp) would run for hours. Used for the mpmath number system."""
    limit = float(_EXP_LIMIT if name == "exp" else _COSH_LIMIT)

    def too_large(v) -> bool:
        return (abs(v) if two_sided else v) > limit

    def guarded(x):
        values = x.reshape(-1) if isinstance(x, np.ndarray) else (x,)
        for v in values:
            if too_large(v):
                raise SpecError(
                    f"custom energy: {name} of {mpmath.nstr(v, 5)} at a parameter point reached by the computation "
                    f"exceeds 1e{_MAX_LOG10}; the energy overflows there"
                )
        return f(x)

    return guarded


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
        mapping["exp"] = _overflow_guard(arith.exp, "exp", two_sided=False)
        mapping["cosh"] = _overflow_guard(arith.cosh, "cosh", two_sided=True)
        mapping["sinh"] = _overflow_guard(arith.sinh, "sinh", two_sided=True)
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
