"""Small helpers shared by the proposition checks."""

from __future__ import annotations

import mpmath
import numpy as np

from ..linalg import max_abs

__all__ = ["max_abs", "relative_max_abs"]


def relative_max_abs(a, b) -> mpmath.mpf:
    """:math:`\\max|a-b| / (1 + \\max|b|)`: an absolute error for O(1) values, relative for large ones."""
    return max_abs(np.asarray(a, dtype=object) - np.asarray(b, dtype=object)) / (1 + max_abs(b))
