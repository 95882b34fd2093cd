r"""S2 — spurious points: the closed-form spectra of :mod:`verify.spurious`, checked.

* ``product`` with :math:`u_A = v_A = 0` on pairs containing spin 1: eigenvalues :math:`\pm r_A` appear in
  :math:`\mathrm{spec}\,H` and the unstable count is the number of nonzero :math:`r_A`;
* paramagnetic ``rbm`` (spin, :math:`b = 0`): the whole spectrum
  :math:`\{-(1-m_i^2)\}\cup\{0\}^M\cup\mathrm{spec}(\hat C)^{\times M}`;
* paramagnetic ``mlp`` (tanh, :math:`b = 0`): a spurious fixed point with :math:`\operatorname{rank}G < D`
  and the whole spectrum :math:`\{-(1-m_i^2)(1+\sum_\mu c_\mu^2)\}\cup\{0\}^{P-N}`: no unstable direction,
  and :math:`J` moves at third order along its neutral directions (:math:`\tanh''(0) = 0`);
* dead hidden unit: :math:`\{0\}\cup\mathrm{spec}(R)` appear;
* degenerate paramagnetic point on a pure 3-body target: neutral directions that are *not*
  effective-model invariant are detected as such (:math:`J` moves at second order along them).
"""

from __future__ import annotations

import mpmath

from theory.families import model_from_spec

from ..cases import Case, parse_target, spurious_models, spurious_special_cases
from ..document_sections import special_points_section
from ..fixed_points import classify
from ..numeric import zero_decision
from ..registry import Proposition, Skip, register, reproduce_line
from ..spurious import construct
from ..verdict import Requirement, Verdict, judge

__all__ = ["spurious_cases", "check_s2", "spectrum_match"]


def spurious_cases(ns=(2, 3), families=None, quick: bool = False) -> list[Case]:
    seeds = (1,) if quick else (1, 2, 3)
    out = []
    for n in ns:
        targets = [(f"random-couplings-s{s}", parse_target({"named": "random-couplings", "seed": s}, n)) for s in seeds]
        targets.append(("pairwise-s1", parse_target({"named": "pairwise", "seed": 1}, n)))
        models = [(tag, model_from_spec(spec), kind, meta) for tag, spec, kind, meta in spurious_models(n)
                  if not families or spec["family"] in families]
        for ttag, target in targets:
            for tag, model, kind, meta in models:
                out.append(Case(f"s2/{tag}/{ttag}", model, None, target, {"construction": kind, **meta}))
        for name, spec, kind, tspec, meta in spurious_special_cases(n):
            if not families or spec["family"] in families:
                out.append(Case(name, model_from_spec(spec), None, parse_target(tspec, n), {"construction": kind, **meta}))
    return out


def s2_cases_for(model, params, target, target_spec) -> list[Case]:
    """One case per special point the family declares."""
    return [Case(f"s2/{model.family}-{kind}-n{model.n}/given", model, None, target, {"construction": kind})
            for kind in model.special_points()]


def spectrum_match(predicted, eigenvalues):
    """Largest distance from a predicted eigenvalue to its nearest unused computed one (greedy matching)."""
    pool = list(eigenvalues)
    worst = mpmath.mpf(0)
    for p in predicted:
        k = min(range(len(pool)), key=lambda i: abs(pool[i] - p))
        worst = max(worst, abs(pool[k] - p))
        pool.pop(k)
    return worst


#: constructions whose closed-form spectrum also predicts the number of unstable directions (a dead unit's
#: spectrum is known only where the smaller model's flow ended: its zero count is checked, not its signs)
COUNTED_CONSTRUCTIONS = ("paramagnetic", "switched-off")


def s2_expected(meta: dict, c) -> list[str]:
    """What S2 promises on a construction, read from the case (not from what was computed): a fixed point, the
    declared closed-form spectrum inside spec H, the predicted number of unstable directions (paramagnetic and
    switched-off points that are not degenerate), the detection of non-invariant neutral directions (degenerate
    points), the predicted order at which J moves, and rank G < D where the point is spurious with P >= D."""
    names = ["gradient_norm", "predicted_eigenvalues_present"]
    if meta["construction"] in COUNTED_CONSTRUCTIONS and not meta.get("degenerate"):
        names.append("unstable_count_as_predicted")
    if meta.get("degenerate"):
        names.append("non_invariant_neutral_directions_detected")
    if "J_moves_at_order" in meta:
        names.append("order_at_which_J_moves_as_predicted")
    if c.kind == "spurious" and c.P >= c.D:
        names.append("sigma_D_of_G")
    return names


