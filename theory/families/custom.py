r"""``custom``: a user-written energy :math:`F = -E` in ``s1..sN`` and declared parameters.

The expression is parsed with a whitelist (:mod:`theory.expression`), never ``eval``-ed; its derivatives
are taken by sympy and compiled per number system. Nothing about its structure is known beyond the
expression: it is polynomial when sympy says so, and it declares no symmetries or special points.
"""

from __future__ import annotations


from ..lazy_sympy import sp
from ..conventions import check_n
from ..errors import SpecError
from ..expression import check_energy_values, compile_on_configurations, parse_energy
from .base import Model, Param, number

__all__ = ["Custom"]


class Custom(Model):
    """A user-written energy ``F = -E`` in ``s1..sN`` and declared parameters (parsed, never ``eval``-ed)."""

    family = "custom"
    spec_keys = frozenset({"energy", "params"})

    def __init__(self, n: int, energy: str, params):
        check_n(n)
        if not isinstance(params, list) or not params:
            raise SpecError("model.params must be a non-empty list of parameter names, e.g. [\"a1\", \"b\"]")
        self.n = n
        self.text = energy
        self.names = tuple(params)
        self.expr = parse_energy(energy, n, self.names)
        # real symbols for the model; the parser's plain symbols are replaced
        self.params = tuple(Param(name, name, "custom", (k,)) for k, name in enumerate(self.names))
        plain = {sp.Symbol(name): p.symbol for name, p in zip(self.names, self.params)}
        self.expr = self.expr.xreplace(plain)
        self._derivatives = None

    @classmethod
    def from_spec(cls, spec):
        if "energy" not in spec or "params" not in spec:
            raise SpecError("a custom model needs model.energy (a string) and model.params (a list of names)")
        return cls(spec["n"], spec["energy"], spec["params"])

    @classmethod
    def count_parameters(cls, spec):
        return len(spec["params"]) if isinstance(spec.get("params"), list) else None

    def spec(self):
        return {"family": "custom", "n": self.n, "energy": self.text, "params": list(self.names)}

    def energy_expr(self):
        return self.expr

    def _compiled(self, arith, which):
        if self._derivatives is None:
            syms = self.symbols
            grad = [sp.diff(self.expr, t) for t in syms]
            hess = [sp.diff(g, t) for g in grad for t in syms]
            self._derivatives = {"F": [self.expr], "dF": grad, "d2F": hess}
        return compile_on_configurations(self._derivatives[which], self.spins, self.symbols, arith)

    def energy(self, theta, arith):
        return self._compiled(arith, "F")(theta)[0]

    def energy_grad(self, theta, arith):
        return self._compiled(arith, "dF")(theta).T

    def energy_hessian(self, theta, arith):
        flat = self._compiled(arith, "d2F")(theta)
        return flat.T.reshape(2**self.n, self.P, self.P)

    def parse_params(self, obj):
        if not isinstance(obj, dict):
            raise SpecError("\"params\" must be a JSON object {name: value}")
        problems = []
        missing = [name for name in self.names if name not in obj]
        extra = sorted(set(obj) - set(self.names))
        if missing:
            problems.append(f"params is missing values for {missing}")
        if extra:
            problems.append(f"params has undeclared names {extra}; declare them in model.params")
        values = [number(obj.get(name, 0), f"params.{name}", problems) for name in self.names]
        if problems:
            raise SpecError(problems)
        check_energy_values(self.expr, self.spins, dict(zip(self.symbols, values)))
        return tuple(values)

    def params_to_json(self, theta):
        return {name: str(v) for name, v in zip(self.names, theta)}
