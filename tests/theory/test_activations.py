"""Activations as objects: each numeric derivative is its formula's, the declared reflection and values at 0 hold."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.activations import ACTIVATIONS, X, get
from theory.arith import EXACT, FLOAT64, MP
from theory.errors import SpecError

POINTS = [Fraction(-37, 10), Fraction(-1, 3), Fraction(0), Fraction(2, 7), Fraction(5, 2)]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
def test_derivatives_in_every_number_system_are_the_formulas(name, order):
    """u^(k) at 40 digits (hand-written for k <= 2, compiled from sympy beyond) against sympy's diff of the
    defining formula, evaluated independently with sympy's evalf; float64 to 1e-13, exact values exactly."""
    act = ACTIVATIONS[name]
    reference = sp.diff(act.formula(X), X, order)
    with mpmath.workdps(40):
        got = act.derivative(order, MP.array(POINTS), MP)
        for x, v in zip(POINTS, got):
            want = sp.N(reference.subs(X, sp.Rational(x.numerator, x.denominator)), 45)
            assert abs(v - mpmath.mpf(want)) <= mpmath.mpf(10) ** -35 * max(1, abs(v)), (name, order, x)
    floats = act.derivative(order, np.array([float(x) for x in POINTS]), FLOAT64)
    assert np.allclose(floats, [float(v) for v in got], rtol=1e-13, atol=1e-13)
    exact = act.derivative(order, EXACT.array([Fraction(1, 3)]), EXACT)[0]
    assert sp.simplify(exact - reference.subs(X, sp.Rational(1, 3))) == 0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_declared_reflection_holds(name):
    """u(-x) = s u(x) + l x where declared (parity: l = 0); checked at 50 digits on the points."""
    act = ACTIVATIONS[name]
    assert act.reflection is not None, f"{name} declares no reflection"
    s, l = act.reflection
    with mpmath.workdps(50):
        u = act.value(MP.array(POINTS), MP)
        u_minus = act.value(MP.array([-x for x in POINTS]), MP)
        for x, a, b in zip(POINTS, u, u_minus):
            assert abs(b - (s * a + l * mpmath.mpf(x.numerator) / x.denominator)) < mpmath.mpf(10) ** -45, (name, x)


def test_every_built_in_activation_declares_its_reflection():
    assert {n: a.reflection for n, a in ACTIVATIONS.items()} == {
        "tanh": (-1, 0), "softplus": (1, -1), "silu": (1, -1), "quadratic": (1, 0), "cubic": (-1, 0), "logcosh": (1, 0)}
    assert {n: a.parity for n, a in ACTIVATIONS.items()} == {
        "tanh": -1, "softplus": None, "silu": None, "quadratic": 1, "cubic": -1, "logcosh": 1}


def test_values_at_zero():
    """Closed forms: tanh' = 1, tanh''' = -2; log 2cosh'' = 1; softplus' = 1/2, '' = 1/4; silu' = 1/2, '' = 1/2."""
    at = {n: [ACTIVATIONS[n].at_zero(k) for k in range(4)] for n in ACTIVATIONS}
    assert at["tanh"] == [0, 1, 0, -2]
    assert at["logcosh"] == [sp.log(2), 0, 1, 0]
    assert at["softplus"][1:3] == [sp.Rational(1, 2), sp.Rational(1, 4)]
    assert at["silu"][:3] == [0, sp.Rational(1, 2), sp.Rational(1, 2)]
    assert at["quadratic"] == [0, 0, 2, 0] and at["cubic"] == [0, 0, 0, 6]


def test_polynomial_and_unknown_names():
    assert {n for n, a in ACTIVATIONS.items() if a.polynomial} == {"quadratic", "cubic"}
    with pytest.raises(SpecError, match="unknown activation 'sin'; choose one of"):
        get("sin")
