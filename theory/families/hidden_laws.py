r"""The small-weight law, the special points and the symmetries of the one-hidden-layer families (THEORY.md H1, S2).

A mixin of :class:`~theory.families.hidden_layer.HiddenLayer`: everything here follows from the
activation's derivatives at the biases, :math:`\sigma^{(k)}(b_\mu)`, and its values at 0.

**Leading orders (THEORY.md H1).** Since :math:`2^{-N}\sum_s\chi_A(s)(w\cdot s)^n` vanishes for
:math:`n < |A|` and for :math:`n \not\equiv |A| \pmod 2`, and equals :math:`|A|!\prod_{i\in A}w_i` at
:math:`n = |A|`, Taylor expansion of :math:`\sigma(b_\mu + w_\mu\cdot s)` gives, for :math:`|A| = k \ge 2`,
:math:`J_A = \sum_\mu c_\mu\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + O(\|w\|^{k+2})`; where
:math:`\sigma^{(k)}(b_\mu) = 0` for every unit the coupling starts two orders later.

**Paramagnetic point** (:math:`w = 0`, fields matched, :math:`p_\theta` a product measure): a fixed point for
every activation; with :math:`b = 0` its spectrum decouples when :math:`\sigma'(0) = 0` or :math:`\sigma''(0) = 0`.
**Dead unit** (:math:`w_{\cdot\mu} = 0`, :math:`b_\mu = 0` added to a fit with one unit fewer): its block decouples
when :math:`\sigma'(0) = 0`.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from ..lazy_sympy import sp
from .. import activations
from .base import ConstructedPoint, Symmetry

__all__ = ["HiddenLayerLaws", "LEADING_ORDER_LOOKAHEAD", "MPF_GUARD_DIGITS", "DERIVATIVE_TEST_DPS", "DERIVATIVE_ZERO"]

#: how many orders beyond |A| the leading-order search looks before calling a coupling identically zero
LEADING_ORDER_LOOKAHEAD = 4

# Precision of this module (theory/ does not import verify.numeric, where the suite's policy lives):
#: guard digits when an exact irrational (a sympy number such as sigma''(0)) becomes an mpf at the working precision
MPF_GUARD_DIGITS = 10
#: digits at which sigma^(k)(b) is evaluated to decide whether it vanishes at a rational bias b != 0
DERIVATIVE_TEST_DPS = 40
#: |sigma^(k)(b)| below this (at DERIVATIVE_TEST_DPS digits) counts as a root: ten digits of margin
DERIVATIVE_ZERO = Fraction(1, 10**30)


def _mp(value):
    """An exact number (Fraction or sympy) as an mpf at the working precision."""
    q = sp.nsimplify(value) if not isinstance(value, Fraction) else sp.Rational(value.numerator, value.denominator)
    if q.is_Rational:
        return mpmath.mpf(int(q.p)) / int(q.q)
    return mpmath.mpf(sp.N(q, mpmath.mp.dps + MPF_GUARD_DIGITS))


class HiddenLayerLaws:
    """H1's law and S2's special points of a hidden-layer family (mixed into ``HiddenLayer``)."""

    def units(self, theta) -> list[tuple]:
        r"""Per hidden unit :math:`(c_\mu, b_\mu, (w_{1\mu},\dots,w_{N\mu}))` at ``theta`` (numbers or symbols;
        :math:`c_\mu = 1` without output weights): :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\sigma(b_\mu + w_\mu\cdot s)`."""
        theta = np.asarray(theta, dtype=object)
        _, b, w = self.split(theta)
        c = self.output(theta)
        return [(1 if c is None else c[m], b[m], tuple(w[:, m])) for m in range(self.M)]

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
        with mpmath.workdps(DERIVATIVE_TEST_DPS):
            value = sp.N(expr.subs(activations.X, sp.Rational(b.numerator, b.denominator)), DERIVATIVE_TEST_DPS)
        return abs(value) > DERIVATIVE_ZERO

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

    def special_point_constructors(self):
        """``paramagnetic`` (:math:`w = 0`, fields matched: a fixed point for every activation;
        :meth:`construct_paramagnetic`) and, where :math:`\\sigma'(0) = 0`, ``dead-unit`` (one unit with
        :math:`w_{\\cdot\\mu} = 0, b_\\mu = 0` added to a fit; :meth:`construct_dead_unit`)."""
        out = {"paramagnetic": self.construct_paramagnetic}
        if self.activation.at_zero(1) == 0:
            out["dead-unit"] = self.construct_dead_unit
        return out

    def construct_paramagnetic(self, tools, biases=None, output=None) -> ConstructedPoint:
        r"""The paramagnetic point for the tools' target: :math:`a_i = \operatorname{artanh} m^D_i`, :math:`w = 0`
        (:meth:`paramagnetic_point`). There :math:`p_\theta` is the product measure with
        :math:`m_A = \prod_{i\in A} m^D_i`, so every residual of order 1 vanishes, and the predicted eigenvalues are
        :meth:`paramagnetic_spectrum` with :math:`\hat C` the data's pair moments against that product measure."""
        n = self.n
        with tools.working():
            m_data = tools.data_moments()
            fields = tools.exact([mpmath.atanh(m_data[i]) for i in range(n)])
            theta = self.paramagnetic_point(fields, biases, output)
            independent = np.array([mpmath.mpf(1)] + [mpmath.mpf(0)] * (2**n - 1), dtype=object)
            for mask in range(1, 2**n):
                prod = mpmath.mpf(1)
                for i in range(n):
                    if mask >> i & 1:
                        prod *= m_data[i]
                independent[mask] = prod
            predicted = self.paramagnetic_spectrum(theta, [m_data[i] for i in range(n)],
                                                   tools.pair_eigenvalues(independent)) or ()
        return ConstructedPoint(tuple(theta), predicted, f"{self.family} paramagnetic point (w = 0, fields matched)",
                                free=tuple(range(n)), matched=tuple(range(n)))

    def construct_dead_unit(self, tools, seed: int = 1) -> ConstructedPoint | None:
        r"""A fixed point of the model with ``M - 1`` units (a seeded flow, ``tools.fixed_point``) with unit ``M``
        added dead (:meth:`dead_unit_point`); predicted: :meth:`dead_unit_spectrum` with :math:`R` the pair residual
        of the smaller fit. ``None`` when the smaller model's flow reaches no fixed point."""
        small = self.with_hidden(self.M - 1)
        found = tools.fixed_point(small, seed)
        if found is None:
            return None
        theta = self.dead_unit_point(found)
        with tools.working():
            predicted = self.dead_unit_spectrum(tools.pair_eigenvalues(tools.model_moments_by_mask(small, found)))
        return ConstructedPoint(theta, predicted,
                                f"{self.family} n={self.n} M={self.M} with a dead hidden unit (others fitted)")

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

    # --- symmetries ---------------------------------------------------------------------------------------
    def symmetries(self):
        r"""The symmetries of :math:`F = \sum_i a_is_i + \sum_\mu c_\mu\sigma(b_\mu + w_\mu\cdot s)` that this
        declaration knows (each leaves :math:`F_\theta(s)` unchanged up to a constant, hence every :math:`J_A`,
        :math:`A \ne \emptyset`):

        * **hidden-unit permutations** (:math:`M \ge 2`): :math:`F` is a sum over units, so relabelling
          :math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to (b_{\pi(\mu)}, w_{\cdot\pi(\mu)}, c_{\pi(\mu)})` by any
          :math:`\pi \in S_M` leaves it unchanged (a discrete group of order :math:`M!`);
        * **sign flip of a unit**, where :math:`\sigma(-x) = s\,\sigma(x) + l\,x` (``activation.reflection``):
          :math:`c\,\sigma(b + w\cdot s) = s\,c\,\sigma(-b - w\cdot s) - l\,c\,(b + w\cdot s)`, so
          :math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to (-b_\mu, -w_{\cdot\mu}, s\,c_\mu)` with the fields shifted
          :math:`a_i \to a_i - s\,l\,c_\mu w_{i\mu}` (the constant :math:`-l c_\mu b_\mu` drops out of every
          :math:`J_A`; :math:`s\,l = l`, since :math:`s = -1` forces :math:`l = 0`); without output weights
          (:math:`c_\mu = 1`) only for :math:`s = 1` (``rbm``: :math:`\log 2\cosh` is even, and the Bernoulli
          units' softplus has :math:`\log(1+e^{-x}) = \log(1+e^x) - x`);
        * **rescaling of a unit**, for a homogeneous :math:`\sigma(\lambda x) = \lambda^p\sigma(x)`
          (:math:`\lambda > 0`) with output weights: :math:`(b_\mu, w_{\cdot\mu}, c_\mu) \to
          (\lambda b_\mu, \lambda w_{\cdot\mu}, \lambda^{-p}c_\mu)`, a one-dimensional orbit per unit with tangent
          :math:`(b_\mu, w_{\cdot\mu}, -p\,c_\mu)` (:meth:`rescaling_tangents`).
        """
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
        p = self.activation.homogeneity
        if p is not None and self.output_weights:
            out.append(Symmetry("rescaling of a hidden unit",
                                r"(b_\mu, w_{\cdot\mu}, c_\mu) \to (\lambda b_\mu, \lambda w_{\cdot\mu}, \lambda^{-p} c_\mu)",
                                self.rescale_unit, (0, Fraction(3, 2)), continuous=True, tangents=self.rescaling_tangents))
        return tuple(out)

    def rescale_unit(self, theta, element) -> tuple:
        r"""``element = (m, λ)``: unit ``m``'s :math:`(b, w, c) \to (\lambda b, \lambda w, \lambda^{-p}c)` (homogeneous σ)."""
        m, lam = element
        t = list(theta)
        for k in [self._ib(m)] + [self._iw(i, m) for i in range(self.n)]:
            t[k] = t[k] * lam
        t[self._ic(m)] = t[self._ic(m)] / lam ** self.activation.homogeneity
        return tuple(t)

    def rescaling_tangents(self, theta) -> list[tuple]:
        r"""The generators :math:`(b_\mu, w_{\cdot\mu}, -p\,c_\mu)` on unit :math:`\mu`'s coordinates, one per unit."""
        zero = theta[0] * 0
        out = []
        for m in range(self.M):
            t = [zero] * self.P
            for k in [self._ib(m)] + [self._iw(i, m) for i in range(self.n)]:
                t[k] = theta[k]
            t[self._ic(m)] = -self.activation.homogeneity * theta[self._ic(m)]
            out.append(tuple(t))
        return out

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
