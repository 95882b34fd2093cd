r"""F1 — induced effective dynamics: :math:`\dot J = GG^\top r`, :math:`\dot\ell = \|G^\top r\|^2 \ge 0`, :math:`K \succeq 0`.

Checked at the case's parameter point (any point of the flow), by central differences of
:math:`J` and :math:`\ell` along :math:`\nabla\ell` (see :mod:`verify.point_checks`).
"""

from __future__ import annotations

from ..cases import Case, enumerated_cases
from ..point_checks import f1_expected, f1_requirements
from ..registry import Proposition, register, reproduce_line
from ..verdict import Verdict, judge

__all__ = ["check_f1"]


def check_f1(case: Case, dps: int) -> Verdict:
    reqs = f1_requirements(case.model, case.target, case.params, dps)
    return judge("F1", case.name, reqs, dps, reproduce_line("F1", case, dps), expected=f1_expected(case.model))


register(
    Proposition(
        id="F1",
        title=r"induced dynamics: $\dot J = GG^\top r$, $\dot\ell = \|G^\top r\|^2 \ge 0$, $K = GG^\top \succeq 0$",
        statement=r"\dot J = K r,\ K = GG^\top \succeq 0,\quad \dot\ell = \|G^\top r\|^2 \ge 0",
        hypotheses="any model, parameter point and strictly positive target",
        check=check_f1,
        cases=enumerated_cases,
        order=30,
    )
)
