"""Every model's ``spec()`` rebuilds the same model, and different models have different specs.

The derivation cache is keyed by ``spec()`` (issue 16, item 13): a spec that forgets a field (a
``product``'s custom ``subsets``, a ``gim``'s ``max_order``, an ``rbm``'s hidden units) would
rebuild another model and serve another model's derivation. Each case below is built from its
constructor arguments; ``model_from_spec(model.spec())`` must give the same spec, the parameter
labels listed here by hand, and an energy and couplings equal to the formulas of THEORY.md §3
evaluated directly from those constructor arguments (not from the spec), with the couplings
computed by the brute-force Walsh sum :math:`J_A = 2^{-N}\\sum_s F(s)\\chi_A(s)`.
"""

import inspect
import itertools
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.arith import MP
from theory.effective import model_couplings
from theory.models import GIM, MLP, RBM, Custom, Product, model_from_spec

DPS = 50
TOL = mpmath.mpf(10) ** -40


# --- hand-written references (THEORY.md §3) ------------------------------------------------------


def all_subsets(n, max_order=None):
    """Nonempty subsets of 1..n, by size then lexicographically (THEORY.md §1)."""
    top = n if max_order is None else max_order
    return [A for k in range(1, top + 1) for A in itertools.combinations(range(1, n + 1), k)]


def name(A):
    return ",".join(map(str, A))


def spins_of(x, n):
    """``s_i = 1 - 2 bit_{i-1}(x)``."""
    return [1 - 2 * ((x >> (i - 1)) & 1) for i in range(1, n + 1)]


def chi(A, s):
    out = 1
    for i in A:
        out *= s[i - 1]
    return out


PHI = {
    "spin": lambda x: mpmath.log(2 * mpmath.cosh(x)),
    "bernoulli": lambda x: mpmath.log(1 + mpmath.exp(x)),
}
SIGMA = {
    "tanh": mpmath.tanh,
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    "quadratic": lambda x: x**2,
    "cubic": lambda x: x**3,
}


def hidden_labels(n, M, with_c):
    labels = [f"a[{i}]" for i in range(1, n + 1)] + [f"b[{m}]" for m in range(1, M + 1)]
    labels += [f"w[{i},{m}]" for i in range(1, n + 1) for m in range(1, M + 1)]
    if with_c:
        labels += [f"c[{m}]" for m in range(1, M + 1)]
    return labels


def hidden_energy(n, M, unit, with_c):
    def F(p, s):
        out = sum(p[f"a[{i}]"] * s[i - 1] for i in range(1, n + 1))
        for m in range(1, M + 1):
            x = p[f"b[{m}]"] + sum(p[f"w[{i},{m}]"] * s[i - 1] for i in range(1, n + 1))
            out += (p[f"c[{m}]"] if with_c else 1) * unit(x)
        return out

    return F


class Expected:
    """What a case must be: its labels and :math:`F_\\theta(s)` written from the constructor arguments."""

    def __init__(self, ident, build, labels, energy):
        self.ident, self.build, self.labels, self.energy = ident, build, labels, energy


def gim_case(n, max_order, default_order=False):
    """``default_order``: build ``GIM(n)`` (no ``max_order``, meaning ``K = N``)."""
    subs = all_subsets(n, max_order)
    return Expected(
        f"gim-n{n}-K{max_order}" + ("-default" if default_order else ""),
        (lambda: GIM(n)) if default_order else (lambda: GIM(n, max_order)),
        [f"J[{name(A)}]" for A in subs],
        lambda p, s: sum(p[f"J[{name(A)}]"] * chi(A, s) for A in subs),
    )


def rbm_case(n, M, units):
    return Expected(f"rbm-n{n}-m{M}-{units}", lambda: RBM(n, M, units), hidden_labels(n, M, False),
                    hidden_energy(n, M, PHI[units], False))


def mlp_case(n, M, activation):
    return Expected(f"mlp-n{n}-m{M}-{activation}", lambda: MLP(n, M, activation), hidden_labels(n, M, True),
                    hidden_energy(n, M, SIGMA[activation], True))


def product_case(n, fields, coupled):
    """``coupled``: the subsets (tuples) that carry ``u_A v_A``, or None for all of them."""
    subs = all_subsets(n) if coupled is None else sorted(set(coupled), key=lambda A: (len(A), A))
    labels = ([f"h[{i}]" for i in range(1, n + 1)] if fields else [])
    labels += [f"u[{name(A)}]" for A in subs] + [f"v[{name(A)}]" for A in subs]

    def F(p, s):
        out = sum(p[f"u[{name(A)}]"] * p[f"v[{name(A)}]"] * chi(A, s) for A in subs)
        if fields:
            out += sum(p[f"h[{i}]"] * s[i - 1] for i in range(1, n + 1))
        return out

    arg = None if coupled is None else [name(A) for A in reversed(list(coupled))]  # order must not matter
    tag = "all" if coupled is None else "+".join(name(A).replace(",", "") for A in subs)
    return Expected(f"product-n{n}-{'h' if fields else 'noh'}-{tag}", lambda: Product(n, fields, arg), labels, F)


