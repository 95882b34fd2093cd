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
