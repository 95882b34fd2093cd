r"""Symbolic proofs of the identities behind E1, F1 and the formula for :math:`H`, on closed forms.

Each identity is written as ``lhs - rhs`` in terms of

* the closed forms of :mod:`theory.closed_forms` (:math:`F_x`, :math:`J_A`, :math:`G`, :math:`\nabla^2J_A`);
* the moments :math:`m_A` of :math:`p_\theta` and :math:`m^D_A` of the target as free symbols (the
  coordinates in which the closed forms of the flow are written), with the probabilities
  :math:`q_x = p_\theta(x) = 2^{-N}(1 + \sum_A m_A\chi_A(x))` and :math:`p_x = p_D(x)` likewise.

"Directly" means sympy differentiates :math:`\ell(\theta) = \sum_x p_x F_x - \log\sum_x e^{F_x}` itself,
with :math:`e^{F}` kept as an unevaluated function whose only property is :math:`(e^F)' = e^F F'`.

The weight :math:`e^{F_x}` is then replaced by :math:`q_x` (every identity is homogeneous of degree 0
in the weights, so they may be normalised to :math:`Z = 1`).

The decision: the residual, a polynomial in the moments whose coefficients are closed forms in
:math:`\theta`, expands to exactly ``0`` (method ``exact``). Where sympy does not reach 0 the identity
is evaluated at five random rational parameter points and targets at 100 digits, with
:math:`m = m(\theta)` computed there (method ``numeric``); it holds when every residual is below
:math:`10^{-90}`, and fails otherwise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from theory.closed_forms import ClosedForms, tanh_form
from theory.effective import moments
from theory.walsh import energy_from_spin_couplings

from .numeric import GUARD_DIGITS, noise_floor

__all__ = ["IDENTITIES", "IdentityCheck", "prove_identities"]

#: Identity names, in the order they are checked.
IDENTITIES = (
    "E1 Fourier expansion",
    "E1 gradient phases",
    "E1 gradient direct",
    "F1 induced flow",
    "F1 likelihood increase",
    "H formula",
)

NUMERIC_POINTS = 5
NUMERIC_DPS = 100


@dataclass(frozen=True)
class IdentityCheck:
    """The outcome of one identity: ``holds`` is True/False, ``method`` is ``exact`` or ``numeric``."""

    name: str
    statement: str  # LaTeX
    holds: bool
    method: str
    residual: str  # "0" (exact) or the largest numeric residual
    points: int = 0
    dps: int = 0

    def to_json(self) -> dict:
        return {
            "identity": self.name,
            "holds": self.holds,
            "method": self.method,
            "residual": self.residual,
            "points": self.points,
            "dps": self.dps,
        }


class _Weight(sp.Function):
    r"""``_Weight(x, u)`` is :math:`e^{u}` for configuration ``x``, kept unevaluated (never merged with other
    exponentials, and recognised by ``x`` however sympy rewrites ``u``): :math:`\partial e^u = e^u\,\partial u`."""

    nargs = 2

    def fdiff(self, argindex=2):
        return self if argindex == 2 else sp.S.Zero


class _Setting:
    """Symbols and shared expressions of one closed form, in moment coordinates."""

    def __init__(self, cf: ClosedForms):
        self.cf = cf
        self.m, self.mD = list(cf.moments), list(cf.data_moments)
        self.q = _probabilities(cf, self.m)
        self.p = _probabilities(cf, self.mD)
        self.r = cf.residual
        self.dF = sp.Matrix([[tanh_form(sp.diff(v, t)) for t in cf.theta] for v in cf.values])  # 2^N x P

    def log_likelihood(self) -> sp.Expr:
        r""":math:`\ell = \sum_x p_x F_x - \log\sum_x e^{F_x}` with unevaluated weights."""
        cf = self.cf
        return sp.Add(*[p * v for p, v in zip(self.p, cf.values)]) - sp.log(
            sp.Add(*[_Weight(x, v) for x, v in enumerate(cf.values)])
        )

    def direct_gradient(self) -> list:
        r""":math:`\partial\ell/\partial\theta_k` by differentiating :math:`\ell` (weights still unevaluated)."""
        ell = self.log_likelihood()
        return [sp.diff(ell, t) for t in self.cf.theta]

    def weighted(self, expr) -> sp.Expr:
        """Replace each weight :math:`e^{F_x}` by :math:`q_x` (the expressions are homogeneous of degree 0)."""
        return tanh_form(expr.replace(lambda e: isinstance(e, _Weight), lambda e: self.q[int(e.args[0])]))


def _probabilities(cf: ClosedForms, moments) -> list:
    r""":math:`q_x = 2^{-N}\big(1 + \sum_A m_A\chi_A(x)\big)`, expanded (so that :math:`\sum_x q_x` is 1)."""
    values = energy_from_spin_couplings(np.array(moments, dtype=object), cf.n, constant=sp.Integer(1))
    return [sp.expand(v / 2**cf.n) for v in values]


def _exact_zero(expr) -> bool:
    expr = sp.expand(expr)
    if expr == 0:
        return True
    return sp.expand(sp.together(expr).as_numer_denom()[0]) == 0


def _residuals(name: str, s: _Setting) -> tuple[str, list]:
    """The statement (LaTeX) and the residual expressions of one identity."""
    cf = s.cf
    G = cf.jacobian
    if name == "E1 Fourier expansion":
        recon = energy_from_spin_couplings(np.array(list(cf.couplings), dtype=object), cf.n, constant=cf.empty)
        return r"F_\theta(s) = J_\emptyset + \sum_A J_A\chi_A(s)", [v - recon[x] for x, v in enumerate(cf.values)]
    gradient = G.T * s.r
    if name == "E1 gradient phases":
        phases = s.dF.T * sp.Matrix(s.p) - s.dF.T * sp.Matrix(s.q)
        return r"G^\top r = E_D[\partial_\theta F] - E_\theta[\partial_\theta F]", list(gradient - phases)
    ell = s.log_likelihood()
    if name == "E1 gradient direct":
        direct = [s.weighted(d) for d in s.direct_gradient()]
        return r"\nabla_\theta\ell = G^\top r", [d - g for d, g in zip(direct, gradient)]

    def along_flow(expr):
        """:math:`\\tfrac{d}{dt}` of ``expr`` along :math:`\\dot\\theta = G^\\top r` (chain rule)."""
        return s.weighted(sp.Add(*[sp.diff(expr, th) * g for th, g in zip(cf.theta, gradient)]))

    if name == "F1 induced flow":
        return r"\tfrac{d}{dt}J(\theta(t)) = GG^\top r", [along_flow(j) - k for j, k in zip(cf.couplings, G * gradient)]
    if name == "F1 likelihood increase":
        return r"\tfrac{d}{dt}\ell(\theta(t)) = \|G^\top r\|^2", [along_flow(ell) - (gradient.T * gradient)[0]]
    if name == "H formula":
        formula = cf.hessian
        P = cf.P
        first = s.direct_gradient()
        return r"\nabla^2_\theta\ell = \sum_A r_A\nabla^2J_A - G^\top CG", [
            s.weighted(sp.diff(first[i], cf.theta[j])) - formula[i, j] for i in range(P) for j in range(i, P)
        ]
    raise ValueError(f"unknown identity {name!r}")


def _numeric(residuals, s: _Setting, seed: int) -> tuple[bool, str]:
    """Largest residual at random rational points and targets, 100 digits, with :math:`m = m(\\theta)` there."""
    cf = s.cf
    args = list(cf.theta) + s.m + s.mD
    f = sp.lambdify(args, [sp.Abs(e) for e in residuals], modules="mpmath", cse=True)
    values = sp.lambdify(list(cf.theta), list(cf.values), modules="mpmath", cse=True)
    rng = random.Random(seed)
    worst = mpmath.mpf(0)
    with mpmath.workdps(NUMERIC_DPS + GUARD_DIGITS):
        for _ in range(NUMERIC_POINTS):
            theta = [mpmath.mpf(rng.randint(-12, 12)) / 11 for _ in cf.theta]
            weights = np.array([mpmath.mpf(rng.randint(1, 9)) for _ in range(2**cf.n)], dtype=object)
            F = values(*theta)
            top = max(F)
            boltzmann = np.array([mpmath.exp(v - top) for v in F], dtype=object)
            m = moments(boltzmann / sum(boltzmann), cf.n)
            mD = moments(weights / sum(weights), cf.n)
            worst = max([worst] + list(f(*theta, *m, *mD)))
        holds = worst < noise_floor(NUMERIC_DPS)
        return holds, mpmath.nstr(worst, 5)


def _sympy_decides(cf: ClosedForms) -> bool:
    """Whether to ask sympy for an exact zero: as the family declares
    (:attr:`~theory.families.base.Model.simplifies_exactly`; the numeric route decides in a second)."""
    from theory.families import model_from_spec

    return model_from_spec(cf.spec).simplifies_exactly


def prove_identities(cf: ClosedForms, names=IDENTITIES, seed: int = 0) -> list[IdentityCheck]:
    """Check each identity exactly where sympy can, else numerically (the result says which)."""
    s = _Setting(cf)
    exact = _sympy_decides(cf)
    out = []
    for name in names:
        statement, residuals = _residuals(name, s)
        if exact and all(_exact_zero(e) for e in residuals):
            out.append(IdentityCheck(name, statement, True, "exact", "0"))
            continue
        holds, worst = _numeric(residuals, s, seed)
        out.append(IdentityCheck(name, statement, holds, "numeric", worst, NUMERIC_POINTS, NUMERIC_DPS))
    return out
