r"""Dense linear algebra at the working precision, on numpy object arrays of mpmath numbers.

The heavy work runs in FLINT/Arb (python-flint), the numbers stay mpmath's at the interface:

* symmetric eigen-decompositions (:func:`symmetric_eigen`): Arb's approximate QR eigensolver
  (``acb_mat.eig(algorithm="approx")``) at the working precision plus :data:`FLINT_GUARD_BITS`, the
  eigenvectors made exactly real (a unit phase per column) and orthonormal (Newton–Schulz
  iterations, quadratically convergent from the solver's near-orthonormal output); a matrix with
  clusters of equal eigenvalues (kernels, ± pairs), where the solver's vectors can be nearly dependent,
  goes to mpmath's ``eigsy``;
* singular values and right singular vectors (:func:`singular_values`, :func:`right_singular`) and the
  minimal-norm least-squares step (:func:`pseudo_inverse_solve`) from the eigen-decomposition of
  :math:`A^\top A` formed and decomposed at **twice** the working bits. Why not the augmented
  :math:`\begin{pmatrix}0&A\\A^\top&0\end{pmatrix}` (eigenvalues :math:`\pm\sigma_i`): it is
  :math:`(D+P)^2` instead of :math:`P^2` (for ``rbm`` N = 10, M = 8: 1121² against 98²). Squaring
  costs half the digits of a small :math:`\sigma` relative to :math:`\sigma_{\max}`; doubling the bits
  gives them back: :math:`\lambda(A^\top A)` is computed to :math:`\epsilon^2\sigma_{\max}^2`, so
  :math:`\sigma = \sqrt\lambda` to :math:`\epsilon\,\sigma_{\max}`, the accuracy of an SVD of ``A`` at the
  working precision (and of ``A``'s own entries: Weyl's bound).

The mpmath routines they replace are kept (``mpmath_*``) as the independent reference of the tests
and the baseline of ``benchmarks/bench_classify.py``.
"""

from __future__ import annotations

from contextlib import contextmanager

import mpmath
import numpy as np

from theory.fixedpoint import matmul

__all__ = [
    "as_matrix",
    "from_matrix",
    "symmetric_eigen",
    "symmetric_eigenvalues",
    "singular_values",
    "right_singular",
    "pseudo_inverse_solve",
    "principal_angle_sines",
    "norm",
    "max_abs",
    "mpmath_symmetric_eigen",
    "mpmath_right_singular",
    "mpmath_pseudo_inverse_solve",
    "FLINT_GUARD_BITS",
]

#: bits beyond mpmath's working precision at which FLINT decomposes (and twice that for A^T A)
FLINT_GUARD_BITS = 20
#: Newton–Schulz iterations allowed to orthonormalise the eigenvectors (each doubles the correct bits)
ORTHONORMALISE_ITERATIONS = 12


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


# --- conversions between mpmath and Arb (exact: binary mantissa and exponent) -------------------------


def _flint():
    import flint

    return flint


@contextmanager
def _arb_precision(bits: int):
    flint = _flint()
    saved = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        yield flint
    finally:
        flint.ctx.prec = saved


def _to_arb(flint, x):
    sign, man, exp, _ = mpmath.mpf(x)._mpf_
    return flint.arb((-int(man) if sign else int(man), int(exp)))


def _to_mpf(a) -> mpmath.mpf:
    """The midpoint of a real ball as an mpf rounded to the working precision."""
    man, exp = a.mid().man_exp()
    return +mpmath.mpf((int(man), int(exp)))


def _arb_matrix(flint, A: np.ndarray):
    rows, cols = A.shape
    return flint.arb_mat(rows, cols, [_to_arb(flint, v) for v in A.reshape(-1)])


