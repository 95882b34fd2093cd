r"""H1 — order scaling near small weights, measured at a precision chosen to resolve it.

With :math:`w = \varepsilon\tilde w` and generic biases, the effective couplings of an ``rbm`` or
``mlp`` expand as :math:`J_A = \sum_\mu u^{(|A|)}(b_\mu)\,\varepsilon^{|A|}\prod_{i\in A}\tilde w_{i\mu}/\ldots + O(\varepsilon^{|A|+2})`,
since :math:`\chi_A` picks the :math:`|A|`-th Taylor coefficient of the hidden unit's function of
:math:`\varepsilon\tilde w\cdot s`. Hence, per order :math:`k`:

* :math:`\|J_k\| = \Theta(\varepsilon^k)` for :math:`k \ge 2`;
* the rows of :math:`G` of order :math:`k` are :math:`\Theta(\varepsilon^{k-1})` (the derivative along :math:`w`);
* the kernel blocks :math:`K_{kl} = G_k G_l^\top` are :math:`O(\varepsilon^{k+l-2})`.

When the hidden function is even (``log 2cosh``) and :math:`b = 0`, every odd Taylor coefficient
vanishes and the hidden units give no odd-order couplings at all. For ``product`` under the same
rescaling of all parameters, :math:`J_A = u_A v_A = \Theta(\varepsilon^2)` for every order: no hierarchy.

:func:`order_norms` measures the per-order norms at one :math:`\varepsilon`; :func:`scaling_fit`
sweeps :math:`\varepsilon` over decades at ``dps = N·decades + 30`` digits (the order-``N`` coupling at
:math:`\varepsilon = 10^{-8}` is about :math:`10^{-8N}`) and fits log–log slopes on the asymptotic decades.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.conventions import orders
from theory.effective import jacobian
from theory.flow import induced_kernel
from theory.walsh import spin_couplings

from .linalg import norm
from .numeric import noise_floor, working_precision

__all__ = ["scaled_point", "order_norms", "ScalingFit", "scaling_fit", "predicted_slopes", "fit_slope"]

EPSILONS = tuple(Fraction(1, 10**k) for k in range(1, 9))  # 1e-1 ... 1e-8


def scaled_point(model, base: tuple[Fraction, ...], eps: Fraction, scale_all: bool = False) -> tuple[Fraction, ...]:
    """The family's small-weight rescaling of ``base`` by ``eps``
    (:meth:`~theory.families.base.Model.small_weight_scaled`; every parameter when ``scale_all``)."""
    if scale_all:
        return tuple(eps * q for q in base)
    return model.small_weight_scaled(base, eps)


def order_norms(model, theta_exact) -> dict:
    r"""Per-order :math:`\|J_k\|`, :math:`\|G_k\|_F` and :math:`\|K_{kl}\|_F` at the working precision."""
    theta = MP.array(theta_exact)
    J = spin_couplings(model.energy(theta, MP), model.n)
    G = jacobian(model, theta, MP)
    K = induced_kernel(G)
    ords = orders(model.n)
    out = {"J": {}, "G": {}, "K": {}}
    for k in range(1, model.n + 1):
        sel = ords == k
        out["J"][k] = norm(J[sel])
        out["G"][k] = norm(G[sel])
        for l in range(k, model.n + 1):
            out["K"][(k, l)] = norm(K[np.ix_(sel, ords == l)])
    return out


def fit_slope(xs, ys) -> float:
    """Least-squares slope of ``log10 y`` against ``log10 x``."""
    lx = np.array([float(mpmath.log10(x)) for x in xs])
    ly = np.array([float(mpmath.log10(y)) for y in ys])
    return float(np.polyfit(lx, ly, 1)[0])


def predicted_slopes(model, base, scale_all: bool = False) -> dict:
    """The slopes the family's H1 law predicts (:meth:`~theory.families.base.Model.h1_law`); none for a rescaling
    of every parameter unless that is the family's own rescaling (``product``)."""
    law = model.h1_law(base) if (not scale_all or model.rescales_every_parameter) else None
    return law or {"J": {}, "G": {}, "K": {}}


@dataclass(frozen=True)
class ScalingFit:
    """Fitted and predicted slopes, the norms at every epsilon, and the precision used."""

    epsilons: tuple
    norms: list  # one order_norms dict per epsilon
    slopes: dict
    predicted: dict
    dps: int
    fit_decades: int

    def worst_deviation(self) -> float:
        devs = [abs(self.slopes[q][key] - v) for q, table in self.predicted.items() for key, v in table.items()
                if v is not None and self.slopes[q].get(key) is not None]
        return max(devs, default=0.0)

    def to_json(self) -> dict:
        def keyname(key):
            return f"{key[0]},{key[1]}" if isinstance(key, tuple) else str(key)

        return {
            "dps": self.dps,
            "epsilons": [f"{float(e):.0e}" for e in self.epsilons],
            "fit_on_smallest": self.fit_decades,
            "slopes": {q: {keyname(k): (None if v is None else round(v, 4)) for k, v in t.items()} for q, t in self.slopes.items()},
            "predicted": {q: {keyname(k): v for k, v in t.items()} for q, t in self.predicted.items()},
            "worst_deviation": round(self.worst_deviation(), 5),
        }


def precision_for(n: int, epsilons) -> int:
    """Digits that resolve :math:`\\varepsilon_{\\min}^{2N}` (the smallest kernel block) with 30 to spare."""
    smallest = min(epsilons)
    decades = int(mpmath.ceil(-mpmath.log10(mpmath.mpf(smallest.numerator) / smallest.denominator)))
    return 2 * n * decades + 30


def scaling_fit(model, base, epsilons=EPSILONS, fit_decades: int = 5, scale_all: bool = False, dps: int | None = None) -> ScalingFit:
    """Per-order norms over ``epsilons``; slopes fitted on the ``fit_decades`` smallest."""
    digits = dps or precision_for(model.n, epsilons)
    norms = []
    with working_precision(digits):
        for eps in epsilons:
            norms.append(order_norms(model, scaled_point(model, base, eps, scale_all)))
        tail = slice(len(epsilons) - fit_decades, None)
        xs = [mpmath.mpf(e.numerator) / e.denominator for e in epsilons][tail]
        slopes: dict = {"J": {}, "G": {}, "K": {}}
        for q in slopes:
            for key in norms[0][q]:
                ys = [nm[q][key] for nm in norms][tail]
                # a quantity that is zero at working precision has no slope (e.g. odd orders at b = 0)
                slopes[q][key] = None if min(ys) <= noise_floor(digits) else fit_slope(xs, ys)
    predicted = predicted_slopes(model, base, scale_all)
    return ScalingFit(tuple(epsilons), norms, slopes, predicted, digits, fit_decades)
