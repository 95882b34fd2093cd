"""Exact integer products behind the mpmath linear algebra (theory.fixedpoint) and integer conversions."""

from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import EXACT, FLOAT64, MP
from theory.fixedpoint import integer_matmul


def _exact(ints, values):
    return [sum((int(a) * q for a, q in zip(row, values)), Fraction(0)) for row in ints]


def test_integer_matmul_is_the_exact_product_rounded_once():
    rng = np.random.default_rng(3)
    ints = rng.choice([-1, 1], size=(32, 31))
    values = [Fraction(int(k), int(d)) for k, d in zip(rng.integers(-10**6, 10**6, 31), rng.integers(1, 10**4, 31))]
    values[4] = Fraction(1, 10**40)  # a tiny entry next to large ones
    with mpmath.workdps(40):
        theta = MP.array(values)
        got = integer_matmul(ints, theta)
        want = _exact(ints, values)
        scale = max(abs(q) for q in values)
        for g, w in zip(got, want):
            assert abs(g - mpmath.mpf(w.numerator) / w.denominator) <= scale * mpmath.mpf(10) ** -39
        # a matrix right-hand side, and the column form agree
        both = integer_matmul(ints, np.stack([theta, theta], axis=1))
        assert all(both[k, 0] == got[k] and both[k, 1] == got[k] for k in range(32))


def test_integer_matmul_leaves_other_number_types_to_numpy():
    ints = np.array([[1, -1], [1, 1]])
    assert list(integer_matmul(ints, np.array([0.5, 0.25]))) == [0.25, 0.75]
    exact = integer_matmul(ints, EXACT.array([Fraction(1, 3), Fraction(1, 6)]))
    assert [str(v) for v in exact] == ["1/6", "1/2"]


def test_ints_in_every_number_system_keep_shape_and_value():
    values = np.array([[1, -1, 1], [-1, -1, 0]])
    for arith in (MP, FLOAT64, EXACT):
        out = arith.ints(values)
        assert out.shape == values.shape
        assert [float(v) for v in out.reshape(-1)] == [1.0, -1.0, 1.0, -1.0, -1.0, 0.0]
    assert MP.ints(np.array([], dtype=int)).shape == (0,)
