r"""Case files (JSON) and the enumerated cases.

A case is a model, a parameter point and a target, each optional::

    {"model": {"family": "rbm", "n": 3, "hidden": 2, "hidden_units": "spin"},
     "params": {"a": [...], "b": [...], "w": [[...], ...]},
     "target": {"probabilities": [...]}}

Numbers may be JSON numbers or decimal strings; both are read as exact decimals (``0.1`` is
:math:`1/10`) and rounded only when a number system converts them at its working precision.
Target forms: ``probabilities``, ``couplings`` (+ ``gauge``), ``samples``, ``named`` (+ ``seed``,
``scale``, ``max_order``); any of them may add ``pseudocount``. A target without a model gives
its size as ``"n"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

from theory import targets as T
from theory.arith import Arith
from theory.conventions import MAX_DIGITS, JsonLiteral, check_n, show_value
from theory.errors import SpecError
from theory.models import Model, model_from_spec

__all__ = ["Case", "load_case", "parse_case_json", "case_from_dict", "random_params", "enumerated_cases", "h3c_cases",
           "fixed_point_cases"]


@dataclass(frozen=True)
class Case:
    """One case: ``model``, exact ``params`` and ``target`` (each may be ``None``) and a name."""

    name: str
    model: Model | None = None
    params: tuple[Fraction, ...] | None = None
    target: T.Target | None = None
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        return self.model.n if self.model is not None else self.target.n

    def theta(self, arith: Arith) -> np.ndarray:
        """The parameter point in ``arith``'s number type."""
        if self.params is None:
            raise SpecError(f"case {self.name!r} has no \"params\"; give a parameter point")
        return arith.array(self.params)

    def require(self, *parts: str) -> None:
        """Refuse with one line when a needed part (``model``, ``params``, ``target``) is missing."""
        missing = [p for p in parts if getattr(self, p) is None]
        if missing:
            raise SpecError(f"case {self.name!r} needs {', '.join(repr(p) for p in missing)} for this command")

    def to_json(self) -> dict:
        out: dict = {}
        if self.model is not None:
            out["model"] = self.model.spec()
        if self.params is not None:
            out["params"] = self.model.params_to_json(self.params)
        if self.target is not None:
            out["target"] = dict(self.target.spec)
            if self.model is None:
                out["target"]["n"] = self.target.n
        return out


_TARGET_FORMS = ("probabilities", "couplings", "samples", "named")


def parse_target(obj, n: int | None) -> T.Target:
    """A :class:`~theory.targets.Target` from the ``"target"`` object of a case file."""
    if not isinstance(obj, dict):
        raise SpecError("\"target\" must be a JSON object with one of " + ", ".join(_TARGET_FORMS))
    forms = [k for k in _TARGET_FORMS if k in obj]
    if len(forms) != 1:
        raise SpecError(f"target must have exactly one of {', '.join(_TARGET_FORMS)}; found {forms or 'none'}")
    allowed = {"probabilities": {"pseudocount"}, "couplings": {"gauge"}, "samples": {"pseudocount"},
               "named": {"seed", "scale", "max_order", "decay", "hidden"}}[forms[0]] | {forms[0], "n"}
    extra = sorted(set(obj) - allowed)
    if extra:
        raise SpecError(f"target has unknown keys {extra} for the {forms[0]!r} form; allowed: {sorted(allowed)}")
    if "n" in obj:
        if n is not None and obj["n"] != n:
            raise SpecError(f"target.n = {show_value(obj['n'])} differs from model.n = {n}")
        n = obj["n"]
    if n is None:
        raise SpecError("a target without a model must give its number of spins as target.n")
    check_n(n)
    spec = _plain(obj)
    spec.pop("n", None)
    form = forms[0]
    if form == "probabilities":
        return T.from_probabilities(obj["probabilities"], n, obj.get("pseudocount"), spec=spec)
    if form == "couplings":
        return T.from_couplings(obj["couplings"], n, obj.get("gauge", "spin"), spec=spec)
    if form == "samples":
        return T.from_samples(obj["samples"], n, obj.get("pseudocount"), spec=spec)
    return T.named(obj["named"], n, obj.get("seed", 0), obj.get("scale"), obj.get("max_order"), obj.get("decay"),
                   obj.get("hidden"))


