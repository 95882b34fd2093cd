r"""Spurious fixed points with closed-form predictions (S2).

Each family declares its special points (:meth:`~theory.families.base.Model.special_point_constructors`: the
point and its predicted eigenvalues, stated and built in the family's module); this module gives them the
numerical services they need for a target (:class:`SpuriousTools`: maximum-entropy fits, seeded flows, exact
conversion, pair spectra) and :func:`construct` calls the constructor of a kind. The mathematics, for the
record:

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

from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.effective import concave_objective, covariance, model_couplings, moments, moments_by_mask, probabilities

from .numeric import INNER_SLACK_DIGITS, point_precision, solver_goal, working_precision
from .search import integrate_flow, polish, to_exact

__all__ = ["SpuriousPoint", "SpuriousTools", "construct", "product_switched_off", "paramagnetic", "dead_unit",
           "connected_pair_matrix", "pair_eigenvalues", "maxent_on_support"]


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


class SpuriousTools:
    """The numerical services of a special-point constructor (:class:`theory.families.base.PointTools`) for
    ``target`` at ``dps``: mpf work at :func:`~verify.numeric.point_precision`, fixed points of smaller models by a
    seeded flow from a small random start (scale 0.3, up to ``t_max``) polished at ``dps``."""

    def __init__(self, target, dps: int, t_max: float = 1e5):
        self.target, self.dps, self.t_max = target, dps, t_max
        self.n = target.n

    @contextmanager
    def working(self):
        with working_precision(point_precision(self.dps)) as arith:
            yield arith

    def data_moments(self):
        return self.target.moment_array(MP)

    def maxent_fit(self, support):
        return maxent_on_support(self.n, support, self.data_moments(), point_precision(self.dps))

    def residual(self, J):
        return self.data_moments() - moments(probabilities(J, self.n, MP), self.n)

    def exact(self, values):
        return to_exact(values)

    def fixed_point(self, model, seed: int):
        from .cases import random_params

        theta_float, _, _ = integrate_flow(model, self.target, random_params(model, seed, scale=0.3), t_max=self.t_max)
        found = polish(model, self.target, theta_float, self.dps)
        return found.theta if found.converged else None

    def model_moments_by_mask(self, model, theta):
        return moments_by_mask(probabilities(model_couplings(model, MP.array(theta), MP), self.n, MP))

    def pair_eigenvalues(self, moments_by_mask):
        return pair_eigenvalues(self.target.moments_by_mask(MP), moments_by_mask, self.n)


def _point(model, built) -> SpuriousPoint | None:
    if built is None:
        return None
    return SpuriousPoint(model, tuple(built.theta), tuple(built.predicted_eigenvalues), built.description,
                         free=tuple(built.free), matched=tuple(built.matched))


def construct(kind: str, model, target, dps: int, **options) -> SpuriousPoint | None:
    """The spurious point of ``kind`` (one of ``model.special_points()``) for ``target``: the family's constructor
    (:meth:`~theory.families.base.Model.special_point_constructors`) with :class:`SpuriousTools`; ``options`` go to
    the constructor. ``None`` when it cannot be built (a fit that reached no fixed point)."""
    constructors = model.special_point_constructors()
    if kind not in constructors:
        raise ValueError(f"{model.family} declares no {kind!r} points (it has {tuple(constructors)})")
    return _point(model, constructors[kind](SpuriousTools(target, dps), **options))


def product_switched_off(model, target, off: list[tuple], dps: int) -> SpuriousPoint:
    """A model with switched-off points (:meth:`~theory.families.product.Product.construct_switched_off`) with its
    couplings on ``off`` switched off and the rest fitted."""
    return _point(model, model.construct_switched_off(SpuriousTools(target, dps), off))


def paramagnetic(model, target, dps: int, biases=None, output=None) -> SpuriousPoint:
    """``w = 0`` with matched fields (:meth:`~theory.families.hidden_laws.HiddenLayerLaws.construct_paramagnetic`)."""
    return _point(model, model.construct_paramagnetic(SpuriousTools(target, dps), biases, output))


def dead_unit(model, target, dps: int, seed: int = 0, t_max: float = 1e5) -> SpuriousPoint | None:
    """``model`` with its last unit dead, the others at a fixed point of the model with one unit fewer reached by a
    seeded flow (:meth:`~theory.families.hidden_laws.HiddenLayerLaws.construct_dead_unit`); ``None`` when that flow
    does not reach a fixed point."""
    return _point(model, model.construct_dead_unit(SpuriousTools(target, dps, t_max), seed))
