"""Issue 11's proof that a family is the unit of extension: a family defined entirely in this file.

The *sech network* :math:`F = \\sum_i a_i s_i + \\sum_\\mu c_\\mu\\,\\mathrm{sech}(b_\\mu + w_\\mu\\cdot s)` is a new
activation object and a new family class, registered in the two tables; nothing else in the suite is
edited. ``sech`` is even with :math:`\\mathrm{sech}'(0) = 0`, :math:`\\mathrm{sech}''(0) = -1`, so the family
inherits, from the declarations alone, the dead-unit and paramagnetic points of S2 (with a *negative*
curvature :math:`-\\hat C` on the weights), the odd-orders-vanish law of H1 at :math:`b = 0`, and the
sign-flip symmetry. Then couplings, classify, derive, scaling and every applicable proposition run on it
through the public API.
"""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from theory import activations
from theory.arith import MP
from theory.effective import model_couplings
from theory.families import FAMILIES, HiddenLayer, model_from_spec, register_family
from verify.commands import classify_document, couplings_document, scaling_document
from verify.document import applicable_propositions, derivation_document
from verify.registry import Observation, Skip, cases_for_model, propositions
from verify.verdict import FAILS


def _sech(x, a):
    return 1 / a.cosh(x)


def _sech_first(x, a):
    return -a.tanh(x) / a.cosh(x)


def _sech_second(x, a):
    t = a.tanh(x)
    return (2 * t * t - 1) / a.cosh(x)


SECH = activations.Activation("sech", r"\operatorname{sech} x", lambda t: 1 / sp.cosh(t),
                              (_sech, _sech_first, _sech_second), reflection=(1, 0))


class SechNetwork(HiddenLayer):
    r""":math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\operatorname{sech}(x_\mu)`."""

    family = "sech-net"
    spec_keys = frozenset({"hidden"})
    output_weights = True

    def __init__(self, n: int, hidden: int):
        super().__init__(n, hidden, SECH)

    @classmethod
    def from_spec(cls, spec):
        return cls(spec["n"], spec["hidden"])

    def spec(self):
        return {"family": self.family, "n": self.n, "hidden": self.M}


SPEC = {"family": "sech-net", "n": 3, "hidden": 2}
TARGET = {"named": "random-couplings", "seed": 1}
PARAMS = {"a": ["0.1", "-0.2", "0.15"], "b": ["0.3", "-0.4"], "w": [["0.5", "-0.3"], ["0.2", "0.4"], ["-0.6", "0.1"]],
          "c": ["0.8", "-1.1"]}


@pytest.fixture()
def registered(monkeypatch):
    monkeypatch.setitem(activations.ACTIVATIONS, "sech", SECH)
    monkeypatch.setitem(FAMILIES, "sech-net", SechNetwork)
    yield
    FAMILIES.pop("sech-net", None)


@pytest.fixture()
def case_file(tmp_path, registered):
    path = tmp_path / "sech.json"
    path.write_text(json.dumps({"model": SPEC, "params": PARAMS, "target": TARGET}))
    return path


def test_registering_is_one_table_entry(registered):
    model = model_from_spec(SPEC)
    assert isinstance(model, SechNetwork) and model.P == 3 + 2 + 6 + 2
    with pytest.raises(ValueError, match="registered twice"):
        register_family(type("Other", (SechNetwork,), {}))


def test_the_declarations_follow_from_the_activation(registered):
    model = model_from_spec(SPEC)
    assert SECH.at_zero(1) == 0 and SECH.at_zero(2) == -1 and SECH.parity == 1
    assert model.special_points() == ("paramagnetic", "dead-unit")
    assert [s.name for s in model.symmetries()] == ["hidden-unit permutation", "sign flip of a hidden unit"]
    zero_bias = tuple(Fraction(0) if p.group == "b" else Fraction(1, 3) for p in model.params)
    assert model.leading_orders(zero_bias) == {1: None, 2: 2, 3: None}  # even sech at b = 0
    assert applicable_propositions(model) == ["E1", "E2", "F1", "F2", "F3", "S1", "S2", "H1", "H1L", "H2", "H3"]


def test_symmetries_leave_the_couplings_unchanged(registered):
    model = model_from_spec(SPEC)
    theta = model.parse_params(PARAMS)
    with mpmath.workdps(40):
        J = model_couplings(model, MP.array(theta), MP)
        for sym in model.symmetries():
            moved = sym.act(theta, sym.example)
            assert moved != theta
            J2 = model_couplings(model, MP.array(moved), MP)
            assert max(abs(x - y) for x, y in zip(J, J2)) < mpmath.mpf(10) ** -35, sym.name


def test_the_commands_run_on_it(case_file, registered, tmp_path):
    doc = couplings_document(str(case_file), 30)
    assert len(doc["couplings"]) == 7
    c = classify_document(str(case_file), 30)
    assert c["kind"] == "not-a-fixed-point"
    fit = scaling_document(str(case_file))
    assert fit["holds"] is True and fit["slopes"]["J"]["2"] == pytest.approx(2, abs=0.01)
    tex = derivation_document(model_from_spec({"family": "sech-net", "n": 2, "hidden": 1}), prove=True, cache=False)
    assert r"\operatorname{sech}" in tex or "cosh" in tex
    assert "paramagnetic point" in tex and "leading orders" in tex


def test_every_applicable_proposition_runs_on_it(registered):
    model = model_from_spec({"family": "sech-net", "n": 2, "hidden": 2})
    params = model.parse_params({"a": ["0.1", "-0.2"], "b": ["0.3", "-0.4"], "w": [["0.5", "-0.3"], ["0.2", "0.4"]],
                                 "c": ["0.8", "-1.1"]})
    ran = {}
    for prop in propositions():
        for case in cases_for_model(prop, model, params, TARGET):
            out = prop.check(case, 30)
            ran.setdefault(prop.id, []).append(out)
            if isinstance(out, (Skip, Observation)):
                continue
            assert out.status != FAILS, (prop.id, case.name, out.evidence)
    assert set(ran) == {"E1", "E2", "F1", "F2", "F3", "S1", "S2", "H1", "H1L", "H2", "H3"}
    assert len(ran["S2"]) == 2  # the paramagnetic point and the dead unit
    assert all(v.status == "holds" for pid in ("E1", "E2", "F1", "H1", "H1L") for v in ran[pid])