def _plain(obj):
    """JSON-ready copy with Decimals written as strings."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


def case_from_dict(obj, name: str = "case") -> Case:
    """Validate and build a case from a parsed JSON object."""
    if not isinstance(obj, dict):
        raise SpecError("a case file must hold a JSON object with \"model\", \"params\" and/or \"target\"")
    extra = sorted(set(obj) - {"model", "params", "target", "name"})
    if extra:
        raise SpecError(f"case file has unknown keys {show_value(extra, 80)}; allowed: model, params, target, name")
    if not any(k in obj for k in ("model", "target")):
        raise SpecError("a case file needs a \"model\" or a \"target\"")
    if "name" in obj and not (isinstance(obj["name"], str) and 0 < len(obj["name"]) <= 200):
        raise SpecError(f"case file \"name\" must be a string of 1 to 200 characters, got {show_value(obj['name'])}")
    model = model_from_spec(obj["model"]) if "model" in obj else None
    if "params" in obj and model is None:
        raise SpecError("case file has \"params\" but no \"model\" to give them meaning")
    params = model.parse_params(obj["params"]) if "params" in obj else None
    target = parse_target(obj["target"], model.n if model else None) if "target" in obj else None
    return Case(obj.get("name", name), model, params, target)


def _json_int(text: str):
    """JSON integers: longer ones than any accepted number stay text, refused where they are used."""
    return int(text) if len(text) <= MAX_DIGITS + 1 else JsonLiteral(text)


def _json_object(pairs):
    """JSON objects, refusing a key given twice (``json`` would keep the last one silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise SpecError(f"the key {show_value(key)} appears twice in one JSON object; give it once")
        out[key] = value
    return out


#: Deepest nesting of objects and lists in a case file (a real one needs 4: case, params, w, a row).
MAX_JSON_DEPTH = 16


def _depth(obj) -> int:
    deepest, stack = 0, [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth + 1)
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_case_json(text: str):
    """Parse the text of a case file: numbers as exact decimals, ``Infinity``/``NaN`` and integers of
    more than :data:`~theory.conventions.MAX_DIGITS` digits kept as text (refused where a number is
    expected), duplicate keys refused, and no more than :data:`MAX_JSON_DEPTH` levels of nesting."""
    obj = json.loads(text, parse_float=Decimal, parse_int=_json_int, parse_constant=JsonLiteral,
                     object_pairs_hook=_json_object)
    if _depth(obj) > MAX_JSON_DEPTH:
        raise RecursionError
    return obj


def load_case(path) -> Case:
    """Read a case file; every problem is a one-line :class:`SpecError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise SpecError(f"cannot read case file {str(p)!r}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"case file {str(p)!r} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        obj = parse_case_json(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"case file {str(p)!r} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise SpecError(
            f"case file {str(p)!r} is nested too deeply to be a case file (at most {MAX_JSON_DEPTH} levels)"
        ) from None
    except SpecError as err:
        raise SpecError(f"case file {str(p)!r}: {err}") from None
    try:
        return case_from_dict(obj, name=p.stem)
    except SpecError as err:
        raise SpecError(f"case file {str(p)!r}: {err}") from None


# --- enumerated cases ------------------------------------------------------------------------------


def random_params(model: Model, seed: int, scale: float = 0.5) -> tuple[Fraction, ...]:
    """Seeded parameter point, each entry :math:`\\sim` scale·N(0,1) rounded to 4 decimals (exact)."""
    rng = np.random.default_rng(seed)
    return tuple(Fraction(f"{scale * z:.4f}") for z in rng.standard_normal(model.P))


def _model_specs(n: int) -> list[tuple[str, dict]]:
    specs = [
        (f"gim-n{n}-k{n}", {"family": "gim", "n": n, "max_order": n}),
        (f"gim-n{n}-k{n - 1}", {"family": "gim", "n": n, "max_order": n - 1}),
        (f"rbm-n{n}-m1-spin", {"family": "rbm", "n": n, "hidden": 1, "hidden_units": "spin"}),
        (f"rbm-n{n}-m2-spin", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "spin"}),
        (f"rbm-n{n}-m2-bernoulli", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "bernoulli"}),
        (f"mlp-n{n}-m2-tanh", {"family": "mlp", "n": n, "hidden": 2, "activation": "tanh"}),
        (f"mlp-n{n}-m2-quadratic", {"family": "mlp", "n": n, "hidden": 2, "activation": "quadratic"}),
        (f"product-n{n}", {"family": "product", "n": n, "fields": False}),
    ]
    if n == 2:
        specs.append(("custom-n2", {"family": "custom", "n": 2, "energy": "a*s1 + c*s1*s2 + log(cosh(b + w1*s1 + w2*s2))",
                                    "params": ["a", "b", "c", "w1", "w2"]}))
    return [(tag, s) for tag, s in specs if s.get("max_order", 1) >= 1]


def _target_specs(quick: bool) -> list[tuple[str, dict]]:
    seeds = (1,) if quick else (1, 2, 3, 4, 5)
    out = [(f"random-couplings-s{s}", {"named": "random-couplings", "seed": s}) for s in seeds]
    if not quick:
        out += [("independent-s1", {"named": "independent", "seed": 1}),
                ("pairwise-s1", {"named": "pairwise", "seed": 1}),
                ("parity-s1", {"named": "parity", "seed": 1})]
    return out


def fixed_point_cases(ns=(2, 3), families=None, quick: bool = False) -> list[Case]:
    """Cases whose flow is followed to a fixed point (THEORY.md F2, F3, S1): N in ``ns``, the models
    ``gim`` (K = N and K = N-1), ``rbm`` (spin M = 1, 2, 3; bernoulli M = 2), ``mlp`` (tanh, quadratic;
    M = 2), ``product``; the targets of :func:`enumerated_cases`; the start is the case's point."""
    cases = []
    for n in ns:
        specs = [(f"gim-n{n}-k{n}", {"family": "gim", "n": n, "max_order": n})]
        if n > 1:
            specs.append((f"gim-n{n}-k{n - 1}", {"family": "gim", "n": n, "max_order": n - 1}))
        specs += [(f"rbm-n{n}-m{M}-spin", {"family": "rbm", "n": n, "hidden": M, "hidden_units": "spin"}) for M in (1, 2, 3)]
        specs += [(f"rbm-n{n}-m2-bernoulli", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "bernoulli"}),
                  (f"mlp-n{n}-m2-tanh", {"family": "mlp", "n": n, "hidden": 2, "activation": "tanh"}),
                  (f"mlp-n{n}-m2-quadratic", {"family": "mlp", "n": n, "hidden": 2, "activation": "quadratic"}),
                  (f"product-n{n}", {"family": "product", "n": n, "fields": False})]
        for tag, spec in specs:
            if families and spec["family"] not in families:
                continue
            model = model_from_spec(spec)
            for k, (ttag, tspec) in enumerate(_target_specs(quick)):
                target = parse_target(tspec, n)
                cases.append(Case(f"fp/{tag}/{ttag}", model, random_params(model, seed=1000 * n + k), target))
    return cases


