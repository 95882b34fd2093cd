r"""E1 — the effective model is exact and invertible.

Checked at a parameter point :math:`\theta` against a target :math:`p_D`, each residual decided
zero at ``dps`` and ``2·dps`` digits:

* ``walsh_round_trip``: :math:`F = \mathrm{WHT}(2^{-N}\mathrm{WHT}(F))` for :math:`F = F_\theta`;
* ``p_to_J_to_p``: :math:`p_{J(p_D)} = p_D` (the map :math:`p \mapsto J` is inverted by :math:`J\mapsto p_J`);
* ``boolean_gauge``: the Möbius coefficients of :math:`F` equal the spin couplings converted by
  :math:`K_B = 2^{|B|}\sum_{A\supseteq B}(-1)^{|A|-|B|}J_A`, and converting back gives :math:`J`;
* ``gradient_formula``: :math:`G^\top r = E_D[\partial_\theta F] - E_\theta[\partial_\theta F]`;
* ``gradient_finite_difference``: :math:`G^\top r` equals the central difference of :math:`\ell` (step
  :math:`10^{-\mathrm{dps}/3}`), an autodiff-free check that the structured :math:`\partial F` is the
  derivative of :math:`F`;
* ``closed_form_couplings``, ``closed_form_jacobian`` (models with :math:`N \le 3`): :math:`J(\theta)` and
  :math:`G(\theta)` evaluated from the sympy closed forms (:mod:`theory.closed_forms`, lambdified) equal
  the structured evaluators' (derivations from the disk cache).
"""

from __future__ import annotations

from theory.arith import MP
from theory.effective import gradient, gradient_phases, jacobian, log_likelihood, moments, probabilities
from theory.walsh import (
    boolean_couplings,
    boolean_to_spin,
    inverse_walsh_hadamard,
    spin_couplings,
    spin_to_boolean,
    walsh_hadamard,
)

from ..cases import Case, enumerated_cases
from ..closed_form_evaluators import evaluators_for, has_closed_forms
from ..numeric import at_two_precisions, case_guard, central_differences, fd_step
from ..registry import Proposition, register, reproduce_line
from ..verdict import Requirement, Verdict, judge
from .common import relative_max_abs

__all__ = ["e1_residuals", "check_e1"]


def e1_residuals(case: Case, dps: int) -> dict:
    """The E1 residuals at the current working precision (call inside ``working_precision``)."""
    model, target, arith = case.model, case.target, MP
    n = model.n
    theta = case.theta(arith)
    F = model.energy(theta, arith)
    J = spin_couplings(F, n)
    p_data = target.probability_array(arith)
    J_data = spin_couplings(target.log_probability_array(arith), n)
    K = boolean_couplings(F, n)
    m_data = moments(p_data, n)
    g = gradient(model, theta, m_data, arith)
    out = {
        "walsh_round_trip": relative_max_abs(inverse_walsh_hadamard(walsh_hadamard(F)), F),
        "p_to_J_to_p": relative_max_abs(probabilities(J_data, n, arith), p_data),
        "boolean_gauge": max(relative_max_abs(spin_to_boolean(J, n), K), relative_max_abs(boolean_to_spin(K, n), J)),
        "gradient_formula": relative_max_abs(g, gradient_phases(model, theta, p_data, arith)),
        "gradient_finite_difference": relative_max_abs(g, _finite_difference_gradient(model, theta, p_data, dps)),
    }
    if has_closed_forms(model):
        closed = evaluators_for(model)
        out["closed_form_couplings"] = relative_max_abs(closed.couplings(theta), J)
        out["closed_form_jacobian"] = relative_max_abs(closed.jacobian(theta), jacobian(model, theta, arith))
    return out


def _finite_difference_gradient(model, theta, p_data, dps: int):
    return central_differences(lambda th: log_likelihood(model, th, p_data, MP), theta, fd_step(dps))


#: what E1 checks at every case (and, for models with closed forms, their agreement with the evaluators)
E1_REQUIREMENTS = ("walsh_round_trip", "p_to_J_to_p", "boolean_gauge", "gradient_formula", "gradient_finite_difference")
CLOSED_FORM_REQUIREMENTS = ("closed_form_couplings", "closed_form_jacobian")


def check_e1(case: Case, dps: int) -> Verdict:
    with case_guard(case):
        low, high = at_two_precisions(lambda d: e1_residuals(case, d), dps)
    reqs = [Requirement.zero(k, low[k], high[k], dps) for k in low]
    expected = E1_REQUIREMENTS + (CLOSED_FORM_REQUIREMENTS if has_closed_forms(case.model) else ())
    return judge("E1", case.name, reqs, dps, reproduce_line("E1", case, dps), expected=expected)


register(
    Proposition(
        id="E1",
        title="effective model: exact, invertible, gauge-consistent; gradient = positive minus negative phase",
        statement=r"F_\theta(s)=\sum_A J_A(\theta)\chi_A(s),\ J_A = 2^{-N}\sum_s F_\theta(s)\chi_A(s);\ "
        r"p\leftrightarrow J\ \text{bijective};\ \nabla\ell = G^\top r = E_D[\partial_\theta F]-E_\theta[\partial_\theta F]",
        hypotheses="any model, parameter point and strictly positive target",
        check=check_e1,
        cases=enumerated_cases,
        order=10,
    )
)
