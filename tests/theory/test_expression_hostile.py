"""Custom energies written by a careless or hostile user (issue 17, item 7).

Every refusal is one short line naming the offending sub-expression, comes fast (no hang, no
memory blow-up), and energies that are real and finite on every spin configuration are accepted.
"""

import time
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

from theory.arith import MP
from theory.errors import MAX_MESSAGE_LENGTH, SpecError
from theory.expression import (
    MAX_ENERGY_DEPTH,
    MAX_ENERGY_LENGTH,
    MAX_ENERGY_NODES,
    check_energy_values,
    parse_energy,
    spin_symbols,
)
from theory.models import model_from_spec


def custom(energy, n=2, names=("a", "b")):
    return model_from_spec({"family": "custom", "n": n, "energy": energy, "params": list(names)})


def refused(energy, n=2, names=("a", "b"), params=None, seconds=5.0):
    """The one-line message refusing ``energy`` (at ``params`` if given), checked to come quickly."""
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        model = custom(energy, n, names)
        if params is not None:
            model.parse_params(params)
    elapsed = time.perf_counter() - start
    msg = str(err.value)
    assert "\n" not in msg and len(msg) <= MAX_MESSAGE_LENGTH, msg
    assert elapsed < seconds, f"{energy[:40]!r} took {elapsed:.1f}s"
    return msg


# --- the examples of the issue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "energy, fragments",
    [
        ("1/(s1-s1)", ["1/(s1-s1)", "infinite"]),
        ("1/0", ["1/0", "division by zero"]),
        ("log(s1-s1)", ["log(s1-s1)", "log of zero"]),
        ("log(-1 - s1**2)", ["log(-s1**2 - 1)", "non-positive value -2", "s1=+1"]),
        ("sqrt(-2 + s1)", ["sqrt(s1 - 2)", "negative value", "s1=+1"]),
        ("s1**s1**s1**a", ["'s1**a'", "exponent", "must be a number", "exp(y*log(x))"]),
        ("exp(exp(exp(10)))", ["exp(exp(10))", "22026", "beyond 1e300"]),
        ("10**10**5", ["exponent 100000", "|k| <= 100"]),
        ("2**10**10", ["exponent 10000000000", "|k| <= 100"]),
        ("1e1000000000", ["'1e1000000000'", "out of range"]),
        ("0x10", ["'0x10'", "not a decimal number"]),
        ("0b101*s1", ["'0b101'", "not a decimal number"]),
        ("0o17*s1", ["'0o17'", "not a decimal number"]),
        ("1j*s1", ["'1j'"]),
        ("+".join(["s1"] * 20000), ["59999 characters", f"at most {MAX_ENERGY_LENGTH}"]),
        ("-" * 100000 + "s1", ["100002 characters"]),
        ("log(-1 - a**2)", ["log(-a**2 - 1)", "never positive", "for any value of the parameters"]),
        ("1/(a + a*s1)", ["1/(a*s1 + a)", "divides by zero", "s1=-1"]),
        ("1/(s1 + s2)", ["1/(s1 + s2)", "divides by zero", "s1=-1, s2=+1"]),
        ("(-8)**(1/3)*s1", ["(-8)**(1/3)", "not real"]),
        ("s1**0.5", ["sqrt(s1)", "negative value -1", "s1=-1"]),
        ("(10**100)**100", ["(10**100)**100", "out of range"]),
        ("1e300*1e300*s1", ["1e300*1e300", "out of range"]),
        ("1e-300*1e-300*1e-300*1e-300*s1", ["out of range"]),
        ("exp(700*s1)", ["exp(700*s1)", "exp of 700", "s1=+1"]),
        ("cosh(1e300)", ["cosh(", "beyond 1e300"]),
        ("exp(" * 60 + "s1" + ")" * 60, ["nested 61 levels", f"at most {MAX_ENERGY_DEPTH}"]),
        ("(" * 300 + "s1" + ")" * 300, ["not a valid expression"]),
        ("s1 % 2", ["operator mod", "'s1 % 2'"]),
        ("s1 @ s2", ["operator matmult"]),
        ("~s1", ["operator invert"]),
        ("s1 ** a", ["exponent of 's1 ** a'"]),
    ],
)
def test_hostile_energies_are_refused_in_one_line(energy, fragments):
    msg = refused(energy)
    for fragment in fragments:
        assert fragment in msg, msg


