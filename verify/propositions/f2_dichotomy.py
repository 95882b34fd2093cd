r"""F2 — fixed-point dichotomy: at :math:`G^\top r = 0` either :math:`r = 0` (data-consistent, :math:`p_\theta = p_D`)
or :math:`r \ne 0` with :math:`\operatorname{rank} G < D` (spurious).

Each case's flow is followed to its fixed point (:mod:`verify.endpoints`) and classified; a case
whose flow has no finite fixed point is reported as not applicable, with the reason.
"""

from __future__ import annotations

from ..cases import Case, fixed_point_cases
from ..endpoints import flow_endpoint
from ..point_checks import certificate_requirements, f2_expected, f2_requirements
from ..registry import Proposition, Skip, register, reproduce_line
from ..verdict import Verdict, judge

__all__ = ["check_f2"]


def check_f2(case: Case, dps: int, certify: bool = False) -> Verdict | Skip:
    end = flow_endpoint(case, dps)
    if end.classification is None:
        return Skip("F2", case.name, end.note)
    c = end.classification
    extra = {"kind": c.kind, "rank_G": c.rank_G, "D": c.D, "P": c.P, "lowest_inconsistent_order": c.lowest_inconsistent_order}
    reqs = f2_requirements(c)
    cert = certificate_requirements(case.model, case.target, c, dps, reqs) if certify else None
    return judge("F2", case.name, reqs, dps, reproduce_line("F2", case, dps), extra=extra, certificate=cert,
                 expected=f2_expected(c))


register(
    Proposition(
        id="F2",
        title=r"fixed-point dichotomy: data-consistent ($r = 0$) or spurious ($r \ne 0$, $\operatorname{rank} G < D$)",
        statement=r"G^\top r = 0 \Rightarrow r = 0\ \text{or}\ (r \in \ker G^\top\setminus\{0\},\ \operatorname{rank}G < D)",
        hypotheses="a fixed point of the flow (the endpoint of the case's flow)",
        check=check_f2,
        cases=fixed_point_cases,
        certifiable=True,
        order=40,
    )
)
