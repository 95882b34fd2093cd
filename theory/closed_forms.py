r"""Closed forms of the effective model and of the gradient flow, derived with sympy.

For a model with energy :math:`F_\theta(s) = -E_\theta(s)` (:meth:`theory.models.Model.energy_expr`):

* configuration values :math:`F_x(\theta) = F_\theta(s(x))`, written in a normal form per family
  (:func:`configuration_values`);
* effective couplings :math:`J_A(\theta) = 2^{-N}\sum_x F_x(\theta)\chi_A(x)`, by the Walsh–Hadamard
  butterfly of :mod:`theory.walsh` on sympy expressions;
* the Jacobian :math:`G_{Ak} = \partial J_A/\partial\theta_k` and the Hessians :math:`\nabla^2 J_A`, by
  differentiating the couplings themselves (the structured evaluators differentiate :math:`F` and
  transform: the two routes are independent);
* with the moments of :math:`p_\theta` written as symbols :math:`m_A` and the target's as
  :math:`m^D_A`: the residual :math:`r_A = m^D_A - m_A`, the flow :math:`\dot\theta = G^\top r`, the
  induced flow :math:`\dot J = GG^\top r`, the Fisher matrix :math:`C_{AB} = m_{A\triangle B} - m_A m_B`
  (:math:`m_\emptyset = 1`) and the flow's Jacobian :math:`H = \sum_A r_A\nabla^2J_A - G^\top C G`;
* the moments themselves in closed form, :math:`m_A(\theta) = \sum_x \chi_A(x)e^{F_x}/\sum_x e^{F_x}`
  (:meth:`ClosedForms.moment_expressions`).

Normal forms (each an identity, tested; each family's :meth:`~theory.families.base.Model.normal_form`):
polynomial energies (``gim``, ``product``, ``mlp`` with a quadratic or cubic activation) are expanded, so their couplings are exact polynomials; for
``rbm`` with spin hidden units :math:`\log 2\cosh u = \log 2 + \log\cosh u`, so every
:math:`J_A` with :math:`A\neq\emptyset` is a signed sum of :math:`\log\cosh` (the :math:`\log 2` cancel);
with Bernoulli hidden units :math:`\log(1+e^u) = u/2 + \log 2 + \log\cosh(u/2)`, the same shape.
Derivatives are written with :math:`\tanh` (:math:`\sinh u = \tanh u\cosh u`).

>>> from theory.models import GIM
>>> cf = derive(GIM(2))
>>> cf.couplings.T, cf.jacobian == cf.jacobian.eye(3)
(Matrix([[J_{1}, J_{2}, J_{12}]]), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from .conventions import latex_subset, spin_table, subsets
from .errors import SpecError
from .effective import covariance
from .walsh import from_canonical, to_canonical, walsh_hadamard

__all__ = [
    "ClosedForms",
    "check_derivable",
    "configuration_values",
    "data_moment_symbol",
    "derive",
    "moment_symbol",
    "tanh_form",
]


def moment_symbol(A) -> sp.Symbol:
    r"""The symbol :math:`m_A` of a moment of :math:`p_\theta` (:math:`m_\emptyset` is the number 1)."""
    return sp.Symbol("m_{" + latex_subset(A) + "}", real=True)


def data_moment_symbol(A) -> sp.Symbol:
    r"""The symbol :math:`m^D_A` of a moment of the target."""
    return sp.Symbol("m^{D}_{" + latex_subset(A) + "}", real=True)


def tanh_form(expr: sp.Expr) -> sp.Expr:
    r"""Rewrite :math:`\sinh u = \tanh u\,\cosh u`, so that :math:`\sinh u/\cosh u` becomes :math:`\tanh u`."""
    if not expr.has(sp.sinh):
        return expr
    return expr.replace(sp.sinh, lambda u: sp.tanh(u) * sp.cosh(u))


def configuration_values(model) -> list[sp.Expr]:
    r""":math:`F_x(\theta) = F_\theta(s(x))` for ``x = 0 .. 2^N - 1`` (bit ``i-1`` of ``x`` set iff :math:`s_i=-1`),
    in the family's normal form."""
    F = model.energy_expr()
    table = spin_table(model.n)
    out = []
    for x in range(2**model.n):
        point = {s: sp.Integer(int(v)) for s, v in zip(model.spins, table[x])}
        out.append(model.normal_form(F.xreplace(point)))
    return out


def _clean(expr: sp.Expr, polynomial: bool) -> sp.Expr:
    """Expanded (polynomial families) or written with tanh (the others)."""
    return sp.expand(expr) if polynomial else tanh_form(expr)


