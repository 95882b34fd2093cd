r"""``rbm`` and ``mlp``: one hidden layer, :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\,\sigma(x_\mu)`.

With :math:`x_\mu(s) = b_\mu + \sum_i w_{i\mu}s_i`. ``mlp`` has output weights :math:`c_\mu` and any
activation of :mod:`theory.activations`; ``rbm`` is :math:`c_\mu = 1` and :math:`\sigma = \varphi`, the hidden
units summed out: :math:`\varphi = \log 2\cosh` (spin hidden units) or :math:`\log(1+e^x)` (Bernoulli).
Parameters in the order ``a (N), b (M), w (N x M, row-major w[i, mu]), c (M, mlp only)``.

**Leading orders (THEORY.md H1).** Since :math:`2^{-N}\sum_s\chi_A(s)(w\cdot s)^n` vanishes for
:math:`n < |A|` and for :math:`n \not\equiv |A| \pmod 2`, and equals :math:`|A|!\prod_{i\in A}w_i` at
:math:`n = |A|`, Taylor expansion of :math:`\sigma(b_\mu + w_\mu\cdot s)` gives, for :math:`|A| = k \ge 2`,
:math:`J_A = \sum_\mu c_\mu\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + O(\|w\|^{k+2})`. Where
:math:`\sigma^{(k)}(b_\mu) = 0` for every unit the coupling starts two orders later (:meth:`leading_orders`).

**Symmetries.** Permuting hidden units; and where :math:`\sigma(-x) = s\,\sigma(x) + l\,x`
(:attr:`Activation.reflection`), flipping unit :math:`\mu`:
:math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to (-b_\mu, -w_{\cdot\mu}, s\,c_\mu)` with the fields
:math:`a_i \to a_i - s\,l\,c_\mu w_{i\mu}` (for ``rbm``, where :math:`c_\mu = 1` is fixed, only :math:`s = 1`).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from .. import activations
from ..conventions import check_n, show_value, spin_table
from ..errors import SpecError
from .base import Model, Param, Symmetry, check_params_object, int_at_least, matrix, spin_linear, times_spin, vector

__all__ = ["HiddenLayer", "RBM", "MLP"]

#: how many orders beyond |A| the leading-order search looks before calling a coupling identically zero
LEADING_ORDER_LOOKAHEAD = 4


class HiddenLayer(Model):
    """Shared layout, energies, derivatives and declarations of the one-hidden-layer families."""

    hierarchy = True
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

    def symmetries(self):
        out = []
        if self.M >= 2:
            out.append(Symmetry("hidden-unit permutation",
                                r"(b_\mu, w_{\cdot\mu}, c_\mu) \to (b_{\pi(\mu)}, w_{\cdot\pi(\mu)}, c_{\pi(\mu)})",
                                self.permute_units, tuple(reversed(range(self.M)))))
        reflection = self.activation.reflection
        if reflection is not None and (self.output_weights or reflection[0] == 1):
            out.append(Symmetry("sign flip of a hidden unit",
                                r"(b_\mu, w_{\cdot\mu}, c_\mu) \to (-b_\mu, -w_{\cdot\mu}, s\,c_\mu),\ "
                                r"a_i \to a_i - s\,l\,c_\mu w_{i\mu}", self.flip_unit, 0))
        return tuple(out)

    def permute_units(self, theta, perm) -> tuple:
        """``theta`` with hidden unit ``perm[m]`` moved to position ``m``."""
        a, b, w = self.split(np.array(theta, dtype=object))
        c = self.output(np.array(theta, dtype=object))
        out = list(a) + [b[p] for p in perm] + [w[i, p] for i in range(self.n) for p in perm]
        return tuple(out + ([c[p] for p in perm] if c is not None else []))

    def flip_unit(self, theta, m: int) -> tuple:
        """The sign flip of unit ``m`` (see the module docstring)."""
        s, l = self.activation.reflection
        t = list(theta)
        c = t[self._ic(m)] if self.output_weights else 1
        for i in range(self.n):
            t[self._ia(i)] = t[self._ia(i)] - s * l * c * t[self._iw(i, m)]
            t[self._iw(i, m)] = -t[self._iw(i, m)]
        t[self._ib(m)] = -t[self._ib(m)]
        if self.output_weights:
            t[self._ic(m)] = s * t[self._ic(m)]
        return tuple(t)

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

    def leading_orders(self, base) -> dict:
        r"""``{k: n_k}``: :math:`J_A` (:math:`|A| = k`) starts at :math:`\varepsilon^{n_k}` under :math:`w \to \varepsilon w`.

        :math:`n_k` is the first :math:`n \in \{k, k+2, \ldots\}` with :math:`\sigma^{(n)}(b_\mu) \ne 0` for some
        unit (``None``: identically zero, e.g. odd :math:`k` for an even :math:`\sigma` at :math:`b = 0`)."""
        b = [Fraction(q) for q in base[self.n : self.n + self.M]]
        out = {}
        for k in range(1, self.n + 1):
            out[k] = next((m for m in range(k, k + 2 * LEADING_ORDER_LOOKAHEAD + 1, 2)
                           if any(self._derivative_nonzero(m, x) for x in b)), None)
        return out

    def _derivative_nonzero(self, order: int, b: Fraction) -> bool:
        act = self.activation
        if b == 0:
            if act.parity is not None and (order % 2 == 0) == (act.parity == -1):
                return False
            return act.at_zero(order) != 0
        expr = act.derivative_expr(order)
        if expr == 0:
            return False
        with mpmath.workdps(40):
            value = sp.N(expr.subs(activations.X, sp.Rational(b.numerator, b.denominator)), 40)
        return abs(value) > sp.Float("1e-30")

    def h1_law(self, base):
        """Slopes from :meth:`leading_orders`: :math:`\\|J_k\\| \\sim \\varepsilon^{n_k}` (:math:`k \\ge 2`), the weight
        part of :math:`G_k` :math:`\\sim\\varepsilon^{n_k - 1}` (:math:`G_1` is :math:`\\Theta(1)` through the fields),
        :math:`K_{kl} \\sim \\varepsilon^{g_k + g_l}`; generic biases give :math:`n_k = k`."""
        lead = self.leading_orders(base)
        g = {k: (None if v is None else v - 1) for k, v in lead.items()}
        G = {k: (0 if k == 1 else g[k]) for k in lead}
        K = {}
        for k in lead:
            for l in range(k, self.n + 1):
                K[(k, l)] = 0 if k == l == 1 else (None if g[k] is None or g[l] is None else g[k] + g[l])
        return {"J": {k: lead[k] for k in range(2, self.n + 1)}, "G": G, "K": K}

    def special_points(self):
        """``paramagnetic`` (:math:`w = 0`, fields matched: a fixed point for every activation) and, where
        :math:`\\sigma'(0) = 0`, ``dead-unit`` (one unit with :math:`w_{\\cdot\\mu} = 0, b_\\mu = 0` added to a fit)."""
        return ("paramagnetic", "dead-unit") if self.activation.at_zero(1) == 0 else ("paramagnetic",)

    def paramagnetic_point(self, fields, biases=None, output=None) -> tuple:
        """:math:`a = ` ``fields``, :math:`b = ` ``biases`` (0), :math:`w = 0`, :math:`c = ` ``output`` (1)."""
        b = [Fraction(0)] * self.M if biases is None else [Fraction(x) for x in biases]
        theta = list(fields) + b + [Fraction(0)] * (self.n * self.M)
        if self.output_weights:
            theta += [Fraction(1)] * self.M if output is None else [Fraction(x) for x in output]
        return tuple(theta)

    def paramagnetic_zeros(self) -> list[int]:
        """Indices of the parameters that vanish at every paramagnetic point with :math:`b = 0` (biases, weights)."""
        return [self._ib(m) for m in range(self.M)] + [self._iw(i, m) for i in range(self.n) for m in range(self.M)]

    def paramagnetic_spectrum(self, theta, m_fields, pair_eigenvalues) -> tuple | None:
        r"""Spectrum of :math:`H` at :meth:`paramagnetic_point` with :math:`b = 0` (mpmath numbers), where it decouples.

        With the data's means :math:`m_i` (``m_fields``) and the eigenvalues of :math:`\hat C` (``pair_eigenvalues``,
        the connected pair correlations with zero diagonal): if :math:`\sigma'(0) = 0`,
        :math:`\{-(1-m_i^2)\}_i \cup \{0\}^{M}\,(\cup \{0\}^M \text{ for } c) \cup \bigcup_\mu c_\mu\sigma''(0)\operatorname{spec}\hat C`;
        if :math:`\sigma''(0) = 0`, :math:`\{-(1-m_i^2)(1+\sigma'(0)^2\sum_\mu c_\mu^2)\}_i \cup \{0\}^{P-N}`;
        otherwise ``None`` (no closed form declared)."""
        if any(theta[self._ib(m)] != 0 for m in range(self.M)):
            return None
        d1, d2 = self.activation.at_zero(1), self.activation.at_zero(2)
        c = [Fraction(theta[self._ic(m)]) if self.output_weights else Fraction(1) for m in range(self.M)]
        mp = [_mp(q) for q in c]
        fields = [-(1 - m * m) for m in m_fields]
        if d1 == 0:
            zeros = [mpmath.mpf(0)] * (2 * self.M if self.output_weights else self.M)
            return tuple(fields + zeros + [mp[m] * _mp(d2) * e for e in pair_eigenvalues for m in range(self.M)])
        if d2 == 0:
            weight = 1 + _mp(d1**2) * sum(cm * cm for cm in mp)
            return tuple([f * weight for f in fields] + [mpmath.mpf(0)] * (self.P - self.n))
        return None

    def paramagnetic_statement(self) -> str | None:
        """The S2 prediction at the paramagnetic point in LaTeX (documents), where it decouples."""
        if self.activation.at_zero(1) == 0:
            return (r"$\operatorname{spec} H = \{-(1-(m^D_i)^2)\}_i \cup \{0\}^{" + ("2M" if self.output_weights else "M")
                    + r"} \cup \bigcup_\mu c_\mu\sigma''(0)\operatorname{spec}(\hat C)$, "
                    r"$\hat C_{ij} = m^D_{ij} - m^D_i m^D_j$ ($i \ne j$), $\hat C_{ii} = 0$: "
                    r"a strict saddle whenever a connected pair correlation is nonzero")
        return None

    def dead_unit_point(self, theta_smaller) -> tuple:
        """A fixed point ``theta_smaller`` of the model with ``M - 1`` units, with unit ``M`` added dead
        (:math:`w_{\\cdot M} = 0`, :math:`b_M = 0`, :math:`c_M = 1`)."""
        smaller = self.with_hidden(self.M - 1)
        a, b, w = smaller.split(np.array(theta_smaller, dtype=object))
        w_big = np.concatenate([w, np.array([[Fraction(0)]] * self.n, dtype=object)], axis=1)
        theta = tuple(a) + tuple(b) + (Fraction(0),) + tuple(w_big.reshape(-1))
        if self.output_weights:
            theta += tuple(smaller.output(np.array(theta_smaller, dtype=object))) + (Fraction(1),)
        return theta

    def dead_unit_spectrum(self, pair_residual_eigenvalues) -> tuple:
        r"""Eigenvalues the dead unit adds to :math:`\operatorname{spec} H` (:math:`\sigma'(0) = 0`, :math:`c_M = 1`):
        :math:`\{0\}` (:math:`b_M`; and :math:`c_M`) :math:`\cup\ \sigma''(0)\operatorname{spec}R`, :math:`R_{ij} = r_{ij}`,
        :math:`R_{ii} = 0`, the pair residual of the smaller fit."""
        curvature = _mp(self.activation.at_zero(2))
        zeros = [mpmath.mpf(0)] * (2 if self.output_weights else 1)
        return tuple(zeros + [curvature * e for e in pair_residual_eigenvalues])

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


def _mp(value):
    """An exact number (Fraction or sympy) as an mpf at the working precision."""
    q = sp.nsimplify(value) if not isinstance(value, Fraction) else sp.Rational(value.numerator, value.denominator)
    if q.is_Rational:
        return mpmath.mpf(int(q.p)) / int(q.q)
    return mpmath.mpf(sp.N(q, mpmath.mp.dps + 10))


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
        return self.activation.closed_form_max_n

    @classmethod
    def closed_form_limit(cls, spec):
        name = spec.get("activation", "tanh")
        known = isinstance(name, str) and name in activations.ACTIVATIONS
        return activations.ACTIVATIONS[name].closed_form_max_n if known else min(
            a.closed_form_max_n for a in activations.ACTIVATIONS.values())

    @property
    def simplifies_exactly(self) -> bool:
        """Not for rational functions of exponentials (softplus, silu: sympy's expansions take minutes)."""
        return not self.activation.exponential

    def spec(self):
        return {"family": "mlp", "n": self.n, "hidden": self.M, "activation": self.activation.name}

