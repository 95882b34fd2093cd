r"""The gradient flow :math:`\dot\theta = \nabla\ell(\theta)` and its Jacobian, from structured formulas.

With :math:`G = \partial J/\partial\theta`, :math:`r = m^D - m(J(\theta))` and the Fisher matrix
:math:`C` of :math:`p_\theta`:

* induced flow :math:`\dot J = G\dot\theta = K r` with :math:`K = GG^\top`;
* Hessian of the effective couplings :math:`\nabla^2 J_A = 2^{-N}\sum_s \partial^2F_\theta(s)\chi_A(s)`;
* Jacobian of the flow (Hessian of :math:`\ell`)

  .. math:: H = \sum_A r_A\nabla^2 J_A - G^\top C G.

Since :math:`\sum_{A\neq\emptyset} m_A\chi_A(s) = 2^N p(s) - 1`, the first term is
:math:`\sum_s (p_D(s) - p_\theta(s))\,\partial^2F_\theta(s)`, and :math:`G^\top C G` is the covariance of
:math:`\partial_\theta F` under :math:`p_\theta`: :func:`flow_jacobian` uses the effective-model form,
:func:`flow_jacobian_phases` the positive-minus-negative-phase form, a second algorithm for the same
matrix: its weights :math:`p_D - p_\theta` come from the probabilities (not from :math:`r` by a Walsh
transform) and its second term is a covariance over configurations (not :math:`G^\top CG`). Both contract
:math:`\partial^2F` through the family's
:meth:`~theory.families.base.Model.weighted_energy_hessian`, which is checked against sympy's derivatives
by the tests and, at every point F1 judges, by a finite difference of :math:`\nabla\ell`.
"""

from __future__ import annotations

import numpy as np

from .arith import Arith
from .effective import covariance, jacobian, model_probabilities, moments, moments_by_mask
from .fixedpoint import matmul
from .walsh import from_canonical, inverse_walsh_hadamard, spin_couplings

__all__ = [
    "FlowState",
    "coupling_hessians",
    "curvature_term",
    "flow_jacobian",
    "flow_jacobian_phases",
    "induced_kernel",
]


class FlowState:
    r"""Everything the flow needs at one point, computed once: :math:`F, \partial F, p_\theta, m, C, G, r, \nabla\ell`.

    ``theta`` is an array in ``arith``'s number type; ``m_data`` the target's moments.
    """

    def __init__(self, model, theta: np.ndarray, m_data: np.ndarray, arith: Arith):
        self.model, self.theta, self.arith = model, theta, arith
        n = model.n
        self.n = n
        self.p = model_probabilities(model, theta, arith)
        self.m_by_mask = moments_by_mask(self.p)
        self.m = moments(self.p, n)
        self.G = jacobian(model, theta, arith)
        self.r = m_data - self.m
        self.gradient = self.G.T @ self.r
        self._C = None

    @property
    def C(self) -> np.ndarray:
        r"""Fisher matrix :math:`C_{AB} = m_{A\triangle B} - m_A m_B` of :math:`p_\theta`."""
        if self._C is None:
            self._C = covariance(self.m_by_mask, self.n)
        return self._C

    @property
    def kernel(self) -> np.ndarray:
        """:math:`K = GG^\\top`."""
        return induced_kernel(self.G)

    def hessian(self) -> np.ndarray:
        """:math:`H = \\sum_A r_A\\nabla^2J_A - G^\\top C G`."""
        return curvature_term(self.model, self.theta, self.r, self.arith) - matmul(matmul(self.G.T, self.C), self.G)


def induced_kernel(G: np.ndarray) -> np.ndarray:
    r"""Kernel of the induced flow :math:`\dot J = K r`, :math:`K = GG^\top \succeq 0`."""
    return matmul(G, G.T)


def coupling_hessians(model, theta: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`\nabla^2_\theta J_A` for every nonempty ``A`` (shape ``(D, P, P)``, canonical order)."""
    return spin_couplings(model.energy_hessian(theta, arith), model.n)


def curvature_term(model, theta: np.ndarray, r: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`\sum_A r_A\nabla^2J_A = \sum_s w(s)\,\partial^2F_\theta(s)` with :math:`w = 2^{-N}\sum_A r_A\chi_A`."""
    zero = r[0] * 0
    weights = inverse_walsh_hadamard(from_canonical(r, model.n, empty=zero))
    return model.weighted_energy_hessian(theta, weights, arith)


def flow_jacobian(model, theta: np.ndarray, m_data: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`H = \sum_A r_A\nabla^2J_A - G^\top C G` (effective-model form)."""
    return FlowState(model, theta, m_data, arith).hessian()


def flow_jacobian_phases(model, theta: np.ndarray, p_data: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`H = E_D[\partial^2F] - E_\theta[\partial^2F] - \mathrm{Cov}_\theta(\partial F)` (direct form)."""
    p = model_probabilities(model, theta, arith)
    dF = model.energy_grad(theta, arith)
    P = dF.shape[1]
    mean = matmul(p[None, :], dF).reshape(P)
    centred = dF - mean[None, :]
    cov = matmul(centred.T * p[None, :], centred)
    return model.weighted_energy_hessian(theta, p_data - p, arith) - cov
