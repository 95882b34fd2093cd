r"""Model families of THEORY.md §3 as symbolic energies and structured numeric evaluators.

Every family gives :math:`F_\theta(s) = -E_\theta(s)`

* symbolically (:meth:`Model.energy_expr`, a sympy expression in ``s1..sN`` and the parameters);
* on all :math:`2^N` configurations, in any number system of :mod:`theory.arith`:
  :math:`F` (:meth:`Model.energy`), :math:`\partial F/\partial\theta` (:meth:`Model.energy_grad`,
  shape ``(2^N, P)``) and :math:`\partial^2 F/\partial\theta^2` (:meth:`Model.energy_hessian`,
  shape ``(2^N, P, P)``), from hand-derived structured formulas.

With :math:`x_\mu(s) = b_\mu + \sum_i w_{i\mu} s_i`:

==========  =================================================================  ==================
family      :math:`F_\theta(s)`                                                parameters (order)
==========  =================================================================  ==================
gim         :math:`\sum_{0<|A|\le K}\theta_A\chi_A(s)`                          ``J[A]`` canonical
rbm         :math:`\sum_i a_i s_i + \sum_\mu \varphi(x_\mu)`                     ``a, b, w`` (w row-major, ``w[i,mu]``)
mlp         :math:`\sum_i a_i s_i + \sum_\mu c_\mu\sigma(x_\mu)`                  ``a, b, w, c``
product     :math:`\sum_i h_i s_i + \sum_{A} u_A v_A \chi_A(s)`                  ``h`` (if fields), ``u``, ``v``
custom      a parsed expression                                                 declared names
==========  =================================================================  ==================

:math:`\varphi = \log 2\cosh` (spin hidden units) or :math:`\log(1+e^x)` (Bernoulli hidden units).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from . import activations
from .arith import Arith
from .conventions import (
    check_n,
    format_subset,
    latex_subset,
    parse_number,
    parse_subset,
    parse_subset_keys,
    show_value,
    spin_table,
    subsets,
)
from .errors import SpecError
from .expression import check_energy_values, compile_on_configurations, parse_energy, spin_symbols

__all__ = ["Param", "Model", "GIM", "RBM", "MLP", "Product", "Custom", "FAMILIES", "model_from_spec"]


@dataclass(frozen=True)
class Param:
    """One scalar parameter: its label in JSON/reports (``w[1,2]``), LaTeX name, group and index."""

    label: str
    latex: str
    group: str
    index: tuple

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.latex, real=True)


class Model:
    """Base class of the families; subclasses define ``params`` and the four evaluators."""

    family: str = ""
    n: int
    params: tuple[Param, ...]

    @property
    def P(self) -> int:
        """Number of scalar parameters."""
        return len(self.params)

    @property
    def symbols(self) -> list[sp.Symbol]:
        return [p.symbol for p in self.params]

    @property
    def spins(self) -> tuple[sp.Symbol, ...]:
        return spin_symbols(self.n)

    def spec(self) -> dict:
        """The model part of a case file (JSON-ready)."""
        raise NotImplementedError

    def energy_expr(self) -> sp.Expr:
        raise NotImplementedError

    def energy(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def energy_grad(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def energy_hessian(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def direct_parameters(self) -> dict[int, tuple]:
        """``{k: A}`` for parameters entering :math:`J_A` only additively (:math:`J_A = \\theta_k + g`), F3."""
        return {}

    # --- parameters from / to JSON -------------------------------------------------------------
    def parse_params(self, obj) -> tuple[Fraction, ...]:
        """Exact parameter vector from the ``"params"`` object of a case file."""
        raise NotImplementedError

    def params_to_json(self, theta) -> dict:
        raise NotImplementedError

    def zero_params(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(0) for _ in self.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(self.spec()))


# --- helpers ---------------------------------------------------------------------------------------


def _number(value, where: str, problems: list) -> Fraction:
    try:
        return parse_number(value, where)
    except SpecError as err:
        problems.append(str(err))
        return Fraction(0)


def _vector(obj: dict, key: str, length: int, problems: list, what: str) -> list[Fraction]:
    if key not in obj:
        problems.append(f"params.{key} is missing: give {length} values ({what})")
        return [Fraction(0)] * length
    values = obj[key]
    if not isinstance(values, list) or len(values) != length:
        got = len(values) if isinstance(values, list) else type(values).__name__
        problems.append(f"params.{key} must be a list of {length} values ({what}), got {got}")
        return [Fraction(0)] * length
    return [_number(v, f"params.{key}[{k}]", problems) for k, v in enumerate(values)]


def _matrix(obj: dict, key: str, rows: int, cols: int, problems: list) -> list[Fraction]:
    if key not in obj:
        problems.append(f"params.{key} is missing: give {rows} rows of {cols} values (one row per spin)")
        return [Fraction(0)] * (rows * cols)
    values = obj[key]
    ok = isinstance(values, list) and len(values) == rows and all(isinstance(r, list) and len(r) == cols for r in values)
    if not ok:
        problems.append(f"params.{key} must be {rows} rows (one per spin) of {cols} values (one per hidden unit)")
        return [Fraction(0)] * (rows * cols)
    return [_number(v, f"params.{key}[{i}][{j}]", problems) for i, r in enumerate(values) for j, v in enumerate(r)]


def _subset_dict(obj: dict, key: str, allowed: tuple, n: int, problems: list, required: bool = False) -> dict:
    if key not in obj:
        if required:
            problems.append(f"params.{key} is missing")
        return {}
    values = obj[key]
    if not isinstance(values, dict):
        problems.append(f"params.{key} must be an object {{\"1,2\": value, ...}}")
        return {}
    out = {}
    for A, text, v in parse_subset_keys(values, n, f"params.{key}", problems):
        if A not in allowed:
            problems.append(f"params.{key}: subset {show_value(text)} is not a parameter of this model")
            continue
        out[A] = _number(v, f"params.{key}[{show_value(text)}]", problems)
    return out


def _check_params_object(obj, allowed_keys: set) -> list:
    if not isinstance(obj, dict):
        raise SpecError("\"params\" must be a JSON object")
    extra = sorted(set(obj) - allowed_keys)
    if extra:
        return [f"params has unknown keys {extra}; this model takes {sorted(allowed_keys)}"]
    return []


def _characters(n: int, family_subsets: tuple) -> np.ndarray:
    """Integer matrix ``chi[x, k] = χ_{A_k}(s(x))``."""
    table = spin_table(n)
    chi = np.ones((2**n, len(family_subsets)), dtype=np.int64)
    for k, A in enumerate(family_subsets):
        for i in A:
            chi[:, k] *= table[:, i - 1]
    return chi


def spin_linear(offset, coeffs: np.ndarray) -> np.ndarray:
    r"""Values of :math:`c_0 + \sum_i c_i s_i(x)` on all ``2^N`` configurations (axis 0), by doubling.

    ``coeffs`` has shape ``(N, ...)`` and ``offset`` broadcasts against ``coeffs[0]``. Starting from
    ``x = 0`` (all spins :math:`+1`), flipping spin ``i`` subtracts :math:`2c_i`; ``2^N`` additions per
    trailing entry, no multiplications.
    """
    values = np.asarray(offset + coeffs.sum(axis=0))[None, ...]
    for i in range(coeffs.shape[0]):
        values = np.concatenate([values, values - 2 * coeffs[i]], axis=0)
    return values


def times_spin(values: np.ndarray, i: int) -> np.ndarray:
    """``values * s_{i+1}(x)`` along axis 0 (length ``2^N``): negates the configurations with bit ``i`` set."""
    out = values.copy()
    length = values.shape[0]
    view = out.reshape(length // (2 << i), 2, 1 << i, *values.shape[1:])
    view[:, 1] = -view[:, 1]
    return out


def _int_pos(value, name: str, lo: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise SpecError(f"model.{name} must be an integer >= {lo}, got {show_value(value)}")
    return value


# --- gim -------------------------------------------------------------------------------------------


class GIM(Model):
    r"""Generalised Ising model :math:`F = \sum_{0<|A|\le K}\theta_A\chi_A`; with ``K = N``, :math:`G = I`."""

    family = "gim"

    def __init__(self, n: int, max_order: int | None = None):
        check_n(n)
        self.n = n
        self.max_order = n if max_order is None else _int_pos(max_order, "max_order")
        if self.max_order > n:
            raise SpecError(f"model.max_order = {self.max_order} exceeds n = {n}")
        self.subsets = subsets(n, self.max_order)
        self.params = tuple(
            Param(f"J[{format_subset(A)}]", "J_{" + latex_subset(A) + "}", "J", A) for A in self.subsets
        )
        self._chi = _characters(n, self.subsets)

    def spec(self) -> dict:
        return {"family": "gim", "n": self.n, "max_order": self.max_order}

    def energy_expr(self) -> sp.Expr:
        s = self.spins
        return sp.Add(*[p.symbol * sp.Mul(*[s[i - 1] for i in p.index]) for p in self.params])

    def energy(self, theta, arith):
        return arith.ints(self._chi) @ theta

    def energy_grad(self, theta, arith):
        return arith.ints(self._chi)

    def energy_hessian(self, theta, arith):
        return arith.zeros((2**self.n, self.P, self.P))

    def direct_parameters(self):
        return {k: A for k, A in enumerate(self.subsets)}

    def parse_params(self, obj):
        problems = _check_params_object(obj, {"J"})
        given = _subset_dict(obj, "J", self.subsets, self.n, problems)
        if problems:
            raise SpecError(problems)
        return tuple(given.get(A, Fraction(0)) for A in self.subsets)

    def params_to_json(self, theta):
        return {"J": {format_subset(A): str(v) for A, v in zip(self.subsets, theta)}}


# --- hidden-layer families ---------------------------------------------------------------------------


class _HiddenLayer(Model):
    """Shared layout ``a (N), b (M), w (N x M, row-major)`` and pre-activations :math:`x_\\mu`."""

    def __init__(self, n: int, hidden: int):
        check_n(n)
        self.n = n
        self.M = _int_pos(hidden, "hidden")
        M = self.M
        self.params = (
            tuple(Param(f"a[{i}]", f"a_{{{i}}}", "a", (i,)) for i in range(1, n + 1))
            + tuple(Param(f"b[{m}]", f"b_{{{m}}}", "b", (m,)) for m in range(1, M + 1))
            + tuple(
                Param(f"w[{i},{m}]", f"w_{{{i},{m}}}", "w", (i, m)) for i in range(1, n + 1) for m in range(1, M + 1)
            )
        )
        self._S = spin_table(n)

    # index helpers
    def _ia(self, i):
        return i

    def _ib(self, m):
        return self.n + m

    def _iw(self, i, m):
        return self.n + self.M + i * self.M + m

    def split(self, theta):
        """``(a, b, w)`` views of the flat parameter vector (``w`` has shape ``(N, M)``)."""
        n, M = self.n, self.M
        return theta[:n], theta[n : n + M], theta[n + M : n + M + n * M].reshape(n, M)

    def preactivations(self, theta, arith):
        r""":math:`x_\mu(s) = b_\mu + \sum_i s_i w_{i\mu}` for all configurations, shape ``(2^N, M)``."""
        _, b, w = self.split(theta)
        return spin_linear(b, w)

    def _symbolic_preactivations(self):
        s = self.spins
        sym = self.symbols
        return [sym[self._ib(m)] + sum(sym[self._iw(i, m)] * s[i] for i in range(self.n)) for m in range(self.M)]

    def direct_parameters(self):
        return {self._ia(i): (i + 1,) for i in range(self.n)}

    def _parse_common(self, obj, keys):
        problems = _check_params_object(obj, keys)
        a = _vector(obj, "a", self.n, problems, "one visible field per spin")
        b = _vector(obj, "b", self.M, problems, "one bias per hidden unit")
        w = _matrix(obj, "w", self.n, self.M, problems)
        return a + b + w, problems

    def _common_json(self, theta):
        n, M = self.n, self.M
        vals = [str(v) for v in theta]
        return {
            "a": vals[:n],
            "b": vals[n : n + M],
            "w": [vals[n + M + i * M : n + M + (i + 1) * M] for i in range(n)],
        }

    def _grad_blocks(self, arith, g1):
        """Columns ``[s_i ; g1_mu ; g1_mu s_i]`` with ``g1 = ∂(unit)/∂x``."""
        cols_w = np.stack([times_spin(g1, i) for i in range(self.n)], axis=1).reshape(2**self.n, self.n * self.M)
        return [arith.ints(self._S), g1, cols_w]

    def _hessian_unit_block(self, H, g2):
        """Fill :math:`\\partial^2/\\partial(b,w)^2` of :math:`\\sum_\\mu u(x_\\mu)` with ``g2 = u''(x)``."""
        n, M = self.n, self.M
        g2_s = [times_spin(g2, i) for i in range(n)]
        for m in range(M):
            ib = self._ib(m)
            H[:, ib, ib] = g2[:, m]
            for i in range(n):
                iw = self._iw(i, m)
                H[:, ib, iw] = g2_s[i][:, m]
                H[:, iw, ib] = g2_s[i][:, m]
                H[:, iw, iw] = g2[:, m]
                for j in range(i + 1, n):
                    col = times_spin(g2_s[i][:, m], j)
                    H[:, iw, self._iw(j, m)] = col
                    H[:, self._iw(j, m), iw] = col


class RBM(_HiddenLayer):
    r"""RBM after summing out the hidden units: :math:`F = \sum_i a_i s_i + \sum_\mu\varphi(x_\mu)`.

    ``hidden_units="spin"``: :math:`h=\pm1`, :math:`\varphi = \log 2\cosh`; ``"bernoulli"``:
    :math:`h\in\{0,1\}`, :math:`\varphi(x)=\log(1+e^x)`.
    """

    family = "rbm"

    def __init__(self, n: int, hidden: int, hidden_units: str = "spin"):
        super().__init__(n, hidden)
        if hidden_units not in ("spin", "bernoulli"):
            raise SpecError(f"model.hidden_units must be \"spin\" or \"bernoulli\", got {hidden_units!r}")
        self.hidden_units = hidden_units
        self._phi = "logcosh" if hidden_units == "spin" else "softplus"

    def spec(self):
        return {"family": "rbm", "n": self.n, "hidden": self.M, "hidden_units": self.hidden_units}

    def energy_expr(self):
        a = self.symbols[: self.n]
        field = sum(ai * si for ai, si in zip(a, self.spins))
        return field + sum(activations.symbolic(self._phi, x) for x in self._symbolic_preactivations())

    def energy(self, theta, arith):
        X = self.preactivations(theta, arith)
        phi = activations.value(self._phi, X, arith)
        return spin_linear(0, theta[: self.n]) + phi.sum(axis=1)

    def energy_grad(self, theta, arith):
        X = self.preactivations(theta, arith)
        g1 = activations.first(self._phi, X, arith)
        return np.concatenate(self._grad_blocks(arith, g1), axis=1)

    def energy_hessian(self, theta, arith):
        X = self.preactivations(theta, arith)
        g2 = activations.second(self._phi, X, arith)
        H = arith.zeros((2**self.n, self.P, self.P))
        self._hessian_unit_block(H, g2)
        return H

    def parse_params(self, obj):
        values, problems = self._parse_common(obj, {"a", "b", "w"})
        if problems:
            raise SpecError(problems)
        return tuple(values)

    def params_to_json(self, theta):
        return self._common_json(theta)


class MLP(_HiddenLayer):
    r"""One-hidden-layer network energy :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\sigma(x_\mu)`."""

    family = "mlp"

    def __init__(self, n: int, hidden: int, activation: str = "tanh"):
        super().__init__(n, hidden)
        if activation not in activations.MLP_ACTIVATIONS:
            raise SpecError(
                f"model.activation must be one of {', '.join(activations.MLP_ACTIVATIONS)}, got {activation!r}"
            )
        self.activation = activation
        self.params = self.params + tuple(Param(f"c[{m}]", f"c_{{{m}}}", "c", (m,)) for m in range(1, self.M + 1))

    def _ic(self, m):
        return self.n + self.M + self.n * self.M + m

    def spec(self):
        return {"family": "mlp", "n": self.n, "hidden": self.M, "activation": self.activation}

    def energy_expr(self):
        sym = self.symbols
        field = sum(ai * si for ai, si in zip(sym[: self.n], self.spins))
        xs = self._symbolic_preactivations()
        return field + sum(sym[self._ic(m)] * activations.symbolic(self.activation, x) for m, x in enumerate(xs))

    def _c(self, theta):
        return theta[self.n + self.M + self.n * self.M :]

    def energy(self, theta, arith):
        X = self.preactivations(theta, arith)
        sig = activations.value(self.activation, X, arith)
        return spin_linear(0, theta[: self.n]) + (sig * self._c(theta)[None, :]).sum(axis=1)

    def energy_grad(self, theta, arith):
        X = self.preactivations(theta, arith)
        c = self._c(theta)[None, :]
        sig = activations.value(self.activation, X, arith)
        g1 = activations.first(self.activation, X, arith) * c
        return np.concatenate(self._grad_blocks(arith, g1) + [sig], axis=1)

    def energy_hessian(self, theta, arith):
        X = self.preactivations(theta, arith)
        c = self._c(theta)[None, :]
        d1 = activations.first(self.activation, X, arith)
        g2 = activations.second(self.activation, X, arith) * c
        H = arith.zeros((2**self.n, self.P, self.P))
        self._hessian_unit_block(H, g2)
        for m in range(self.M):
            ic, ib = self._ic(m), self._ib(m)
            H[:, ic, ib] = d1[:, m]
            H[:, ib, ic] = d1[:, m]
            for i in range(self.n):
                iw = self._iw(i, m)
                col = times_spin(d1[:, m], i)
                H[:, ic, iw] = col
                H[:, iw, ic] = col
        return H

    def parse_params(self, obj):
        values, problems = self._parse_common(obj, {"a", "b", "w", "c"})
        c = _vector(obj, "c", self.M, problems, "one output weight per hidden unit")
        if problems:
            raise SpecError(problems)
        return tuple(values + c)

    def params_to_json(self, theta):
        out = self._common_json(theta)
        out["c"] = [str(v) for v in theta[self.n + self.M + self.n * self.M :]]
        return out


# --- product ---------------------------------------------------------------------------------------------


class Product(Model):
    r"""Factored couplings :math:`F = \sum_i h_i s_i + \sum_A u_A v_A\chi_A`, so :math:`J_A = u_A v_A (+h_i)`.

    Exact neutral directions :math:`u_A\to c u_A,\ v_A\to v_A/c`; exact spurious points at
    :math:`u_A = v_A = 0`.
    """

    family = "product"

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
        self._chi = _characters(n, self.subsets)
        self._S = spin_table(n)

    def spec(self):
        out = {"family": "product", "n": self.n, "fields": self.fields}
        if self.subsets != subsets(self.n):
            out["subsets"] = [format_subset(A) for A in self.subsets]
        return out

    def _uv(self, theta):
        L = len(self.subsets)
        return theta[self._nh : self._nh + L], theta[self._nh + L :]

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

    def direct_parameters(self):
        return {i: (i + 1,) for i in range(self._nh)}

    def parse_params(self, obj):
        keys = {"u", "v", "h"} if self.fields else {"u", "v"}
        problems = _check_params_object(obj, keys)
        u = _subset_dict(obj, "u", self.subsets, self.n, problems)
        v = _subset_dict(obj, "v", self.subsets, self.n, problems)
        h = _vector(obj, "h", self.n, problems, "one field per spin") if self.fields else []
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


# --- custom -----------------------------------------------------------------------------------------------


class Custom(Model):
    """A user-written energy ``F = -E`` in ``s1..sN`` and declared parameters (parsed, never ``eval``-ed)."""

    family = "custom"

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
        values = [_number(obj.get(name, 0), f"params.{name}", problems) for name in self.names]
        if problems:
            raise SpecError(problems)
        check_energy_values(self.expr, self.spins, dict(zip(self.symbols, values)))
        return tuple(values)

    def params_to_json(self, theta):
        return {name: str(v) for name, v in zip(self.names, theta)}


FAMILIES = ("gim", "rbm", "mlp", "product", "custom")


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


def model_from_spec(spec) -> Model:
    """Build a model from the ``"model"`` object of a case file, refusing unknown families and keys."""
    if not isinstance(spec, dict):
        raise SpecError("\"model\" must be a JSON object with at least \"family\" and \"n\"")
    family = spec.get("family")
    allowed = {
        "gim": {"max_order"},
        "rbm": {"hidden", "hidden_units"},
        "mlp": {"hidden", "activation"},
        "product": {"fields", "subsets"},
        "custom": {"energy", "params"},
    }
    if not isinstance(family, str) or family not in allowed:
        raise SpecError(f"unknown model family {show_value(family)}; choose one of {', '.join(FAMILIES)}")
    if "n" not in spec:
        raise SpecError("model.n (the number of spins) is missing")
    extra = sorted(set(spec) - allowed[family] - {"family", "n"})
    if extra:
        raise SpecError(
            f"model has unknown keys {show_value(extra)} for family {family!r}; allowed: {sorted(allowed[family])}"
        )
    n = spec["n"]
    check_n(n)
    for key, choices in (("hidden_units", ("spin", "bernoulli")), ("activation", activations.MLP_ACTIVATIONS)):
        if key in spec and not (isinstance(spec[key], str) and spec[key] in choices):
            raise SpecError(f"model.{key} must be one of {', '.join(choices)}, got {show_value(spec[key])}")
    if family == "gim":
        return GIM(n, spec.get("max_order"))
    if family in ("rbm", "mlp") and "hidden" not in spec:
        raise SpecError(f"model.hidden (number of hidden units) is missing for family {family!r}")
    if family == "rbm":
        return RBM(n, spec["hidden"], spec.get("hidden_units", "spin"))
    if family == "mlp":
        return MLP(n, spec["hidden"], spec.get("activation", "tanh"))
    if family == "product":
        return Product(n, spec.get("fields", False), _product_subsets(spec.get("subsets"), n))
    if "energy" not in spec or "params" not in spec:
        raise SpecError("a custom model needs model.energy (a string) and model.params (a list of names)")
    return Custom(n, spec["energy"], spec["params"])
