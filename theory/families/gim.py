r"""``gim``: the generalised Ising model :math:`F = \sum_{0<|A|\le K}\theta_A\chi_A(s)`.

Its couplings are its parameters, :math:`J_A = \theta_A` for :math:`|A| \le K` and 0 above, so
:math:`G` is the identity on the first :math:`K` orders: every parameter is direct (F3), :math:`\ell` is
concave, and there is no small-weight hierarchy.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..lazy_sympy import sp
from ..conventions import check_n, format_subset, latex_subset, subsets
from ..errors import SpecError
from ..fixedpoint import integer_matmul, is_mpf_array
from .base import Model, Param, characters, check_params_object, int_at_least, subset_dict

__all__ = ["GIM"]


class GIM(Model):
    r"""Generalised Ising model :math:`F = \sum_{0<|A|\le K}\theta_A\chi_A`; with ``K = N``, :math:`G = I`."""

    family = "gim"
    spec_keys = frozenset({"max_order"})

    def __init__(self, n: int, max_order: int | None = None):
        check_n(n)
        self.n = n
        self.max_order = n if max_order is None else int_at_least(max_order, "max_order")
        if self.max_order > n:
            raise SpecError(f"model.max_order = {self.max_order} exceeds n = {n}")
        self.subsets = subsets(n, self.max_order)
        self.params = tuple(
            Param(f"J[{format_subset(A)}]", "J_{" + latex_subset(A) + "}", "J", A) for A in self.subsets
        )
        self._chi = characters(n, self.subsets)

    @classmethod
    def from_spec(cls, spec):
        return cls(spec["n"], spec.get("max_order"))

    def spec(self) -> dict:
        return {"family": "gim", "n": self.n, "max_order": self.max_order}

    @property
    def polynomial(self) -> bool:
        return True

    def energy_expr(self) -> sp.Expr:
        s = self.spins
        return sp.Add(*[p.symbol * sp.Mul(*[s[i - 1] for i in p.index]) for p in self.params])

    def energy(self, theta, arith):
        theta = np.asarray(theta)
        if is_mpf_array(theta):
            return integer_matmul(self._chi, theta)
        return arith.ints(self._chi) @ theta

    def energy_grad(self, theta, arith):
        return arith.ints(self._chi)

    def energy_hessian(self, theta, arith):
        return arith.zeros((2**self.n, self.P, self.P))

    def direct_parameters(self):
        """Every :math:`\\theta_A` is :math:`J_A` itself."""
        return {k: A for k, A in enumerate(self.subsets)}

    def parse_params(self, obj):
        problems = check_params_object(obj, {"J"})
        given = subset_dict(obj, "J", self.subsets, self.n, problems)
        if problems:
            raise SpecError(problems)
        return tuple(given.get(A, Fraction(0)) for A in self.subsets)

    def params_to_json(self, theta):
        return {"J": {format_subset(A): str(v) for A, v in zip(self.subsets, theta)}}
