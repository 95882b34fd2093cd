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

from .lazy_sympy import sp
from .conventions import canonical_masks, latex_subset, spin_table, subset_mask, subsets
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
class HiddenUnit:
    r"""One hidden unit's share of the closed forms, :math:`c_\mu\,\sigma(x_\mu)` with :math:`x_\mu = b_\mu + \sum_i w_{i\mu}s_i`.

    ``tables[n][mask]`` is the Walsh coefficient :math:`T^{(n)}_{\mu,B} = 2^{-N}\sum_s\chi_B(s)\,\sigma^{(n)}(x_\mu(s))`
    (``n = 0, 1, 2``; ``mask`` the bit mask of ``B``, :math:`\emptyset` included), in the family's normal form; for a
    :math:`\sigma` whose normal form has logarithms (:math:`\log 2\cosh`), :math:`T^{(0)}` is one logarithm of a ratio
    of products. Every coupling, entry of :math:`G` and of :math:`\nabla^2 J_A` is one of these times :math:`c_\mu` or 1.
    """

    output: sp.Expr  # c_mu, or the number 1
    bias: sp.Expr
    weights: tuple
    tables: tuple  # (T0, T1, T2), each a tuple indexed by subset mask

    def table(self, order: int, mask: int) -> sp.Expr:
        return self.tables[order][mask]


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
    units: tuple = ()  # HiddenUnit per hidden unit when derived from the family's structure (else empty)
    fields: tuple = ()  # (parameter index, subset) of the parameters entering one coupling additively

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
            return _clean(sp.sympify(sp.sympify(e).xreplace(point)), self.polynomial)

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
            units=tuple(HiddenUnit(sub(u.output), sub(u.bias), tuple(sub(w) for w in u.weights),
                                   tuple(tuple(sub(t) for t in table) for table in u.tables)) for u in self.units),
            fields=self.fields,
        )

    @property
    def hessian_is_small(self) -> bool:
        r"""Whether :attr:`hessian` is worth writing out entry by entry (its :math:`G^\top CG` has :math:`D^2` terms
        per entry): :math:`D^2P^2` at most :data:`HESSIAN_MAX_TERMS`."""
        return self.D**2 * self.P**2 <= HESSIAN_MAX_TERMS


#: :attr:`ClosedForms.hessian` is computed ahead (and cached) only up to this many terms (``rbm`` N = 4, M = 3: 8e4)
HESSIAN_MAX_TERMS = 10**6


def check_derivable(model) -> None:
    """Refuse, in one line, a model beyond its family's closed-form limit (:attr:`Model.closed_form_max_n`)."""
    limit = model.closed_form_max_n
    if model.n > limit:
        raise SpecError(f"closed forms of this model are derived for N <= {limit}, got N = {model.n}: each coupling is "
                        f"a sum of up to 2^N terms; use the numeric commands (couplings, classify) for larger models")


def derive(model) -> ClosedForms:
    r"""Derive :math:`F_x`, :math:`J`, :math:`G` and :math:`\nabla^2 J_A` of ``model`` in closed form: from the family's
    structure where it declares one (:func:`derive_structured`), else by the Walsh butterfly on the :math:`2^N`
    configuration values (:func:`derive_expanded`)."""
    check_derivable(model)
    structured = derive_structured(model)
    return structured if structured is not None else derive_expanded(model)


def derive_expanded(model) -> ClosedForms:
    r"""The closed forms by expansion: :math:`J_A` as the Walsh transform of the :math:`2^N` values, :math:`G` and
    :math:`\nabla^2J_A` by differentiating the couplings (cost :math:`2^N` terms per coupling and derivative)."""
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


# --- closed forms from the structure F = sum_k theta_k chi_{A_k} + sum_mu c_mu sigma(b_mu + w_mu . s) ---------------


