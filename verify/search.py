r"""Finding fixed points: float64 flow to a plateau, then Newton at full precision; Gauss–Newton on :math:`J(\theta)=J^D`.

* :func:`integrate_flow` integrates :math:`\dot\theta = \nabla\ell(\theta)` with scipy's LSODA (stiff
  tail; the Jacobian :math:`H` is supplied) in decades of time until :math:`\|\nabla\ell\|` plateaus
  below a tolerance.
* :func:`newton_polish` solves :math:`\nabla\ell = 0` with minimal-norm Newton steps
  :math:`\delta = -H^+\nabla\ell` (eigenvalues below ``|λ|max·10^{-dps/4}``, :func:`~verify.numeric.pinv_cutoff`,
  dropped, so that the neutral directions of a manifold of fixed points are not divided by zero), a step
  bounded in norm and a backtracking line search on :math:`\|\nabla\ell\|`. It checks the residual itself.
* :func:`solve_couplings` solves :math:`J(\theta) = J^D` by Gauss–Newton with steps
  :math:`\delta = -G^+(J(\theta) - J^D)`, first at float64 then at full precision.

All functions return exact :class:`~fractions.Fraction` points so that a classification can read
them at any precision. Their precisions, stopping goals and cut-offs are those of :mod:`verify.numeric`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import FLOAT64, MP
from theory.effective import gradient, jacobian, model_couplings
from theory.flow import FlowState, flow_jacobian

from .linalg import norm, pseudo_inverse_solve, symmetric_eigen
from .numeric import (FLOAT64_COUPLINGS_GOAL, FLOAT64_COUPLINGS_STALL, FLOAT64_RCOND, FLOW_ATOL, FLOW_GRAD_TOL,
                      FLOW_RTOL, NEWTON_SLACK_DIGITS, found_point_goal, pinv_cutoff, polish_precisions, solver_goal,
                      working_precision)

__all__ = ["SearchOutcome", "integrate_flow", "flow_record", "diverging", "newton_polish", "solve_couplings", "to_exact", "polish"]


@dataclass(frozen=True)
class SearchOutcome:
    """A point reached by a search, exact, with how it was reached."""

    theta: tuple[Fraction, ...]
    converged: bool
    residual: float  # ‖∇ℓ‖ for Newton, ‖J − J^D‖ for Gauss–Newton
    method: str
    steps: int
    note: str = ""


def to_exact(values) -> tuple[Fraction, ...]:
    """Exact rationals of float64 or mpf values (no rounding)."""
    out = []
    for v in values:
        if isinstance(v, Fraction):
            out.append(v)
        elif isinstance(v, mpmath.mpf):
            sign, man, exp, _ = v._mpf_  # (mpf.man_exp drops the sign)
            value = Fraction(int(man)) * Fraction(2) ** int(exp)
            out.append(-value if sign else value)
        else:
            out.append(Fraction(float(v)))
    return tuple(out)


def integrate_flow(model, target, theta0, t_max: float = 1e5, grad_tol: float = FLOW_GRAD_TOL):
    """Float64 flow from ``theta0`` until ``‖∇ℓ‖ < grad_tol`` or ``t_max``; returns ``(theta, t, ‖∇ℓ‖)``.

    Integrates decade by decade (``t`` = 1, 10, 100, ...). Stops early when the flow runs off to
    infinity: :func:`diverging` on the per-decade record.
    """
    theta, t, gn, _ = flow_record(model, target, theta0, t_max, grad_tol)
    return theta, t, gn


def flow_record(model, target, theta0, t_max: float = 1e5, grad_tol: float = FLOW_GRAD_TOL):
    """As :func:`integrate_flow`, also returning the record ``[(t, ‖θ‖, ‖∇ℓ‖), ...]`` at each decade."""
    from scipy.integrate import solve_ivp

    m_data = target.moment_array(FLOAT64)

    def rhs(_t, th):
        return gradient(model, th, m_data, FLOAT64)

    def jac(_t, th):
        return flow_jacobian(model, th, m_data, FLOAT64)

    theta = np.asarray([float(v) for v in theta0], dtype=float)
    t, end = 0.0, 1.0
    gn = float(np.linalg.norm(rhs(0, theta)))
    record = [(0.0, float(np.linalg.norm(theta)), gn)]
    while gn >= grad_tol and t < t_max:
        end = min(end, t_max)
        # Newton polishes the endpoint at full precision: the float64 flow only has to get close
        sol = solve_ivp(rhs, (t, end), theta, method="LSODA", jac=jac, rtol=FLOW_RTOL, atol=FLOW_ATOL)
        theta, t = sol.y[:, -1], end
        gn = float(np.linalg.norm(rhs(t, theta)))
        record.append((t, float(np.linalg.norm(theta)), gn))
        if not sol.success or not np.all(np.isfinite(theta)) or diverging(record):
            break
        end *= 10
    return theta, t, gn, record


def diverging(record) -> bool:
    r"""Does the flow run off to infinity? Over the last three decades (up to ``t >= 10^4``)
    :math:`\|\nabla\ell\|` fell like :math:`1/t` (a factor 5 to 20 per decade) while :math:`\|\theta\|` kept
    growing: the likelihood's supremum is approached at infinity, as :math:`\theta \sim \log t`."""
    if len(record) < 5 or record[-1][0] < 1e4:
        return False
    last = record[-4:]
    norms = [n for _, n, _ in last]
    grads = [g for _, _, g in last]
    falls_like_one_over_t = all(b > 0 and 5 < a / b < 20 for a, b in zip(grads, grads[1:]))
    return falls_like_one_over_t and all(b > a for a, b in zip(norms, norms[1:]))