def enumerated_cases(ns=(2, 3), families=None, quick: bool = False) -> list[Case]:
    """The default cases: every model family of ``ns`` spins at a seeded point against seeded targets."""
    cases = []
    for n in ns:
        for tag, spec in _model_specs(n):
            if families and spec["family"] not in families:
                continue
            model = model_from_spec(spec)
            for k, (ttag, tspec) in enumerate(_target_specs(quick)):
                target = parse_target(tspec, n)
                params = random_params(model, seed=1000 * n + k)
                cases.append(Case(f"{tag}/{ttag}", model, params, target))
    return cases


def scaling_models(n: int, quick: bool = False) -> list[tuple[str, dict, str]]:
    """H1's models on ``n`` spins: ``(tag, spec, mode)`` with mode ``scaling`` (generic biases, the family's own
    small-weight rescaling), ``even-zero-bias`` (an even φ at b = 0: no odd orders) or ``uniform`` (the
    ``product`` contrast)."""
    generic = [("rbm-spin", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "spin"}),
               ("rbm-bernoulli", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "bernoulli"}),
               ("mlp-tanh", {"family": "mlp", "n": n, "hidden": 2, "activation": "tanh"})]
    out = [(f"{tag}-n{n}-m2/generic", spec, "scaling") for tag, spec in (generic[:1] if quick else generic)]
    if n >= 3:
        out.append((f"rbm-spin-n{n}-m2/zero-bias", {"family": "rbm", "n": n, "hidden": 2, "hidden_units": "spin"},
                    "even-zero-bias"))
    out.append((f"product-n{n}/uniform", {"family": "product", "n": n}, "uniform"))
    return out