def hidden_layer_structure(model):
    r"""``(fields, units)`` when the family declares :math:`F = \sum_k\theta_k\chi_{A_k} + \sum_\mu c_\mu\sigma(b_\mu + w_\mu\cdot s)`
    (its :meth:`units` and :attr:`activation`, the fields from :meth:`direct_parameters`), every parameter is one of
    these and the energy is exactly that expression; else ``None``. ``fields`` is ``((k, A), ...)``, ``units`` is
    ``[(c, b, (w_1, ..., w_N)), ...]`` in the model's symbols (``c`` is 1 without output weights)."""
    units_of, activation = getattr(model, "units", None), getattr(model, "activation", None)
    if units_of is None or activation is None:
        return None
    theta = tuple(model.symbols)
    units = [(sp.sympify(c), b, tuple(w)) for c, b, w in units_of(theta)]
    fields = tuple(sorted(model.direct_parameters().items()))
    covered = [k for k, _ in fields] + [theta.index(x) for c, b, w in units for x in (c, b, *w) if x in theta]
    if sorted(covered) != list(range(len(theta))):
        return None
    spins = model.spins
    F = sp.Add(*[theta[k] * sp.Mul(*[spins[i - 1] for i in A]) for k, A in fields])
    F += sp.Add(*[c * activation.symbolic(b + sp.Add(*[wi * si for wi, si in zip(w, spins)])) for c, b, w in units])
    if sp.expand(F - model.energy_expr()) != 0:
        return None
    return fields, units


def unit_functions(model) -> tuple:
    r""":math:`(\sigma, \sigma', \sigma'')` in the variable :data:`theory.activations.X`, in the family's normal form
    (:meth:`~theory.families.base.Model.normal_form`: :math:`\log 2\cosh x = \log 2 + \log\cosh x`), derivatives with
    :math:`\tanh`."""
    from .activations import X

    g0 = model.normal_form(model.activation.symbolic(X))
    out = [g0]
    for _ in range(2):
        out.append(_clean(tanh_form(sp.diff(out[-1], X)), model.polynomial))
    return tuple(out)


def _collect_logs(values, chi, n: int) -> sp.Expr:
    r""":math:`2^{-N}\sum_x\chi(x)v_x` with the logarithms collected: :math:`\sum_x\chi(x)\log h_x = \log\prod_x h_x^{\chi(x)}`,
    written as one logarithm of a ratio of products (the other terms are summed)."""
    powers: dict = {}
    rest = []
    for sign, value in zip(chi, values):
        for term in sp.Add.make_args(value):
            coeff, factor = term.as_coeff_Mul()
            if isinstance(factor, sp.log):
                powers[factor.args[0]] = powers.get(factor.args[0], 0) + coeff * int(sign)
            else:
                rest.append(int(sign) * term)
    up = [base**e for base, e in powers.items() if e > 0]
    down = [base**-e for base, e in powers.items() if e < 0]
    # evaluate=False: a log of a product of cosh has nothing to simplify, and sympy's attempt is the cost
    log = sp.log(sp.Mul(*up) / sp.Mul(*down), evaluate=False) if up or down else sp.Integer(0)
    return sp.Add(*[sp.Rational(1, 2**n) * t for t in rest], log / 2**n)


def _unit_tables(n: int, functions, unit, polynomial: bool) -> tuple:
    r"""The Walsh coefficients ``[order][mask]`` of :math:`\\sigma^{(order)}(x_\\mu(s))` (see :class:`HiddenUnit`)."""
    from .activations import X
    from .walsh import character_table

    _, b, w = unit
    S = spin_table(n)
    arguments = [b + sp.Add(*[int(S[x, i]) * w[i] for i in range(n)]) for x in range(2**n)]
    chars = character_table(n)
    tables = []
    for order, g in enumerate(functions):
        values = [g.xreplace({X: u}) for u in arguments]
        if order == 0:
            table = [_collect_logs(values, chars[:, mask], n) for mask in range(2**n)]
        else:
            table = [_clean(sp.Add(*[sp.Rational(int(chi), 2**n) * v for chi, v in zip(chars[:, mask], values)]),
                            polynomial) for mask in range(2**n)]
        tables.append(tuple(_clean(t, polynomial) if polynomial else t for t in table))
    return tuple(tables)


