"""Case files: parsing, exact decimals, and one-line errors for malformed input."""

import json
import time
import warnings
from fractions import Fraction

import pytest

from theory.errors import SpecError
from verify.cases import case_from_dict, enumerated_cases, load_case
from verify.registry import find_case
from verify.numeric import check_precision


def write(tmp_path, obj, name="case.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_json_numbers_and_strings_are_exact_decimals(tmp_path):
    p = write(tmp_path, '{"model": {"family": "gim", "n": 2}, "params": {"J": {"1": 0.1, "1,2": "0.3"}},'
                        ' "target": {"named": "pairwise", "seed": 2}}')
    case = load_case(p)
    assert case.params == (Fraction(1, 10), Fraction(0), Fraction(3, 10))
    assert case.to_json()["params"]["J"]["1,2"] == "3/10"
    again = case_from_dict(json.loads(json.dumps(case.to_json())))
    assert again.params == case.params and again.target.couplings == case.target.couplings


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"model": {"family": "gim", "n": 2}, "extra": 1}', "unknown keys ['extra']"),
        ('{"params": {"J": {}}}', "needs a \\\"model\\\" or a \\\"target\\\""),
        ('{"target": {"named": "parity"}}', "target.n"),
        ('{"model": {"family": "gim", "n": 2}, "target": {"n": 3, "named": "parity"}}', "differs from model.n"),
        ('{"model": {"family": "gim", "n": 2}, "target": {"probabilities": [1, 0, 0, 0]}}', "zero probability"),
        ('{"model": {"family": "gim", "n": 2}, "target": {"named": "parity", "probabilities": [1]}}', "exactly one"),
        ('{"model": {"family": "gim", "n": 2}, "target": {"samples": [[1, 1], [1, -1], [-1, 1], [-1, "x"]]}}',
         "not binary"),
    ],
)
def test_malformed_case_files(tmp_path, text, fragment):
    with pytest.raises(SpecError) as err:
        load_case(write(tmp_path, text))
    msg = str(err.value)
    assert fragment.replace('\\"', '"') in msg and "\n" not in msg and "case.json" in msg


def test_missing_file():
    with pytest.raises(SpecError, match="cannot read case file"):
        load_case("/nonexistent/case.json")


