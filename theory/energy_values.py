r"""Is a custom energy a real, finite function of the spins? (:func:`check_energy_values`)

On every spin configuration, every logarithm must have a positive argument, every non-integer power a
non-negative base, no division may be by zero, and every value must stay within :math:`10^{300}` in
magnitude (the range of float64, in which flows evaluate the energy). Sub-expressions that involve
only spins and numbers are evaluated exactly (``Fraction``, else 100-bit mpmath) on every assignment
of their own spins; parts with parameters are decided symbolically where sympy can
(``log(-1 - a**2)`` is undefined for every ``a``), and numerically at the case's parameter values once
they are known (:meth:`theory.models.Custom.parse_params`). :func:`overflow_guard` stops an mpmath
evaluation whose ``exp``, ``cosh`` or ``sinh`` would pass that range at a point a computation reaches.
Every refusal is one line naming the offending sub-expression, shortened to about 80 characters.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from .lazy_sympy import sp
from .conventions import MAX_MAGNITUDE_EXPONENT, short_number
from .errors import SpecError

__all__ = ["check_energy_values", "overflow_guard", "short_expression"]

_MAX_LOG10 = MAX_MAGNITUDE_EXPONENT

def _not_finite() -> tuple:
    """sympy's non-finite atoms (complex infinity, NaN, ±oo)."""
    return (sp.S.ComplexInfinity, sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity)


def short_expression(expr, limit: int = 80) -> str:
    """An expression (sympy or source text) for an error message, at most about ``limit`` characters."""
    text = expr if isinstance(expr, str) else sp.sstr(expr)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_short = short_expression

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
        if node in _not_finite() or node is sp.I:
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


def overflow_guard(f, name: str, two_sided: bool):
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
