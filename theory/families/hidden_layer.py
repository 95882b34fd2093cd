r"""``rbm`` and ``mlp``: one hidden layer, :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\,\sigma(x_\mu)`.

With :math:`x_\mu(s) = b_\mu + \sum_i w_{i\mu}s_i`. ``mlp`` has output weights :math:`c_\mu` and any
activation of :mod:`theory.activations`; ``rbm`` is :math:`c_\mu = 1` and :math:`\sigma = \varphi`, the hidden
units summed out: :math:`\varphi = \log 2\cosh` (spin hidden units) or :math:`\log(1+e^x)` (Bernoulli).
Parameters in the order ``a (N), b (M), w (N x M, row-major w[i, mu]), c (M, mlp only)``.

The small-weight law (H1), the special points (S2) and the symmetries are in :mod:`theory.families.hidden_laws`.

**Symmetries.** Permuting hidden units; and where :math:`\sigma(-x) = s\,\sigma(x) + l\,x`
(:attr:`Activation.reflection`), flipping unit :math:`\mu`:
:math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to (-b_\mu, -w_{\cdot\mu}, s\,c_\mu)` with the fields
:math:`a_i \to a_i - s\,l\,c_\mu w_{i\mu}` (for ``rbm``, where :math:`c_\mu = 1` is fixed, only :math:`s = 1`);
and where :math:`\sigma(\lambda x) = \lambda^p\sigma(x)` (:attr:`Activation.homogeneity`), the continuous rescaling
:math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to (\lambda b_\mu, \lambda w_{\cdot\mu}, \lambda^{-p}c_\mu)`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import activations
from ..conventions import check_n, show_value, spin_table
from ..errors import SpecError
from ..walsh import walsh_hadamard
from .base import Model, Param, check_params_object, int_at_least, matrix, spin_linear, times_spin, vector
from .hidden_laws import HiddenLayerLaws

__all__ = ["HiddenLayer", "RBM", "MLP"]


class HiddenLayer(HiddenLayerLaws, Model):
    """Shared layout, energies, derivatives and declarations of the one-hidden-layer families."""

    hierarchy = True
    closed_form_max_n = 6  # closed forms from the structure: 3.2^N expressions per hidden unit
    rescales_every_parameter = False
    output_weights = False  # whether c_mu are parameters (else c_mu = 1)

    def __init__(self, n: int, hidden: int, activation):
        check_n(n)
        self.n = n
        self.M = int_at_least(hidden, "hidden")
        self.activation = activations.get(activation)
        M = self.M
        self.params = (
            tuple(Param(f"a[{i}]", f"a_{{{i}}}", "a", (i,)) for i in range(1, n + 1))
            + tuple(Param(f"b[{m}]", f"b_{{{m}}}", "b", (m,)) for m in range(1, M + 1))
            + tuple(
                Param(f"w[{i},{m}]", f"w_{{{i},{m}}}", "w", (i, m)) for i in range(1, n + 1) for m in range(1, M + 1)
            )
            + (tuple(Param(f"c[{m}]", f"c_{{{m}}}", "c", (m,)) for m in range(1, M + 1)) if self.output_weights else ())
        )
        self._S = spin_table(n)

    @classmethod
    def count_parameters(cls, spec):
        n, m = spec.get("n"), spec.get("hidden")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (n, m)):
            return None
        return n + m + n * m + (m if cls.output_weights else 0)

    def with_hidden(self, hidden: int) -> "HiddenLayer":
        """The same family and activation with ``hidden`` units."""
        spec = dict(self.spec(), hidden=hidden)
        return type(self).from_spec(spec)

    # index helpers
    def _ia(self, i):
        return i

    def _ib(self, m):
        return self.n + m

    def _iw(self, i, m):
        return self.n + self.M + i * self.M + m

    def _ic(self, m):
        return self.n + self.M + self.n * self.M + m

    def split(self, theta):
        """``(a, b, w)`` views of the flat parameter vector (``w`` has shape ``(N, M)``)."""
        n, M = self.n, self.M
        return theta[:n], theta[n : n + M], theta[n + M : n + M + n * M].reshape(n, M)

    def output(self, theta):
        """The output weights :math:`c_\\mu` (``None`` when fixed to 1)."""
        return theta[self.n + self.M + self.n * self.M :] if self.output_weights else None

    def preactivations(self, theta, arith):
        r""":math:`x_\mu(s) = b_\mu + \sum_i s_i w_{i\mu}` for all configurations, shape ``(2^N, M)``."""
        _, b, w = self.split(theta)
        return spin_linear(b, w)

    def _symbolic_preactivations(self):
        s = self.spins
        sym = self.symbols
        return [sym[self._ib(m)] + sum(sym[self._iw(i, m)] * s[i] for i in range(self.n)) for m in range(self.M)]

    # --- the energy ---------------------------------------------------------------------------------
    def energy_expr(self):
        sym = self.symbols
        field = sum(ai * si for ai, si in zip(sym[: self.n], self.spins))
        units = [self.activation.symbolic(x) for x in self._symbolic_preactivations()]
        if self.output_weights:
            units = [sym[self._ic(m)] * u for m, u in enumerate(units)]
        return field + sum(units)

    def energy(self, theta, arith):
        X = self.preactivations(theta, arith)
        units = self.activation.value(X, arith)
        c = self.output(theta)
        if c is not None:
            units = units * c[None, :]
        return spin_linear(0, theta[: self.n]) + units.sum(axis=1)

    def energy_grad(self, theta, arith):
        X = self.preactivations(theta, arith)
        c = self.output(theta)
        g1 = self.activation.first(X, arith)
        if c is not None:
            g1 = g1 * c[None, :]
        cols_w = np.stack([times_spin(g1, i) for i in range(self.n)], axis=1).reshape(2**self.n, self.n * self.M)
        blocks = [arith.ints(self._S), g1, cols_w]
        if c is not None:
            blocks.append(self.activation.value(X, arith))
        return np.concatenate(blocks, axis=1)

    def energy_hessian(self, theta, arith):
        X = self.preactivations(theta, arith)
        c = self.output(theta)
        g2 = self.activation.second(X, arith)
        if c is not None:
            g2 = g2 * c[None, :]
        H = arith.zeros((2**self.n, self.P, self.P))
        self._hessian_unit_block(H, g2)
        if c is not None:
            self._hessian_output_block(H, self.activation.first(X, arith))
        return H

    def _hessian_unit_block(self, H, g2):
        """Fill :math:`\\partial^2/\\partial(b,w)^2` of :math:`\\sum_\\mu c_\\mu u(x_\\mu)` with ``g2 = c u''(x)``."""
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

    def weighted_energy_hessian(self, theta, weights, arith):
        r""":math:`\sum_s w(s)\,\partial^2_\theta F_\theta(s)` without forming :math:`\partial^2F`.

        Within unit :math:`\mu` every second derivative is :math:`c_\mu u''(x_\mu)` times a spin product
        (:math:`\partial_{b}^2, \partial_{w_i}^2 \to 1`, :math:`\partial_b\partial_{w_i} \to s_i`,
        :math:`\partial_{w_i}\partial_{w_j} \to s_is_j`), and :math:`\partial_{c_\mu}\partial_{(b_\mu, w_{i\mu})}
        F = u'(x_\mu)\,(1, s_i)`. So the contraction is read off the Walsh coefficients
        :math:`\widehat{v}(A) = \sum_s v(s)\chi_A(s)` at orders 0, 1, 2 of :math:`v = w\,c_\mu u''(x_\mu)` and
        :math:`v' = w\,u'(x_\mu)`: one transform of length :math:`2^N` per unit instead of a product with the
        :math:`(2^N, P^2)` array. Different units and the fields do not mix (zeros).
        """
        n, M = self.n, self.M
        X = self.preactivations(theta, arith)
        c = self.output(theta)
        g2 = self.activation.second(X, arith)
        if c is not None:
            g2 = g2 * c[None, :]
        out = arith.zeros((self.P, self.P))
        for m in range(M):
            hat = walsh_hadamard(weights * g2[:, m])
            ib = self._ib(m)
            out[ib, ib] = hat[0]
            for i in range(n):
                iw = self._iw(i, m)
                out[ib, iw] = out[iw, ib] = hat[1 << i]
                out[iw, iw] = hat[0]
                for j in range(i + 1, n):
                    out[iw, self._iw(j, m)] = out[self._iw(j, m), iw] = hat[(1 << i) | (1 << j)]
        if c is not None:
            d1 = self.activation.first(X, arith)
            for m in range(M):
                hat = walsh_hadamard(weights * d1[:, m])
                ic = self._ic(m)
                out[ic, self._ib(m)] = out[self._ib(m), ic] = hat[0]
                for i in range(n):
                    out[ic, self._iw(i, m)] = out[self._iw(i, m), ic] = hat[1 << i]
        return out

    def _hessian_output_block(self, H, d1):
        """Fill :math:`\\partial_{c_\\mu}\\partial_{(b_\\mu, w_{i\\mu})}` with ``d1 = u'(x)``."""
        for m in range(self.M):
            ic, ib = self._ic(m), self._ib(m)
            H[:, ic, ib] = d1[:, m]
            H[:, ib, ic] = d1[:, m]
            for i in range(self.n):
                iw = self._iw(i, m)
                col = times_spin(d1[:, m], i)
                H[:, ic, iw] = col
                H[:, iw, ic] = col

    # --- declarations -------------------------------------------------------------------------------------
    @property
    def polynomial(self) -> bool:
        """Polynomial exactly when the activation is."""
        return self.activation.polynomial

    def direct_parameters(self):
        """The fields: :math:`J_i = a_i + g_i(b, w, c)`."""
        return {self._ia(i): (i + 1,) for i in range(self.n)}

    def small_weight_start(self, eps, seed, bias_scale=0.5):
        """Fields 0, biases :math:`\\sim` ``bias_scale``·N(0,1) (generic), weights :math:`\\sim\\varepsilon`·N(0,1),
        output weights :math:`\\sim` N(0,1)."""
        rng = np.random.default_rng(seed)
        out = []
        for p in self.params:
            z = rng.standard_normal()
            value = {"a": 0.0, "b": bias_scale * z, "w": eps * z, "c": z}[p.group]
            out.append(Fraction(f"{value:.6e}"))
        return tuple(out)

    def small_weight_scaled(self, base, eps):
        """``base`` with the weights :math:`w` multiplied by :math:`\\varepsilon` (fields, biases, outputs kept)."""
        return tuple(eps * q if p.group == "w" else q for q, p in zip(base, self.params))

    # --- case files ---------------------------------------------------------------------------------------
    def _parse_common(self, obj, keys):
        problems = check_params_object(obj, keys)
        a = vector(obj, "a", self.n, problems, "one visible field per spin")
        b = vector(obj, "b", self.M, problems, "one bias per hidden unit")
        w = matrix(obj, "w", self.n, self.M, problems)
        c = vector(obj, "c", self.M, problems, "one output weight per hidden unit") if self.output_weights else []
        return a + b + w + c, problems

    def parse_params(self, obj):
        values, problems = self._parse_common(obj, {"a", "b", "w", "c"} if self.output_weights else {"a", "b", "w"})
        if problems:
            raise SpecError(problems)
        return tuple(values)

    def params_to_json(self, theta):
        n, M = self.n, self.M
        vals = [str(v) for v in theta]
        out = {
            "a": vals[:n],
            "b": vals[n : n + M],
            "w": [vals[n + M + i * M : n + M + (i + 1) * M] for i in range(n)],
        }
        if self.output_weights:
            out["c"] = vals[n + M + n * M :]
        return out


