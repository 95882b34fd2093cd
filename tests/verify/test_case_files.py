"""Case files: parsing, exact decimals, and one-line errors for malformed input."""

import json
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
