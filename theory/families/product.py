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
import sympy as sp

from ..conventions import check_n, format_subset, latex_subset, order_of, parse_subset, show_value, spin_table, subsets
from ..errors import SpecError
from .base import Model, Param, Symmetry, characters, check_params_object, subset_dict, vector

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

    def special_points(self):
        return ("switched-off",)

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
