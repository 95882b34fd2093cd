"""Targets: construction, exactness and one test per validation error."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from theory.arith import EXACT, MP
from theory.errors import SpecError
from theory.targets import NAMED_TARGETS, from_couplings, from_probabilities, from_samples, named


def test_zero_probability_is_refused_with_the_fix():
    with pytest.raises(SpecError) as err:
        from_probabilities([0.5, 0.5, 0, 0], 2)
    msg = str(err.value)
    assert "zero probability" in msg and "pseudocount" in msg and "\n" not in msg


def test_pseudocount_is_applied_and_said():
    t = from_probabilities([0.5, 0.5, 0, 0], 2, pseudocount="0.01")
    assert t.probabilities[2] == Fraction(1, 100) / Fraction(104, 100)
    assert sum(t.probabilities) == 1
    assert t.notes and "pseudocount" in t.notes[0]


def test_wrong_length_and_bad_sum():
    with pytest.raises(SpecError, match="2\\^n = 4 values"):
        from_probabilities([0.5, 0.5], 2)
    with pytest.raises(SpecError, match="sum to 1.2"):
        from_probabilities([0.3, 0.3, 0.3, 0.3], 2)
    with pytest.raises(SpecError, match="negative"):
        from_probabilities([0.5, 0.6, -0.1, 0], 2)


def test_samples_plus_minus_and_zero_one_agree():
    pm = [[1, 1], [1, -1], [-1, 1], [-1, -1], [1, 1]]
    zo = [[1, 1], [1, 0], [0, 1], [0, 0], [1, 1]]
    assert from_samples(pm, 2).probabilities == from_samples(zo, 2).probabilities
    # x = 0 is all +1 and was seen twice out of five
    assert from_samples(pm, 2).probabilities[0] == Fraction(2, 5)


def test_non_binary_ragged_and_unobserved_samples():
    with pytest.raises(SpecError, match="not binary"):
        from_samples([[1, 2], [1, -1]], 2)
    with pytest.raises(SpecError, match="not binary"):
        from_samples([[1, 0], [-1, 1]], 2)
    with pytest.raises(SpecError, match="ragged"):
        from_samples([[1, 1], [1]], 2)
    with pytest.raises(SpecError, match="never occur"):
        from_samples([[1, 1], [1, -1], [-1, 1]], 2)
    t = from_samples([[1, 1], [1, -1], [-1, 1]], 2, pseudocount=1)
    assert t.probabilities[3] == Fraction(1, 7) and "pseudocount" in t.notes[0]


def test_couplings_unknown_subset_and_gauge():
    with pytest.raises(SpecError, match="unknown subset '1,4'"):
        from_couplings({"1,4": 0.1}, 3)
    with pytest.raises(SpecError, match="gauge"):
        from_couplings({"1": 0.1}, 3, gauge="ising")


def test_boolean_gauge_target_equals_its_spin_form():
    # F = v1 v2 = (1 + s1 + s2 + s1 s2)/4
    t = from_couplings({"1,2": 1}, 2, gauge="boolean")
    assert t.couplings == (Fraction(1, 4), Fraction(1, 4), Fraction(1, 4))


def test_n_too_large_is_refused():
    with pytest.raises(SpecError, match="n > 20"):
        named("independent", 21)


@pytest.mark.parametrize("name", NAMED_TARGETS)
def test_named_targets_are_seeded_exact_and_positive(name):
    a, b = named(name, 3, seed=7), named(name, 3, seed=7)
    assert a.couplings == b.couplings
    assert named(name, 3, seed=8).couplings != a.couplings
    with mpmath.workdps(30):
        p = a.probability_array(MP)
        assert min(p) > 0 and abs(sum(p) - 1) < mpmath.mpf(10) ** -28
    if name == "parity":
        assert a.couplings[-1] == 1 and all(v == 0 for v in a.couplings[3:-1])
    if name == "independent":
        assert all(v == 0 for v in a.couplings[3:])


def test_unknown_named_target():
    with pytest.raises(SpecError, match="unknown named target"):
        named("ising", 3)


def test_exact_target_couplings_from_probabilities():
    t = from_probabilities(["0.25", "0.25", "0.25", "0.25"], 2)
    assert list(t.coupling_array(EXACT)) == [0, 0, 0]
    m = t.moment_array(EXACT)
    assert list(m) == [0, 0, 0]
    assert np.asarray(t.probability_array(EXACT)).shape == (4,)


# --- hostile numbers and duplicate subsets (issues 16.8, 17.6) ---------------------------------------


def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 300
    return msg


def test_duplicate_subsets_in_target_couplings_are_refused_naming_both_keys():
    for a, b in (("1,2", "2,1"), ("1,2", " 1 , 2 "), ("", " ")):
        with pytest.raises(SpecError) as err:
            from_couplings({a: "0.5", b: "0.3"}, 2)
        msg = one_line(err)
        assert repr(a) in msg and repr(b) in msg and "same subset" in msg


@pytest.mark.parametrize(
    "value, fragment",
    [
        (float("inf"), "expected a finite number, got inf"),
        (float("nan"), "expected a finite number, got nan"),
        ("Infinity", "expected a finite number"),
        ("1e400", "out of range"),
        ("1e100000000", "out of range"),  # refused from its exponent, never expanded
        ("1e-100000000", "out of range"),
        (10**400, "out of range"),
        (True, "expected a finite number, got True"),
        (None, "expected a finite number, got None"),
        ([0.5], "expected a finite number, got [0.5]"),
        ("0x10", "expected a finite number"),
        ("1/0", "divides by zero"),
        ("1" * 3000, "too long"),
    ],
)
def test_coupling_and_probability_values_must_be_finite_numbers(value, fragment):
    with pytest.raises(SpecError) as err:
        from_couplings({"1,2": value}, 2)
    msg = one_line(err)
    assert msg.startswith("target.couplings['1,2']: ") and fragment in msg
    with pytest.raises(SpecError) as err:
        from_probabilities([value, "0.25", "0.25", "0.25"], 2)
    msg = one_line(err)
    assert msg.startswith("target.probabilities[0]: ") and fragment in msg


def test_extreme_but_representable_numbers_are_exact():
    t = from_couplings({"1": "1e-1000", "2": "1/3", "1,2": "0." + "3" * 999, "": "5"}, 2)
    assert t.couplings == (Fraction(1, 10**1000), Fraction(1, 3), Fraction(int("3" * 999), 10**999))
    assert from_couplings({"1": "1e300"}, 2).couplings[0] == 10**300


@pytest.mark.parametrize("value", [float("inf"), "NaN", "-1", 0, True, "abc", "1e400"])
def test_pseudocount_must_be_a_positive_finite_number(value):
    with pytest.raises(SpecError) as err:
        from_probabilities([1, 0, 0, 0], 2, pseudocount=value)
    assert "target.pseudocount" in one_line(err)


def test_a_huge_pseudocount_is_noted_in_a_short_line():
    t = from_probabilities([1, 0, 0, 0], 2, pseudocount="1/" + "3" * 500)
    assert len(t.notes[0]) < 120 and "pseudocount 3.00000E-500 added" in t.notes[0]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"seed": -1}, "target.seed must be an integer in 0..2^64-1, got -1"),
        ({"seed": 2**64}, "target.seed"),
        ({"seed": True}, "target.seed"),
        ({"seed": 1.5}, "target.seed"),
        ({"scale": "abc"}, "target.scale: expected a finite number"),
        ({"scale": True}, "target.scale: expected a finite number, got True"),
        ({"scale": float("nan")}, "target.scale: expected a finite number, got nan"),
        ({"scale": "1e400"}, "target.scale: '1e400' is out of range"),
        ({"scale": [1]}, "target.scale"),
        ({"max_order": 2}, "max_order applies to the random-couplings target only"),
    ],
)
def test_named_target_options_are_checked(kwargs, fragment):
    with pytest.raises(SpecError) as err:
        named("parity", 2, **kwargs)
    assert fragment in one_line(err)


def test_random_couplings_max_order_is_checked():
    with pytest.raises(SpecError, match="max_order must be an integer in 1..2, got True"):
        named("random-couplings", 2, max_order=True)
    assert named("random-couplings", 3, seed=1, max_order=1).couplings[3:] == (0, 0, 0, 0)


def test_pairwise_target_on_one_spin_has_only_a_field():
    t = named("pairwise", 1, seed=3)
    assert len(t.couplings) == 1 and t.couplings[0] != 0


def test_named_target_extreme_seed_and_names():
    assert named("independent", 2, seed=2**64 - 1).couplings
    with pytest.raises(SpecError, match="unknown named target"):
        named(["parity"], 2)


def test_samples_with_nested_or_unhashable_values_are_refused():
    for rows in ([[[1]]], [[{"a": 1}]], [[1.0]], [[True]], [["1"]]):
        with pytest.raises(SpecError) as err:
            from_samples(rows, 1)
        assert "not binary" in one_line(err)
