r"""``product``: factored couplings :math:`F = \sum_i h_i s_i + \sum_A u_A v_A\chi_A(s)`, so :math:`J_A = u_A v_A\ (+h_i)`.

Exact neutral directions: the rescalings :math:`u_A \to \lambda u_A,\ v_A \to v_A/\lambda` leave every
coupling unchanged (a one-dimensional orbit per subset, tangent :math:`(u_A, -v_A)`). Exact spurious points:
:math:`u_A = v_A = 0` on a set of subsets with the rest fitted ("switched off"), where :math:`H` has the
decoupled blocks :math:`r_A\begin{pmatrix}0&1\\1&0\end{pmatrix}`, eigenvalues :math:`\pm r_A`.
Under a uniform rescaling of every parameter every coupling is :math:`\Theta(\varepsilon^2)`: no hierarchy.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..lazy_sympy import sp
from ..conventions import (check_n, format_subset, latex_subset, order_of, parse_subset, show_value, spin_table,
                           subset_index, subsets)
from ..errors import SpecError
from .base import ConstructedPoint, Model, Param, Symmetry, characters, check_params_object, subset_dict, vector

__all__ = ["Product"]


class Product(Model):
    r"""Factored couplings :math:`F = \sum_i h_i s_i + \sum_A u_A v_A\chi_A`."""

    family = "product"
    spec_keys = frozenset({"fields", "subsets"})

    def __init__(self, n: int, fields: bool = False, coupled_subsets=None):
        check_n(n)
        if not isinstance(fields, bool):
            raise SpecError(f"model.fields must be true or false, got {fields!r}")
        self.n = n
        self.fields = fields
        if coupled_subsets is None:
            self.subsets = subsets(n)
        else:
            self.subsets = tuple(sorted({parse_subset(t, n) for t in coupled_subsets} - {()}, key=lambda A: (len(A), A)))
        h = tuple(Param(f"h[{i}]", f"h_{{{i}}}", "h", (i,)) for i in range(1, n + 1)) if fields else ()
        u = tuple(Param(f"u[{format_subset(A)}]", "u_{" + latex_subset(A) + "}", "u", A) for A in self.subsets)
        v = tuple(Param(f"v[{format_subset(A)}]", "v_{" + latex_subset(A) + "}", "v", A) for A in self.subsets)
        self.params = h + u + v
        self._nh = n if fields else 0
        self._chi = characters(n, self.subsets)
        self._S = spin_table(n)

    @classmethod
    def from_spec(cls, spec):
        return cls(spec["n"], spec.get("fields", False), _product_subsets(spec.get("subsets"), spec["n"]))

    def spec(self):
        out = {"family": "product", "n": self.n, "fields": self.fields}
        if self.subsets != subsets(self.n):
            out["subsets"] = [format_subset(A) for A in self.subsets]
        return out

    def _uv(self, theta):
        L = len(self.subsets)
        return theta[self._nh : self._nh + L], theta[self._nh + L :]

    def u_index(self, k: int) -> int:
        """Position of :math:`u_{A_k}` in the parameter vector (:math:`v_{A_k}` is ``L`` further)."""
        return self._nh + k

    def energy_expr(self):
        s = self.spins
        sym = self.symbols
        L = len(self.subsets)
        out = sum(sym[i] * s[i] for i in range(self._nh))
        for k, A in enumerate(self.subsets):
            out += sym[self._nh + k] * sym[self._nh + L + k] * sp.Mul(*[s[i - 1] for i in A])
        return sp.sympify(out)

    def energy(self, theta, arith):
        u, v = self._uv(theta)
        F = arith.ints(self._chi) @ (u * v)
        if self.fields:
            F = F + arith.ints(self._S) @ theta[: self.n]
        return F

    def energy_grad(self, theta, arith):
        u, v = self._uv(theta)
        chi = arith.ints(self._chi)
        blocks = [chi * v[None, :], chi * u[None, :]]
        if self.fields:
            blocks.insert(0, arith.ints(self._S))
        return np.concatenate(blocks, axis=1)

    def energy_hessian(self, theta, arith):
        H = arith.zeros((2**self.n, self.P, self.P))
        chi = arith.ints(self._chi)
        L = len(self.subsets)
        for k in range(L):
            iu, iv = self._nh + k, self._nh + L + k
            H[:, iu, iv] = chi[:, k]
            H[:, iv, iu] = chi[:, k]
        return H

    # --- declarations ---------------------------------------------------------------------------------
    @property
    def polynomial(self) -> bool:
        return True

    def direct_parameters(self):
        """The fields :math:`h_i` (when present): :math:`J_i = h_i + u_i v_i`."""
        return {i: (i + 1,) for i in range(self._nh)}

    def symmetries(self):
        r"""One continuous symmetry per coupled subset: the rescaling :math:`u_A \to \lambda u_A,\ v_A \to v_A/\lambda`
        (:math:`\lambda \ne 0`) leaves :math:`J_A = u_Av_A\,(+h_i)` and every other coupling unchanged, since
        :math:`u_A` and :math:`v_A` enter no other coupling. Its orbits are the hyperbolas :math:`u_Av_A = \text{const}`
        in the :math:`(u_A, v_A)` plane, with tangent :math:`(u_A, -v_A)` (:meth:`rescaling_tangents`):
        :math:`G(u_A, -v_A)^\top = (v_Au_A - u_Av_A)e_A = 0`. So away from :math:`u_A = v_A = 0` every fixed point
        has at least one neutral direction per subset, all effective-model invariant (S1)."""
        return (Symmetry("rescaling of a factor pair", r"u_A \to \lambda u_A,\ v_A \to v_A/\lambda", self.rescale,
                         (0, Fraction(3, 2)), continuous=True, tangents=self.rescaling_tangents),)

    def rescale(self, theta, element) -> tuple:
        """``element = (k, λ)``: :math:`u_{A_k} \\to \\lambda u_{A_k}`, :math:`v_{A_k} \\to v_{A_k}/\\lambda`."""
        k, lam = element
        t = list(theta)
        L = len(self.subsets)
        t[self._nh + k] = t[self._nh + k] * lam
        t[self._nh + L + k] = t[self._nh + L + k] / lam
        return tuple(t)

    def rescaling_tangents(self, theta) -> list[tuple]:
        """The generators :math:`(u_A, -v_A)` on the :math:`(u_A, v_A)` coordinates, one per subset."""
        L = len(self.subsets)
        zero = theta[0] * 0  # in theta's number type (exact, mpf or ball)
        out = []
        for k in range(L):
            t = [zero] * self.P
            t[self._nh + k] = theta[self._nh + k]
            t[self._nh + L + k] = -theta[self._nh + L + k]
            out.append(tuple(t))
        return out

    def h1_law(self, base):
        """Every parameter times :math:`\\varepsilon`: :math:`J_A = \\varepsilon^2 u_Av_A` (:math:`\\varepsilon` on the
        fields), rows of :math:`G` :math:`\\sim\\varepsilon` (1 on the fields), :math:`K_{kk} \\sim` their squares;
        different orders share no parameter, so :math:`K_{kl} = 0` for :math:`k \\ne l` (and orders with no
        coupled subset are identically zero)."""
        present = {order_of(A) for A in self.subsets}
        J = {k: (1 if (k == 1 and self.fields) else 2) if (k in present or (k == 1 and self.fields)) else None
             for k in range(1, self.n + 1)}
        G = {k: (0 if (k == 1 and self.fields) else 1) if J[k] is not None else None for k in J}
        K = {(k, l): (2 * G[k] if (k == l and G[k] is not None) else None)
             for k in range(1, self.n + 1) for l in range(k, self.n + 1)}
        return {"J": J, "G": G, "K": K}

    def special_point_constructors(self):
        """``switched-off``: :meth:`construct_switched_off`."""
        return {"switched-off": self.construct_switched_off}

    def factor_pairs(self) -> list[tuple]:
        """``(A, index of u_A, index of v_A)`` for every coupled subset."""
        L = len(self.subsets)
        return [(A, self._nh + k, self._nh + L + k) for k, A in enumerate(self.subsets)]

    def switched_off_point(self, fitted: dict) -> tuple:
        """``fitted = {A: J_A}`` on the subsets kept: :math:`u_A = J_A`, :math:`v_A = 1` there, :math:`u = v = 0`
        elsewhere (fields 0)."""
        zero, one = Fraction(0), Fraction(1)
        u = [Fraction(fitted[A]) if A in fitted else zero for A in self.subsets]
        v = [one if A in fitted else zero for A in self.subsets]
        return tuple([zero] * self._nh + u + v)

    def switched_off_spectrum(self, residuals) -> tuple:
        r"""The eigenvalues of :math:`H` the switched-off subsets contribute: ``residuals`` is ``[(A, r_A), ...]`` over
        the switched-off set :math:`Z`; returns :math:`(r_A, -r_A)` for each, in that order.

        At :meth:`switched_off_point`, :math:`u_A = v_A = 0` for :math:`A \in Z`, so :math:`\partial J_A/\partial u_A = v_A`
        and :math:`\partial J_A/\partial v_A = u_A` vanish: those columns of :math:`G` are zero, and the only second
        derivative of :math:`J` on those coordinates is :math:`\partial_{u_A}\partial_{v_A}J_A = 1`. Hence
        :math:`H = \sum_B r_B\nabla^2 J_B - G^\top CG` decouples into the :math:`2\times 2` blocks

        .. math:: H\big|_{(u_A, v_A)} = \begin{pmatrix}0 & r_A\\ r_A & 0\end{pmatrix},\qquad
                  \text{eigenvalues } \pm r_A,

        one per :math:`A \in Z`: a strict saddle as soon as some :math:`r_A \ne 0`, with one unstable direction
        :math:`(1, \operatorname{sign} r_A)/\sqrt2` per nonzero :math:`r_A`. The other parameters: on the fitted subsets
        :math:`S` the residual vanishes (:math:`r_B = 0`), so the curvature term is zero there and the rest of
        :math:`H` is :math:`-G_S^\top C G_S` on the fields and the :math:`(u_B, v_B)`, :math:`B \in S`, whose
        :math:`G`-columns are :math:`v_Be_B = e_B`, :math:`u_Be_B = J^*_Be_B` and :math:`e_i` (fields): negative
        semidefinite of rank :math:`|S|` (the columns span :math:`\{e_B\}_{B\in S}` and :math:`C_{SS}` is positive
        definite), so :math:`|S|` negative eigenvalues, which depend on :math:`C` and are not predicted here, and zeros
        for the other directions (among them the rescalings :math:`(u_B, -v_B)`). (A switched-off singleton must carry
        no field: there :math:`\partial\ell/\partial h_i = r_i \ne 0`.)"""
        return tuple(x for _, r in residuals for x in (r, -r))

    def construct_switched_off(self, tools, off=None) -> ConstructedPoint:
        r"""The switched-off point for the tools' target: :math:`u_A = v_A = 0` on ``off`` (default: every pair
        containing spin 1), the rest fitted by maximum entropy on the support (:math:`J^*_A = 0` on ``off``,
        :math:`m_A(J^*) = m^D_A` elsewhere), :math:`u_A = J^*_A`, :math:`v_A = 1` there; then
        :math:`\partial_{u_A}\ell = v_Ar_A = 0` and :math:`\partial_{v_A}\ell = u_Ar_A = 0` everywhere, and
        :meth:`switched_off_spectrum` gives the predicted eigenvalues :math:`\pm r_A`."""
        n = self.n
        off = [A for A in subsets(n, 2) if len(A) == 2 and A[0] == 1] if off is None else list(off)
        index = subset_index(n)
        off_idx = sorted(index[A] for A in off)
        support = [k for k in range(2**n - 1) if k not in off_idx]
        with tools.working():
            J = tools.maxent_fit(support)
            r = tools.residual(J)
            fitted = dict(zip(subsets(n), tools.exact([J[k] if k in support else 0 * J[k] for k in range(2**n - 1)])))
            theta = self.switched_off_point({A: fitted[A] for A in subsets(n) if index[A] in support})
            predicted = self.switched_off_spectrum([(subsets(n)[k], r[k]) for k in off_idx])
        names = ", ".join(",".join(map(str, A)) for A in off)
        return ConstructedPoint(theta, predicted, f"{self.family} n={n}, u = v = 0 on {{{names}}}, rest fitted",
                                free=tuple(support), matched=tuple(support))

    # --- case files ---------------------------------------------------------------------------------------
    def parse_params(self, obj):
        keys = {"u", "v", "h"} if self.fields else {"u", "v"}
        problems = check_params_object(obj, keys)
        u = subset_dict(obj, "u", self.subsets, self.n, problems)
        v = subset_dict(obj, "v", self.subsets, self.n, problems)
        h = vector(obj, "h", self.n, problems, "one field per spin") if self.fields else []
        if problems:
            raise SpecError(problems)
        zero = Fraction(0)
        return tuple(h) + tuple(u.get(A, zero) for A in self.subsets) + tuple(v.get(A, zero) for A in self.subsets)

    def params_to_json(self, theta):
        u, v = self._uv(list(theta))
        out = {
            "u": {format_subset(A): str(x) for A, x in zip(self.subsets, u)},
            "v": {format_subset(A): str(x) for A, x in zip(self.subsets, v)},
        }
        if self.fields:
            out["h"] = [str(x) for x in theta[: self.n]]
        return out


def _product_subsets(texts, n: int):
    """``model.subsets`` of a product: a non-empty list of distinct non-empty subsets (or absent)."""
    if texts is None:
        return None
    if not isinstance(texts, list) or not texts:
        raise SpecError(
            f"model.subsets must be a non-empty list of subsets such as [\"1,2\", \"1,2,3\"], got {show_value(texts)}"
        )
    problems, seen = [], {}
    for text in texts:
        try:
            A = parse_subset(text, n)
        except SpecError as err:
            problems.append(f"model.subsets: {err}")
            continue
        if A == ():
            problems.append("model.subsets: the empty subset \"\" has no coupling")
        elif A in seen:
            problems.append(
                f"model.subsets: {show_value(seen[A])} and {show_value(text)} name the same subset; give it once"
            )
        seen.setdefault(A, text)
    if problems:
        raise SpecError(problems)
    return texts
