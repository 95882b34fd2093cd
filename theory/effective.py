r"""The effective model: couplings, moments, Fisher matrix, :math:`\log Z`, :math:`\Lambda`, KL, :math:`\ell`, :math:`G`, :math:`\nabla\ell`.

Formulas (THEORY.md §2), written once for every number system of :mod:`theory.arith`:

* :math:`J_A(\theta) = 2^{-N}\sum_s F_\theta(s)\chi_A(s)` and :math:`G = \partial J/\partial\theta`
  is the same transform applied to :math:`\partial F/\partial\theta`;
* :math:`p_J(s) = e^{\sum_A J_A\chi_A(s)}/Z(J)`, :math:`\log Z` by log-sum-exp;
* moments :math:`m_A = E_p[\chi_A] = \sum_s p(s)\chi_A(s)` (a Walsh transform of :math:`p`);
* Fisher matrix :math:`C_{AB} = m_{A\triangle B} - m_A m_B` (no second enumeration);
* :math:`\Lambda(J) = J\cdot m^D - \log Z(J)`, :math:`\mathrm{KL}(p_D\|p_J) = \sum_s p_D\log(p_D/p_J)`;
* :math:`\ell(\theta) = E_D[F_\theta] - \log\sum_s e^{F_\theta(s)}` and
  :math:`\nabla\ell = G^\top r` with :math:`r = m^D - m(J(\theta))`.
"""

from __future__ import annotations

import numpy as np

from .arith import Arith
from .conventions import canonical_masks
from .fixedpoint import from_fixed, is_mpf_array, to_fixed
from .walsh import energy_from_spin_couplings, spin_couplings, to_canonical, walsh_hadamard

__all__ = [
    "log_partition",
    "log_probabilities",
    "probabilities",
    "moments",
    "moments_by_mask",
    "covariance",
    "concave_objective",
    "kl_divergence",
    "model_couplings",
    "model_probabilities",
    "jacobian",
    "log_likelihood",
    "moment_residual",
    "gradient",
    "gradient_phases",
]


def log_partition(J: np.ndarray, n: int, arith: Arith):
    r""":math:`\log Z(J) = \log\sum_s \exp\big(\sum_{A\neq\emptyset} J_A\chi_A(s)\big)` (log-sum-exp)."""
    return arith.logsumexp(energy_from_spin_couplings(J, n))


def log_probabilities(J: np.ndarray, n: int, arith: Arith) -> np.ndarray:
    r""":math:`\log p_J(s) = \sum_A J_A\chi_A(s) - \log Z(J)` on all configurations."""
    F = energy_from_spin_couplings(J, n)
    return F - arith.logsumexp(F)


def probabilities(J: np.ndarray, n: int, arith: Arith) -> np.ndarray:
    r""":math:`p_J(s)` on all configurations."""
    return arith.exp(log_probabilities(J, n, arith))


def moments_by_mask(p: np.ndarray) -> np.ndarray:
    r"""All moments :math:`m_A = \sum_s p(s)\chi_A(s)` indexed by subset mask (``m[0]`` is the total mass)."""
    return walsh_hadamard(p)


def moments(p: np.ndarray, n: int) -> np.ndarray:
    r"""Moments :math:`m_A = E_p[\chi_A]` of the nonempty subsets in canonical order."""
    return to_canonical(moments_by_mask(p), n)


def covariance(m_by_mask: np.ndarray, n: int) -> np.ndarray:
    r"""Fisher matrix :math:`C_{AB} = m_{A\triangle B} - m_A m_B` (canonical order, ``D x D``).

    ``m_by_mask`` holds all moments by mask with :math:`m_\emptyset = 1`; the symmetric difference
    of subsets is the XOR of masks.
    """
    masks = canonical_masks(n)
    xor = masks[:, None] ^ masks[None, :]
    if is_mpf_array(m_by_mask):
        # on the integer grid (theory.fixedpoint): m_{A△B} 2^{2k} - (m_A 2^k)(m_B 2^k) exactly, rounded once
        ints, shift = to_fixed(m_by_mask)
        if shift >= 0:
            return from_fixed(_fisher(ints[xor] * (1 << shift), ints[masks]), 2 * shift)
    return _fisher(m_by_mask[xor], m_by_mask[masks])


def _fisher(m_xor: np.ndarray, m: np.ndarray) -> np.ndarray:
    r""":math:`C_{AB} = m_{A\triangle B} - m_Am_B` from the moments of the symmetric differences and of the subsets."""
    return m_xor - np.outer(m, m)


def concave_objective(J: np.ndarray, m_data: np.ndarray, n: int, arith: Arith):
    r""":math:`\Lambda(J) = J\cdot m^D - \log Z(J)`, strictly concave with maximiser :math:`J^D`."""
    return J @ m_data - log_partition(J, n, arith)


def kl_divergence(p_data: np.ndarray, log_p_data: np.ndarray, log_q: np.ndarray):
    r""":math:`\mathrm{KL}(p_D\|q) = \sum_s p_D(s)\,(\log p_D(s) - \log q(s))`."""
    return p_data @ (log_p_data - log_q)


def model_couplings(model, theta: np.ndarray, arith: Arith) -> np.ndarray:
    r"""Effective couplings :math:`J(\theta)` (canonical order, ∅ dropped)."""
    return spin_couplings(model.energy(theta, arith), model.n)


def model_probabilities(model, theta: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`p_\theta(s) = e^{F_\theta(s)}/Z(\theta)`."""
    F = model.energy(theta, arith)
    return arith.exp(F - arith.logsumexp(F))


def jacobian(model, theta: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`G_{Ak} = \partial J_A/\partial\theta_k = 2^{-N}\sum_s \partial_k F_\theta(s)\,\chi_A(s)` (``D x P``)."""
    return spin_couplings(model.energy_grad(theta, arith), model.n)


def log_likelihood(model, theta: np.ndarray, p_data: np.ndarray, arith: Arith):
    r""":math:`\ell(\theta) = \sum_s p_D(s) F_\theta(s) - \log\sum_s e^{F_\theta(s)}`."""
    F = model.energy(theta, arith)
    return p_data @ F - arith.logsumexp(F)


def moment_residual(model, theta: np.ndarray, m_data: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`r(\theta) = m^D - m(J(\theta))`."""
    return m_data - moments(model_probabilities(model, theta, arith), model.n)


def gradient(model, theta: np.ndarray, m_data: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`\nabla\ell = G^\top r` (effective-model form)."""
    return jacobian(model, theta, arith).T @ moment_residual(model, theta, m_data, arith)


def gradient_phases(model, theta: np.ndarray, p_data: np.ndarray, arith: Arith) -> np.ndarray:
    r""":math:`\nabla\ell = E_D[\partial_\theta F] - E_\theta[\partial_\theta F]` (positive minus negative phase)."""
    dF = model.energy_grad(theta, arith)
    return p_data @ dF - model_probabilities(model, theta, arith) @ dF