def derive_structured(model) -> ClosedForms | None:
    r"""Closed forms from the family's structure (``None`` when it declares none, :func:`hidden_layer_structure`).

    One hidden unit contributes the Walsh coefficients :math:`T^{(n)}_{\mu,B}` of :math:`\sigma^{(n)}(x_\mu)`
    (:class:`HiddenUnit`; :math:`3\cdot 2^N` expressions per unit: the cost is linear in :math:`M`), and

    .. math:: J_A = \theta_{k(A)} + \sum_\mu c_\mu T^{(0)}_{\mu,A},\quad
              \partial_{b_\mu}J_A = c_\mu T^{(1)}_{\mu,A},\quad \partial_{w_{i\mu}}J_A = c_\mu T^{(1)}_{\mu,A\triangle\{i\}},\quad
              \partial_{c_\mu}J_A = T^{(0)}_{\mu,A},

    (:math:`s_i\chi_A = \chi_{A\triangle\{i\}}`), and :math:`\nabla^2J_A` in blocks per unit: :math:`c_\mu T^{(2)}_{\mu,A\triangle S}`
    for the pairs :math:`(b_\mu, b_\mu)` (:math:`S=\emptyset`), :math:`(b_\mu, w_{i\mu})` (:math:`\{i\}`), :math:`(w_{i\mu}, w_{j\mu})`
    (:math:`\{i\}\triangle\{j\}`), and :math:`T^{(1)}_{\mu,A\triangle S}` for :math:`(c_\mu, b_\mu)`, :math:`(c_\mu, w_{i\mu})`; zero across
    units and for the fields."""
    found = hidden_layer_structure(model)
    if found is None:
        return None
    fields, raw_units = found
    n, theta, polynomial = model.n, tuple(model.symbols), model.polynomial
    functions = unit_functions(model)
    units = tuple(HiddenUnit(c, b, w, _unit_tables(n, functions, (c, b, w), polynomial)) for c, b, w in raw_units)
    index = {t: k for k, t in enumerate(theta)}
    masks = [int(m) for m in canonical_masks(n)]
    field_of = {subset_mask(A): k for k, A in fields}
    P = len(theta)

    def times(c, e):
        return e if c == 1 else _clean(c * e, polynomial) if polynomial else c * e

    J, G, hessians = [], sp.zeros(len(masks), P), []
    for a, mask in enumerate(masks):
        J.append(sp.Add(*([theta[field_of[mask]]] if mask in field_of else []),
                        *[times(u.output, u.table(0, mask)) for u in units]))
        if mask in field_of:
            G[a, field_of[mask]] = 1
        H = sp.zeros(P, P)
        for u in units:
            kb, ks = index[u.bias], [index[x] for x in u.weights]
            G[a, kb] = times(u.output, u.table(1, mask))
            H[kb, kb] = times(u.output, u.table(2, mask))
            for i, ki in enumerate(ks):
                G[a, ki] = times(u.output, u.table(1, mask ^ (1 << i)))
                H[kb, ki] = H[ki, kb] = times(u.output, u.table(2, mask ^ (1 << i)))
                for j in range(i, len(ks)):
                    H[ki, ks[j]] = H[ks[j], ki] = times(u.output, u.table(2, mask ^ (1 << i) ^ (1 << j)))
            if u.output in index:
                kc = index[u.output]
                G[a, kc] = u.table(0, mask)
                H[kc, kb] = H[kb, kc] = u.table(1, mask)
                for i, ki in enumerate(ks):
                    H[kc, ki] = H[ki, kc] = u.table(1, mask ^ (1 << i))
        hessians.append(sp.ImmutableMatrix(H))
    empty = sp.Add(*[times(u.output, u.table(0, 0)) for u in units])
    return ClosedForms(
        spec=model.spec(), n=n, theta=theta, labels=tuple(p.label for p in model.params), spins=tuple(model.spins),
        energy=model.energy_expr(), values=tuple(configuration_values(model)), empty=empty,
        couplings=sp.ImmutableMatrix(J), jacobian=sp.ImmutableMatrix(G), coupling_hessians=tuple(hessians),
        polynomial=polynomial, units=units, fields=fields,
    )
