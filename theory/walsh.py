r"""Characters, the fast Walsh–Hadamard and Möbius transforms, and gauge conversion.

All transforms are in-place-style butterflies of cost :math:`O(N 2^N)` per column, written once
for numpy arrays of any element type (float64, mpmath ``mpf``, sympy expressions); the first
axis has length ``2^N`` and is indexed by configurations or by subset masks
(see :mod:`theory.conventions`). Trailing axes are transformed column by column.

* Walsh–Hadamard: :math:`\hat f(A) = \sum_x f(x)\,\chi_A(s(x))`; its inverse is
  :math:`f = 2^{-N}\,\mathrm{WHT}(\hat f)`.
* Spin-gauge couplings of :math:`F`: :math:`J_A = 2^{-N}\sum_s F(s)\chi_A(s)`.
* Boolean-gauge couplings (Möbius transform):
  :math:`K_A = \sum_{B\subseteq A} (-1)^{|A|-|B|} F(v = 1_B)`.
* Gauge conversion, from :math:`\prod_{i\in A} s_i = \prod_{i\in A}(2v_i - 1)`:
  :math:`K_B = 2^{|B|}\sum_{A\supseteq B}(-1)^{|A|-|B|} J_A` and
  :math:`J_A = \sum_{B\supseteq A} 2^{-|B|} K_B`.

>>> import numpy as np
>>> walsh_hadamard(np.array([1.0, 2.0, 3.0, 4.0])).tolist()
[10.0, -2.0, -4.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from .conventions import canonical_masks, subset_mask
from .fixedpoint import from_fixed, is_mpf_array, to_fixed

__all__ = [
    "character",
    "character_table",
    "walsh_hadamard",
    "inverse_walsh_hadamard",
    "walsh_matrix",
    "spin_couplings",
    "energy_from_spin_couplings",
    "mobius",
    "zeta",
    "boolean_couplings",
    "energy_from_boolean_couplings",
    "spin_to_boolean",
    "boolean_to_spin",
    "to_canonical",
    "from_canonical",
]


def _nbits(length: int) -> int:
    n = length.bit_length() - 1
    if length < 1 or (1 << n) != length:
        raise ValueError(f"transform length must be a power of two, got {length}")
    return n


def character(A, x: int) -> int:
    r""":math:`\chi_A(s(x)) = \prod_{i \in A} s_i = (-1)^{\mathrm{popcount}(x \& \mathrm{mask}_A)}`."""
    return -1 if bin(x & subset_mask(A)).count("1") % 2 else 1


def character_table(n: int) -> np.ndarray:
    """Matrix ``T[x, a] = χ_{mask a}(s(x))`` (dense; for tests and benchmarks only)."""
    x = np.arange(2**n)
    parity = np.zeros((2**n, 2**n), dtype=np.int64)
    both = x[:, None] & x[None, :]
    for b in range(n):
        parity ^= (both >> b) & 1
    return 1 - 2 * parity


walsh_matrix = character_table


def _butterfly(values: np.ndarray, combine) -> np.ndarray:
    a = np.array(values, copy=True)
    length = a.shape[0]
    _nbits(length)
    rest = a.shape[1:]
    h = 1
    while h < length:
        view = a.reshape(length // (2 * h), 2, h, *rest)
        low = view[:, 0].copy()
        high = view[:, 1].copy()
        new_low, new_high = combine(low, high)
        view[:, 0] = new_low
        view[:, 1] = new_high
        h *= 2
    return a


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    r"""Unnormalised transform :math:`\hat f(a) = \sum_x f(x)(-1)^{\mathrm{popcount}(x\&a)}` along axis 0.

    mpmath arrays go through :func:`_fixed_point_walsh_hadamard` (exact integer butterfly).
    """
    if is_mpf_array(values):
        return _fixed_point_walsh_hadamard(values)
    return _butterfly(values, lambda lo, hi: (lo + hi, lo - hi))


def _normalised_walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """:math:`2^{-N}` times :func:`walsh_hadamard` (for mpf the factor is an exact exponent shift)."""
    if is_mpf_array(values):
        return _fixed_point_walsh_hadamard(values, extra_exponent=-_nbits(values.shape[0]))
    # float64 divides in floating point; mpf and sympy elements divide by a Python int
    # with one rounding (mpmath) or exactly (sympy)
    return walsh_hadamard(values) / values.shape[0]


def _fixed_point_walsh_hadamard(values: np.ndarray, extra_exponent: int = 0) -> np.ndarray:
    r"""Walsh–Hadamard transform of ``mpf`` values through exact integer arithmetic
    (:mod:`theory.fixedpoint`): the inputs go on a common grid ``N`` bits finer than usual, the
    butterfly adds integers exactly, and each output is rounded once after multiplying by
    :math:`2^{\text{extra\_exponent}}` (exactly)."""
    ints, shift = to_fixed(values, extra_bits=_nbits(values.shape[0]))
    summed = _butterfly(ints, lambda lo, hi: (lo + hi, lo - hi))
    return from_fixed(summed, shift - extra_exponent)


def inverse_walsh_hadamard(values: np.ndarray) -> np.ndarray:
    r"""Inverse of :func:`walsh_hadamard`: :math:`f = 2^{-N}\,\mathrm{WHT}(\hat f)`."""
    return _normalised_walsh_hadamard(values)


def to_canonical(by_mask: np.ndarray, n: int) -> np.ndarray:
    """Reorder a mask-indexed array (axis 0 of length ``2^n``) into canonical subset order, dropping ∅."""
    return by_mask[canonical_masks(n)]


def from_canonical(canonical: np.ndarray, n: int, empty=0) -> np.ndarray:
    """Inverse of :func:`to_canonical`; the ∅ entry is filled with ``empty``."""
    shape = (2**n,) + canonical.shape[1:]
    out = np.empty(shape, dtype=canonical.dtype)
    out[0] = empty
    out[canonical_masks(n)] = canonical
    return out


def spin_couplings(energy: np.ndarray, n: int) -> np.ndarray:
    r"""Effective couplings :math:`J_A = 2^{-N}\sum_s F(s)\chi_A(s)`, canonical order, ∅ dropped.

    ``energy`` holds :math:`F = -E` on the ``2^n`` configurations (axis 0); trailing axes are
    transformed too (so the Walsh transform of :math:`\partial F/\partial\theta` is :math:`G`).
    """
    return to_canonical(_normalised_walsh_hadamard(energy), n)


def energy_from_spin_couplings(J: np.ndarray, n: int, constant=0) -> np.ndarray:
    r""":math:`F(s) = J_\emptyset + \sum_{A\neq\emptyset} J_A \chi_A(s)` on all configurations."""
    return walsh_hadamard(from_canonical(J, n, empty=constant))


def mobius(values: np.ndarray) -> np.ndarray:
    r"""Subset Möbius transform :math:`g(a) = \sum_{b \subseteq a}(-1)^{|a|-|b|} f(b)` (masks, axis 0)."""
    return _butterfly(values, lambda lo, hi: (lo, hi - lo))


def zeta(values: np.ndarray) -> np.ndarray:
    r"""Subset zeta transform :math:`f(a) = \sum_{b\subseteq a} g(b)`, the inverse of :func:`mobius`."""
    return _butterfly(values, lambda lo, hi: (lo, hi + lo))


def _superset_mobius(values: np.ndarray) -> np.ndarray:
    return _butterfly(values, lambda lo, hi: (lo - hi, hi))


def _superset_zeta(values: np.ndarray) -> np.ndarray:
    return _butterfly(values, lambda lo, hi: (lo + hi, hi))


def boolean_couplings(energy: np.ndarray, n: int) -> np.ndarray:
    r"""Boolean-gauge coefficients :math:`K_A = \sum_{B\subseteq A}(-1)^{|A|-|B|}F(v=1_B)`, canonical order.

    :math:`v = 1_B` means spins in ``B`` are :math:`+1` and the others :math:`-1`, i.e. configuration
    index ``x = (2^n - 1) XOR mask_B``: the Boolean-indexed table is the configuration table
    reversed. The constant :math:`K_\emptyset = F(v = 0)` is dropped.
    """
    return to_canonical(mobius(energy[::-1]), n)


def energy_from_boolean_couplings(K: np.ndarray, n: int, constant=0) -> np.ndarray:
    r""":math:`F(v) = K_\emptyset + \sum_A K_A \prod_{i\in A} v_i` on all configurations (index ``x``)."""
    return zeta(from_canonical(K, n, empty=constant))[::-1].copy()


def _subset_sizes_as_powers(n: int, dtype) -> np.ndarray:
    """:math:`2^{|B|}` for every mask ``B`` (Python ints for object arrays, floats otherwise)."""
    powers = np.array([1 << bin(m).count("1") for m in range(2**n)], dtype=object)
    return powers if dtype == object else powers.astype(np.float64)


def _empty_entry(values: np.ndarray):
    return values.dtype.type(0) if values.dtype != object else 0 * values[0]


def spin_to_boolean(J: np.ndarray, n: int) -> np.ndarray:
    r"""Boolean couplings from spin couplings: :math:`K_B = 2^{|B|}\sum_{A\supseteq B}(-1)^{|A|-|B|}J_A`.

    Nonempty subsets only (canonical order); the dropped :math:`J_\emptyset` only shifts
    :math:`K_\emptyset`, so the nonempty :math:`K` are determined.
    """
    full = from_canonical(np.asarray(J), n, empty=_empty_entry(J))
    return to_canonical(_superset_mobius(full) * _subset_sizes_as_powers(n, full.dtype), n)


def boolean_to_spin(K: np.ndarray, n: int) -> np.ndarray:
    r"""Spin couplings from Boolean couplings: :math:`J_A = \sum_{B\supseteq A} 2^{-|B|} K_B` (nonempty ``A``)."""
    full = from_canonical(np.asarray(K), n, empty=_empty_entry(K))
    # object entries (mpf, sympy, Fraction) divided by Python ints: exact or one rounding
    return to_canonical(_superset_zeta(full / _subset_sizes_as_powers(n, full.dtype)), n)
