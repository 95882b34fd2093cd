r"""Per-order quantities at float64, vectorised over the columns of an array (times of a trajectory).

* Walsh–Hadamard transforms along axis 0 (matmuls with the Kronecker factors), Möbius transforms (butterfly);
* joint cumulants :math:`\kappa_A` by the moment–cumulant recursion (:math:`3^N/2` products, not Bell numbers);
* maximum-entropy fits :math:`p^{(k)}` (moments of orders :math:`\le k` matched) for many columns at once:
  damped Newton on :math:`\Lambda(J) = J\cdot m - \log Z(J)` with dense steps on small supports and
  preconditioned conjugate gradients (Fisher products by two Walsh transforms) on large ones, continued along
  a trajectory in :math:`\log t`;
* the per-order error of a metric against the target's value, and the ``maxent`` error
  :math:`\mathrm{KL}(p_D^{(k)}\|p_\theta^{(k)})/\mathrm{KL}(p_D^{(k)}\|u)` (:mod:`verify.learning`).

Used by :func:`verify.flow64.all_order_errors64`.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np

from theory.arith import FLOAT64
from theory.conventions import canonical_masks, orders

from .learning import ZERO_TARGET

__all__ = ["logsumexp", "wht", "moebius", "connected64", "maxent64", "maxent_path", "per_order_errors", "maxent_errors",
           "MAXENT_FAILED", "DENSE_MAX"]

#: a maximum-entropy fit whose moment residual stays above this is reported as failed (nan)
MAXENT_FAILED = 1e-8
#: largest support on which a Newton step is a dense solve (batched over columns); conjugate gradients above
DENSE_MAX = 256
#: largest change of a coupling in one Newton step (near-degenerate targets put the solution far out)
STEP_MAX = 2.0
#: a fit whose moment residual has not halved in this many Newton steps is abandoned
STALL = 20


def _popcount(n: int) -> np.ndarray:
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).sum(axis=1)


def logsumexp(F):
    r""":math:`\log\sum_x e^{F(x)}` along axis 0, shifted by the maximum."""
    top = F.max(axis=0)
    return top + np.log(np.exp(F - top).sum(axis=0))


@lru_cache(maxsize=None)
def _hadamard(n: int) -> np.ndarray:
    x = np.arange(2**n)
    return 1.0 - 2.0 * (_popcount(n)[x[:, None] & x[None, :]] & 1)


def wht(values) -> np.ndarray:
    r"""Unnormalised Walsh–Hadamard transform along axis 0: :math:`\hat f(a) = \sum_x f(x)(-1)^{|x\,\&\,a|}`.

    One matmul with the :math:`\pm1` matrix for :math:`N \le 7`; above, the two factors of
    :math:`H_N = H_{\lfloor N/2\rfloor}\otimes H_{\lceil N/2\rceil}` (high and low bits of ``x``), two matmuls."""
    x = np.asarray(values, dtype=np.float64)
    n = x.shape[0].bit_length() - 1
    if n <= 7:
        return (_hadamard(n) @ x.reshape(2**n, -1)).reshape(x.shape)
    hi, lo = n // 2, n - n // 2
    y = (_hadamard(hi) @ x.reshape(2**hi, -1)).reshape(2**hi, 2**lo, -1)
    return np.matmul(_hadamard(lo), y).reshape(x.shape)


def moebius(values) -> np.ndarray:
    r"""Subset Möbius transform :math:`g(a) = \sum_{b\subseteq a}(-1)^{|a|-|b|}f(b)` along axis 0."""
    a = np.array(values, dtype=np.float64)
    L, h = a.shape[0], 1
    while h < L:
        v = a.reshape(L // (2 * h), 2, h, -1)
        v[:, 1] -= v[:, 0]
        h *= 2
    return a


@lru_cache(maxsize=None)
def _cumulant_pairs(n: int):
    """Per order ``k >= 2``: masks ``A`` (n_k,), and ``B`` (n_k, 2^(k-1) - 1) the proper subsets of ``A``
    holding its lowest spin, with ``C = A ^ B``."""
    masks, ords = canonical_masks(n), orders(n)
    out = []
    for k in range(2, n + 1):
        A = masks[ords == k]
        bits = np.nonzero((A[:, None] >> np.arange(n)) & 1)[1].reshape(len(A), k)
        values = np.left_shift(1, bits)
        select = (np.arange(2 ** (k - 1) - 1)[:, None] >> np.arange(k - 1)) & 1
        B = values[:, :1] | (values[:, 1:] @ select.T)
        out.append((A, B, A[:, None] ^ B))
    return tuple(out)


def connected64(m_by_mask, n: int) -> np.ndarray:
    r"""Joint cumulants :math:`\kappa_A` (canonical order; trailing axes = columns) from the moments by mask,
    by the moment–cumulant recursion on the block holding :math:`a_0 = \min A`:
    :math:`\kappa_A = m_A - \sum_{a_0\in B\subsetneq A}\kappa_B\,m_{A\setminus B}` (:math:`3^N/2` products)."""
    m = np.asarray(m_by_mask, dtype=np.float64)
    shape = m.shape[1:]
    m = m.reshape(2**n, -1)
    kappa = np.zeros_like(m)
    single = np.left_shift(1, np.arange(n))
    kappa[single] = m[single]
    for A, B, C in _cumulant_pairs(n):
        chunk = max(1, 4_000_000 // B.size)
        for lo in range(0, m.shape[1], chunk):
            cols = slice(lo, lo + chunk)
            kappa[A, cols] = m[A, cols] - (kappa[B, cols] * m[C, cols]).sum(axis=1)
    return kappa[canonical_masks(n)].reshape((2**n - 1,) + shape)


def _log_p(J_by_mask):
    F = wht(J_by_mask)
    return F - logsumexp(F)


def _fisher(p, m, v, support):
    r""":math:`(Cv)_A = E_p[\chi_A f] - m_A E_p[f]`, :math:`f = \sum_B v_B\chi_B` (two Walsh transforms), on ``support``."""
    pf = wht(p * wht(v))
    return np.where(support, pf - m * pf[0], 0.0)


def _conjugate_gradients(log_p, m, g, support, lam, rtol, max_iter: int = 150):
    r"""Solve :math:`(C + \lambda I)x = g` column by column (relative residual ``rtol``), preconditioned by the full family's
    inverse Fisher matrix restricted to ``support``, :math:`(C_{\mathrm{full}}^{-1})_{AB} = 4^{-N}\sum_s\chi_A\chi_B/p`
    (exact for the full support; a rank-:math:`r` correction away when :math:`r` subsets are left out)."""
    p, inv_p = np.exp(log_p), np.exp(np.minimum(-log_p, 200.0)) / len(log_p) ** 2  # capped: still SPD

    def precondition(r):
        return np.where(support, wht(wht(r) * inv_p), 0.0)

    x, r = np.zeros_like(g), g.copy()
    z = precondition(r)
    d, rz, goal = z.copy(), (r * z).sum(axis=0), rtol * np.linalg.norm(g, axis=0)
    for _ in range(max_iter):
        Ad = _fisher(p, m, d, support) + lam * d
        dAd = (d * Ad).sum(axis=0)
        alpha = np.divide(rz, dAd, out=np.zeros_like(rz), where=dAd > 0)
        x += alpha * d
        r -= alpha * Ad
        if np.all(np.linalg.norm(r, axis=0) <= goal):
            break
        z = precondition(r)
        rz_new = (r * z).sum(axis=0)
        d = z + np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0) * d
        rz = rz_new
    return x


def _objective(J, m_target):
    return (J * m_target).sum(axis=0) - logsumexp(wht(J))


def _best_start(m_target, support, starts):
    """Per column, the start (masked to ``support``) with the largest :math:`\\Lambda`."""
    cands = np.stack([np.where(support, np.broadcast_to(J, m_target.shape), 0.0) for J in starts])
    best = np.argmax([_objective(J, m_target) for J in cands], axis=0)
    return np.take_along_axis(cands, best[None, None, :], axis=0)[0]


def _dense_solve(m, g, support, lam):
    r"""Steps :math:`(C + \lambda I)\delta = g` with :math:`C_{AB} = m_{A\triangle B} - m_Am_B` formed on ``support``
    (batched LU over chunks of columns; a pseudo-inverse where some matrix is singular in float64)."""
    idx = np.flatnonzero(support)
    out = np.zeros_like(g)
    chunk = max(1, 2**22 // len(idx) ** 2)
    for lo in range(0, g.shape[1], chunk):
        mc, gc = m[:, lo : lo + chunk], g[idx, lo : lo + chunk].T[:, :, None]
        C = np.moveaxis(mc[idx[:, None] ^ idx[None, :]], -1, 0) - mc[idx].T[:, :, None] * mc[idx].T[:, None, :]
        C += lam[lo : lo + chunk, None, None] * np.eye(len(idx))
        try:
            sol = np.linalg.solve(C, gc)
        except np.linalg.LinAlgError:
            sol = np.linalg.pinv(C, hermitian=True) @ gc
        out[idx, lo : lo + chunk] = sol[..., 0].T
    return out


def maxent64(m_target, support, starts=(), tol: float = 1e-12, max_iter: int = 100):
    r"""Couplings by mask (``(2^N, C)``, :math:`J_\emptyset = 0`) of the maximum-entropy distributions matching the
    moments ``m_target`` (by mask, ``(2^N, C)``) on the masks where ``support`` (boolean, ``(2^N,)``) holds.

    Damped Newton on the concave :math:`\Lambda(J) = J\cdot m - \log Z(J)`, every column at once, from the best
    of ``starts`` (and 0): the step solves :math:`(C + \|g\|^2I)\delta = g`, :math:`g = m - m(J)` (Levenberg–Marquardt),
    densely up to ``DENSE_MAX`` subsets, else by preconditioned conjugate gradients (relative residual
    :math:`\min(0.1, \|g\|^{1/2})`), and moves no coupling by more than ``STEP_MAX``. A column stops when
    :math:`\max|m - m(J)| <` ``tol`` on the support, or when no step increases :math:`\Lambda`, or when that maximum
    has not halved in ``STALL`` iterations (a near-singular Fisher matrix). Returns ``J`` and that maximum per column."""
    m_target = np.asarray(m_target, dtype=np.float64)
    support = np.asarray(support, dtype=bool).reshape(-1, 1)
    J = _best_start(m_target, support, (np.zeros(1),) + tuple(starts))
    stuck, history = np.zeros(J.shape[1], dtype=bool), []
    for iteration in range(max_iter + 1):
        log_p = _log_p(J)
        m = wht(np.exp(log_p))
        g = np.where(support, m_target - m, 0.0)
        residual = np.abs(g).max(axis=0)
        history.append(residual)
        if iteration >= STALL:
            stuck |= residual > 0.5 * history[-1 - STALL]
        act = np.flatnonzero((residual >= tol) & ~stuck)
        if act.size == 0 or iteration == max_iter:
            break
        lam = np.linalg.norm(g[:, act], axis=0) ** 2  # Levenberg–Marquardt: ascent directions where C is near singular
        if support.sum() <= DENSE_MAX:
            step = _dense_solve(m[:, act], g[:, act], support[:, 0], lam)
        else:
            rtol = np.minimum(0.1, lam**0.25)
            step = _conjugate_gradients(log_p[:, act], m[:, act], g[:, act], support, lam, rtol)
        J[:, act], moved = _line_search(J[:, act], step, m_target[:, act])
        stuck[act[~moved]] = True
    return J, residual


def _line_search(J, step, m_target):
    """``J + t step`` with ``t`` halved per column until :math:`\\Lambda` does not decrease (``t = 0`` below 1e-8),
    and which columns moved; ``t`` starts where no coupling moves by more than ``STEP_MAX``."""
    base = _objective(J, m_target)
    t = np.minimum(1.0, STEP_MAX / np.maximum(np.abs(step).max(axis=0), 1e-300))
    while True:
        worse = ~(_objective(J + t * step, m_target) >= base - 1e-13 * (1.0 + np.abs(base)))
        if (t[worse] < 1e-8).all():
            t[worse] = 0.0
            return J + t * step, t > 0
        t[worse] /= 2


def _columns(S, cols):
    return S if S.shape[1] == 1 else S[:, cols]


def maxent_path(m_model, support, starts, stride: int = 32):
    r""":func:`maxent64` along a trajectory (columns = times) by continuation in :math:`\log t`: every
    ``stride``-th time (and the last) from ``starts``, then the midpoints of what is solved, started from the mean of
    their two solved neighbours (or from ``starts`` where that is better), halving the stride down to 1."""
    T = m_model.shape[1]
    J, residual = np.zeros_like(m_model), np.zeros(T)
    cols = np.unique(np.r_[np.arange(0, T, stride), T - 1])
    J[:, cols], residual[cols] = maxent64(m_model[:, cols], support, [_columns(S, cols) for S in starts])
    while stride > 1:
        h = stride // 2
        cols = np.arange(h, T - 1, stride)
        if cols.size:
            mean = 0.5 * (J[:, cols - h] + J[:, np.minimum(cols + h, T - 1)])
            starts_here = [mean] + [_columns(S, cols) for S in starts]
            J[:, cols], residual[cols] = maxent64(m_model[:, cols], support, starts_here)
        stride = h
    return J, residual


def per_order_errors(x, ref, n: int):
    """Per-order ``‖x_k - x^D_k‖`` relative to ``‖x^D_k‖`` (absolute below ZERO_TARGET): ``(T, N)``, flags."""
    ords = orders(n)
    indicator = (ords[None, :] == np.arange(1, n + 1)[:, None]).astype(np.float64)
    scale = np.sqrt(indicator @ ref**2)
    absolute = scale < ZERO_TARGET
    err = np.sqrt(indicator @ (x - ref[:, None]) ** 2).T
    return err / np.where(absolute, 1.0, scale), [bool(a) for a in absolute]


def maxent_errors(target, log_p_model, n: int):
    r""":math:`e_k = \mathrm{KL}(p_D^{(k)}\|p_\theta^{(k)}) / \mathrm{KL}(p_D^{(k)}\|u)` for all times at once; ``nan``
    (with a warning) where a maximum-entropy fit left a moment residual above ``MAXENT_FAILED``."""
    nonempty = np.arange(2**n) > 0
    JD = np.zeros(2**n)
    JD[canonical_masks(n)] = target.coupling_array(FLOAT64)
    mD = wht(target.probability_array(FLOAT64))
    fits = [maxent64(mD[:, None], nonempty & (_popcount(n) <= k), (JD[:, None],)) for k in range(1, n)]
    ref = np.hstack([J for J, _ in fits] + [JD[:, None]])
    ref_residual = np.array([r[0] for _, r in fits])
    log_pD = _log_p(ref)
    pD = np.exp(log_pD)
    uniform = (pD * (log_pD + n * np.log(2.0))).sum(axis=0)
    absolute = uniform < ZERO_TARGET
    m_model, J_model = wht(np.exp(log_p_model)), wht(log_p_model) / 2**n
    out = np.empty((log_p_model.shape[1], n))
    Jk, failed = np.zeros_like(log_p_model), np.zeros_like(out, dtype=bool)
    for k in range(1, n + 1):
        log_q = log_p_model
        if k < n and ref_residual[k - 1] > MAXENT_FAILED:  # the target's own fit failed: order k is not measured
            failed[:, k - 1] = True
        elif k < n:
            Jk, residual = maxent_path(m_model, nonempty & (_popcount(n) <= k), (Jk, ref[:, k - 1 : k], J_model))
            log_q, failed[:, k - 1] = _log_p(Jk), residual > MAXENT_FAILED
        kl = (pD[:, k - 1 : k] * (log_pD[:, k - 1 : k] - log_q)).sum(axis=0)
        out[:, k - 1] = kl if absolute[k - 1] else kl / uniform[k - 1]
    if failed.any():
        warnings.warn(f"maxent: {failed.sum()} of {failed.size} (time, order) fits did not converge (moment residual > "
                      f"{MAXENT_FAILED:g}; an ill-conditioned Fisher matrix); their errors are nan", RuntimeWarning)
    out[failed] = np.nan
    return out, [bool(a) for a in absolute]


