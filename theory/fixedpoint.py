r"""Exact integer arithmetic for linear algebra on mpmath arrays (the speed path of :data:`~theory.arith.MP`).

An array of ``mpf`` values is put on the grid :math:`2^{-k}\mathbb Z`, with :math:`k` chosen
``guard`` bits beyond the working precision below its largest entry (one rounding of at most a
grid unit, far below the entries' own rounding); sums and products of such integers are exact
(Python integers, gmpy2 underneath mpmath), and each result is rounded once to the working
precision. This is at least as accurate as ``mpf`` arithmetic, in which every addition rounds,
and an order of magnitude faster, since an integer operation costs a fraction of an ``mpf`` one.

>>> import mpmath, numpy as np
>>> with mpmath.workdps(30):
...     a = np.array([[mpmath.mpf(1) / 3, mpmath.mpf(2)]], dtype=object)
...     b = np.array([[mpmath.mpf(3)], [mpmath.mpf(1) / 7]], dtype=object)
...     abs(matmul(a, b)[0, 0] - (1 + mpmath.mpf(2) / 7)) < mpmath.mpf(10) ** -29
True
"""

from __future__ import annotations

import mpmath
import numpy as np
from mpmath.libmp import from_man_exp

__all__ = ["is_mpf_array", "to_fixed", "from_fixed", "matmul", "integer_matmul"]

GUARD_BITS = 24


def is_mpf_array(a) -> bool:
    """An object array whose entries are all ``mpf``."""
    if not isinstance(a, np.ndarray) or a.dtype != object or a.size == 0:
        return False
    mpf = mpmath.mpf
    return all(type(v) is mpf for v in a.reshape(-1).tolist()) or all(isinstance(v, mpf) for v in a.reshape(-1))


def to_fixed(a: np.ndarray, extra_bits: int = 0) -> tuple[np.ndarray, int]:
    """``(ints, shift)`` with ``a ≈ ints · 2^-shift`` (ints exact Python integers, same shape)."""
    flat = a.reshape(-1)
    parts = [v._mpf_ for v in flat]
    top = max((exp + bc for _, man, exp, bc in parts if man), default=0)
    shift = mpmath.mp.prec + GUARD_BITS + extra_bits - top
    ints = np.empty(flat.shape, dtype=object)
    for k, (sign, man, exp, _) in enumerate(parts):
        e = exp + shift
        q = int(man) << e if e >= 0 else int(man) >> -e
        ints[k] = -q if sign else q
    return ints.reshape(a.shape), shift


def from_fixed(ints: np.ndarray, shift: int) -> np.ndarray:
    """``ints · 2^-shift`` rounded once to the working precision, as an ``mpf`` array."""
    prec = mpmath.mp.prec
    make = mpmath.mp.make_mpf
    flat = np.asarray(ints, dtype=object).reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for k, q in enumerate(flat):
        out[k] = make(from_man_exp(int(q), -shift, prec, "n"))
    return out.reshape(np.shape(ints))


def _is_ball_array(a) -> bool:
    """An object array of Arb balls (python-flint ``arb``: the certificates' number type)."""
    return (isinstance(a, np.ndarray) and a.dtype == object and a.ndim == 2 and a.size > 0
            and type(a.flat[0]).__name__ == "arb")


def _ball_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ball matrices by Arb's ``arb_mat`` product (rigorous, in C)."""
    import flint

    out = flint.arb_mat(a.tolist()) * flint.arb_mat(b.tolist())
    result = np.empty((out.nrows(), out.ncols()), dtype=object)
    for i in range(out.nrows()):
        for j in range(out.ncols()):
            result[i, j] = out[i, j]
    return result


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for ``mpf`` arrays through exact integer products, for Arb balls through ``arb_mat``
    (falls back to ``@`` otherwise)."""
    if _is_ball_array(a) and _is_ball_array(b):
        try:
            return _ball_matmul(a, b)
        except (TypeError, ValueError):  # not balls throughout after all
            return a @ b
    if not (is_mpf_array(a) and is_mpf_array(b)):
        return a @ b
    ia, sa = to_fixed(a)
    ib, sb = to_fixed(b)
    return from_fixed(_integer_matmul(ia, ib), sa + sb)


def integer_matmul(ints: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``ints @ b`` for an integer matrix (characters, spins) and an ``mpf`` vector or matrix: the integer
    products exact, each entry rounded once (other number types: numpy's ``@``)."""
    b = np.asarray(b)
    if not is_mpf_array(b):
        return np.asarray(ints) @ b
    column = b.reshape(-1, 1) if b.ndim == 1 else b
    ib, sb = to_fixed(column)
    out = from_fixed(_integer_matmul(np.asarray(ints, dtype=object), ib), sb)
    return out.reshape(-1) if b.ndim == 1 else out


def _integer_matmul(ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Exact product of two integer matrices: FLINT's ``fmpz_mat`` (multimodular, in C) when python-flint is
    there, else numpy's object ``@`` (the same integers either way)."""
    if ia.ndim != 2 or ib.ndim != 2 or min(ia.shape + ib.shape) == 0:
        return ia @ ib
    try:
        import flint
    except ImportError:  # pragma: no cover - python-flint is a runtime dependency
        return ia @ ib
    A = flint.fmpz_mat(ia.shape[0], ia.shape[1], [int(v) for v in ia.reshape(-1)])
    B = flint.fmpz_mat(ib.shape[0], ib.shape[1], [int(v) for v in ib.reshape(-1)])
    out = np.empty(ia.shape[0] * ib.shape[1], dtype=object)
    out[:] = [int(v) for v in (A * B).entries()]
    return out.reshape(ia.shape[0], ib.shape[1])