def check_s2(case: Case, dps: int, certify: bool = False) -> Verdict | Skip:
    point = construct(case.meta["construction"], case.model, case.target, dps)
    if point is None:
        return Skip("S2", case.name, "the smaller RBM's flow reached no fixed point to add a dead unit to")
    c = classify(point.model, case.target, point.theta, dps)
    reqs = [Requirement.zero("gradient_norm", c.low.gradient_norm, c.high.gradient_norm, dps)]
    kind = case.meta["construction"]
    promised = s2_expected(case.meta, c)
    if point.predicted_eigenvalues:
        match_low = spectrum_match(point.predicted_eigenvalues, c.low.eigenvalues)
        match_high = spectrum_match(point.predicted_eigenvalues, c.high.eigenvalues)
        reqs.append(Requirement.zero("predicted_eigenvalues_present", match_low, match_high, dps))
        positive = [zero_decision(p, p, dps).is_zero is False and p > 0 for p in point.predicted_eigenvalues]
        if kind in COUNTED_CONSTRUCTIONS and not case.meta.get("degenerate"):
            expected = sum(positive)
            reqs.append(Requirement.fact("unstable_count_as_predicted", None if c.unstable is None else c.unstable == expected,
                                         dps, f"unstable = {c.unstable}, predicted {expected}"))
    if case.meta.get("degenerate"):
        reqs.append(Requirement.fact("non_invariant_neutral_directions_detected",
                                     None if c.neutral_invariant is None else (c.neutral and c.neutral_invariant is False),
                                     dps, f"neutral = {c.neutral}, invariant = {c.neutral_invariant}"))
    if "J_moves_at_order" in case.meta:
        order = case.meta["J_moves_at_order"]
        reqs.append(Requirement.fact("order_at_which_J_moves_as_predicted",
                                     None if c.neutral_invariant is None else c.invariance_order == order, dps,
                                     f"J moves at order {c.invariance_order} along the neutral directions, predicted {order}"))
    if c.kind == "spurious" and c.P >= c.D:
        reqs.append(Requirement.zero("sigma_D_of_G", c.low.g_singular[c.D - 1], c.high.g_singular[c.D - 1], dps))
    extra = {"construction": point.description, "kind": c.kind, "stable": c.stable, "neutral": c.neutral,
             "unstable": c.unstable, "neutral_directions_leave_J_invariant": c.neutral_invariant,
             "order_at_which_J_moves": c.invariance_order,
             "lowest_inconsistent_order": c.lowest_inconsistent_order,
             "predicted_eigenvalues": [mpmath.nstr(p, 12) for p in point.predicted_eigenvalues]}
    cert = None
    if certify:
        from ..certify import certify_point, certify_support, consistent_with

        cert = (certify_support(point.model, case.target, point.theta, list(point.free), list(point.matched), dps)
                if point.free else certify_point(point.model, case.target, point.theta, dps, c))
        agrees = consistent_with(cert, c)
        if agrees is False:
            reqs.append(Requirement.fact("certificate_agrees_with_classification", False, dps, str(cert)))
    return judge("S2", case.name, reqs, dps, reproduce_line("S2", case, dps), extra=extra, certificate=cert,
                 expected=promised)


register(
    Proposition(
        id="S2",
        title="spurious points: closed-form spectra ($\\pm r_A$, paramagnetic, dead unit), degenerate directions",
        statement=r"r \ne 0:\ H = \sum_A r_A\nabla^2 J_A - G^\top C G \text{ may have } \lambda > 0",
        hypotheses="constructed spurious points with closed-form predictions",
        check=check_s2,
        cases=spurious_cases,
        certifiable=True,
        order=70,
        document=special_points_section,
        cases_for=s2_cases_for,
    )
)