def _real_columns(flint, R, n: int) -> list:
    """Columns of the complex eigenvector matrix ``R`` rotated by a unit phase to be real (real parts kept)."""
    cols = []
    for k in range(n):
        col = [R[i, k] for i in range(n)]
        pivot = max(col, key=lambda z: abs(complex(float(z.real.mid()), float(z.imag.mid()))))
        phase = pivot.conjugate() / abs(pivot)
        cols.append([(z * phase).real for z in col])
    return cols


def _orthonormalise(flint, V, g: int):
    r"""Newton–Schulz: :math:`V \leftarrow \tfrac12 V(3I - V^\top V)` until :math:`V^\top V = I_g` to the working bits
    (measured by the Frobenius norm of :math:`E = V^\top V - I`, one matrix product in C); ``V`` is
    :math:`n \times g` with nearly orthonormal columns."""
    eye = flint.arb_mat(g, g, [1 if i == j else 0 for i in range(g) for j in range(g)])
    goal = (flint.arb(2) ** (-flint.ctx.prec + 8)) ** 2
    for _ in range(ORTHONORMALISE_ITERATIONS):
        gram = (V.transpose() * V).mid()
        E = gram - eye
        err2 = (E.transpose() * E).trace().mid()
        if err2 < goal:
            return V, True
        if err2 > 0.25:
            return V, False
        V = (V * (3 * eye - gram) / 2).mid()  # midpoints only: this is not a ball computation
    return V, False


