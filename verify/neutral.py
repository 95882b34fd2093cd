r"""Neutral directions: following the data-consistent fibre :math:`J^{-1}(J^D)` (S1).

Where :math:`G` has locally constant rank the fibre is a manifold of dimension
:math:`P - \operatorname{rank} G` whose tangent space is :math:`\ker G = \ker H`. :func:`follow_fibre`
walks along it: a predictor step of length ``step`` along the current tangent direction, then a
projection back onto :math:`J(\theta) = J^D` by minimal-norm Gauss–Newton steps
:math:`\delta = -G^+(J(\theta) - J^D)`; the next tangent is the previous direction projected onto the
new :math:`\ker G` (so the path does not turn back). The largest :math:`|J - J^D|` seen after each
projection must stay at working precision while :math:`\theta` moves by :math:`O(1)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from theory.arith import MP
from theory.effective import jacobian, model_couplings

from .linalg import as_matrix, norm, pseudo_inverse_solve, right_singular
from .numeric import working_precision, zero_threshold

__all__ = ["FibrePath", "follow_fibre", "confirm_on_fibre"]


@dataclass(frozen=True)
class FibrePath:
    """Result of :func:`follow_fibre` at one precision."""

    dps: int
    steps: int
    travelled: object  # sum of step lengths
    displacement: object  # |theta_end - theta_start|
    max_coupling_error: object  # max |J - J^D| after each projection
    completed: bool
    note: str = ""
    end: tuple = ()  # the last point of the path, exact


def confirm_on_fibre(model, target, theta_exact, dps: int):
    """Project an exact point onto :math:`J = J^D` at ``dps`` digits: ``(|J - J^D| after, distance moved)``."""
    with working_precision(dps):
        J_data = target.coupling_array(MP)
        theta = MP.array(theta_exact)
        projected, err, _ = _project(model, theta, J_data, dps)
        return err, norm(projected - theta)


def _full_row_rank_solve(G: np.ndarray, b: np.ndarray):
    r""":math:`(GG^\top)^{-1} b` when :math:`G` has full row rank (Cholesky), else ``None``."""
    try:
        x = mpmath.cholesky_solve(as_matrix(G @ G.T), as_matrix(b))
    except (ZeroDivisionError, ValueError):
        return None
    return np.array([x[i] for i in range(x.rows)], dtype=object)


def _min_norm_step(G: np.ndarray, res: np.ndarray, dps: int) -> np.ndarray:
    r"""Minimal-norm :math:`\delta` with :math:`G\delta = -\text{res}`: :math:`-G^\top(GG^\top)^{-1}\text{res}`, or :math:`-G^+\text{res}`."""
    y = _full_row_rank_solve(G, res)
    if y is not None:
        return -(G.T @ y)
    return -pseudo_inverse_solve(G, res, mpmath.mpf(10) ** (-(dps // 4)))


def _tangent(G: np.ndarray, v: np.ndarray, dps: int) -> np.ndarray:
    r"""Projection of ``v`` onto :math:`\ker G` (:math:`v - G^\top(GG^\top)^{-1}Gv`, or through the SVD)."""
    y = _full_row_rank_solve(G, G @ v)
    if y is not None:
        return v - G.T @ y
    basis = _kernel_basis(G, dps)
    return basis @ (basis.T @ v)


def _kernel_basis(G: np.ndarray, dps: int) -> np.ndarray:
    values, vectors = right_singular(G)
    small = zero_threshold(dps)
    return vectors[:, [k for k, v in enumerate(values) if v <= small]]


def _project(model, theta, J_data, dps: int, max_iter: int = 30):
    goal = mpmath.mpf(10) ** (-(dps - 8))
    for _ in range(max_iter):
        res = model_couplings(model, theta, MP) - J_data
        if norm(res) <= goal:
            return theta, norm(res), True
        theta = theta + _min_norm_step(jacobian(model, theta, MP), res, dps)
    res = model_couplings(model, theta, MP) - J_data
    return theta, norm(res), norm(res) <= goal


def follow_fibre(model, target, theta_exact, dps: int, step: float = 0.05, distance: float = 0.5) -> FibrePath:
    """Walk ``distance`` along the fibre through a data-consistent ``theta_exact`` in steps of ``step``."""
    with working_precision(dps):
        J_data = target.coupling_array(MP)
        theta = MP.array(theta_exact)
        start = theta.copy()
        basis = _kernel_basis(jacobian(model, theta, MP), dps)
        if basis.shape[1] == 0:
            return FibrePath(dps, 0, mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0), False, "ker G is trivial: no fibre to follow")
        direction = basis[:, 0]
        h = mpmath.mpf(step)
        travelled, worst = mpmath.mpf(0), norm(model_couplings(model, theta, MP) - J_data)
        nsteps, k = 0, 0
        limit = 3 * int(mpmath.ceil(mpmath.mpf(distance) / h))
        while travelled < distance and k < limit:
            predicted = theta + direction * h
            new, err, ok = _project(model, predicted, J_data, dps)
            worst = max(worst, err)
            if not ok:
                return FibrePath(dps, k, travelled, norm(theta - start), worst, False,
                                 f"projection onto J = J^D failed at step {k + 1} (|J - J^D| = {mpmath.nstr(err, 3)})")
            travelled += norm(new - theta)
            theta = new
            k += 1
            nsteps = k
            projected = _tangent(jacobian(model, theta, MP), direction, dps)
            if norm(projected) <= zero_threshold(dps):
                return FibrePath(dps, k, travelled, norm(theta - start), worst, False, "ker G collapsed along the path")
            direction = projected / norm(projected)
        from .search import to_exact

        return FibrePath(dps, nsteps, travelled, norm(theta - start), worst, bool(travelled >= distance), end=to_exact(theta))