def _require_hidden(spec, family):
    if "hidden" not in spec:
        raise SpecError(f"model.hidden (number of hidden units) is missing for family {family!r}")


class RBM(HiddenLayer):
    r"""RBM after summing out the hidden units: :math:`F = \sum_i a_i s_i + \sum_\mu\varphi(x_\mu)`.

    ``hidden_units="spin"``: :math:`h=\pm1`, :math:`\varphi = \log 2\cosh`; ``"bernoulli"``:
    :math:`h\in\{0,1\}`, :math:`\varphi(x)=\log(1+e^x)`.
    """

    family = "rbm"
    spec_keys = frozenset({"hidden", "hidden_units"})
    HIDDEN_UNITS = {"spin": "logcosh", "bernoulli": "softplus"}

    def __init__(self, n: int, hidden: int, hidden_units: str = "spin"):
        if not isinstance(hidden_units, str) or hidden_units not in self.HIDDEN_UNITS:
            raise SpecError(f"model.hidden_units must be one of {', '.join(self.HIDDEN_UNITS)}, "
                            f"got {show_value(hidden_units)}")
        super().__init__(n, hidden, self.HIDDEN_UNITS[hidden_units])
        self.hidden_units = hidden_units

    @classmethod
    def from_spec(cls, spec):
        _require_hidden(spec, cls.family)
        return cls(spec["n"], spec["hidden"], spec.get("hidden_units", "spin"))

    def spec(self):
        return {"family": "rbm", "n": self.n, "hidden": self.M, "hidden_units": self.hidden_units}

    def normal_form(self, expr):
        """:math:`\\varphi`'s own rewriting (:math:`\\log 2\\cosh` expanded into logarithms; softplus in :math:`\\cosh`)."""
        rewrite = self.activation.normal_form
        return rewrite(expr) if rewrite is not None else expr


