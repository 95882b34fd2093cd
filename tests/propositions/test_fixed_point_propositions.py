"""F1, F2, F3, S1, S2 through the registry on a representative subset of the enumerated cases."""

import pytest

from verify.registry import Skip, get
from verify.verdict import FAILS, HOLDS

DPS = 30


def representative(pid, ns=(2, 3)):
    cases = get(pid).cases(ns=ns, families=None, quick=True)
    return cases


@pytest.mark.parametrize("pid", ["F1", "F2", "F3", "S1"])
def test_holds_or_is_outside_the_hypotheses(pid):
    outcomes = [get(pid).check(c, DPS) for c in representative(pid)]
    verdicts = [o for o in outcomes if not isinstance(o, Skip)]
    assert verdicts, "every proposition must be checked on some case"
    bad = [(v.case, v.status, v.evidence) for v in verdicts if v.status != HOLDS]
    assert not bad, bad
    for skip in (o for o in outcomes if isinstance(o, Skip)):
        assert skip.reason  # a case outside the hypotheses says why


def test_s2_closed_forms_on_enumerated_constructions():
    cases = [c for c in get("S2").cases(ns=(2, 3), families=None, quick=True)]
    assert {c.meta["construction"] for c in cases} >= {"switched-off", "paramagnetic"}
    assert any(c.meta.get("degenerate") for c in cases)
    for case in cases:
        v = get("S2").check(case, DPS)
        assert v.status == HOLDS, (case.name, v.evidence)


def test_s2_dead_unit_on_four_spins():
    case = next(c for c in get("S2").cases(ns=(4,), families=["rbm"], quick=True) if "dead-unit" in c.name)
    v = get("S2").check(case, DPS)
    assert not isinstance(v, Skip) and v.status == HOLDS, v.evidence
    assert v.evidence["kind"] == "spurious"


def test_f1_fails_when_the_induced_kernel_is_wrong(monkeypatch):
    import theory.flow as flow

    monkeypatch.setattr(flow.FlowState, "kernel", property(lambda self: 2 * (self.G @ self.G.T)))
    case = representative("F1")[3]
    assert get("F1").check(case, DPS).status == FAILS


def test_e1_sees_a_transposed_rbm_weight_matrix(monkeypatch):
    """Mutation: the rbm energy reads w transposed (square w: N = M = 2, so shapes still fit)."""
    from fractions import Fraction

    from theory.models import RBM, spin_linear
    from theory.targets import named
    from verify.cases import Case

    model = RBM(2, 2)
    params = tuple(Fraction(x) for x in ("0.1", "-0.2", "0.3", "0.1", "0.5", "-0.4", "0.2", "0.7"))
    case = Case("mutant", model, params, named("random-couplings", 2, seed=1))
    monkeypatch.setattr(RBM, "preactivations", lambda self, th, ar: spin_linear(self.split(th)[1], self.split(th)[2].T))
    e1 = get("E1").check(case, DPS)
    assert e1.status == FAILS  # the structured gradient is no longer the derivative of the energy
    assert e1.evidence["gradient_finite_difference"]["satisfied"] is False
