"""Mutation study (issue 16): H3's second clause, r_{<=2} != 0  =>  lambda_max(H) > 0.

Mutant killed: verify/propositions/h2_h3_hierarchy.py ``end["unstable"] > 0`` -> ``>= 0``.
A spurious endpoint inconsistent at order 2 with *no* unstable direction is a counterexample to H3's statement,
so H3 must fail on it; with one unstable direction it holds. The sweep record is planted (the flows of the
quick sweep never end at such a point), which tests the decision rule against the statement, not the flow.
"""

import pytest

from verify.cases import Case
from verify.propositions import h2_h3_hierarchy as h23
from verify.registry import get
from verify.sweep import SweepCase
from verify.verdict import FAILS, HOLDS


def _planted(unstable):
    return {"endpoint": {"kind": "spurious", "dps": 30, "inconsistent_orders": [2], "lowest_inconsistent_order": 2,
                         "unstable": unstable, "stable": 3, "neutral": 0}}


@pytest.mark.parametrize("unstable, status", [(0, FAILS), (1, HOLDS), (2, HOLDS)])
def test_low_order_spurious_endpoint_must_be_a_saddle(monkeypatch, unstable, status):
    monkeypatch.setattr(h23, "_record", lambda sc, dps: _planted(unstable))
    sc = SweepCase("planted", {"family": "rbm", "n": 3, "hidden": 1}, {}, 0.01, 0)
    v = get("H3").check(Case("sweep/planted", None, None, None, {"sweep": sc}), 30)
    assert v.status == status, v.evidence
