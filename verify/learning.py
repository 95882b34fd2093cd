r"""H2 — learning the orders one after another: long flows, per-order errors, learning times.

The flow is :math:`\dot\theta = \nabla\ell(\theta)` exactly (population gradient, unit rate), integrated
at float64 by scipy (LSODA, the exact Jacobian :math:`H` supplied for the stiff tail) with output at
log-spaced times from :math:`10^{-2}` to ``t_max``.

Per-order error metrics :math:`e_k(t)`, :math:`k = 1..N`, each a relative error
:math:`\|x_k(t) - x_k^D\|_2/\|x_k^D\|_2` over the subsets of order :math:`k` (an absolute error when
:math:`x_k^D = 0`, flagged in the output):

* ``coupling``: spin-gauge couplings :math:`J_A`;
* ``coupling-boolean``: Boolean-gauge couplings :math:`K_A` (Möbius coefficients);
* ``moment``: moments :math:`m_A = E[\chi_A]`;
* ``connected``: connected correlations (joint cumulants) :math:`\kappa_A = \sum_\pi (|\pi|-1)!(-1)^{|\pi|-1}\prod_{B\in\pi} m_B`;
* ``maxent``: with :math:`p^{(k)}` the maximum-entropy distribution matching the moments of orders
  :math:`\le k` (a concave problem, solved by damped Newton),
  :math:`e_k = \mathrm{KL}(p_D^{(k)}\|p_\theta^{(k)}) / \mathrm{KL}(p_D^{(k)}\|u)` with :math:`u` uniform: the share of
  the target's order-:math:`\le k` structure not yet captured (1 at a uniform model, 0 when matched;
  the absolute KL when :math:`p_D^{(k)} = u`).

Learning time :math:`t_k`: first passage of :math:`e_k` below the threshold :math:`\delta` (interpolated in
:math:`\log t`); settling time: the time after which :math:`e_k` stays below :math:`\delta`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from math import factorial

import numpy as np

from theory.arith import FLOAT64
from theory.conventions import canonical_masks, orders, subsets
from theory.effective import gradient, log_probabilities, moments_by_mask, probabilities
from theory.flow import flow_jacobian
from theory.walsh import spin_couplings, spin_to_boolean

__all__ = ["METRICS", "Trajectory", "integrate", "order_errors", "learning_times", "settling_times",
           "is_ordered", "maxent_couplings", "connected_correlations", "small_weight_init"]

METRICS = ("coupling", "coupling-boolean", "moment", "connected", "maxent")
ZERO_TARGET = 1e-12


@dataclass(frozen=True)
class Trajectory:
    """Output of :func:`integrate`: times (log-spaced) and parameters ``thetas[t_index]``."""

    times: np.ndarray
    thetas: np.ndarray
    success: bool
    message: str


def small_weight_init(model, eps: float, seed: int, bias_scale: float = 0.5):
    """The family's seeded small-weight start (:meth:`~theory.families.base.Model.small_weight_start`)."""
    return model.small_weight_start(eps, seed, bias_scale)


def integrate(model, target, theta0, t_max: float = 1e6, t_min: float = 1e-2, points: int = 321,
              rtol: float = 1e-9, atol: float = 1e-11) -> Trajectory:
    """The flow from ``theta0`` with output at ``points`` log-spaced times in ``[t_min, t_max]``."""
    from scipy.integrate import solve_ivp

    m_data = target.moment_array(FLOAT64)
    times = np.logspace(np.log10(t_min), np.log10(t_max), points)
    sol = solve_ivp(lambda t, th: gradient(model, th, m_data, FLOAT64), (0.0, t_max),
                    np.array([float(q) for q in theta0]), method="LSODA", t_eval=times,
                    jac=lambda t, th: flow_jacobian(model, th, m_data, FLOAT64), rtol=rtol, atol=atol)
    thetas = sol.y.T
    return Trajectory(sol.t, thetas, bool(sol.success), str(sol.message))


# --- per-order quantities -----------------------------------------------------------------------


@lru_cache(maxsize=None)
def _partitions_of(n_items: int):
    """All set partitions of ``range(n_items)`` as tuples of blocks."""
    if n_items == 0:
        return ((),)
    out = []
    for rest in _partitions_of(n_items - 1):
        last = n_items - 1
        out.append(rest + ((last,),))
        for k in range(len(rest)):
            out.append(rest[:k] + (rest[k] + (last,),) + rest[k + 1:])
    return tuple(out)


def connected_correlations(m_by_mask: np.ndarray, n: int) -> np.ndarray:
    r"""Joint cumulants :math:`\kappa_A` of the spins in ``A`` (canonical order) from the moments by mask."""
    out = []
    for A in subsets(n):
        total = 0.0
        for part in _partitions_of(len(A)):
            term = (-1) ** (len(part) - 1) * factorial(len(part) - 1)
            for block in part:
                mask = 0
                for j in block:
                    mask |= 1 << (A[j] - 1)
                term = term * m_by_mask[mask]
            total = total + term
        out.append(total)
    return np.array(out)


