r"""Dense linear algebra at the working precision (mpmath), on numpy object arrays.

Symmetric eigen-decompositions (:func:`symmetric_eigen`), singular values (:func:`singular_values`),
principal angles between subspaces, and the minimal-norm
least-squares step :math:`-A^+ b` used by Newton and Gauss–Newton.
"""

from __future__ import annotations

import mpmath
import numpy as np

__all__ = [
    "as_matrix",
    "from_matrix",
    "symmetric_eigen",
    "singular_values",
    "right_singular",
    "pseudo_inverse_solve",
    "principal_angle_sines",
    "norm",
    "max_abs",
]


def as_matrix(a: np.ndarray) -> mpmath.matrix:
    """numpy object (or float) array to an mpmath matrix at the working precision."""
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    return mpmath.matrix([[mpmath.mpf(v) for v in row] for row in a])


def from_matrix(m: mpmath.matrix) -> np.ndarray:
    """mpmath matrix to a numpy object array."""
    return np.array([[m[i, j] for j in range(m.cols)] for i in range(m.rows)], dtype=object)


def max_abs(a) -> mpmath.mpf:
    r""":math:`\max_k |a_k|` over all entries (0 for an empty array)."""
    flat = np.asarray(a, dtype=object).reshape(-1)
    return max((abs(mpmath.mpf(v)) for v in flat), default=mpmath.mpf(0))


def norm(v) -> mpmath.mpf:
    r"""Euclidean norm :math:`\|v\|_2` of all entries."""
    flat = np.asarray(v, dtype=object).reshape(-1)
    return mpmath.sqrt(mpmath.fsum(x * x for x in flat)) if flat.size else mpmath.mpf(0)


def symmetric_eigen(H: np.ndarray) -> tuple[list, np.ndarray]:
    r"""Eigenvalues (ascending) and orthonormal eigenvectors (columns) of the symmetrised :math:`(H+H^\top)/2`."""
    sym = (H + H.T) / 2
    evals, Q = mpmath.eigsy(as_matrix(sym))
    order = sorted(range(len(evals)), key=lambda k: evals[k])
    vecs = from_matrix(Q)
    return [evals[k] for k in order], vecs[:, order]


def singular_values(A: np.ndarray) -> list:
    """Singular values of ``A``, descending (``min(rows, cols)`` of them)."""
    if A.size == 0:
        return []
    s = mpmath.svd_r(as_matrix(A), compute_uv=False)
    return sorted((s[k] for k in range(len(s))), reverse=True)


def right_singular(A: np.ndarray) -> tuple[list, np.ndarray]:
    r"""Singular values of ``A`` (descending) padded with zeros to ``cols``, and all right singular vectors (columns).

    From a full SVD (not from :math:`A^\top A`, which would lose half the digits of small singular
    values). The columns belonging to the zero (padded) values span :math:`\ker A`.
    """
    rows, cols = A.shape
    if rows >= cols:
        _, S, V = mpmath.svd_r(as_matrix(A), full_matrices=False)
        vectors = from_matrix(V).T
    else:
        # the right singular vectors of A are the left ones of A^T, completed to a basis of R^cols
        U, S, _ = mpmath.svd_r(as_matrix(A.T), full_matrices=True)
        vectors = from_matrix(U)
    values = [S[k] for k in range(len(S))] + [mpmath.mpf(0)] * (cols - len(S))
    order = sorted(range(cols), key=lambda k: -values[k])
    return [values[k] for k in order], vectors[:, order]


def pseudo_inverse_solve(A: np.ndarray, b: np.ndarray, rel_cutoff) -> np.ndarray:
    r"""Minimal-norm least-squares solution :math:`x = A^+ b`, singular values below ``rel_cutoff·σ_max`` dropped."""
    U, S, V = mpmath.svd_r(as_matrix(A))
    smax = max((S[k] for k in range(len(S))), default=mpmath.mpf(0))
    x = mpmath.matrix(A.shape[1], 1)
    bm = as_matrix(b)
    for k in range(len(S)):
        if S[k] > rel_cutoff * smax and S[k] > 0:
            coef = (U[:, k].T * bm)[0] / S[k]
            x += coef * V[k, :].T
    return np.array([x[i] for i in range(A.shape[1])], dtype=object)


def principal_angle_sines(U: np.ndarray, V: np.ndarray) -> list:
    r"""Sines of the principal angles between the column spans of orthonormal ``U`` and ``V`` (same dimension).

    They are the singular values of :math:`(I - UU^\top)V`, computed directly (not as
    :math:`\sqrt{1-\cos^2}`, which would lose half the digits near zero angles).
    """
    if U.shape[1] == 0:
        return []
    residual = V - U @ (U.T @ V)
    return sorted(singular_values(residual), reverse=True)
