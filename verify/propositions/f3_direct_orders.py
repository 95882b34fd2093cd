r"""F3 — directly parameterised orders are matched: if :math:`J_A = \theta_k + g(\text{other }\theta)` then
:math:`r_A = 0` at every fixed point (visible fields of ``rbm``/``mlp``; every coupling of ``gim``)."""

from __future__ import annotations

from ..cases import Case, fixed_point_cases
from ..endpoints import flow_endpoint
from ..point_checks import f3_expected, f3_requirements
from ..registry import Proposition, Skip, register, reproduce_line
from ..verdict import Verdict, judge
from ..document_sections import direct_parameters_section

__all__ = ["check_f3"]


def f3_cases(ns=(2, 3), families=None, quick: bool = False):
    """The fixed-point cases of families with directly parameterised couplings."""
    return [c for c in fixed_point_cases(ns, families, quick) if c.model.direct_parameters()]


def check_f3(case: Case, dps: int) -> Verdict | Skip:
    end = flow_endpoint(case, dps)
    if end.classification is None:
        return Skip("F3", case.name, end.note)
    c = end.classification
    return judge("F3", case.name, f3_requirements(case.model, c), dps, reproduce_line("F3", case, dps),
                 expected=f3_expected(case.model),
                 extra={"kind": c.kind, "direct_subsets": sorted({",".join(map(str, A)) for A in case.model.direct_parameters().values()})})


register(
    Proposition(
        id="F3",
        title="directly parameterised orders are matched at every fixed point",
        statement=r"J_A = \theta_k + g(\theta_{\neg k}) \Rightarrow r_A = 0 \text{ at every fixed point}",
        hypotheses="a fixed point; a parameter entering J_A only additively",
        check=check_f3,
        cases=f3_cases,
        order=50,
        applies=lambda model: bool(model.direct_parameters()),
        document=direct_parameters_section,
    )
)
