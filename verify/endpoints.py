"""The fixed point a case's flow reaches, found once and shared by F2, F3 and S1 (cached per case and dps)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .cases import Case
from .fixed_points import Classification, classify
from .numeric import NEWTON_SLACK_DIGITS, polish_precisions
from .search import SearchOutcome, diverging, flow_record, polish

__all__ = ["Endpoint", "flow_endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """Where the flow from the case's point ended: a classified fixed point, or why there is none."""

    outcome: SearchOutcome | None
    classification: Classification | None
    note: str = ""


@lru_cache(maxsize=512)
def flow_endpoint(case: Case, dps: int, t_max: float = 1e5) -> Endpoint:
    """Flow from ``case.params`` (float64, LSODA), Newton-polish at ``dps + 10`` and ``2·dps + 10``
    (:func:`~verify.numeric.polish_precisions`), classify (measure only: F2, F3 and S1 judge the classification).

    Newton runs even when the flow looks like a runaway (:func:`~verify.search.diverging`: ‖∇ℓ‖ falling like
    1/t while ‖θ‖ grows): a flow converging slowly along a flat direction looks the same for a few decades
    (``gim`` N = 5 on a seeded target, whose ℓ is concave with a finite maximiser, did), and a converged
    Newton decides it."""
    theta, t, gn, record = flow_record(case.model, case.target, case.params, t_max=t_max)
    found = polish(case.model, case.target, theta, dps)  # first: a slow flow can look like a runaway one
    short = f"stops at ‖∇ℓ‖ = {found.residual:.1e}, short of its goal {_goal(dps, found.residual)}"
    if not found.converged and diverging(record):
        return Endpoint(found, None, f"the flow appears to run off to infinity (‖∇ℓ‖ = {gn:.1e} falling like 1/t, "
                                     f"‖θ‖ = {record[-1][1]:.2f} growing at t = {t:.0e}) and Newton from its endpoint "
                                     f"{short}: no finite fixed point found")
    if not found.converged:
        return Endpoint(found, None, f"Newton from the flow's endpoint at t = {t:.0e} (‖∇ℓ‖ = {gn:.1e}) {short}; "
                                     "no fixed point certified")
    return Endpoint(found, classify(case.model, case.target, found.theta, dps))


def _goal(dps: int, residual: float) -> str:
    """The residual goal of the Newton stage that stopped (:func:`~verify.search.polish`: at ``dps + 10`` digits,
    then ``2·dps + 10``; goal :func:`~verify.numeric.solver_goal`), as ``1e-34``."""
    exponents = [digits - NEWTON_SLACK_DIGITS for digits in polish_precisions(dps)]
    stage = exponents[0] if residual > 10.0 ** -exponents[0] else exponents[1]
    return f"1e-{stage}"
