r"""Spurious fixed points with closed-form predictions (S2).

**Product model, switched-off subsets.** Choose a set :math:`Z` of subsets and put
:math:`u_A = v_A = 0` for :math:`A\in Z`. Fit the rest: :math:`J^*` is the maximum-entropy solution with
:math:`J^*_A = 0` on :math:`Z` and :math:`m_A(J^*) = m^D_A` off :math:`Z` (Newton on the concave
:math:`\Lambda` restricted to the support), and :math:`u_A = J^*_A`, :math:`v_A = 1` off :math:`Z`. Then
:math:`\partial_{u_A}\ell = v_A r_A = 0` everywhere. In the :math:`(u_A, v_A)` plane of :math:`A\in Z`,
:math:`\nabla^2 J_A = \begin{pmatrix}0&1\\1&0\end{pmatrix}` and the columns of :math:`G` vanish, so
:math:`H` has the decoupled blocks :math:`r_A\begin{pmatrix}0&1\\1&0\end{pmatrix}` with eigenvalues
:math:`\pm r_A`: a strict saddle whenever some :math:`r_A \neq 0`.

**Paramagnetic RBM (spin hidden units, b = 0).** At :math:`w = 0`,
:math:`F = \sum_i a_i s_i + \sum_\mu \log 2\cosh b_\mu`, so :math:`p_\theta` is a product measure with
:math:`m_i = \tanh a_i`; matching the fields :math:`a_i = \operatorname{artanh} m^D_i` makes every
gradient vanish (:math:`\partial_{w_{i\mu}}\ell = \tanh(b_\mu)(m^D_i - m_i) = 0`). With
:math:`b = 0`: :math:`\varphi'(0) = 0`, :math:`\varphi''(0) = 1`, hence

* :math:`G` has only the field columns (:math:`\partial J/\partial a_i = e_i`): :math:`G^\top C G` is
  :math:`\mathrm{diag}(1 - m_i^2)` on :math:`a` and zero elsewhere;
* :math:`\sum_s (p_D - p_\theta)\partial^2F`: on :math:`(w_{i\mu}, w_{j\mu})` it is
  :math:`m^D_{ij} - m_i m_j = \hat C_{ij}` for :math:`i\neq j` and :math:`0` for :math:`i = j`; on
  :math:`(b_\mu, w_{i\mu})` it is :math:`m^D_i - m_i = 0`; on :math:`(b_\mu, b_\mu)` it is 0.

So :math:`\mathrm{spec}\,H = \{-(1-(m^D_i)^2)\}_i \cup \{0\}^{M} \cup \mathrm{spec}(\hat C)^{\times M}`, where
:math:`\hat C` is the data's connected-correlation matrix with its diagonal set to zero. Since
:math:`\operatorname{tr}\hat C = 0`, any nonzero connected pair correlation gives an unstable
direction: the paramagnetic point is a strict saddle, its unstable directions the positive
eigenvectors of :math:`\hat C` placed on the weights of any hidden unit.

**Paramagnetic tanh network (b = 0): degenerate, not a saddle.** At :math:`w = 0`, :math:`b = 0`,
:math:`\sigma = \tanh` has :math:`\sigma(0) = \sigma''(0) = 0`, :math:`\sigma'(0) = 1`: the only nonzero
columns of :math:`G` are :math:`\partial J_i/\partial a_i = 1` and :math:`\partial J_i/\partial w_{i\mu} = c_\mu`,
and every second derivative of :math:`J` paired with a nonzero residual vanishes (the pair curvature
is :math:`c_\mu\sigma''(0) = 0`). So :math:`H = -\sum_i (1-m_i^2)\,v_iv_i^\top` with
:math:`v_i = e_{a_i} + \sum_\mu c_\mu e_{w_{i\mu}}`:
:math:`\mathrm{spec}\,H = \{-(1-m_i^2)(1+\sum_\mu c_\mu^2)\}_i \cup \{0\}^{P-N}`, whatever the data's
correlations (derived in closed form by ``ebm-verify derive``). Unlike the RBM's, this spurious
point has no unstable direction at second order: the connected correlations do not reach
:math:`H` when :math:`\sigma''(b) = 0`.

**Dead hidden unit (spin, b = 0).** Fit an RBM with :math:`M-1` units to a fixed point and add a unit
with :math:`w_{\cdot M} = 0`, :math:`b_M = 0`. The same algebra decouples the new unit's block:
its eigenvalues are :math:`0` (:math:`b_M`) and :math:`\mathrm{spec}(R)` with :math:`R_{ij} = r_{ij}`
(:math:`i\neq j`), :math:`R_{ii} = 0`, the pairwise moment residual of the smaller fit. When the smaller
RBM cannot fit the target the point is spurious, and unstable whenever :math:`R \neq 0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.conventions import subset_index, subsets
from theory.effective import concave_objective, covariance, moments, moments_by_mask, probabilities

from .numeric import INNER_SLACK_DIGITS, point_precision, solver_goal, working_precision
from .search import integrate_flow, polish, to_exact

__all__ = ["SpuriousPoint", "product_switched_off", "paramagnetic", "dead_unit", "connected_pair_matrix",
           "pair_eigenvalues", "construct"]


@dataclass(frozen=True)
class SpuriousPoint:
    """A constructed point with the eigenvalues its closed form predicts (at :func:`~verify.numeric.point_precision`)."""

    model: object
    theta: tuple[Fraction, ...]
    predicted_eigenvalues: tuple  # mpf values that must appear in spec H (with multiplicity)
    description: str
    free: tuple = ()  # coordinates left free by the certificate's slice (verify.certify.certify_support)
    matched: tuple = ()  # canonical indices of the couplings matched there


def maxent_on_support(n: int, support: list, m_data, dps: int, max_iter: int = 100):
    r"""Couplings :math:`J` supported on ``support`` (canonical indices) with :math:`m_A(J) = m^D_A` there.

    Damped Newton on the concave :math:`\Lambda` restricted to the support:
    :math:`J_S \leftarrow J_S + t\,C_{SS}^{-1}(m^D_S - m_S(J))`, halving ``t`` until :math:`\Lambda` increases.
    Call inside ``working_precision``.
    """
    D = 2**n - 1
    J = MP.zeros(D)
    goal = solver_goal(dps, INNER_SLACK_DIGITS)
    for _ in range(max_iter):
        p = probabilities(J, n, MP)
        mbm = moments_by_mask(p)
        m = moments(p, n)
        res = np.array([m_data[k] - m[k] for k in support], dtype=object)
        if max(abs(v) for v in res) < goal:
            break
        C = covariance(mbm, n)[np.ix_(support, support)]
        step = mpmath.cholesky_solve(mpmath.matrix(C.tolist()), mpmath.matrix(list(res)))
        delta = MP.zeros(D)
        for j, k in enumerate(support):
            delta[k] = step[j]
        # damped: halve until the concave objective increases (Newton from J = 0 can overshoot)
        current = concave_objective(J, m_data, n, MP)
        t = mpmath.mpf(1)
        while t > mpmath.mpf(2) ** -60 and not concave_objective(J + delta * t, m_data, n, MP) > current:
            t /= 2
        J = J + delta * t
    return J


def product_switched_off(model, target, off: list[tuple], dps: int) -> SpuriousPoint:
    """A model with ``switched-off`` points (:meth:`~theory.families.product.Product.switched_off_point`) with
    its couplings on ``off`` switched off and the rest fitted (see the module docstring)."""
    n = model.n
    index = subset_index(n)
    off_idx = sorted(index[A] for A in off)
    support = [k for k in range(2**n - 1) if k not in off_idx]
    digits = point_precision(dps)
    with working_precision(digits):
        m_data = target.moment_array(MP)
        J = maxent_on_support(n, support, m_data, digits)
        r = m_data - moments(probabilities(J, n, MP), n)
        fitted = dict(zip(subsets(n), to_exact([J[k] if k in support else mpmath.mpf(0) for k in range(2**n - 1)])))
        theta = model.switched_off_point({A: fitted[A] for A in subsets(n) if index[A] in support})
        predicted = tuple(x for k in off_idx for x in (r[k], -r[k]))
    names = ", ".join(",".join(map(str, A)) for A in off)
    return SpuriousPoint(model, theta, predicted, f"{model.family} n={n}, u = v = 0 on {{{names}}}, rest fitted",
                         free=tuple(support), matched=tuple(support))


def connected_pair_matrix(m_by_mask, m_model_by_mask, n: int) -> np.ndarray:
    r""":math:`R_{ij} = m^D_{ij} - m_{ij}` for :math:`i\neq j` (model moments ``m_model``), zero diagonal."""
    R = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            R[i, j] = mpmath.mpf(0) if i == j else m_by_mask[(1 << i) | (1 << j)] - m_model_by_mask[(1 << i) | (1 << j)]
    return R


def pair_eigenvalues(m_by_mask, m_model_by_mask, n: int) -> list:
    """Eigenvalues of :func:`connected_pair_matrix` (mpmath, ascending)."""
    R = connected_pair_matrix(m_by_mask, m_model_by_mask, n)
    spec = mpmath.eigsy(mpmath.matrix(R.tolist()), eigvals_only=True)
    return [spec[k] for k in range(n)]


def paramagnetic(model, target, dps: int, biases=None, output=None) -> SpuriousPoint:
    """``w = 0`` with matched fields (:meth:`~theory.families.hidden_layer.HiddenLayer.paramagnetic_point`), with
    the spectrum the family predicts there (:meth:`~theory.families.hidden_layer.HiddenLayer.paramagnetic_spectrum`)."""
    n = model.n
    digits = point_precision(dps)
    with working_precision(digits):
        m_data = target.moment_array(MP)
        fields = to_exact([mpmath.atanh(m_data[i]) for i in range(n)])
        theta = model.paramagnetic_point(fields, biases, output)
        mbm = target.moments_by_mask(MP)
        independent = np.array([mpmath.mpf(1)] + [mpmath.mpf(0)] * (2**n - 1), dtype=object)
        for mask in range(1, 2**n):
            prod = mpmath.mpf(1)
            for i in range(n):
                if mask >> i & 1:
                    prod *= m_data[i]
            independent[mask] = prod
        predicted = model.paramagnetic_spectrum(theta, [m_data[i] for i in range(n)],
                                                pair_eigenvalues(mbm, independent, n)) or ()
    return SpuriousPoint(model, tuple(theta), predicted, f"{model.family} paramagnetic point (w = 0, fields matched)",
                         free=tuple(range(n)), matched=tuple(range(n)))


def dead_unit(model, target, dps: int, seed: int = 0, t_max: float = 1e5) -> SpuriousPoint | None:
    """``model`` with its last unit dead (:meth:`~theory.families.hidden_layer.HiddenLayer.dead_unit_point`), the
    others at a fixed point of the model with one unit fewer reached by a seeded flow.

    Returns ``None`` when that flow does not reach a fixed point.
    """
    from .cases import random_params

    n = model.n
    small = model.with_hidden(model.M - 1)
    start = random_params(small, seed, scale=0.3)
    theta_float, _, _ = integrate_flow(small, target, start, t_max=t_max)
    found = polish(small, target, theta_float, dps)
    if not found.converged:
        return None
    theta = model.dead_unit_point(found.theta)
    with working_precision(point_precision(dps)):
        m_data_mask = target.moments_by_mask(MP)
        model_mask = moments_by_mask(probabilities(_couplings(small, found.theta), n, MP))
        predicted = model.dead_unit_spectrum(pair_eigenvalues(m_data_mask, model_mask, n))
    return SpuriousPoint(model, theta, predicted,
                         f"{model.family} n={n} M={model.M} with a dead hidden unit (others fitted)")


def _couplings(model, theta_exact):
    from theory.effective import model_couplings

    return model_couplings(model, MP.array(theta_exact), MP)


def default_switched_off(n: int) -> list[tuple]:
    """The subsets switched off in the enumerated product cases: every pair containing spin 1."""
    return [A for A in subsets(n, 2) if len(A) == 2 and A[0] == 1]





def construct(kind: str, model, target, dps: int) -> SpuriousPoint | None:
    """The spurious point of ``kind`` (one of ``model.special_points()``) for ``target``."""
    if kind not in model.special_points():
        raise ValueError(f"{model.family} declares no {kind!r} points (it has {model.special_points()})")
    if kind == "switched-off":
        return product_switched_off(model, target, default_switched_off(model.n), dps)
    if kind == "paramagnetic":
        return paramagnetic(model, target, dps)
    return dead_unit(model, target, dps, seed=1)
