"""Walsh–Hadamard, Möbius and gauge conversion against their defining sums."""

from fractions import Fraction
from itertools import combinations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.arith import EXACT, FLOAT64, MP
from theory.conventions import spin_table, subset_mask, subsets
from theory.walsh import (
    boolean_couplings,
    boolean_to_spin,
    character,
    character_table,
    energy_from_boolean_couplings,
    energy_from_spin_couplings,
    inverse_walsh_hadamard,
    mobius,
    spin_couplings,
    spin_to_boolean,
    walsh_hadamard,
    zeta,
)


def defining_coupling(F, n, A):
    """J_A = 2^-N sum_s F(s) prod_{i in A} s_i, by the definition (spins from the table)."""
    S = spin_table(n)
    return sum(F[x] * int(np.prod([S[x, i - 1] for i in A])) for x in range(2**n)) / 2**n


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_butterfly_equals_dense_matrix_float(n):
    rng = np.random.default_rng(n)
    f = rng.normal(size=(2**n, 3))
    np.testing.assert_allclose(walsh_hadamard(f), character_table(n) @ f, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_round_trip_exact_symbolic(n):
    f = np.array(sp.symbols(f"f0:{2**n}"), dtype=object)
    back = inverse_walsh_hadamard(walsh_hadamard(f))
    assert all(sp.expand(b - a) == 0 for a, b in zip(f, back))


@pytest.mark.parametrize("n", [1, 4, 8])
def test_round_trip_mpmath_50_digits(n):
    with mpmath.workdps(50):
        rng = np.random.default_rng(0)
        f = MP.array([Fraction(int(k), 997) for k in rng.integers(-1000, 1000, size=2**n)])
        back = inverse_walsh_hadamard(walsh_hadamard(f))
        err = max(abs(a - b) for a, b in zip(f, back))
        assert err < mpmath.mpf(10) ** (-45)


@pytest.mark.parametrize("n", [2, 3])
def test_couplings_equal_defining_sum_exact(n):
    rng = np.random.default_rng(7)
    F = EXACT.array([Fraction(int(k), 7) for k in rng.integers(-20, 20, size=2**n)])
    J = spin_couplings(F, n)
    for A, value in zip(subsets(n), J):
        assert value == defining_coupling(F, n, A)
    assert all(a == b for a, b in zip(energy_from_spin_couplings(J, n, constant=sum(F) / 2**n), F))


def test_character_is_product_of_spins():
    S = spin_table(3)
    for x in range(8):
        for A in subsets(3):
            assert character(A, x) == int(np.prod([S[x, i - 1] for i in A]))
            assert character_table(3)[x, subset_mask(A)] == character(A, x)


def brute_mobius(f, n):
    out = []
    for a in range(2**n):
        out.append(sum((-1) ** (bin(a).count("1") - bin(b).count("1")) * f[b] for b in range(2**n) if b & a == b))
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_mobius_equals_inclusion_exclusion(n):
    f = np.array(list(range(1, 2**n + 1)), dtype=object) ** 2
    assert list(mobius(f)) == brute_mobius(f, n)
    assert list(zeta(mobius(f))) == list(f)


def test_boolean_couplings_of_a_monomial():
    # F = v1 v3 in the Boolean gauge: K_{13} = 1, everything else 0
    n = 3
    S = spin_table(n)
    v = (1 + S) // 2
    F = np.array([Fraction(int(v[x, 0] * v[x, 2])) for x in range(8)], dtype=object)
    K = boolean_couplings(F, n)
    assert dict(zip(subsets(n), K)) == {A: (1 if A == (1, 3) else 0) for A in subsets(n)}
    # and in the spin gauge v1 v3 = (1 + s1 + s3 + s1 s3)/4
    J = spin_couplings(F, n)
    assert dict(zip(subsets(n), J)) == {A: (Fraction(1, 4) if A in [(1,), (3,), (1, 3)] else 0) for A in subsets(n)}


def test_rbm_with_boolean_visible_units_has_direct_mobius_coefficients():
    """F(v) = a·v + log(1+exp(b + w·v)) with v in {0,1}: K_A = sum_{B⊆A} (-1)^{|A|-|B|} F(1_B) directly."""
    from theory.models import model_from_spec

    n = 3
    energy = "a1*(1+s1)/2 + a2*(1+s2)/2 + a3*(1+s3)/2 + log(1 + exp(b + w1*(1+s1)/2 + w2*(1+s2)/2 + w3*(1+s3)/2))"
    names = ["a1", "a2", "a3", "b", "w1", "w2", "w3"]
    model = model_from_spec({"family": "custom", "n": n, "energy": energy, "params": names})
    values = {"a1": "0.3", "a2": "-0.2", "a3": "0.1", "b": "-0.4", "w1": "0.9", "w2": "-0.7", "w3": "0.5"}
    theta_exact = model.parse_params(values)
    with mpmath.workdps(60):
        theta = MP.array(theta_exact)
        K = boolean_couplings(model.energy(theta, MP), n)
        a = [mpmath.mpf(values[k]) for k in ("a1", "a2", "a3")]
        b = mpmath.mpf(values["b"])
        w = [mpmath.mpf(values[k]) for k in ("w1", "w2", "w3")]

        def F_at(B):
            return sum(a[i - 1] for i in B) + mpmath.log(1 + mpmath.exp(b + sum(w[i - 1] for i in B)))

        for A, got in zip(subsets(n), K):
            direct = sum((-1) ** (len(A) - k) * F_at(B) for k in range(len(A) + 1) for B in combinations(A, k))
            assert abs(got - direct) < mpmath.mpf(10) ** -55
        # the spin-gauge couplings converted to the Boolean gauge give the same numbers
        K_conv = spin_to_boolean(spin_couplings(model.energy(theta, MP), n), n)
        assert max(abs(x - y) for x, y in zip(K, K_conv)) < mpmath.mpf(10) ** -55


# --- property-based -----------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=6)


@settings(max_examples=60, deadline=None)
@given(sizes, st.data())
def test_walsh_involution_and_parseval(n, data):
    f = np.array(data.draw(st.lists(st.integers(-50, 50), min_size=2**n, max_size=2**n)), dtype=object)
    fh = walsh_hadamard(f)
    assert list(walsh_hadamard(fh)) == [2**n * v for v in f]
    assert sum(v * v for v in fh) == 2**n * sum(v * v for v in f)


@settings(max_examples=60, deadline=None)
@given(sizes, st.data())
def test_gauge_round_trip_exact(n, data):
    D = 2**n - 1
    J = np.array(
        [Fraction(k, 8) for k in data.draw(st.lists(st.integers(-40, 40), min_size=D, max_size=D))], dtype=object
    )
    K = spin_to_boolean(J, n)
    assert list(boolean_to_spin(K, n)) == list(J)
    # two algorithms: through the energy table and the Möbius transform
    assert list(boolean_couplings(energy_from_spin_couplings(J, n), n)) == list(K)
    # the Boolean expansion reproduces the same energy up to a constant
    F_spin = energy_from_spin_couplings(J, n)
    F_bool = energy_from_boolean_couplings(K, n)
    shifts = {a - b for a, b in zip(F_spin, F_bool)}
    assert len(shifts) == 1


@settings(max_examples=40, deadline=None)
@given(sizes, st.data())
def test_float64_and_exact_transforms_agree(n, data):
    ints = data.draw(st.lists(st.integers(-100, 100), min_size=2**n, max_size=2**n))
    exact = spin_couplings(np.array([Fraction(v) for v in ints], dtype=object), n)
    floats = spin_couplings(FLOAT64.array(ints), n)
    np.testing.assert_allclose(floats, np.array(exact, dtype=float), atol=1e-12)
