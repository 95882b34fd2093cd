"""H1 and H3 through the registry; H2 is an observation, never a verdict."""

import pytest

from verify.registry import Observation, Skip, get
from verify.verdict import HOLDS


@pytest.mark.parametrize("case", get("H1").cases(ns=(2, 3), families=None, quick=False), ids=lambda c: c.name)
def test_h1_holds(case):
    v = get("H1").check(case, 30)
    assert v.status == HOLDS, v.evidence


def test_h1_fails_on_a_wrong_prediction(monkeypatch):
    import verify.scaling as scaling

    real = scaling.predicted_slopes
    monkeypatch.setattr(scaling, "predicted_slopes",
                        lambda model, base, scale_all=False: {**real(model, base, scale_all),
                                                              "J": {k: k + 1 for k in range(2, model.n + 1)}})
    case = get("H1").cases(ns=(3,), families=["rbm"], quick=True)[0]
    assert get("H1").check(case, 30).status == "fails"


def test_h2_is_observed_and_h3_judged_on_two_flows():
    cases = [c for c in get("H2").cases(ns=(3,), families=["rbm"], quick=True) if "random-couplings-s1/eps0.01" in c.name]
    assert cases
    for case in cases[:2]:
        ob = get("H2").check(case, 30)
        assert isinstance(ob, Observation) and "moment@0.2" in ob.data["ordered"]
        v = get("H3").check(case, 30)
        assert isinstance(v, Skip) or v.status == HOLDS
    assert get("H2").empirical and not get("H3").empirical


@pytest.mark.parametrize("emptied", ["all", "top-order"])
def test_h1_does_not_hold_when_the_prediction_table_checks_less(monkeypatch, emptied):
    # audit (issue 16, item 12): with the predicted slopes emptied, or the top order left out, H1
    # used to hold while checking nothing about those orders
    import verify.scaling as scaling

    original = scaling.predicted_slopes

    def thinned(model, base, scale_all=False):
        n = model.n
        table = original(model, base, scale_all)
        if emptied == "all":
            return {q: {} for q in table}
        return {q: {k: v for k, v in t.items() if (max(k) if isinstance(k, tuple) else k) < n} for q, t in table.items()}

    monkeypatch.setattr(scaling, "predicted_slopes", thinned)
    case = get("H1").cases(ns=(3,), families=["rbm"], quick=True)[0]
    v = get("H1").check(case, 30)
    assert v.status == "inconclusive"
    assert "slope_J_3" in v.evidence["missing_requirements"]
