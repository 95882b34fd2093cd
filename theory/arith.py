r"""Number systems the formulas are written once for.

Every formula of the suite operates on numpy arrays whose elements are either

* ``float64`` (:data:`FLOAT64`): fast, for integration and sweeps;
* mpmath ``mpf`` in ``object`` arrays (:data:`MP`): any precision; the working precision is the
  caller's ``mpmath.mp.workdps`` context, never set here;
* sympy expressions in ``object`` arrays (:data:`EXACT`): exact rationals and closed forms.

An :class:`Arith` converts exact inputs (``Fraction``, ``int``, decimal ``str``) into its number
type and supplies the elementwise functions. Float64 versions are written to avoid overflow
(:math:`\log 2\cosh x = |x| + \log(1 + e^{-2|x|})`); the mpmath and sympy versions use the defining
formula, since mpmath has no exponent overflow. No clamps anywhere.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np

from .lazy_sympy import sp

__all__ = ["Arith", "ELEMENTARY", "FLOAT64", "MP", "EXACT", "to_fraction"]


def to_fraction(value) -> Fraction:
    """Exact rational value of an int, Fraction, Decimal, decimal string or float."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, float)):
        return Fraction(value)
    if "sympy" in sys.modules and isinstance(value, sp.Rational):  # no sympy object exists before sympy is imported
        return Fraction(int(value.p), int(value.q))
    return Fraction(str(value).strip())


#: the elementary functions every number system provides (fields of :class:`Arith`, elementwise)
ELEMENTARY = ("exp", "log", "cosh", "sinh", "tanh", "sqrt")


@dataclass(frozen=True)
class Arith:
    """One number system: conversion of exact values plus elementwise functions on arrays."""

    name: str
    dtype: object
    scalar: Callable[[Fraction], object]
    exp: Callable
    log: Callable
    cosh: Callable
    sinh: Callable
    tanh: Callable
    sqrt: Callable
    log2cosh: Callable
    softplus: Callable
    sigmoid: Callable

    def array(self, values) -> np.ndarray:
        """Array of this number type from exact values (Fraction, int, str) of any shape."""
        arr = np.asarray(values, dtype=object)
        out = np.empty(arr.shape, dtype=self.dtype)
        flat_in = arr.reshape(-1)
        flat_out = out.reshape(-1)
        for k, v in enumerate(flat_in):
            flat_out[k] = self.scalar(to_fraction(v))
        return out

    def zeros(self, shape) -> np.ndarray:
        """Zeros of this number type."""
        if self.dtype is object:
            out = np.empty(shape, dtype=object)
            out.fill(self.scalar(Fraction(0)))
            return out
        return np.zeros(shape, dtype=self.dtype)

    def ints(self, values) -> np.ndarray:
        """Integer array (e.g. spins) converted to this number type."""
        arr = np.asarray(values)
        if self.dtype is object:
            distinct, where = np.unique(arr, return_inverse=True)  # spins and characters: a few values
            converted = np.empty(len(distinct), dtype=object)
            for k, v in enumerate(distinct):
                converted[k] = self.scalar(Fraction(int(v)))
            return converted[where.reshape(-1)].reshape(arr.shape)
        return arr.astype(self.dtype)

    def logsumexp(self, x: np.ndarray):
        r""":math:`\log \sum_k e^{x_k}` shifted by the maximum (no overflow at float64)."""
        if self.name == "exact":
            return sp.log(sp.Add(*[sp.exp(v) for v in x]))
        top = max(x) if self.dtype is object else np.max(x)
        return top + self.log(np.sum(self.exp(x - top)))

    @property
    def is_exact(self) -> bool:
        return self.name == "exact"


def _f64_log2cosh(x):
    ax = np.abs(x)
    return ax + np.log1p(np.exp(-2.0 * ax))


def _f64_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _f64_scalar(q: Fraction) -> float:
    return float(q)


FLOAT64 = Arith(
    name="float64",
    dtype=np.float64,
    scalar=_f64_scalar,
    exp=np.exp,
    log=np.log,
    cosh=np.cosh,
    sinh=np.sinh,
    tanh=np.tanh,
    sqrt=np.sqrt,
    log2cosh=_f64_log2cosh,
    softplus=lambda x: np.logaddexp(0.0, x),
    sigmoid=_f64_sigmoid,
)


def _ufunc(f):
    u = np.frompyfunc(f, 1, 1)

    def apply(x):
        out = u(x)
        return out

    return apply


def _mp_scalar(q: Fraction):
    # numerator / denominator rounded once at the caller's working precision
    return mpmath.mpf(q.numerator) / q.denominator


MP = Arith(
    name="mpmath",
    dtype=object,
    scalar=_mp_scalar,
    exp=_ufunc(mpmath.exp),
    log=_ufunc(mpmath.log),
    cosh=_ufunc(mpmath.cosh),
    sinh=_ufunc(mpmath.sinh),
    tanh=_ufunc(mpmath.tanh),
    sqrt=_ufunc(mpmath.sqrt),
    log2cosh=_ufunc(lambda x: mpmath.log(2 * mpmath.cosh(x))),
    softplus=_ufunc(lambda x: mpmath.log1p(mpmath.exp(x))),
    sigmoid=_ufunc(lambda x: 1 / (1 + mpmath.exp(-x))),
)


EXACT = Arith(
    name="exact",
    dtype=object,
    scalar=lambda q: sp.Rational(q.numerator, q.denominator),
    exp=_ufunc(lambda x: sp.exp(x)),
    log=_ufunc(lambda x: sp.log(x)),
    cosh=_ufunc(lambda x: sp.cosh(x)),
    sinh=_ufunc(lambda x: sp.sinh(x)),
    tanh=_ufunc(lambda x: sp.tanh(x)),
    sqrt=_ufunc(lambda x: sp.sqrt(x)),
    log2cosh=_ufunc(lambda x: sp.log(2 * sp.cosh(x))),
    softplus=_ufunc(lambda x: sp.log(1 + sp.exp(x))),
    sigmoid=_ufunc(lambda x: 1 / (1 + sp.exp(-x))),
)
