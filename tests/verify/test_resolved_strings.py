"""Mutation study (issue 16): ``resolved_strings`` stops as soon as every value agrees to dps + 2 digits.

Mutant killed: verify/commands.py ``mpmath.mpf(10) ** (-(dps + 2))`` -> ``mpf(11) ** ...`` (a stricter
agreement than documented: an extra, needless doubling of the guard digits). The values are synthetic: each
agrees between the two precisions to 2.3 digits more than dps, which the docstring says is resolved.
"""

import mpmath
import pytest

from verify.commands import resolved_strings


@pytest.mark.parametrize("dps", [10, 30])
def test_values_agreeing_to_dps_plus_two_digits_are_not_recomputed(dps):
    calls = []

    def compute(arith):
        calls.append(mpmath.mp.dps)
        first = len(calls) == 1  # the lower of the first two precisions
        delta = mpmath.mpf(5) * mpmath.mpf(10) ** (-(dps + 3)) if first else 0  # relative 5e-(dps+3) < 1e-(dps+2)
        return [mpmath.mpf(1) / 3 * (1 + delta), mpmath.mpf(2)]

    out = resolved_strings(compute, dps)
    assert len(calls) == 2, calls
    with mpmath.workdps(dps + 10):
        assert out[0] == mpmath.nstr(mpmath.mpf(1) / 3, dps, strip_zeros=False)
    assert out[1].startswith("2.0")
