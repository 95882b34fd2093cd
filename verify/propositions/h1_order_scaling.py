r"""H1 — order scaling: with :math:`w = \varepsilon\tilde w` and generic biases, :math:`\|J_k\| = \Theta(\varepsilon^k)`,
rows of :math:`G` of order :math:`k` are :math:`\Theta(\varepsilon^{k-1})`, :math:`K_{kl} = O(\varepsilon^{k+l-2})`.

Slopes are fitted on the five smallest decades of :math:`\varepsilon \in [10^{-8}, 10^{-1}]` at a precision
chosen to resolve :math:`\varepsilon^{2N}` (:mod:`verify.scaling`); the verdict holds when every slope is
within 0.01 of its prediction. Two contrasts are checked too: an even :math:`\varphi` with :math:`b = 0`
gives no odd-order couplings beyond the fields (they vanish at working precision, at ``dps`` and
``2·dps``), and ``product`` under a uniform rescaling has slope 2 at every order.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from theory.conventions import orders
from theory.families import model_from_spec

from ..cases import Case, random_params, scaling_models
from ..document_sections import leading_orders_section
from ..numeric import at_two_precisions
from ..registry import Proposition, register, reproduce_line
from ..scaling import scaled_point, scaling_fit
from ..verdict import Requirement, Verdict, judge

__all__ = ["h1_cases", "check_h1"]

TOLERANCE = 0.01


def h1_cases(ns=(2, 3), families=None, quick: bool = False) -> list[Case]:
    out = []
    for n in ns:
        for tag, spec, mode in scaling_models(n, quick):
            if families and spec["family"] not in families:
                continue
            model = model_from_spec(spec)
            params = random_params(model, seed=7, scale=0.8)
            if mode == "even-zero-bias":
                params = tuple(Fraction(0) if p.group == "b" else q for q, p in zip(params, model.params))
            out.append(Case(f"h1/{tag}", model, params, None, {"mode": mode}))
    return out


def h1_cases_for(model, params, target, target_spec) -> list[Case]:
    """The family's own small-weight rescaling from ``params`` (taken as generic)."""
    return [Case(f"h1/{model.family}-n{model.n}/given", model, params, None, {"mode": "scaling"})]


def _slope_name(q: str, key) -> str:
    return f"slope_{q}_{key if not isinstance(key, tuple) else f'{key[0]}{key[1]}'}"


def expected_slopes(n: int, uniform: bool) -> list[str]:
    r"""Every slope H1 promises to check on ``n`` spins, listed from the statement (not from the fit):
    :math:`\|J_k\|` for :math:`k \ge 2` (every :math:`k` under the uniform ``product`` rescaling), the rows
    :math:`G_k` and the kernel blocks :math:`K_{kl}`, :math:`k \le l` (only :math:`K_{kk}` for ``product``, whose
    off-diagonal blocks are identically zero)."""
    J = range(1, n + 1) if uniform else range(2, n + 1)
    K = [(k, k) for k in range(1, n + 1)] if uniform else [(k, l) for k in range(1, n + 1) for l in range(k, n + 1)]
    return ([_slope_name("J", k) for k in J] + [_slope_name("G", k) for k in range(1, n + 1)]
            + [_slope_name("K", kl) for kl in K])


def _slope_requirements(fit, dps: int) -> list[Requirement]:
    reqs = []
    for q, table in fit.predicted.items():
        for key, predicted in table.items():
            got = fit.slopes[q].get(key)
            name = _slope_name(q, key)
            if predicted is None:
                # the law says identically zero (product: different orders never share a parameter)
                reqs.append(Requirement.fact(name + "_identically_zero", got is None, dps,
                                             "zero at working precision" if got is None else f"fitted {got:.5f}"))
                continue
            if got is None:
                reqs.append(Requirement.fact(name, False, dps, f"zero at working precision, predicted {predicted}"))
                continue
            reqs.append(Requirement.fact(name, abs(got - predicted) <= TOLERANCE, dps,
                                         f"fitted {got:.5f}, predicted {predicted}"))
    return reqs


#: the scales of the weights at which the even-zero-bias case checks that no odd order appears
ODD_ORDER_EPSILONS = (Fraction(1, 10), Fraction(1, 1000))


def _odd_orders(case: Case, dps: int):
    model = case.model
    ords = orders(model.n)
    odd = (ords % 2 == 1) & (ords >= 3)

    def magnitude(d):
        from theory.arith import MP
        from theory.walsh import spin_couplings

        out = {}
        for eps in ODD_ORDER_EPSILONS:
            theta = MP.array(scaled_point(model, case.params, eps))
            J = spin_couplings(model.energy(theta, MP), model.n)
            fields_from_hidden = max(abs(J[i] - theta[i]) for i in range(model.n))
            out[str(eps)] = max([fields_from_hidden] + [abs(v) for v in np.asarray(J)[odd]])
        return out

    low, high = at_two_precisions(magnitude, dps)
    return [Requirement.zero(f"odd_orders_from_hidden_units_eps_{k}", low[k], high[k], dps) for k in low]


def check_h1(case: Case, dps: int) -> Verdict:
    mode = case.meta["mode"]
    if mode == "even-zero-bias":
        reqs = _odd_orders(case, dps)
        return judge("H1", case.name, reqs, dps, reproduce_line("H1", case, dps),
                     extra={"note": "log 2cosh is even: with b = 0 the hidden units give no odd-order couplings"},
                     expected=[f"odd_orders_from_hidden_units_eps_{k}" for k in ODD_ORDER_EPSILONS])
    fit = scaling_fit(case.model, case.params, scale_all=(mode == "uniform"))
    reqs = _slope_requirements(fit, fit.dps)
    extra = {"fit": fit.to_json()}
    verdict = judge("H1", case.name, reqs, fit.dps, reproduce_line("H1", case, dps), extra=extra,
                    expected=expected_slopes(case.model.n, mode == "uniform"))
    worst = fit.worst_deviation()
    return Verdict(verdict.proposition, verdict.case, verdict.status, verdict.evidence, verdict.dps, verdict.reproduce,
                   float(mpmath.log10(TOLERANCE / worst)) if worst > 0 else 16.0, verdict.notes)


register(
    Proposition(
        id="H1",
        title=r"order scaling near small weights: $J_k \sim \varepsilon^k$, $G_k \sim \varepsilon^{k-1}$, "
              r"$K_{kl} \sim \varepsilon^{k+l-2}$",
        statement=r"w = \varepsilon\tilde w:\ \|J_k\| = \Theta(\varepsilon^k),\ \|G_k\| = \Theta(\varepsilon^{k-1}),\ K_{kl} = O(\varepsilon^{k+l-2})",
        hypotheses="rbm or mlp with generic non-zero biases; contrasts: even φ with b = 0, product",
        check=check_h1,
        cases=h1_cases,
        order=80,
        applies=lambda model: model.hierarchy,
        document=leading_orders_section,
        cases_for=h1_cases_for,
    )
)
