r"""S1 — stable or neutral at data-consistent points, neutral directions along the fibre.

At a data-consistent endpoint: no eigenvalue of :math:`H` is positive, :math:`\ker H = \ker G`
(dimensions and principal angles), :math:`Gv = 0` for neutral :math:`v`, and following a neutral
direction along :math:`J^{-1}(J^D)` for a distance :math:`\ge 0.5` keeps :math:`J = J^D` to working
precision (:mod:`verify.neutral`) at ``dps``, the end of the walk confirmed on the fibre at ``2·dps``.
"""

from __future__ import annotations

import mpmath

from ..cases import Case, fixed_point_cases
from ..endpoints import flow_endpoint
from ..neutral import confirm_on_fibre, distance_to_target_couplings, follow_fibre
from ..numeric import magnitude_guard, zero_threshold
from ..point_checks import (certificate_requirements, invariance_clause_applies, s1_expected, s1_observations,
                            s1_requirements)
from ..registry import Proposition, Skip, register, reproduce_line
from ..verdict import Requirement, Verdict, judge

__all__ = ["check_s1", "fibre_requirements"]

FIBRE_DISTANCE = 0.5


def fibre_requirements(model, target, theta, dps: int) -> tuple[list[Requirement], dict]:
    r"""Follow the fibre at ``dps``; confirm at ``2·dps`` that the walk's end lies on it.

    The confirmation projects the end of the path back onto :math:`J = J^D` at ``2·dps`` digits: the
    residual must vanish there and the projection must move the point by no more than the
    working precision of the walk (so the path really was on the fibre, not beside it). Independently
    of the walk's own projections, :math:`\max_A|J_A - J^D_A|` is computed afresh from the model and the
    target at the end of the walk (``dps``) and at its re-projection (``2·dps``).
    """
    with magnitude_guard(model, theta, target):
        return _fibre_requirements(model, target, theta, dps)


def _fibre_requirements(model, target, theta, dps: int) -> tuple[list[Requirement], dict]:
    low = follow_fibre(model, target, theta, dps, distance=FIBRE_DISTANCE)
    reqs = [Requirement.fact("fibre_walk_completed", low.completed, dps,
                             low.note or f"travelled {mpmath.nstr(low.travelled, 4)} in {low.steps} steps")]
    if low.completed:
        err_high, moved, reprojected = confirm_on_fibre(model, target, low.end, 2 * dps)
        reqs.append(Requirement.zero("fibre_max_coupling_error", low.max_coupling_error, err_high, dps))
        reqs.append(Requirement.zero("fibre_end_has_the_target_couplings",
                                     distance_to_target_couplings(model, target, low.end, dps),
                                     distance_to_target_couplings(model, target, reprojected, 2 * dps), dps))
        reqs.append(Requirement.fact("fibre_end_within_working_precision_of_the_fibre", moved <= zero_threshold(dps), dps,
                                     f"re-projection at {2 * dps} digits moved the end by {mpmath.nstr(moved, 3)}"))
    evidence = {"fibre_travelled": mpmath.nstr(low.travelled, 6), "fibre_displacement": mpmath.nstr(low.displacement, 6),
                "fibre_steps": low.steps}
    return reqs, evidence


def check_s1(case: Case, dps: int, certify: bool = False) -> Verdict | Skip:
    end = flow_endpoint(case, dps)
    if end.classification is None:
        return Skip("S1", case.name, end.note)
    c = end.classification
    if c.kind != "data-consistent":
        return Skip("S1", case.name, f"the flow's fixed point is {c.kind or 'undecided'}, not data-consistent")
    reqs = s1_requirements(c)
    expected = s1_expected(c)
    extra = {"stable": c.stable, "neutral": c.neutral, "rank_G": c.rank_G, "P": c.P, **s1_observations(c)}
    if c.neutral and invariance_clause_applies(c) is not False:
        fibre, evidence = fibre_requirements(case.model, case.target, c.theta, dps)
        reqs += fibre
        expected.append("fibre_walk_completed")
        extra.update(evidence)
    cert = certificate_requirements(case.model, case.target, c, dps, reqs) if certify else None
    return judge("S1", case.name, reqs, dps, reproduce_line("S1", case, dps), extra=extra, certificate=cert,
                 expected=expected)


register(
    Proposition(
        id="S1",
        title="data-consistent points are stable or neutral; neutral directions leave $J$ invariant",
        statement=r"r = 0 \Rightarrow H = -G^\top C G \preceq 0,\ \ker H = \ker G,\ J(\theta) = J^D \text{ along } \ker G",
        hypotheses="a data-consistent fixed point (the endpoint of the case's flow)",
        check=check_s1,
        cases=fixed_point_cases,
        certifiable=True,
        order=60,
    )
)