def custom_case(ident, n, energy, names):
    # reference: sympy's own parser of the same text (the suite's parser is a whitelisted AST walk)
    symbols = {nm: sp.Symbol(nm) for nm in names}
    spin_syms = {f"s{i}": sp.Symbol(f"s{i}") for i in range(1, n + 1)}
    expr = sp.sympify(energy, locals={**symbols, **spin_syms})
    f = sp.lambdify([*spin_syms.values(), *symbols.values()], expr, modules="mpmath")
    return Expected(ident, lambda: Custom(n, energy, list(names)), list(names),
                    lambda p, s: f(*s, *[p[nm] for nm in names]))


CASES = [
    gim_case(2, 2),
    gim_case(3, 3, default_order=True),
    gim_case(3, 2),
    gim_case(3, 1),
    gim_case(4, 3),
    rbm_case(3, 2, "spin"),
    rbm_case(3, 2, "bernoulli"),
    rbm_case(2, 1, "spin"),
    *[mlp_case(3, 2, act) for act in ("tanh", "softplus", "silu", "quadratic", "cubic")],
    product_case(3, False, None),
    product_case(3, True, None),
    product_case(3, False, [(1, 2)]),
    product_case(3, True, [(1, 2)]),
    product_case(3, False, [(1, 3), (1, 2, 3)]),
    product_case(3, True, [(2,), (1, 3), (1, 2, 3)]),
    product_case(2, False, [(1,), (2,)]),
    custom_case("custom-n2-logcosh", 2, "a1*s1 + log(cosh(b + w1*s1 + w2*s2))", ["a1", "b", "w1", "w2"]),
    custom_case("custom-n3-cube", 3, "a*s1 + b*s1*s2 + c**3*s1*s2*s3", ["a", "b", "c"]),
    custom_case("custom-n2-unsorted-names", 2, "w*s1*s2 + a*s1 - b*s2", ["w", "b", "a"]),
    custom_case("custom-n2-mixed", 2, "exp(a*s1)/2 + sinh(b)*s1*s2 + sqrt(1 + c**2)*s2 - tanh(a*b)*s1",
                ["a", "b", "c"]),
]


def random_point(P, seed):
    rng = np.random.default_rng(seed)
    return tuple(Fraction(int(k), 997) for k in rng.integers(-900, 900, size=P))


def reference_energy_and_couplings(expected, n, theta):
    """:math:`F(s)` on every configuration from the hand-written formula, and :math:`J_A` by the Walsh sum."""
    with mpmath.workdps(DPS + 10):
        p = {lab: mpmath.mpf(q.numerator) / q.denominator for lab, q in zip(expected.labels, theta)}
        F = [expected.energy(p, spins_of(x, n)) for x in range(2**n)]
        J = [sum(F[x] * chi(A, spins_of(x, n)) for x in range(2**n)) / 2**n for A in all_subsets(n)]
    return F, J


def cache_key_of(model):
    """``verify.derivation_cache.cache_key`` whatever its current signature (it is being reworked)."""
    from verify import derivation_cache

    key = derivation_cache.cache_key
    required = [p for p in inspect.signature(key).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) == 1:
        return key(model)
    return key(model, "closed-forms")


# --- round trip ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", CASES, ids=lambda e: e.ident)
def test_spec_round_trip_rebuilds_the_same_model(expected):
    model = expected.build()
    spec = model.spec()
    # the spec is JSON (it goes into case files and into the cache key) and survives a JSON round trip
    spec_json = json.loads(json.dumps(spec))
    assert spec_json == spec
    rebuilt = model_from_spec(spec_json)
    assert type(rebuilt) is type(model)
    assert rebuilt.spec() == spec
    assert [p.label for p in model.params] == expected.labels
    assert [p.label for p in rebuilt.params] == expected.labels
    assert rebuilt.params == model.params  # labels, LaTeX names, groups and indices
    assert rebuilt == model and hash(rebuilt) == hash(model)
    assert cache_key_of(rebuilt) == cache_key_of(model)

    theta = random_point(model.P, 7)
    F_ref, J_ref = reference_energy_and_couplings(expected, model.n, theta)
    with mpmath.workdps(DPS):
        th = MP.array(theta)
        for m in (model, rebuilt):
            F = m.energy(th, MP)
            J = model_couplings(m, th, MP)
            assert len(F) == 2**model.n and len(J) == 2**model.n - 1
            assert max(abs(F[x] - F_ref[x]) for x in range(2**model.n)) < TOL
            assert max(abs(J[k] - J_ref[k]) for k in range(len(J_ref))) < TOL