def _clusters(values: list, tol) -> list[list[int]]:
    """Indices grouped into runs of (sorted) eigenvalues closer than ``tol`` to their neighbour."""
    order = sorted(range(len(values)), key=lambda k: values[k])
    groups = [[order[0]]]
    for prev, k in zip(order, order[1:]):
        if values[k] - values[prev] <= tol:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _gram_schmidt(X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` orthonormalised by classical Gram–Schmidt applied twice (mpmath at the working precision,
    the projections as exact integer products)."""
    n, k = X.shape
    Q = np.empty((n, k), dtype=object)
    for j in range(k):
        col = X[:, j : j + 1]
        if j:
            for _ in range(2):
                col = col - matmul(Q[:, :j], matmul(Q[:, :j].T, col))
        Q[:, j] = (col / mpmath.sqrt(mpmath.fsum(col[:, 0] * col[:, 0])))[:, 0]
    return Q


def _fixed_vectors(n: int, k: int, seed: int) -> np.ndarray:
    """``k`` fixed pseudo-random integer vectors of length ``n`` (the same at every precision)."""
    rng = np.random.default_rng(seed)
    return np.array([[mpmath.mpf(int(v)) for v in row] for row in rng.integers(-1000, 1001, size=(n, k))], dtype=object)


def _canonical_basis(U: np.ndarray, seed: int) -> np.ndarray:
    r"""An orthonormal basis of the span of ``U`` that depends on the span only: :math:`UU^\top X` for fixed ``X``,
    orthonormalised. A cluster's basis is thus the same at ``dps`` and ``2·dps`` to their precisions, however the
    solver rotated it (the fibre tests read the kernel vectors at both precisions)."""
    X = _fixed_vectors(U.shape[0], U.shape[1], seed)
    return _gram_schmidt(matmul(U, matmul(U.T, X)))


def _resolve_clusters(A: np.ndarray, separated: np.ndarray, tol, cluster_values: list) -> tuple[list, np.ndarray]:
    r"""Eigenpairs of symmetric ``A`` on the orthogonal complement of its well-separated eigenvectors ``separated``
    (Rayleigh–Ritz: an orthonormal basis :math:`W` of the complement, mpmath's ``eigsy`` of the small
    :math:`W^\top AW`); each cluster of Ritz values (within ``tol``) gets its canonical basis
    (:func:`_canonical_basis`) and its values. When the solver's values ``cluster_values`` form one cluster (a
    kernel, typically), :math:`W` is its basis already (it depends on the span only) and they are its values.
    Call inside ``workprec``."""
    n, s = separated.shape
    X = _fixed_vectors(n, n - s, 7)
    for _ in range(2):
        X = X - matmul(separated, matmul(separated.T, X))
    W = _gram_schmidt(X)
    if len(_clusters(cluster_values, tol)) == 1:
        return sorted(cluster_values), W
    values, Y = mpmath.eigsy(as_matrix(matmul(W.T, matmul(A, W))))
    ritz = [values[k] for k in range(len(values))]
    Z = matmul(W, from_matrix(Y))
    out_values, out_vectors = [], []
    for number, group in enumerate(_clusters(ritz, tol)):
        out_values += [ritz[k] for k in group]
        out_vectors.append(_canonical_basis(Z[:, group], 1000 + number) if len(group) > 1 else Z[:, group])
    return out_values, np.concatenate(out_vectors, axis=1)


def _eigen(A: np.ndarray, bits: int, vectors: bool, **options):
    r""":func:`_solve_eigen`, checked: ``None`` (the callers then use mpmath's routines) unless every returned
    eigenpair has residual :math:`\|Av - \lambda v\| \le n\max(1,\|A\|_{\max})\,2^{24-\mathrm{bits}}` or, for values
    alone, their first three power sums equal :math:`\operatorname{tr}A^k` to that accuracy. Arb's approximate
    solver is not guaranteed to converge: on the paramagnetic ``rbm`` with N = 3, M = 3 at 61 digits it returned
    two separated eigenvalues off by :math:`2\cdot10^{-4}` (their sum right, so the trace alone cannot see it)."""
    out = _solve_eigen(A, bits, vectors, **options)
    if out is None:
        return None
    values, V = out
    n = A.shape[0]
    with mpmath.workprec(bits):
        scale = max(mpmath.mpf(1), max_abs(A)) if n else mpmath.mpf(1)
        if V is not None:
            if V.shape[1] and max_abs(matmul(A, V) - V * np.array(values, dtype=object)[None, :]) > \
                    mpmath.ldexp(n * scale, 24 - bits):
                return None
            return out
        power = A
        for k in (1, 2, 3):
            if k > 1:
                power = matmul(power, A)
            trace = mpmath.fsum(power[i, i] for i in range(n))
            if abs(mpmath.fsum(v**k for v in values) - trace) > mpmath.ldexp(n * scale**k, 24 - bits):
                return None
    return out


def _solve_eigen(A: np.ndarray, bits: int, vectors: bool, keep_above=None, clusters_ok: bool = False,
                 resolve: bool = False):
    r"""Eigenvalues (ascending, mpf) and, with ``vectors``, orthonormal real eigenvectors of symmetric ``A``;
    without ``resolve``, ``None`` when some eigenvalues cluster (equal to half the bits: kernels, repeated
    values), where the solver's vectors can be nearly dependent and the caller uses mpmath's routines.

    With ``keep_above`` (a fraction of the largest :math:`|\lambda|`), only the eigenpairs above that floor are
    returned: clusters below it (a kernel) do not matter, since the eigenvectors of values separated from
    the rest by a wide gap are well conditioned (Davis–Kahan) and are orthonormalised among themselves.
    ``clusters_ok``: clusters among the kept values are accepted too (any orthonormal basis of a cluster's
    eigenspace serves a projector or a pseudo-inverse, and :func:`_eigen` checks every column's residual);
    ``None`` only when the orthonormalisation fails (nearly dependent vectors). ``resolve``: clusters are resolved by Rayleigh–Ritz
    on the complement of the separated eigenvectors (:func:`_resolve_clusters`).
    """
    n = A.shape[0]
    with _arb_precision(bits) as flint:
        M = flint.acb_mat(_arb_matrix(flint, A))
        if not vectors:
            E = M.eig(algorithm="approx")
            return sorted(_to_mpf(E[k].real) for k in range(n)), None
        E, R = M.eig(right=True, algorithm="approx")
        values = [_to_mpf(E[k].real) for k in range(n)]
        with mpmath.workprec(bits):
            top = max((abs(v) for v in values), default=mpmath.mpf(0))
            tol = mpmath.ldexp(max(top, mpmath.mpf(1)), -(bits // 2))
            kept = list(range(n)) if keep_above is None else [k for k in range(n) if values[k] > keep_above * top]
            wanted = set(kept)
            groups = _clusters(values, tol)
            if resolve and any(len(g) > 1 for g in groups):
                kept = [g[0] for g in groups if len(g) == 1]
                wanted = set(kept)
            elif not clusters_ok and any(len(g) > 1 and wanted.intersection(g) for g in groups):
                return None
        if resolve and len(kept) < n:
            separated = _eigen_columns(flint, R, n, kept)
            if separated is None:
                return None
            with mpmath.workprec(bits):
                clustered = [values[k] for k in range(n) if k not in wanted]
                more_values, more_vectors = _resolve_clusters(A, separated, tol, clustered)
                all_values = [values[k] for k in kept] + more_values
                V = np.concatenate([separated, more_vectors], axis=1)
            order = sorted(range(n), key=lambda j: all_values[j])
            return [all_values[j] for j in order], V[:, order]
        if not kept:
            return [], np.empty((n, 0), dtype=object)
        out = _eigen_columns(flint, R, n, kept)
        if out is None:
            return None
    order = sorted(range(len(kept)), key=lambda j: values[kept[j]])
    return [values[kept[j]] for j in order], out[:, order]


def _eigen_columns(flint, R, n: int, kept: list[int]) -> np.ndarray | None:
    """The solver's eigenvectors ``kept`` made real and orthonormal (mpf, ``n x len(kept)``); ``None`` if they are not
    nearly orthonormal to begin with."""
    g = len(kept)
    cols = _real_columns(flint, R, n)
    norms = {k: sum((x * x for x in cols[k]), flint.arb(0)).sqrt() for k in kept}
    V = flint.arb_mat(n, g, [cols[k][i] / norms[k] for i in range(n) for k in kept]).mid()
    V, ok = _orthonormalise(flint, V, g)
    if not ok:
        return None
    return np.array([_to_mpf(x) for x in V.entries()], dtype=object).reshape(n, g)


def symmetric_eigen(H: np.ndarray) -> tuple[list, np.ndarray]:
    r"""Eigenvalues (ascending) and orthonormal eigenvectors (columns) of the symmetrised :math:`(H+H^\top)/2`.

    >>> with mpmath.workdps(30):
    ...     H = np.array([[mpmath.mpf(2), mpmath.mpf(1)], [mpmath.mpf(1), mpmath.mpf(2)]], dtype=object)
    ...     E, Q = symmetric_eigen(H)
    ...     residual = max_abs(H @ Q - Q * np.array(E, dtype=object)[None, :])
    >>> [mpmath.nstr(e, 5) for e in E], residual < mpmath.mpf(10) ** -28
    (['1.0', '3.0'], True)
    """
    sym = (H + H.T) / 2
    if sym.shape[0] == 0:
        return [], np.empty((0, 0), dtype=object)
    out = _eigen(sym, mpmath.mp.prec + FLINT_GUARD_BITS, vectors=True, resolve=True)
    return out if out is not None else mpmath_symmetric_eigen(sym)


def symmetric_eigenvalues(H: np.ndarray) -> list:
    r"""Eigenvalues (ascending) of the symmetrised :math:`(H+H^\top)/2`, without vectors (Arb's solver; a cluster
    of equal eigenvalues is harmless when no vectors are asked for)."""
    sym = (H + H.T) / 2
    if sym.shape[0] == 0:
        return []
    out = _eigen(sym, mpmath.mp.prec + FLINT_GUARD_BITS, vectors=False)
    if out is None:
        return sorted(mpmath.eigsy(as_matrix(sym), eigvals_only=True))
    values, _ = out
    return [+v for v in values]


def _gram(A: np.ndarray, keep_above=None, clusters_ok: bool = False):
    """Eigen-decomposition of :math:`A^\\top A` at twice the working bits (formed there exactly from ``A``); with
    ``keep_above``, only its eigenpairs above that fraction of the largest eigenvalue (:func:`_eigen`). Returns
    ``(values, vectors, bits, AᵀA)`` or ``None``."""
    bits = 2 * (mpmath.mp.prec + FLINT_GUARD_BITS)
    with _arb_precision(bits) as flint:
        M = _arb_matrix(flint, A)
        gram = M.transpose() * M
        cols = A.shape[1]
        G = np.empty((cols, cols), dtype=object)
        with mpmath.workprec(bits):
            for i in range(cols):
                for j in range(cols):
                    G[i, j] = _to_mpf(gram[i, j])
    with mpmath.workprec(bits):
        out = _eigen(G, bits, vectors=True, keep_above=keep_above, clusters_ok=clusters_ok, resolve=keep_above is None)
    return None if out is None else out + (bits, G)


def singular_values(A: np.ndarray) -> list:
    """Singular values of ``A``, descending (``min(rows, cols)`` of them), from :math:`A^\\top A` at twice the bits."""
    if A.size == 0:
        return []
    rows, cols = A.shape
    if rows < cols:
        A = A.T
    bits = 2 * (mpmath.mp.prec + FLINT_GUARD_BITS)
    with _arb_precision(bits) as flint:
        M = _arb_matrix(flint, A)
        gram = M.transpose() * M
        k = gram.nrows()
        G = np.empty((k, k), dtype=object)
        with mpmath.workprec(bits):
            for i in range(k):
                for j in range(k):
                    G[i, j] = _to_mpf(gram[i, j])
            out = _eigen(G, bits, vectors=False)
            values = out[0] if out is not None else sorted(mpmath.eigsy(as_matrix(G), eigvals_only=True))
            sigma = [mpmath.sqrt(abs(v)) for v in values]
    return sorted((+s for s in sigma), reverse=True)


def right_singular(A: np.ndarray, gram_values: bool = False) -> tuple:
    r"""Singular values of ``A`` (descending) padded with zeros to ``cols``, and all right singular vectors (columns);
    with ``gram_values``, also the eigenvalues of :math:`A^\top A` themselves (ascending, signed: a rounding below 0
    shows), from the same decomposition.

    The eigenvectors of :math:`A^\top A` at twice the bits (module docstring). The columns belonging to
    the zero (padded) values span :math:`\ker A`.
    """
    rows, cols = A.shape
    gram = _gram(A)
    if gram is None:
        sigma, vecs = mpmath_right_singular(A)
        return (sigma, vecs, sorted(s * s for s in sigma)) if gram_values else (sigma, vecs)
    values, vectors, bits, _ = gram
    with mpmath.workprec(bits):
        sigma = [mpmath.sqrt(abs(v)) for v in values]
    order = sorted(range(cols), key=lambda k: -sigma[k])
    out = [+sigma[k] if i < min(rows, cols) else mpmath.mpf(0) for i, k in enumerate(order)]
    vecs = np.vectorize(lambda x: +x, otypes=[object])(vectors[:, order])
    return (out, vecs, sorted(+v for v in values)) if gram_values else (out, vecs)


def pseudo_inverse_solve(A: np.ndarray, b: np.ndarray, rel_cutoff) -> np.ndarray:
    r"""Minimal-norm least-squares solution :math:`x = A^+ b`, singular values below ``rel_cutoff·σ_max`` dropped:
    :math:`x = \sum_{\sigma_k > \mathrm{cut}} \sigma_k^{-2}\,(v_k^\top A^\top b)\,v_k` over the eigenpairs of
    :math:`A^\top A` (at twice the bits) above :math:`\mathrm{cut}^2\lambda_{\max}`.

    Only those eigenpairs are computed, and clusters among them are accepted: any orthonormal basis of a
    cluster's eigenspace gives the same :math:`x`, and :func:`_eigen` has checked every returned pair's residual
    :math:`\|A^\top A v - \lambda v\|` to the working bits. So a kernel and repeated singular values (a
    symmetric target) no longer send the solve to mpmath's SVD.
    """
    bits = 2 * (mpmath.mp.prec + FLINT_GUARD_BITS)
    with mpmath.workprec(bits):
        floor = mpmath.mpf(rel_cutoff) ** 2
    gram = _gram(A, keep_above=floor, clusters_ok=True)
    if gram is None:
        return mpmath_pseudo_inverse_solve(A, b, rel_cutoff)
    values, V, bits, _ = gram
    if not values:
        return np.array([mpmath.mpf(0)] * A.shape[1], dtype=object)
    with mpmath.workprec(bits):
        atb = matmul(A.T, np.asarray(b, dtype=object).reshape(-1, 1))
        coefficients = matmul(V.T, atb)[:, 0] / np.array(values, dtype=object)
        x = matmul(V, coefficients.reshape(-1, 1))[:, 0]
    return np.array([+xi for xi in x], dtype=object)


def principal_angle_sines(U: np.ndarray, V: np.ndarray) -> list:
    r"""Sines of the principal angles between the column spans of orthonormal ``U`` and ``V`` (same dimension).

    They are the singular values of :math:`(I - UU^\top)V`, computed directly (not as
    :math:`\sqrt{1-\cos^2}`, which would lose half the digits near zero angles).
    """
    if U.shape[1] == 0:
        return []
    residual = V - U @ (U.T @ V)
    return sorted(singular_values(residual), reverse=True)


# --- the mpmath reference ------------------------------------------------------------------------------


def mpmath_symmetric_eigen(H: np.ndarray) -> tuple[list, np.ndarray]:
    """:func:`symmetric_eigen` by mpmath's ``eigsy`` (the reference, and the fallback for unresolved clusters)."""
    sym = (H + H.T) / 2
    evals, Q = mpmath.eigsy(as_matrix(sym))
    order = sorted(range(len(evals)), key=lambda k: evals[k])
    vecs = from_matrix(Q)
    return [evals[k] for k in order], vecs[:, order]


def mpmath_right_singular(A: np.ndarray) -> tuple[list, np.ndarray]:
    """:func:`right_singular` by mpmath's SVD of ``A`` itself (the reference)."""
    rows, cols = A.shape
    if rows >= cols:
        _, S, V = mpmath.svd_r(as_matrix(A), full_matrices=False)
        vectors = from_matrix(V).T
    else:
        U, S, _ = mpmath.svd_r(as_matrix(A.T), full_matrices=True)
        vectors = from_matrix(U)
    values = [S[k] for k in range(len(S))] + [mpmath.mpf(0)] * (cols - len(S))
    order = sorted(range(cols), key=lambda k: -values[k])
    return [values[k] for k in order], vectors[:, order]


def mpmath_pseudo_inverse_solve(A: np.ndarray, b: np.ndarray, rel_cutoff) -> np.ndarray:
    """:func:`pseudo_inverse_solve` by mpmath's SVD of ``A`` (the reference, and the route for clustered spectra)."""
    U, S, V = mpmath.svd_r(as_matrix(A))
    smax = max((S[k] for k in range(len(S))), default=mpmath.mpf(0))
    x = mpmath.matrix(A.shape[1], 1)
    bm = as_matrix(b)
    for k in range(len(S)):
        if S[k] > rel_cutoff * smax and S[k] > 0:
            coef = (U[:, k].T * bm)[0] / S[k]
            x += coef * V[k, :].T
    return np.array([x[i] for i in range(A.shape[1])], dtype=object)
