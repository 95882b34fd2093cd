"""Every printed digit is correct, whatever the magnitudes (issue 16, items 6 and 7).

References are closed forms (a gim whose first field dominates: s_1 = +1 almost surely, so
m_2 = m_12 = tanh J_12) or the same quantity at a much higher precision.
"""

import json

import mpmath
import pytest

from theory.errors import SpecError
from verify.commands import classify_document, couplings_document


def _write(tmp_path, case, name="case.json"):
    path = tmp_path / name
    path.write_text(json.dumps(case))
    return str(path)


def _correct_digits(printed: str, reference) -> bool:
    """``printed`` is ``reference`` rounded to its own number of significant digits (within half a unit)."""
    mantissa = printed.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    digits = max(len(mantissa), 1)
    with mpmath.workdps(200):
        x, y = mpmath.mpf(printed), mpmath.mpf(reference)
        return abs(x - y) <= abs(y) * mpmath.mpf(10) ** (1 - digits) * mpmath.mpf("0.51")


@pytest.mark.parametrize("field", ["1e20", "1e49", "1e60"])
def test_a_dominant_field_leaves_the_other_couplings_and_moments_exact(tmp_path, field):
    # audit: J_1 = 1e49 printed J_12 = 0.296875... and m_1 = 1.0022; from 1e60 on m_1 = 4.0
    case = {"model": {"family": "gim", "n": 2}, "params": {"J": {"1": field, "1,2": "0.3"}}}
    doc = couplings_document(_write(tmp_path, case), 30)
    with mpmath.workdps(60):
        tanh = mpmath.tanh(mpmath.mpf(3) / 10)
    assert doc["couplings"]["1,2"] == "0.300000000000000000000000000000"
    assert doc["moments"]["1"] == "1.00000000000000000000000000000"
    assert _correct_digits(doc["moments"]["2"], tanh) and _correct_digits(doc["moments"]["1,2"], tanh)
    assert len(doc["moments"]["2"].replace("0.", "", 1)) == 30


def test_an_exponential_energy_gives_moments_right_to_every_printed_digit(tmp_path):
    # audit: exp(1000 a s1) with a = 0.1 gave m_1 = 0.9999999980... (true: 1 to 80 digits)
    case = {"model": {"family": "custom", "n": 2, "energy": "exp(1000*a*s1)", "params": ["a"]}, "params": {"a": "0.1"}}
    doc = couplings_document(_write(tmp_path, case), 30)
    assert doc["moments"]["1"] == "1.00000000000000000000000000000"
    with mpmath.workdps(60):
        expected = mpmath.sinh(100)  # J_1 = (F(+1) - F(-1))/2 = (e^100 - e^-100)/2
    assert _correct_digits(doc["couplings"]["1"], expected)


def test_small_couplings_of_a_large_rbm_carry_only_correct_digits(tmp_path):
    # the Walsh transform cancels: at 30 digits the top-order coupling of an rbm with small weights
    # is known to an absolute 1e-30 only; each printed digit must match a 90-digit evaluation
    w = [[0.11, -0.07], [0.05, 0.09], [-0.08, 0.06], [0.1, -0.05], [0.07, 0.04], [-0.06, 0.08]]
    case = {"model": {"family": "rbm", "n": 6, "hidden": 2},
            "params": {"a": [0.1] * 6, "b": [0.3, -0.2], "w": w}}
    path = _write(tmp_path, case)
    low, ref = couplings_document(path, 30), couplings_document(path, 90)
    top = ref["couplings"]["1,2,3,4,5,6"]
    assert abs(mpmath.mpf(top)) < 1e-5  # small: the case the audit found
    for section in ("couplings", "moments"):
        for key, printed in low[section].items():
            assert _correct_digits(printed, ref[section][key]), (section, key, printed, ref[section][key])


def test_a_large_field_does_not_turn_disagreement_into_failure(tmp_path):
    # audit: classify on a gim with J_1 = 1e20 said F1 fails (3.5e-16 at dps 50, 2.2e-49 at dps 100)
    case = {"model": {"family": "gim", "n": 2}, "params": {"J": {"1": "1e20", "1,2": "0.3"}},
            "target": {"couplings": {"1": "0.2", "1,2": "0.3"}}}
    doc = classify_document(_write(tmp_path, case), 50)
    assert doc["propositions"]["F1"]["status"] == "holds"


def test_magnitudes_beyond_the_guard_limit_are_refused_in_one_line(tmp_path):
    # a case file cannot reach the limit (numbers and energies are bounded by 1e300 when read) ...
    case = {"model": {"family": "custom", "n": 1, "energy": "exp(exp(a)*s1)", "params": ["a"]}, "params": {"a": "10"}}
    with pytest.raises(SpecError) as err:
        couplings_document(_write(tmp_path, case), 30)
    assert "\n" not in str(err.value) and "beyond 1e300" in str(err.value)
    # ... but a point a computation reaches can: the guard refuses it rather than print wrong digits
    from fractions import Fraction

    from theory.models import GIM
    from verify.numeric import MAX_GUARD_DIGITS, magnitude_guard

    huge = (Fraction(10) ** (MAX_GUARD_DIGITS + 5), Fraction(1), Fraction(3, 10))
    with pytest.raises(SpecError, match="rescale the parameters") as err:
        with magnitude_guard(GIM(2), huge):
            pass
    assert "\n" not in str(err.value)


def test_every_digit_at_the_default_precision_matches_a_direct_evaluation(tmp_path):
    # audit (after the first fix): at dps 50 the agreement of two precisions was read at 117 bits, so the
    # couplings of a gim printed 0.2000...00060185 (15 wrong digits). The reference is a direct sum over the
    # four configurations at 150 digits, not the suite's own route.
    case = {"model": {"family": "gim", "n": 2, "max_order": 2}, "params": {"J": {"1": "0.2", "1,2": "0.3"}}}
    doc = couplings_document(_write(tmp_path, case), 50)
    with mpmath.workdps(150):
        J1, J12 = mpmath.mpf(2) / 10, mpmath.mpf(3) / 10
        configs = [(s1, s2) for s1 in (1, -1) for s2 in (1, -1)]
        weights = [mpmath.exp(J1 * s1 + J12 * s1 * s2) for s1, s2 in configs]
        Z = mpmath.fsum(weights)
        ref = {"1": mpmath.fsum(w * s1 for w, (s1, _) in zip(weights, configs)) / Z,
               "2": mpmath.fsum(w * s2 for w, (_, s2) in zip(weights, configs)) / Z,
               "1,2": mpmath.fsum(w * s1 * s2 for w, (s1, s2) in zip(weights, configs)) / Z}
        assert doc["couplings"]["1"] == "0.2" + "0" * 49 and doc["couplings"]["1,2"] == "0.3" + "0" * 49
        for key, value in ref.items():
            printed = doc["moments"][key]
            assert len(printed.lstrip("-0.").replace(".", "")) >= 45 and _correct_digits(printed, value), (key, printed)
        assert _correct_digits(doc["log_partition"], mpmath.log(Z))