def test_long_chains_hit_the_size_limits_not_the_recursion_limit():
    # 3000 terms fit in 10,000 characters but exceed the node limit; 5000 signs likewise
    assert f"at most {MAX_ENERGY_NODES}" in refused("+".join(["s1"] * 3000))
    assert f"at most {MAX_ENERGY_NODES}" in refused("-" * 5000 + "s1")
    # 9,998 signs in a row overflow Python's own parser: still one line
    assert "nested too deeply" in refused("-" * 9998 + "s1") or "at most" in refused("-" * 9998 + "s1")


def test_long_legitimate_chains_are_parsed_without_recursion():
    # 1200 terms (left-deep: 1200 levels in Python's AST) and 1500 factors parse and stay exact
    expr = parse_energy("+".join(f"{k % 7}*s1" for k in range(1200)), 1, [])
    assert expr == sum(k % 7 for k in range(1200)) * sp.Symbol("s1")
    expr = parse_energy("*".join(["a"] * 1500) + "*s1", 1, ["a"])
    assert expr == sp.Symbol("a", real=True) ** 1500 * sp.Symbol("s1")
    assert parse_energy("-" * 2000 + "s1", 1, []) == sp.Symbol("s1")


def test_messages_never_echo_a_huge_expression():
    bad = "(" + " + ".join(f"{k}*s1" for k in range(1000)) + ") + log(s1 - s1)"
    msg = refused(bad)
    assert len(msg) <= MAX_MESSAGE_LENGTH and "log(s1 - s1)" in msg
    msg = refused("lambda: " + "s1 + " * 1500 + "s1")
    assert "lambda" in msg and len(msg) <= MAX_MESSAGE_LENGTH
    msg = refused("s1 +" + " s1 +" * 1000 + " )")  # a syntax error in a long text
    assert "not a valid expression" in msg and len(msg) <= MAX_MESSAGE_LENGTH
    msg = refused("log(" + " + ".join(f"s1**{k}" for k in range(1, 41)) + " - 100)", n=1)
    assert "log(s1**40 + s1**39" in msg and "... is the log of the non-positive value -60 at s1=+1" in msg


def test_parameter_names_are_shown_short():
    msg = refused("s1", names=["x" * 5000])
    assert "not an identifier" in msg and len(msg) <= MAX_MESSAGE_LENGTH


# --- the check at the case's parameter values -------------------------------------------------------


@pytest.mark.parametrize(
    "energy, names, params, fragments",
    [
        ("log(a*s1)", ["a"], {"a": 1}, ["log(a*s1)", "non-positive value -1", "s1=-1 and the given params"]),
        ("sqrt(a + s1)", ["a"], {"a": "0.5"}, ["sqrt(a + s1)", "negative value -1/2", "s1=-1"]),
        ("s1/(a - 0.1)", ["a"], {"a": "0.1"}, ["divides by zero", "at the given params"]),
        ("log(a*b - c)*s1", ["a", "b", "c"], {"a": "0.3", "b": "0.7", "c": "0.21"}, ["log(a*b - c)", "value 0"]),
        ("exp(1000*a*s1)", ["a"], {"a": 1}, ["exp of 1000", "s1=+1"]),
        ("cosh(w*s1)", ["w"], {"w": 800}, ["cosh of 800"]),
        ("a**10*s1", ["a"], {"a": "1e40"}, ["a**10", "beyond 1e300"]),
    ],
)
def test_energies_undefined_at_the_given_params_are_refused(energy, names, params, fragments):
    msg = refused(energy, names=names, params=params)
    for fragment in fragments:
        assert fragment in msg, msg


