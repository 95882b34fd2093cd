r"""Hidden-unit functions as objects: the defining formula, every derivative, parity and values at 0.

==========  =================================  =================================  ===========================================
name        :math:`u(x)`                        :math:`u'(x)`                       :math:`u''(x)`
==========  =================================  =================================  ===========================================
logcosh     :math:`\log 2\cosh x`              :math:`\tanh x`                     :math:`1-\tanh^2 x`
softplus    :math:`\log(1+e^x)`                :math:`\sigma(x)`                   :math:`\sigma(1-\sigma)`
tanh        :math:`\tanh x`                    :math:`1-\tanh^2 x`                 :math:`-2\tanh x\,(1-\tanh^2 x)`
silu        :math:`x\sigma(x)`                 :math:`\sigma + x\sigma(1-\sigma)`  :math:`\sigma(1-\sigma)(2 + x(1-2\sigma))`
quadratic   :math:`x^2`                        :math:`2x`                          :math:`2`
cubic       :math:`x^3`                        :math:`3x^2`                        :math:`6x`
==========  =================================  =================================  ===========================================

(:math:`\sigma(x) = 1/(1+e^{-x})`.) ``logcosh`` and ``softplus`` are the RBM's :math:`\varphi` for spin and
Bernoulli hidden units. The first two derivatives are hand-written for every number system of
:mod:`theory.arith` (they carry the flow and its Jacobian); higher ones are derived by sympy from the
defining formula and compiled once per number system.

Every name maps to one :class:`Activation` in :data:`ACTIVATIONS`; nothing else in the suite switches on
an activation's name. :func:`register` adds one (a test registers ``sin``).

>>> ACTIVATIONS["tanh"].at_zero(3), ACTIVATIONS["tanh"].parity
(-2, -1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from .lazy_sympy import sp
from .arith import Arith
from .errors import SpecError

__all__ = ["Activation", "ACTIVATIONS", "register", "get", "variable"]


def variable():
    """The real variable :math:`x` of the activation formulas (the module attribute ``X``)."""
    return sp.Symbol("x", real=True)  # sympy caches symbols: the same object every time


def __getattr__(name: str):
    if name == "X":  # built on first use, so importing this module does not import sympy
        return variable()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, eq=False)
class Activation:
    r"""One hidden-unit function :math:`u`.

    ``formula(x)`` is the sympy definition; ``numeric`` the hand-written ``(u, u', u'')`` on arrays of any
    number system (``f(x, arith)``); ``reflection = (s, l)`` states :math:`u(-x) = s\,u(x) + l\,x` where
    such an identity holds (its :attr:`parity` is ``s`` when ``l = 0``); ``homogeneity = p`` states
    :math:`u(\lambda x) = \lambda^p u(x)` for :math:`\lambda > 0`; ``exponential`` marks a rational function of :math:`e^x` (sympy's exact simplification of
    its Walsh sums is slow: the identities of its closed forms are decided numerically,
    :attr:`~theory.families.base.Model.simplifies_exactly`; the closed forms themselves are built from the per-unit
    Walsh tables like any other activation's, softplus and silu ``mlp`` N = 6, M = 2 in about 10 s).
    ``closed_form_max_n`` caps the N of the closed forms of a network with this activation (``None``: the
    hidden-layer families' limit, :attr:`theory.families.hidden_layer.HiddenLayer.closed_form_max_n`).
    """

    name: str
    latex: str  # u(x) in LaTeX with x as the argument
    formula: Callable[[sp.Expr], sp.Expr]
    numeric: tuple  # (u, u', u'') as f(x, arith)
    reflection: tuple | None = None  # (s, l) with u(-x) = s·u(x) + l·x, when such an identity holds
    exponential: bool = False
    closed_form_max_n: int | None = None  # a cap on N of the closed forms (None: the family's limit)
    normal_form: Callable[[sp.Expr], sp.Expr] | None = None  # an identity rewriting u's values for sympy
    homogeneity: int | None = None  # p with u(lambda x) = lambda^p u(x) for every lambda > 0, where it holds
    float64: tuple | None = None  # ((x -> (u, u')), (x -> u'')) on float64 arrays, accurate in the tails
    doc: str = field(default="", compare=False)

    def symbolic(self, x: sp.Expr) -> sp.Expr:
        r""":math:`u(x)` as a sympy expression (the defining formula)."""
        return self.formula(x)

    @property
    def parity(self) -> int | None:
        """``+1`` (even), ``-1`` (odd) or ``None``."""
        if self.reflection is None or self.reflection[1] != 0:
            return None
        return self.reflection[0]

    @property
    def polynomial(self) -> bool:
        """Whether :math:`u` is a polynomial (then every closed form expands exactly)."""
        return bool(self.formula(variable()).is_polynomial(variable()))

    def derivative_expr(self, k: int) -> sp.Expr:
        r""":math:`u^{(k)}(x)` in the variable :data:`X`, derived from the formula."""
        return _derivative_expr(self, k)

    def at_zero(self, k: int) -> sp.Expr:
        r""":math:`u^{(k)}(0)`, exact."""
        return sp.nsimplify(sp.simplify(self.derivative_expr(k).subs(variable(), 0)))

    def derivative(self, k: int, x, arith: Arith):
        r""":math:`u^{(k)}(x)` elementwise in the number system ``arith`` (any :math:`k \ge 0`)."""
        if k < len(self.numeric):
            return self.numeric[k](x, arith)
        return _compiled(self, k, arith)(x)

    def value(self, x, arith: Arith):
        """:math:`u(x)` elementwise."""
        return self.numeric[0](x, arith)

    def first(self, x, arith: Arith):
        """:math:`u'(x)` elementwise."""
        return self.numeric[1](x, arith)

    def second(self, x, arith: Arith):
        """:math:`u''(x)` elementwise."""
        return self.numeric[2](x, arith)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


@lru_cache(maxsize=None)
def _derivative_expr(act: Activation, k: int) -> sp.Expr:
    return sp.diff(act.formula(variable()), variable(), k) if k else act.formula(variable())


@lru_cache(maxsize=None)
def _compiled(act: Activation, k: int, arith: Arith):
    """``x -> u^{(k)}(x)`` on arrays of ``arith`` numbers, lambdified once (common subexpressions shared)."""
    from .expression import lambdified

    expr = _derivative_expr(act, k)
    if arith.is_exact:
        return np.frompyfunc(lambda v: sp.simplify(expr.subs(variable(), v)), 1, 1)
    f = lambdified((expr,), (variable(),), arith)

    def apply(x):
        out = arith.zeros(np.shape(x))
        out[...] = f(x)[0]  # broadcasts a constant derivative
        return out

    return apply


ACTIVATIONS: dict[str, Activation] = {}


def register(act: Activation) -> Activation:
    """Add ``act`` to :data:`ACTIVATIONS` (names are unique)."""
    if act.name in ACTIVATIONS and ACTIVATIONS[act.name] is not act:
        raise ValueError(f"activation {act.name!r} registered twice")
    ACTIVATIONS[act.name] = act
    return act


def get(name) -> Activation:
    """The activation called ``name``, or a one-line error listing the known ones."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise SpecError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# --- the built-in activations ------------------------------------------------------------------------------


def expit(x):
    r""":math:`1/(1+e^{-x}) = \exp(-\log(1+e^{-x}))` on float64 arrays, relatively accurate in both tails."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))


def _sech2(x):
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


def _dsig(x):
    return expit(x) * expit(-x)


def _logcosh(x):
    a = np.abs(x)
    em = -np.expm1(-2.0 * a)  # 1 - e^{-2|x|}, accurate for small |x|
    e = 1.0 - em
    return a + np.log1p(e), np.copysign(em / (1.0 + e), x)


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))), expit(x)


#: the activations' float64 forms ``((u, u'), u'')`` at float64 without cancellation or overflow: :math:`\log 2\cosh x = |x| + \log(1 + e^{-2|x|})`,
#: :math:`\log(1+e^x) = \max(x, 0) + \log(1 + e^{-|x|})` (np.logaddexp's forms), :math:`\mathrm{sech}^2x =
#: 4e^{-2|x|}/(1+e^{-2|x|})^2`, :math:`\sigma(1-\sigma) = \sigma(x)\sigma(-x)`, :math:`1 - 2\sigma(x) = -\tanh(x/2)`


def _one_minus_square(t):
    return 1 - t * t


register(Activation(
    "tanh", r"\tanh x", lambda t: sp.tanh(t),
    (lambda x, a: a.tanh(x),
     lambda x, a: _one_minus_square(a.tanh(x)),
     lambda x, a: -2 * a.tanh(x) * _one_minus_square(a.tanh(x))),
    reflection=(-1, 0),
    float64=(lambda x: (np.tanh(x), _sech2(x)), lambda x: -2.0 * np.tanh(x) * _sech2(x)),
))


def _silu_first(x, a):
    g = a.sigmoid(x)
    return g + x * g * (1 - g)


def _silu_second(x, a):
    g = a.sigmoid(x)
    return g * (1 - g) * (2 + x * (1 - 2 * g))


def _softplus_in_cosh(expr: sp.Expr) -> sp.Expr:
    r""":math:`\log(1+e^u) = u/2 + \log 2 + \log\cosh(u/2)`, so that sympy sees the even part."""
    u = sp.Wild("u")
    return expr.replace(sp.log(1 + sp.exp(u)), u / 2 + sp.log(2) + sp.log(sp.cosh(u / 2)))


register(Activation(
    "softplus", r"\log(1+e^{x})", lambda t: sp.log(1 + sp.exp(t)),
    (lambda x, a: a.softplus(x), lambda x, a: a.sigmoid(x), lambda x, a: a.sigmoid(x) * (1 - a.sigmoid(x))),
    reflection=(1, -1), exponential=True, normal_form=_softplus_in_cosh,
    float64=(_softplus, _dsig),
))
register(Activation(
    "silu", r"x/(1+e^{-x})", lambda t: t / (1 + sp.exp(-t)),
    (lambda x, a: x * a.sigmoid(x), _silu_first, _silu_second),
    reflection=(1, -1), exponential=True,
    float64=(lambda x: (x * expit(x), expit(x) * (1.0 + x * expit(-x))), lambda x: _dsig(x) * (2.0 - x * np.tanh(0.5 * x))),
))
register(Activation(
    "quadratic", r"x^{2}", lambda t: t**2,
    (lambda x, a: x * x, lambda x, a: 2 * x, lambda x, a: 0 * x + 2),
    reflection=(1, 0), homogeneity=2,
    float64=(lambda x: (x * x, 2.0 * x), lambda x: np.full_like(x, 2.0)),
))
register(Activation(
    "cubic", r"x^{3}", lambda t: t**3,
    (lambda x, a: x * x * x, lambda x, a: 3 * x * x, lambda x, a: 6 * x),
    reflection=(-1, 0), homogeneity=3,
    float64=(lambda x: (x**3, 3.0 * x * x), lambda x: 6.0 * x),
))
register(Activation(
    "logcosh", r"\log 2\cosh x", lambda t: sp.log(2 * sp.cosh(t)),
    (lambda x, a: a.log2cosh(x), lambda x, a: a.tanh(x), lambda x, a: _one_minus_square(a.tanh(x))),
    reflection=(1, 0), normal_form=lambda e: sp.expand_log(e, force=True),
    float64=(_logcosh, _sech2),
))