class MLP(HiddenLayer):
    r"""One-hidden-layer network energy :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\sigma(x_\mu)`."""

    family = "mlp"
    spec_keys = frozenset({"hidden", "activation"})
    output_weights = True

    def __init__(self, n: int, hidden: int, activation: str = "tanh"):
        if not (isinstance(activation, activations.Activation)
                or (isinstance(activation, str) and activation in activations.ACTIVATIONS)):
            raise SpecError(f"model.activation must be one of {', '.join(activations.ACTIVATIONS)}, "
                            f"got {show_value(activation)}")
        super().__init__(n, hidden, activation)

    @classmethod
    def from_spec(cls, spec):
        _require_hidden(spec, cls.family)
        return cls(spec["n"], spec["hidden"], spec.get("activation", "tanh"))

    @property
    def closed_form_max_n(self) -> int:
        """From the structure up to 6 spins for every activation (softplus and silu included: their per-unit Walsh
        tables take seconds; only their identities go the numeric route), unless the activation caps it."""
        return _limit(self.activation)

    @classmethod
    def closed_form_limit(cls, spec):
        name = spec.get("activation", "tanh")
        known = isinstance(name, str) and name in activations.ACTIVATIONS
        return _limit(activations.ACTIVATIONS[name]) if known else min(
            _limit(a) for a in activations.ACTIVATIONS.values())

    @property
    def simplifies_exactly(self) -> bool:
        """Not for rational functions of exponentials (softplus, silu: sympy's expansions take minutes)."""
        return not self.activation.exponential

    def spec(self):
        return {"family": "mlp", "n": self.n, "hidden": self.M, "activation": self.activation.name}


def _limit(activation) -> int:
    """The closed-form limit of a network with ``activation``: the structured one, or the activation's cap."""
    cap = activation.closed_form_max_n
    return HiddenLayer.closed_form_max_n if cap is None else min(cap, HiddenLayer.closed_form_max_n)