def test_exact_zero_is_decided_exactly_at_the_params():
    # a*b - c is zero only in exact arithmetic (0.1*3 = 0.3); in float64 it is +5.6e-17, a positive log argument
    assert 0.1 * 3 - 0.3 > 0
    refused("log(a*b - c)*s1", names=["a", "b", "c"], params={"a": "0.1", "b": 3, "c": "0.3"})
    model = custom("log(a*b - c)*s1", names=["a", "b", "c"])
    assert model.parse_params({"a": "0.1", "b": 3, "c": "0.2"}) == (Fraction(1, 10), Fraction(3), Fraction(1, 5))


@pytest.mark.parametrize(
    "energy, n, params",
    [
        ("a*s1 + log(cosh(b + 0.5*s2))", 2, {"a": "0.1", "b": -2}),
        ("sqrt(1 + s1)*a + b*s1*s2", 2, {"a": 1, "b": 1}),  # sqrt(0) at s1 = -1 is real
        ("log(2 + s1 + s2*a)", 2, {"a": "0.5", "b": 0}),
        ("exp(690*a*s1)", 1, {"a": 1}),  # e^690 < 1e300
        ("tanh(1e300*s1)*a", 1, {"a": "1e300"}),
        ("(1/3)**100*s1 + 0.1**100*a", 1, {"a": "1e-1000"}),
        ("sqrt(a**2)*s1", 1, {"a": -2}),  # sympy makes it Abs(a)
        ("1/a*s1*s2*s3", 3, {"a": "1e-300"}),
    ],
)
def test_real_finite_energies_are_accepted(energy, n, params):
    names = sorted(params)
    model = custom(energy, n, names)
    theta = model.parse_params(params)
    F = model.energy(MP.array(theta), MP)
    assert all(mpmath.isfinite(v) and isinstance(v, mpmath.mpf) for v in F)


def test_a_large_n_is_checked_on_every_configuration_in_float64():
    n = 16  # 65536 configurations: beyond the exact tier
    names = [f"w{i}" for i in range(1, n + 1)]
    energy = "log(" + " + ".join(f"w{i}*s{i}" for i in range(1, n + 1)) + " + 16)"
    model = custom(energy, n, names)
    start = time.perf_counter()
    model.parse_params({w: 1 for w in names[:-1]} | {names[-1]: "0.999"})  # smallest argument 0.001 > 0
    msg = refused(energy, n, names, params={w: 1 for w in names})  # all spins -1: log(0)
    assert "s1=-1, s2=-1" in msg and "..." in msg
    assert time.perf_counter() - start < 20


def test_every_configuration_is_checked_not_only_some():
    # negative at one configuration out of 2^3 only
    msg = refused("log(s1 + s2 + s3 + 2.5)", n=3)
    assert "s1=-1, s2=-1, s3=-1" in msg


def test_check_energy_values_directly():
    s = spin_symbols(2)
    a = sp.Symbol("a", real=True)
    check_energy_values(sp.log(a + s[0]), s, {a: Fraction(3, 2)})
    with pytest.raises(SpecError, match="non-positive"):
        check_energy_values(sp.log(a + s[0]), s, {a: Fraction(1)})
    check_energy_values(sp.log(a + s[0]), s)  # undecidable without a: accepted until the params are known


# --- evaluations at points the computation reaches ----------------------------------------------------


def test_the_mpmath_evaluator_refuses_an_overflowing_exp_instead_of_hanging():
    model = custom("exp(a*s1)", 1, ["a"])
    model.parse_params({"a": 30})
    F = model.energy(MP.array([Fraction(30)]), MP)
    assert mpmath.isfinite(F[0])
    start = time.perf_counter()
    with pytest.raises(SpecError, match="exp of 1.0e\\+13 at a parameter point reached by the computation"):
        model.energy(MP.array([Fraction(10**13)]), MP)
    assert time.perf_counter() - start < 2

