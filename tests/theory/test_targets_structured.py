"""Issue 15: the targets with structure at every order, ``decaying-couplings`` and ``teacher-rbm``."""

from math import comb

import numpy as np
import pytest

from theory.arith import FLOAT64
from theory.conventions import orders
from theory.errors import SpecError
from theory.targets import decaying_scales, named, teacher_log_probabilities
from verify.cases import parse_target


def test_decaying_couplings_have_the_declared_scale_at_every_order():
    """Pooled over seeds, the mean square coupling of order k over its declared variance is a chi-square mean
    (1 within a few standard errors), and the declared order norms are s d^(k-1)."""
    n, scale, decay = 9, 0.8, 0.6
    sigma = decaying_scales(n, scale, decay)
    assert np.allclose(sigma * np.sqrt([comb(n, k) for k in range(1, n + 1)]), scale * decay ** np.arange(n))
    ords = orders(n)
    sums, counts = np.zeros(n), np.zeros(n)
    for seed in range(6):
        J = named("decaying-couplings", n, seed=seed, scale=str(scale), decay=str(decay)).coupling_array(FLOAT64)
        for k in range(1, n + 1):
            sums[k - 1] += np.sum(J[ords == k] ** 2) / sigma[k - 1] ** 2
            counts[k - 1] += np.sum(ords == k)
    for k in range(1, n + 1):
        dof = counts[k - 1]
        if dof >= 50:
            assert abs(sums[k - 1] / dof - 1) < 4 * np.sqrt(2 / dof), k


def test_decaying_couplings_defaults_and_spec_round_trip():
    t = named("decaying-couplings", 5, seed=3)
    assert t.spec == {"named": "decaying-couplings", "seed": 3}
    again = parse_target({"named": "decaying-couplings", "seed": 3}, 5)
    assert again.couplings == t.couplings
    other = parse_target({"named": "decaying-couplings", "seed": 3, "decay": "0.3"}, 5)
    assert other.couplings != t.couplings and other.spec["decay"] == "0.3"
    assert all(c != 0 for c in t.couplings)  # structure at every order


def test_teacher_rbm_is_the_teachers_distribution():
    n, hidden = 7, 11
    t = named("teacher-rbm", n, seed=2, hidden=hidden)
    logp = teacher_log_probabilities(n, 2, hidden, 1.0)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    assert np.max(np.abs(t.probability_array(FLOAT64) / p - 1)) < 1e-4
    assert t.spec == {"named": "teacher-rbm", "seed": 2, "hidden": hidden}
    # log cosh is even: the odd orders come only from the fields and the hidden biases, but every order is there
    J = t.coupling_array(FLOAT64)
    norms = [np.linalg.norm(J[orders(n) == k]) for k in range(1, n + 1)]
    assert all(x > 0 for x in norms)


def test_teacher_rbm_default_has_twice_n_hidden_units():
    assert named("teacher-rbm", 4, seed=1).couplings == named("teacher-rbm", 4, seed=1, hidden=8).couplings


@pytest.mark.parametrize("kwargs, words", [
    ({"name": "decaying-couplings", "decay": "1.5"}, "target.decay must lie in (0, 1]"),
    ({"name": "decaying-couplings", "decay": "0"}, "target.decay must lie in (0, 1]"),
    ({"name": "random-couplings", "decay": "0.5"}, "decay applies to the decaying-couplings target only"),
    ({"name": "teacher-rbm", "hidden": 0}, "target.hidden must be an integer in 1..64"),
    ({"name": "teacher-rbm", "hidden": 2.5}, "target.hidden must be an integer"),
    ({"name": "pairwise", "hidden": 3}, "hidden applies to the teacher-rbm target only"),
])
def test_new_target_options_are_validated_in_one_line(kwargs, words):
    name = kwargs.pop("name")
    with pytest.raises(SpecError) as err:
        named(name, 4, seed=1, **kwargs)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_case_files_accept_the_new_keys_and_refuse_them_elsewhere():
    assert parse_target({"named": "teacher-rbm", "seed": 1, "hidden": 3}, 3).spec["hidden"] == 3
    with pytest.raises(SpecError, match="unknown keys"):
        parse_target({"probabilities": [0.25] * 4, "decay": 0.5}, 2)
