"""Mutation study (issue 16): F1's relative residual of dJ/dt = K r.

Mutant killed: verify/point_checks.py ``scale = 1 + max|K r|`` -> ``1 - max|K r|``.
A relative error ||dJ/dt - K r|| / (1 + ||K r||) is a ratio of norms: never negative, never larger than the
absolute error, and (central differences with h = 10^-(dps/3)) below the zero threshold 10^-(dps/2). The point is
chosen where ||K r||_max > 1, where a wrong normalisation changes the sign.
"""

from fractions import Fraction

import mpmath
import pytest

from theory.arith import MP
from theory.flow import FlowState
from theory.models import model_from_spec
from theory.targets import from_couplings
from verify.numeric import working_precision
from verify.point_checks import f1_requirements, f1_residuals

MODEL = model_from_spec({"family": "rbm", "n": 2, "hidden": 2})
THETA = tuple(Fraction(x) for x in ["-1.5", "2", "1", "3", "-2", "2.5", "-3", "0.5"])
TARGET = from_couplings({"1": 0.9, "2": -0.8, "1,2": 1.2}, 2)


@pytest.mark.parametrize("dps", [30, 60])
def test_relative_dj_residual_is_a_small_nonnegative_ratio_where_kr_exceeds_one(dps):
    with working_precision(dps):
        state = FlowState(MODEL, MP.array(THETA), TARGET.moment_array(MP), MP)
        kr = max(abs(v) for v in state.kernel @ state.r)
        assert kr > 1  # the regime where 1 - ||Kr|| would be negative
        value = f1_residuals(MODEL, TARGET, THETA, dps)["dJ_dt_equals_K_r"]
        assert value >= 0
        # |dJ/dt - Kr| <= truncation + rounding of the central difference ~ 10^(-2 dps / 3); divided by 1 + ||Kr||
        assert value < mpmath.mpf(10) ** (-(dps / 2))


def test_f1_holds_at_that_point():
    reqs = {r.name: r for r in f1_requirements(MODEL, TARGET, THETA, 30)}
    assert reqs["dJ_dt_equals_K_r"].satisfied is True