@dataclass(frozen=True)
class ClosedForms:
    r"""Closed forms of one model (all sympy; canonical subset order; ∅ dropped except :attr:`empty`).

    ``couplings`` is ``D x 1``, ``jacobian`` ``D x P``, ``coupling_hessians[a]`` the ``P x P``
    matrix :math:`\nabla^2 J_{A_a}`; ``flow``, ``induced_flow``, ``fisher``, ``hessian`` are written with
    the moment symbols :attr:`moments` (of :math:`p_\theta`) and :attr:`data_moments`.
    """

    spec: dict
    n: int
    theta: tuple
    labels: tuple
    spins: tuple
    energy: sp.Expr
    values: tuple
    empty: sp.Expr
    couplings: sp.Matrix
    jacobian: sp.Matrix
    coupling_hessians: tuple
    polynomial: bool

    @property
    def subsets(self) -> tuple:
        return subsets(self.n)

    @property
    def D(self) -> int:
        return 2**self.n - 1

    @property
    def P(self) -> int:
        return len(self.theta)

    @property
    def moments(self) -> tuple:
        return tuple(moment_symbol(A) for A in self.subsets)

    @property
    def data_moments(self) -> tuple:
        return tuple(data_moment_symbol(A) for A in self.subsets)

    @property
    def residual(self) -> sp.Matrix:
        r""":math:`r_A = m^D_A - m_A`."""
        return sp.Matrix([d - m for d, m in zip(self.data_moments, self.moments)])

    @property
    def flow(self) -> sp.Matrix:
        r""":math:`\dot\theta = G^\top r`."""
        return self.jacobian.T * self.residual

    @property
    def induced_flow(self) -> sp.Matrix:
        r""":math:`\dot J = G G^\top r`."""
        return self.jacobian * self.flow

    @property
    def fisher(self) -> sp.Matrix:
        r""":math:`C_{AB} = m_{A\triangle B} - m_A m_B` with :math:`m_\emptyset = 1`."""
        by_mask = from_canonical(np.array(self.moments, dtype=object), self.n, empty=sp.Integer(1))
        return sp.Matrix(covariance(by_mask, self.n))

    @property
    def curvature(self) -> sp.Matrix:
        r""":math:`\sum_A r_A\nabla^2 J_A`."""
        out = sp.zeros(self.P, self.P)
        for r, hess in zip(self.residual, self.coupling_hessians):
            out += r * hess
        return out

    @cached_property
    def hessian(self) -> sp.Matrix:
        r""":math:`H = \sum_A r_A\nabla^2 J_A - G^\top C G`."""
        G = self.jacobian
        return self.curvature - G.T * self.fisher * G

    def moment_expressions(self) -> list[sp.Expr]:
        r""":math:`m_A(\theta) = \sum_x\chi_A(x)\,e^{F_x}/\sum_x e^{F_x}` (canonical order)."""
        weights = [sp.exp(v) for v in self.values]
        Z = sp.Add(*weights)
        return [h / Z for h in to_canonical(walsh_hadamard(np.array(weights, dtype=object)), self.n)]

    def coupling(self, A) -> sp.Expr:
        """:math:`J_A` of a nonempty subset (a tuple such as ``(1, 2)``)."""
        return self.couplings[self.subsets.index(tuple(A))]

    def at(self, point: dict) -> ClosedForms:
        """The closed forms with some parameters replaced (symbols to numbers or expressions)."""

        def sub(e):
            return _clean(e.xreplace(point), self.polynomial)

        return ClosedForms(
            spec=self.spec,
            n=self.n,
            theta=self.theta,
            labels=self.labels,
            spins=self.spins,
            energy=self.energy.xreplace(point),
            values=tuple(sub(v) for v in self.values),
            empty=sub(self.empty),
            couplings=self.couplings.applyfunc(sub),
            jacobian=self.jacobian.applyfunc(sub),
            coupling_hessians=tuple(h.applyfunc(sub) for h in self.coupling_hessians),
            polynomial=self.polynomial,
        )


def check_derivable(model) -> None:
    """Refuse, in one line, a model beyond its family's closed-form limit (:attr:`Model.closed_form_max_n`)."""
    limit = model.closed_form_max_n
    if model.n > limit:
        raise SpecError(f"closed forms of this model are derived for N <= {limit}, got N = {model.n}: each coupling is "
                        f"a sum of up to 2^N terms; use the numeric commands (couplings, classify) for larger models")


def derive(model) -> ClosedForms:
    r"""Derive :math:`F_x`, :math:`J`, :math:`G` and :math:`\nabla^2 J_A` of ``model`` in closed form."""
    check_derivable(model)
    theta = tuple(model.symbols)
    polynomial = model.polynomial
    values = configuration_values(model)
    by_mask = walsh_hadamard(np.array(values, dtype=object)) / sp.Integer(2**model.n)
    empty = _clean(by_mask[0], polynomial)
    J = [_clean(c, polynomial) for c in to_canonical(by_mask, model.n)]
    G = sp.Matrix([[_clean(sp.diff(j, t), polynomial) for t in theta] for j in J])
    hessians = []
    for a in range(len(J)):
        rows = [[_clean(sp.diff(G[a, k], t), polynomial) for t in theta] for k in range(len(theta))]
        hessians.append(sp.ImmutableMatrix(rows))
    return ClosedForms(
        spec=model.spec(),
        n=model.n,
        theta=theta,
        labels=tuple(p.label for p in model.params),
        spins=tuple(model.spins),
        energy=model.energy_expr(),
        values=tuple(values),
        empty=empty,
        couplings=sp.ImmutableMatrix(J),
        jacobian=sp.ImmutableMatrix(G),
        coupling_hessians=tuple(hessians),
        polynomial=polynomial,
    )