@pytest.mark.parametrize("expected", CASES, ids=lambda e: e.ident)
def test_parameters_survive_a_case_file_round_trip(expected):
    """``params_to_json`` of the original is read back exactly by the model rebuilt from the spec."""
    model = expected.build()
    rebuilt = model_from_spec(json.loads(json.dumps(model.spec())))
    theta = random_point(model.P, 3)
    assert rebuilt.parse_params(json.loads(json.dumps(model.params_to_json(theta)))) == theta


# --- specs tell different models apart -------------------------------------------------------------------


def test_different_models_have_different_specs_and_cache_keys():
    models = [e.build() for e in CASES]
    specs = [json.dumps(m.spec(), sort_keys=True) for m in models]
    keys = [cache_key_of(m) for m in models]
    for (i, a), (j, b) in itertools.combinations(enumerate(CASES), 2):
        assert specs[i] != specs[j], f"{a.ident} and {b.ident} have the same spec"
        assert keys[i] != keys[j], f"{a.ident} and {b.ident} have the same derivation-cache key"


def test_product_with_custom_subsets_is_not_the_default_product():
    default = Product(3, False)
    pair = Product(3, False, ["1,2"])
    assert pair.P == 2 and default.P == 14  # u, v of one subset against u, v of all seven
    assert pair.spec() != default.spec()
    assert pair.spec()["subsets"] == ["1,2"]
    assert cache_key_of(pair) != cache_key_of(default)
    assert model_from_spec(pair.spec()).P == 2
    # and with fields: the subsets still matter
    assert Product(3, True, ["1,2"]).spec() != Product(3, True).spec()
    assert cache_key_of(Product(3, True, ["1,2"])) != cache_key_of(Product(3, True))


PAIRS = {
    # the same mathematical model written two ways: one spec, one derivation
    "gim-default-order": (lambda: GIM(3), lambda: GIM(3, 3), True),
    "gim-spec-without-order": (lambda: model_from_spec({"family": "gim", "n": 3}), lambda: GIM(3, 3), True),
    "product-all-subsets-listed": (lambda: Product(3, False, [name(A) for A in all_subsets(3)]),
                                   lambda: Product(3, False), True),
    "product-subsets-any-order": (lambda: Product(3, False, ["2,1", "3,1"]), lambda: Product(3, False, ["1,3", "1,2"]),
                                  True),
    "rbm-default-units": (lambda: model_from_spec({"family": "rbm", "n": 2, "hidden": 1}), lambda: RBM(2, 1, "spin"),
                          True),
    "mlp-default-activation": (lambda: model_from_spec({"family": "mlp", "n": 2, "hidden": 1}),
                               lambda: MLP(2, 1, "tanh"), True),
    # one field apart: different models
    "gim-order": (lambda: GIM(3, 2), lambda: GIM(3, 3), False),
    "gim-n": (lambda: GIM(2), lambda: GIM(3), False),
    "rbm-units": (lambda: RBM(2, 1, "spin"), lambda: RBM(2, 1, "bernoulli"), False),
    "rbm-hidden": (lambda: RBM(2, 1), lambda: RBM(2, 2), False),
    "mlp-activation": (lambda: MLP(2, 1, "tanh"), lambda: MLP(2, 1, "silu"), False),
    "mlp-vs-rbm": (lambda: MLP(2, 1, "tanh"), lambda: RBM(2, 1, "spin"), False),
    "product-fields": (lambda: Product(3, False), lambda: Product(3, True), False),
    "product-other-subset": (lambda: Product(3, False, ["1,2"]), lambda: Product(3, False, ["1,3"]), False),
    "product-more-subsets": (lambda: Product(3, False, ["1,2"]), lambda: Product(3, False, ["1,2", "1,2,3"]), False),
    "custom-energy": (lambda: Custom(2, "a*s1*s2", ["a"]), lambda: Custom(2, "a**2*s1*s2", ["a"]), False),
    "custom-name-order": (lambda: Custom(2, "a*s1 + b*s2", ["a", "b"]), lambda: Custom(2, "a*s1 + b*s2", ["b", "a"]),
                          False),
}


@pytest.mark.parametrize("left, right, same", list(PAIRS.values()), ids=list(PAIRS))
def test_specs_and_keys_are_equal_exactly_for_equal_models(left, right, same):
    a, b = left(), right()
    assert (a.spec() == b.spec()) is same
    assert (cache_key_of(a) == cache_key_of(b)) is same
    assert (a == b) is same
    if same:
        assert [p.label for p in a.params] == [p.label for p in b.params]
