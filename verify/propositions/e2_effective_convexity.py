r"""E2 — effective convexity: :math:`\Lambda(J) = J\cdot m^D - \log Z(J)` is strictly concave with maximiser :math:`J^D`.

At :math:`J = J(\theta)` for the case's parameter point:

* ``kl_identity``: :math:`\Lambda(J^D) - \Lambda(J) = \mathrm{KL}(p_D\|p_J)`;
* ``stationary_at_JD``: :math:`\nabla\Lambda(J^D) = m^D - m(J^D) = 0`;
* ``fisher_formula``: :math:`m_{A\triangle B} - m_A m_B` equals the covariance computed directly
  from the dense character table, :math:`\sum_s p\,\chi_A\chi_B - m_A m_B`;
* ``hessian_is_minus_C``: :math:`\partial m_A/\partial J_B = C_{AB}` by central differences of the
  moments (step :math:`10^{-\mathrm{dps}/3}`), i.e. :math:`\nabla^2\Lambda = -C`;
* ``min_eigenvalue_C`` must be strictly positive (:math:`C \succ 0`: strict concavity).
"""

from __future__ import annotations

import numpy as np

from theory.arith import MP
from theory.conventions import canonical_masks
from theory.effective import (
    concave_objective,
    covariance,
    kl_divergence,
    log_probabilities,
    model_couplings,
    moments,
    moments_by_mask,
    probabilities,
)
from theory.fixedpoint import integer_matmul
from theory.walsh import character_table

from ..cases import Case, enumerated_cases
from ..numeric import agreed_string, at_two_precisions, case_guard, central_differences, fd_step
from ..registry import Proposition, register, reproduce_line
from ..verdict import Requirement, Verdict, judge
from ..document_sections import effective_convexity_section
from ..linalg import symmetric_eigenvalues
from .common import max_abs, relative_max_abs

__all__ = ["e2_quantities", "check_e2", "moment_jacobian_fd"]


def moment_jacobian_fd(J, n: int, dps: int):
    r"""Central-difference Jacobian :math:`\partial m/\partial J` with step :math:`10^{-\mathrm{dps}/3}` (``D x D``)."""
    columns = central_differences(lambda j: moments(probabilities(j, n, MP), n), J, fd_step(dps))
    return np.stack(columns, axis=1)


def e2_quantities(case: Case, dps: int) -> dict:
    """E2 residuals and the smallest eigenvalue of ``C`` at the current working precision."""
    model, target, arith = case.model, case.target, MP
    n = model.n
    J = model_couplings(model, case.theta(arith), arith)
    J_data = target.coupling_array(arith)
    m_data = target.moment_array(arith)
    p_data = target.probability_array(arith)
    gap = concave_objective(J_data, m_data, n, arith) - concave_objective(J, m_data, n, arith)
    kl = kl_divergence(p_data, target.log_probability_array(arith), log_probabilities(J, n, arith))
    p = probabilities(J, n, arith)
    C = covariance(moments_by_mask(p), n)
    chi = character_table(n)[:, canonical_masks(n)].astype(object)
    m = moments(p, n)
    C_direct = integer_matmul(chi.T, p[:, None] * chi) - np.outer(m, m)
    eigenvalues = symmetric_eigenvalues(C)
    return {
        "kl_identity": abs(gap - kl) / (1 + abs(kl)),
        "stationary_at_JD": max_abs(moments(probabilities(J_data, n, arith), n) - m_data),
        "fisher_formula": relative_max_abs(C, C_direct),
        "hessian_is_minus_C": relative_max_abs(moment_jacobian_fd(J, n, dps), C),
        "min_eigenvalue_C": min(eigenvalues),
        "kl": kl,
    }


def check_e2(case: Case, dps: int) -> Verdict:
    with case_guard(case):
        low, high = at_two_precisions(lambda d: e2_quantities(case, d), dps)
    names = ("kl_identity", "stationary_at_JD", "fisher_formula", "hessian_is_minus_C")
    reqs = [Requirement.zero(k, low[k], high[k], dps) for k in names]
    reqs.append(Requirement.positive("min_eigenvalue_C", low["min_eigenvalue_C"], high["min_eigenvalue_C"], dps))
    extra = {"kl_to_target": agreed_string(low["kl"], high["kl"], 8)}
    return judge("E2", case.name, reqs, dps, reproduce_line("E2", case, dps), extra=extra,
                 expected=names + ("min_eigenvalue_C",))


register(
    Proposition(
        id="E2",
        title=r"effective convexity: $\Lambda$ strictly concave, maximised at $J^D$, gap $= \mathrm{KL}$",
        statement=r"\nabla^2\Lambda = -C \prec 0,\quad \Lambda(J^D)-\Lambda(J) = \mathrm{KL}(p_D\,\|\,p_J)",
        hypotheses="a strictly positive target; J = J(θ) at the case's parameter point",
        check=check_e2,
        cases=enumerated_cases,
        order=20,
        document=effective_convexity_section,
    )
)