def maxent_couplings(m_by_mask: np.ndarray, n: int, k: int, start=None, tol: float = 1e-12, max_iter: int = 100):
    r"""Couplings of :math:`p^{(k)}`: supported on orders :math:`\le k`, matching the moments there (float64).

    Damped Newton on the concave :math:`\Lambda_k(J) = J\cdot m - \log Z(J)` over the support.
    """
    ords = orders(n)
    support = np.where(ords <= k)[0]
    masks = canonical_masks(n)
    target = m_by_mask[masks][support]
    J = np.zeros(2**n - 1) if start is None else np.array(start, dtype=float)
    for _ in range(max_iter):
        p = probabilities(J, n, FLOAT64)
        mbm = moments_by_mask(p)
        res = target - mbm[masks][support]
        if np.max(np.abs(res)) < tol:
            break
        sub = masks[support]
        C = mbm[sub[:, None] ^ sub[None, :]] - np.outer(mbm[sub], mbm[sub])
        step = np.linalg.solve(C, res)
        obj = J[support] @ target - _logz(J, n)
        t = 1.0
        while t > 1e-8:
            trial = J.copy()
            trial[support] += t * step
            if trial[support] @ target - _logz(trial, n) >= obj - 1e-15:
                break
            t /= 2
        J = trial
    return J


def _logz(J, n):
    from theory.effective import log_partition

    return log_partition(J, n, FLOAT64)


def _kl(p, log_p, log_q) -> float:
    return float(p @ (log_p - log_q))


class _Reference:
    """The target's per-order quantities for one metric, computed once."""

    def __init__(self, target, metric: str):
        n = target.n
        self.n, self.metric = n, metric
        self.ords = orders(n)
        p = target.probability_array(FLOAT64)
        mbm = moments_by_mask(p)
        JD = target.coupling_array(FLOAT64)
        if metric == "coupling":
            self.x = JD
        elif metric == "coupling-boolean":
            self.x = spin_to_boolean(JD, n)
        elif metric == "moment":
            self.x = mbm[canonical_masks(n)]
        elif metric == "connected":
            self.x = connected_correlations(mbm, n)
        elif metric == "maxent":
            self.maxent = [maxent_couplings(mbm, n, k) for k in range(1, n + 1)]
            self.uniform_kl = []
            for J in self.maxent:
                lp = log_probabilities(J, n, FLOAT64)
                self.uniform_kl.append(_kl(np.exp(lp), lp, np.full(2**n, -n * np.log(2.0))))
        else:
            raise ValueError(f"unknown metric {metric!r}")
        if metric != "maxent":
            self.scale = np.array([np.linalg.norm(self.x[self.ords == k]) for k in range(1, n + 1)])
        else:
            self.scale = np.array(self.uniform_kl)
        self.absolute = self.scale < ZERO_TARGET


def order_errors(model, target, thetas: np.ndarray, metric: str) -> tuple[np.ndarray, list[bool]]:
    """``errors[t_index, k-1]`` of ``metric`` along a trajectory, and which orders use absolute errors."""
    ref = _Reference(target, metric)
    n = model.n
    out = np.empty((len(thetas), n))
    warm = [None] * n
    for row, th in enumerate(thetas):
        F = model.energy(np.asarray(th, dtype=float), FLOAT64)
        J = spin_couplings(F, n)
        if metric == "maxent":
            mbm = moments_by_mask(probabilities(J, n, FLOAT64))
            for k in range(1, n + 1):
                Jk = J if k == n else maxent_couplings(mbm, n, k, start=warm[k - 1])
                warm[k - 1] = Jk
                lpd = log_probabilities(ref.maxent[k - 1], n, FLOAT64)
                kl = _kl(np.exp(lpd), lpd, log_probabilities(Jk, n, FLOAT64))
                out[row, k - 1] = kl if ref.absolute[k - 1] else kl / ref.scale[k - 1]
            continue
        if metric == "coupling":
            x = J
        elif metric == "coupling-boolean":
            x = spin_to_boolean(J, n)
        else:
            mbm = moments_by_mask(probabilities(J, n, FLOAT64))
            x = mbm[canonical_masks(n)] if metric == "moment" else connected_correlations(mbm, n)
        for k in range(1, n + 1):
            diff = np.linalg.norm((x - ref.x)[ref.ords == k])
            out[row, k - 1] = diff if ref.absolute[k - 1] else diff / ref.scale[k - 1]
    return out, [bool(a) for a in ref.absolute]


def _crossing_time(times, errors, j, delta):
    """Time where ``errors`` crosses ``delta`` between samples ``j-1`` and ``j``, interpolated in log t."""
    if j == 0:
        return float(times[0])
    t0, t1 = np.log10(times[j - 1]), np.log10(times[j])
    e0, e1 = errors[j - 1], errors[j]
    frac = 0.0 if e0 == e1 else (e0 - delta) / (e0 - e1)
    return float(10 ** (t0 + frac * (t1 - t0)))


def learning_times(times, errors, delta: float) -> list[float | None]:
    """First passage of each order's error below ``delta`` (``None`` if never)."""
    out = []
    for k in range(errors.shape[1]):
        below = np.where(errors[:, k] <= delta)[0]
        out.append(None if len(below) == 0 else _crossing_time(times, errors[:, k], int(below[0]), delta))
    return out


def settling_times(times, errors, delta: float) -> list[float | None]:
    """Time after which each order's error stays below ``delta`` (``None`` if it ends above)."""
    out = []
    for k in range(errors.shape[1]):
        e = errors[:, k]
        if e[-1] > delta:
            out.append(None)
            continue
        above = np.where(e > delta)[0]
        out.append(float(times[0]) if len(above) == 0 else _crossing_time(times, e, int(above[-1]) + 1, delta))
    return out


def is_ordered(times: list[float | None]) -> bool | None:
    """:math:`t_1 \\le t_2 \\le \\dots \\le t_N`, a time that never comes counting as :math:`+\\infty`;
    ``None`` when no order is learned at all (the ordering would hold vacuously)."""
    if all(t is None for t in times):
        return None
    vals = [np.inf if t is None else t for t in times]
    return all(a <= b for a, b in zip(vals, vals[1:]))