def _gradient_and_norm(model, theta, m_data):
    g = gradient(model, theta, m_data, MP)
    return g, norm(g)


def newton_polish(model, target, theta_start, dps: int, max_steps: int = 60, max_step_norm: float = 1.0,
                  linear_dps: int | None = None) -> SearchOutcome:
    """Minimal-norm damped Newton on :math:`\\nabla\\ell = 0` at ``dps`` digits (see the module docstring).

    ``linear_dps`` (default ``dps``): the precision of the eigen-decomposition of :math:`H`. Near a fixed
    point the gradient is tiny, so a pseudo-inverse accurate to ``linear_dps`` digits still gives a step
    accurate to about twice as many digits; the residual is always computed at ``dps``.
    """
    with working_precision(dps):
        m_data = target.moment_array(MP)
        theta = MP.array(to_exact(theta_start)) if not isinstance(theta_start[0], mpmath.mpf) else theta_start.copy()
        goal = solver_goal(dps, NEWTON_SLACK_DIGITS)
        g, gn = _gradient_and_norm(model, theta, m_data)
        history = [gn]
        steps = 0
        for steps in range(1, max_steps + 1):
            if gn <= goal:
                break
            with mpmath.workdps(linear_dps or dps):
                state = FlowState(model, MP.array(to_exact(theta)), target.moment_array(MP), MP)
                evals, Q = symmetric_eigen(state.hessian())
            big = max(abs(e) for e in evals)
            cutoff = big * pinv_cutoff(linear_dps or dps)
            coeffs = Q.T @ g
            delta = -sum((Q[:, k] * (coeffs[k] / evals[k]) for k in range(len(evals)) if abs(evals[k]) > cutoff),
                         start=MP.zeros(model.P))
            size = norm(delta)
            if size > max_step_norm:
                delta = delta * (max_step_norm / size)
            t = mpmath.mpf(1)
            for _ in range(40):
                trial = theta + delta * t
                trial_g, tn = _gradient_and_norm(model, trial, m_data)
                if tn < gn:
                    break
                t /= 2
            else:
                break  # no decrease along the Newton direction: stagnation
            theta, g, gn = trial, trial_g, tn
            history.append(gn)
            if len(history) > 6 and history[-1] > history[-6] / 10:
                break  # five steps gained less than a decade: no Newton convergence here
        return SearchOutcome(to_exact(theta), bool(gn <= goal), float(gn), "newton", steps)


def polish(model, target, theta_start, dps: int) -> SearchOutcome:
    """Newton at ``dps + 10`` then at ``2·dps + 10`` digits (:func:`~verify.numeric.polish_precisions`), so the
    point serves classifications at ``dps`` and ``2·dps``."""
    low, high = polish_precisions(dps)
    first = newton_polish(model, target, theta_start, low)
    if not first.converged:
        return SearchOutcome(first.theta, False, first.residual, "flow+newton", first.steps)
    second = newton_polish(model, target, first.theta, high, linear_dps=low)
    return SearchOutcome(second.theta, second.converged, second.residual, "flow+newton", first.steps + second.steps)


def solve_couplings(model, target, theta0, dps: int, max_steps: int = 200) -> SearchOutcome:
    """Gauss–Newton on :math:`J(\\theta) = J^D`: float64 then ``dps + 10`` and ``2·dps + 10`` digits
    (:func:`~verify.numeric.polish_precisions`)."""
    JD = target.coupling_array(FLOAT64)
    theta = np.asarray([float(v) for v in theta0], dtype=float)
    res = model_couplings(model, theta, FLOAT64) - JD
    for _ in range(max_steps):
        if np.linalg.norm(res) < FLOAT64_COUPLINGS_GOAL:
            break
        G = jacobian(model, theta, FLOAT64)
        delta = -np.linalg.lstsq(G, res, rcond=FLOAT64_RCOND)[0]
        if np.linalg.norm(delta) > 1.0:
            delta /= np.linalg.norm(delta)
        t = 1.0
        while t > 1e-6:
            trial = theta + t * delta
            trial_res = model_couplings(model, trial, FLOAT64) - JD
            if np.linalg.norm(trial_res) < np.linalg.norm(res):
                break
            t /= 2
        else:
            break
        theta, res = trial, trial_res
    if np.linalg.norm(res) > FLOAT64_COUPLINGS_STALL:
        return SearchOutcome(to_exact(theta), False, float(np.linalg.norm(res)), "gauss-newton", max_steps,
                             note=f"|J - J^D| stalled at {np.linalg.norm(res):.2e} at float64")
    point = to_exact(theta)
    total = 0
    for digits in polish_precisions(dps):
        with working_precision(digits):
            JDm = target.coupling_array(MP)
            th = MP.array(point)
            for total in range(total + 1, total + 30):
                r = model_couplings(model, th, MP) - JDm
                if norm(r) < solver_goal(digits, NEWTON_SLACK_DIGITS):
                    break
                th = th - pseudo_inverse_solve(jacobian(model, th, MP), r, pinv_cutoff(digits))
            point = to_exact(th)
            final = norm(model_couplings(model, th, MP) - JDm)
    converged = final < found_point_goal(dps)
    return SearchOutcome(point, bool(converged), float(final), "gauss-newton", total)