def test_large_n_at_high_precision_warns():
    with pytest.warns(UserWarning, match="2\\^13 configurations"):
        check_precision(13, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_precision(12, 50)
        check_precision(13, None)
    with pytest.raises(SpecError, match="n > 20"):
        check_precision(21, None)


def test_enumerated_cases_have_unique_names_and_can_be_found():
    cases = enumerated_cases(ns=(2, 3))
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    assert {c.model.family for c in cases} == {"gim", "rbm", "mlp", "product", "custom"}
    assert find_case(names[5])[0] == cases[5]
    assert set(find_case(names[5])[1]) == {"E1", "E2", "F1"}
    with pytest.raises(SpecError, match="no enumerated case"):
        find_case("nope")


# --- numbers, duplicates and other hostile input (issues 16.8, 17.6) ---------------------------------

GIM2 = '{"model": {"family": "gim", "n": 2}, '
RBM = '{"model": {"family": "rbm", "n": 2, "hidden": 1}, '


def refusal(tmp_path, text, seconds=5.0):
    start = time.perf_counter()
    with pytest.raises(SpecError) as err:
        load_case(write(tmp_path, text))
    assert time.perf_counter() - start < seconds
    msg = str(err.value)
    assert "\n" not in msg and len(msg) < 300 and "case.json" in msg
    return msg


@pytest.mark.parametrize(
    "text, fragment",
    [
        (RBM + '"params": {"a": [0, 0], "b": [0], "w": [[0], [Infinity]]}}',
         "params.w[1][0]: expected a finite number, got Infinity"),
        (RBM + '"params": {"a": [NaN, 0], "b": [0], "w": [[0], [0]]}}', "params.a[0]: expected a finite number, got NaN"),
        (RBM + '"params": {"a": [-Infinity, 0], "b": [0], "w": [[0], [0]]}}', "got -Infinity"),
        (RBM + '"params": {"a": ["Infinity", 0], "b": [0], "w": [[0], [0]]}}', "params.a[0]: expected a finite number"),
        (RBM + '"params": {"a": [0, 0], "b": [1e400], "w": [[0], [0]]}}', "params.b[0]: 1E+400 is out of range"),
        (RBM + '"params": {"a": [0, 0], "b": [1e100000000], "w": [[0], [0]]}}', "params.b[0]: 1E+100000000 is out of range"),
        (RBM + '"params": {"a": [0, 0], "b": [1e-100000000], "w": [[0], [0]]}}', "out of range"),
        (RBM + '"params": {"a": [0, 0], "b": ["1e100000000"], "w": [[0], [0]]}}', "out of range"),
        (RBM + '"params": {"a": [0, 0], "b": [' + "9" * 5000 + '], "w": [[0], [0]]}}', "has 5000 digits; at most 1000"),
        (RBM + '"params": {"a": [0, 0], "b": [1' + "0" * 400 + '], "w": [[0], [0]]}}', "out of range"),
        (RBM + '"params": {"a": [true, 0], "b": [0], "w": [[0], [0]]}}', "params.a[0]: expected a finite number, got True"),
        (RBM + '"params": {"a": [null, 0], "b": [0], "w": [[0], [0]]}}', "got None"),
        (RBM + '"params": {"a": [[1], 0], "b": [0], "w": [[0], [0]]}}', "got [1]"),
        (RBM + '"params": {"a": ["0x10", 0], "b": [0], "w": [[0], [0]]}}', "got '0x10'"),
        (GIM2 + '"params": {"J": {"1,2": 0.5, "2,1": 0.3}}}', "params.J: the keys '1,2' and '2,1' name the same subset"),
        (GIM2 + '"params": {"J": {"1,2": 0.5, "1,2": 0.3}}}', "the key '1,2' appears twice in one JSON object"),
        ('{"model": {"family": "gim", "n": 2}, "model": {"family": "gim", "n": 2}}', "the key 'model' appears twice"),
        ('{"model": {"family": "product", "n": 2}, "params": {"u": {"1": 1, " 1": 2}, "v": {}}}',
         "params.u: the keys '1' and ' 1' name the same subset"),
        ('{"model": {"family": "product", "n": 2}, "params": {"u": {}, "v": {"2,1": 1, "1,2": 2}}}', "params.v: the keys"),
        ('{"model": {"family": "product", "n": 3, "subsets": ["1,2", "2,1"]}}', "'1,2' and '2,1' name the same subset"),
        ('{"model": {"family": "product", "n": 3, "subsets": "1,2"}}', "model.subsets must be a non-empty list"),
        ('{"model": {"family": "product", "n": 3, "subsets": [12]}}', "a subset must be written as a string"),
        ('{"target": {"n": 2, "couplings": {"1,2": 0.5, "2,1": 0.3}}}', "target.couplings: the keys '1,2' and '2,1'"),
        ('{"target": {"n": 2, "couplings": {"1": Infinity}}}', "target.couplings['1']: expected a finite number"),
        ('{"target": {"n": 2, "couplings": {"1": 1e400}}}', "target.couplings['1']: 1E+400 is out of range"),
        ('{"target": {"n": 1, "probabilities": [NaN, 0.5]}}', "target.probabilities[0]: expected a finite number"),
        ('{"target": {"n": 1, "samples": [[[1]]]}}', "target.samples is not binary"),
        ('{"target": {"n": 2, "named": "parity", "seed": -1}}', "target.seed must be an integer in 0..2^64-1, got -1"),
        ('{"target": {"n": 2, "named": "parity", "seed": 1.5}}', "target.seed must be an integer"),
        ('{"target": {"n": 2, "named": "parity", "scale": "abc"}}', "target.scale: expected a finite number"),
        ('{"target": {"n": 2, "named": "parity", "scale": true}}', "target.scale: expected a finite number, got True"),
        ('{"target": {"n": 2, "named": "parity", "scale": NaN}}', "target.scale: expected a finite number, got NaN"),
        ('{"target": {"n": 2, "named": "random-couplings", "max_order": 1.0}}', "max_order must be an integer"),
        ('{"target": {"n": 2, "probabilities": [1, 0, 0, 0], "pseudocount": Infinity}}', "target.pseudocount"),
        ('{"target": {"n": 2, "probabilities": [1, 0, 0, 0], "pseudocount": -1}}', "target.pseudocount must be positive"),
        ('{"target": {"n": 2, "named": ["parity"]}}', "unknown named target ['parity']"),
        ('{"model": {"family": ["gim"], "n": 2}}', "unknown model family ['gim']"),
        ('{"model": {"family": "gim", "n": 1' + "0" * 1000 + '}}', "is too large"),
        ('{"model": {"family": "gim", "n": Infinity}}', "n must be a positive integer, got Infinity"),
        ('{"model": {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": ["spin"]}}', "model.hidden_units must be one of"),
        ('{"model": {"family": "gim", "n": 2}, "name": ["x"]}', "\"name\" must be a string"),
        ('{"target": {"n": 1, "samples": ' + "[" * 5000 + "]" * 5000 + "}}", "nested too deeply"),
        ('{"target": {"n": 1, "samples": ' + "[" * 900 + "]" * 900 + "}}", "nested too deeply"),
        ('{"target": {"n": 1, "samples": ' + "[" * 17 + "]" * 17 + "}}", "at most 16 levels"),
        ('{"model": {"family": "gim", "n": 2}, "extra' + "x" * 5000 + '": 1}', "unknown keys"),
    ],
)
def test_hostile_numbers_and_duplicates_are_refused_naming_the_field(tmp_path, text, fragment):
    assert fragment in refusal(tmp_path, text)


def test_a_case_file_that_is_not_text(tmp_path):
    p = tmp_path / "case.json"
    p.write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_case(p)


def test_extreme_but_valid_numbers_are_read_exactly(tmp_path):
    text = (GIM2 + '"params": {"J": {" 1 ": 1e-1000, "2": "1/3", "1,2": 0.' + "7" * 999 + '}}, '
            '"target": {"named": "random-couplings", "seed": 18446744073709551615, "scale": "1e300"}}')
    case = load_case(write(tmp_path, text))
    assert case.params == (Fraction(1, 10**1000), Fraction(1, 3), Fraction(int("7" * 999), 10**999))
    assert case.target.spec["seed"] == 2**64 - 1
    zero = load_case(write(tmp_path, GIM2 + '"params": {"J": {"1": 0E+100000000, "2": "-0.0"}}}'))
    assert zero.params == (0, 0, 0)


def test_custom_energy_checked_at_the_case_params(tmp_path):
    base = '{"model": {"family": "custom", "n": 2, "energy": "log(a + s1)", "params": ["a"]}, "params": {"a": %s}}'
    assert "log(a + s1) is the log of the non-positive value 0 at s1=-1" in refusal(tmp_path, base % "1")
    assert load_case(write(tmp_path, base % "1.5")).params == (Fraction(3, 2),)
