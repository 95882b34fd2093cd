r"""Hidden-unit functions with their first two derivatives, numeric and symbolic.

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

(:math:`\sigma(x) = 1/(1+e^{-x})`.) ``logcosh`` and ``softplus`` are the RBM's :math:`\varphi`.
"""

from __future__ import annotations

import sympy as sp

from .arith import Arith

__all__ = ["MLP_ACTIVATIONS", "value", "first", "second", "symbolic"]

MLP_ACTIVATIONS = ("tanh", "softplus", "silu", "quadratic", "cubic")


def value(name: str, x, arith: Arith):
    """:math:`u(x)` elementwise."""
    if name == "logcosh":
        return arith.log2cosh(x)
    if name == "softplus":
        return arith.softplus(x)
    if name == "tanh":
        return arith.tanh(x)
    if name == "silu":
        return x * arith.sigmoid(x)
    if name == "quadratic":
        return x * x
    if name == "cubic":
        return x * x * x
    raise ValueError(f"unknown activation {name!r}")


def first(name: str, x, arith: Arith):
    """:math:`u'(x)` elementwise."""
    if name == "logcosh":
        return arith.tanh(x)
    if name == "softplus":
        return arith.sigmoid(x)
    if name == "tanh":
        t = arith.tanh(x)
        return 1 - t * t
    if name == "silu":
        g = arith.sigmoid(x)
        return g + x * g * (1 - g)
    if name == "quadratic":
        return 2 * x
    if name == "cubic":
        return 3 * x * x
    raise ValueError(f"unknown activation {name!r}")


def second(name: str, x, arith: Arith):
    """:math:`u''(x)` elementwise."""
    if name == "logcosh":
        t = arith.tanh(x)
        return 1 - t * t
    if name == "softplus":
        g = arith.sigmoid(x)
        return g * (1 - g)
    if name == "tanh":
        t = arith.tanh(x)
        return -2 * t * (1 - t * t)
    if name == "silu":
        g = arith.sigmoid(x)
        return g * (1 - g) * (2 + x * (1 - 2 * g))
    if name == "quadratic":
        return 0 * x + 2
    if name == "cubic":
        return 6 * x
    raise ValueError(f"unknown activation {name!r}")


def symbolic(name: str, x: sp.Expr) -> sp.Expr:
    """:math:`u(x)` as a sympy expression (the defining formula)."""
    table = {
        "logcosh": lambda t: sp.log(2 * sp.cosh(t)),
        "softplus": lambda t: sp.log(1 + sp.exp(t)),
        "tanh": sp.tanh,
        "silu": lambda t: t / (1 + sp.exp(-t)),
        "quadratic": lambda t: t**2,
        "cubic": lambda t: t**3,
    }
    if name not in table:
        raise ValueError(f"unknown activation {name!r}")
    return table[name](x)
