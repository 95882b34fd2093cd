"""Small helpers shared by the proposition checks."""

from __future__ import annotations

import mpmath
import numpy as np

__all__ = ["max_abs", "relative_max_abs"]


def max_abs(a) -> mpmath.mpf:
    """:math:`\\max_k |a_k|` over all entries (0 for an empty array)."""
    flat = np.asarray(a, dtype=object).reshape(-1)
    return max((abs(mpmath.mpf(v)) for v in flat), default=mpmath.mpf(0))


def relative_max_abs(a, b) -> mpmath.mpf:
    """:math:`\\max|a-b| / (1 + \\max|b|)`: an absolute error for O(1) values, relative for large ones."""
    return max_abs(np.asarray(a, dtype=object) - np.asarray(b, dtype=object)) / (1 + max_abs(b))