def spurious_models(n: int) -> list[tuple[str, dict, str, dict]]:
    """S2's constructions on ``n`` spins against every S2 target: ``(tag, spec, kind, meta)`` with ``kind`` one of
    the family's special points (:meth:`~theory.families.base.Model.special_points`) and ``meta`` the facts
    predicted beyond the spectrum (``J_moves_at_order``: the order at which J moves along neutral directions)."""
    out = [(f"product-off-n{n}", {"family": "product", "n": n}, "switched-off", {})]
    out += [(f"rbm-paramagnetic-n{n}-m{M}", {"family": "rbm", "n": n, "hidden": M}, "paramagnetic", {})
            for M in (1, 2, 3)]
    out.append((f"mlp-paramagnetic-n{n}-m2-tanh", {"family": "mlp", "n": n, "hidden": 2, "activation": "tanh"},
                "paramagnetic", {"J_moves_at_order": 3}))
    return out


def spurious_special_cases(n: int) -> list[tuple[str, dict, str, dict, dict]]:
    """S2's constructions with their own target: ``(name, spec, kind, target spec, meta)``."""
    if n == 3:
        return [("s2/rbm-paramagnetic-n3-m2/pure-3-body", {"family": "rbm", "n": 3, "hidden": 2}, "paramagnetic",
                 {"couplings": {"1,2,3": "0.8"}}, {"degenerate": True, "J_moves_at_order": 2})]
    if n == 4:
        return [(f"s2/rbm-dead-unit-n4-m2/{ttag}", {"family": "rbm", "n": 4, "hidden": 2}, "dead-unit", tspec, {})
                for ttag, tspec in (("pairwise-s1", {"named": "pairwise", "seed": 1}),
                                    ("random-couplings-s2", {"named": "random-couplings", "seed": 2}))]
    return []


#: ``gim`` N = 3, K = 2 in [-3, 3]^6 against this target: complete in 0.3 s (README, issue 14)
P3 = ["0.2", "0.1", "0.1", "0.05", "0.15", "0.1", "0.1", "0.2"]
SILU_EXPECTED = {
    "status": "fails",
    "because": "THEORY.md §4 H3: the region statement is false in general; a silu network with N = 3, M = 1 has "
               "spurious strict local maxima of l inconsistent at order 2, reached from starts at scale 0.5. This "
               "case is that documented counterexample: its failure is the expected outcome",
}


def h3c_cases(ns=(3,), families=None, quick: bool = False) -> list[Case]:
    """H3C's declared cases (N = 3): ``gim`` K = 2 in :math:`[-3, 3]^6` (enumerated) and the ``silu`` network N = 3,
    M = 1 on the random-couplings target (seed 1) in :math:`[-5, 5]^8` (the targeted search from scale 0.5, seeds 0-7,
    stopping at the first certified counterexample; the documented failure of the strong form). The same in
    ``quick``."""
    if 3 not in ns:
        return []
    declared = [
        ("h3c/gim-n3-k2/p3/box3", {"family": "gim", "n": 3, "max_order": 2}, {"probabilities": P3},
         {"box": (-3, 3), "enumerate": {"max_boxes": 2000, "max_seconds": 30}}),
        ("h3c/mlp-n3-m1-silu/random-couplings-s1/box5",
         {"family": "mlp", "n": 3, "hidden": 1, "activation": "silu"}, {"named": "random-couplings", "seed": 1},
         {"box": (-5, 5), "search": {"seeds": (0, 8), "scale": 0.5}, "expected_outcome": SILU_EXPECTED}),
    ]
    out = []
    for name, spec, tspec, meta in declared:
        if families and spec["family"] not in families:
            continue
        out.append(Case(name, model_from_spec(spec), None, parse_target(tspec, 3), meta))
    return out
