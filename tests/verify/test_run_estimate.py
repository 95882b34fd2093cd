"""Mutation study (issue 16): the run-time estimate follows its documented model.

Mutant killed: verify/runner.py ``(P + 2**n - 1)`` -> ``(P + 2**n + 1)``.
runner.py documents the cost per case group as GROUP_SECONDS plus UNIT_SECONDS per unit of
``checks * 2^N * (P + D)^2`` (at 50 digits), with D = 2^N - 1 the number of effective couplings
(nonempty subsets of N spins, counted here independently).
"""

from itertools import combinations
from types import SimpleNamespace

import pytest

from theory.models import model_from_spec
from verify import runner
from verify.cases import Case


@pytest.mark.parametrize("spec", [{"family": "gim", "n": 3}, {"family": "rbm", "n": 4, "hidden": 2}])
def test_estimate_is_group_cost_plus_checks_times_2n_times_p_plus_d_squared(spec):
    model = model_from_spec(spec)
    n = model.n
    D = sum(1 for k in range(1, n + 1) for _ in combinations(range(n), k))
    case = Case("c", model, None, None, {})
    props = [SimpleNamespace(id=f"X{k}") for k in range(3)]
    jobs = [(p, case) for p in props]
    expected = runner.GROUP_SECONDS + runner.UNIT_SECONDS * 3 * 2**n * (model.P + D) ** 2
    assert runner.estimate_seconds(jobs, 50) == pytest.approx(expected, rel=1e-12)
    # one more check adds exactly one unit per 2^N (P + D)^2
    one = runner.estimate_seconds(jobs[:1], 50)
    assert runner.estimate_seconds(jobs[:2], 50) - one == pytest.approx(runner.UNIT_SECONDS * 2**n * (model.P + D) ** 2)
