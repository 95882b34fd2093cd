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
from functools import lru_cache

import mpmath
import numpy as np

from theory.lazy_sympy import sp
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
        # a structured coupling is one logarithm of a ratio of products of positive factors (cosh): written as the
        # sum of their logarithms, it is a linear combination of the atoms the values are written with
        expand = (lambda e: sp.expand_log(e, force=True)) if cf.units else (lambda e: e)
        self.J = [expand(j) for j in cf.couplings]
        self.empty = expand(cf.empty)

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
        recon = energy_from_spin_couplings(np.array(s.J, dtype=object), cf.n, constant=s.empty)
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
        r""":math:`\\tfrac{d}{dt}` of ``expr`` along :math:`\\dot\\theta = G^\\top r` (chain rule)."""
        return s.weighted(sp.Add(*[sp.diff(expr, th) * g for th, g in zip(cf.theta, gradient)]))

    if name == "F1 induced flow":
        return r"\tfrac{d}{dt}J(\theta(t)) = GG^\top r", [along_flow(j) - k for j, k in zip(s.J, G * gradient)]
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
    r"""Largest residual at random rational points and targets, 100 digits, with :math:`m = m(\\theta)` there."""
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
    """Check each identity exactly where sympy can, else numerically (the result says which). On a large
    non-polynomial model the quadratic identities are proved by reduction (:func:`reduced_proof`)."""
    s = _Setting(cf)
    exact = _sympy_decides(cf)
    reduced = exact and _reduced(cf)  # a family sympy does not simplify (softplus, silu) is checked numerically
    out = []
    for name in names:
        if reduced and name in REDUCED:
            if reduced_proof(name, s):
                out.append(IdentityCheck(name, STATEMENTS[name], True, "reduced", "0"))
                continue
        else:
            statement, residuals = _residuals(name, s)
            if exact and all(_exact_zero(e) for e in residuals):
                out.append(IdentityCheck(name, statement, True, "exact", "0"))
                continue
        statement, residuals = _residuals(name, s)
        holds, worst = _numeric(residuals, s, seed)
        out.append(IdentityCheck(name, statement, holds, "numeric", worst, NUMERIC_POINTS, NUMERIC_DPS))
    return out


# --- proofs by reduction: large models -------------------------------------------------------------------------

#: above this many second derivatives of J (D·P²) a non-polynomial model's quadratic identities are reduced
REDUCE_ABOVE = 200
#: the identities proved by reduction (the linear ones are expanded whatever the size: their cost is D·P·2^N)
REDUCED = ("F1 induced flow", "F1 likelihood increase", "H formula")
#: each identity's statement (LaTeX)
STATEMENTS = {
    "E1 Fourier expansion": r"F_\theta(s) = J_\emptyset + \sum_A J_A\chi_A(s)",
    "E1 gradient phases": r"G^\top r = E_D[\partial_\theta F] - E_\theta[\partial_\theta F]",
    "E1 gradient direct": r"\nabla_\theta\ell = G^\top r",
    "F1 induced flow": r"\tfrac{d}{dt}J(\theta(t)) = GG^\top r",
    "F1 likelihood increase": r"\tfrac{d}{dt}\ell(\theta(t)) = \|G^\top r\|^2",
    "H formula": r"\nabla^2_\theta\ell = \sum_A r_A\nabla^2J_A - G^\top CG",
}
#: the generic lemma behind the H formula is expanded exactly up to this many spins (its cost grows as 16^N)
LEMMA_MAX_N = 4


def _reduced(cf: ClosedForms) -> bool:
    """Whether the quadratic identities are proved by reduction: a non-polynomial model with more than
    :data:`REDUCE_ABOVE` second derivatives (a full expansion of :math:`G^\top CG` would take minutes)."""
    return not cf.polynomial and cf.D * cf.P**2 > REDUCE_ABOVE


def reduced_proof(name: str, s: _Setting) -> bool:
    r"""An exact proof of a quadratic identity from linear ones, each checked entry by entry in sympy:

    * ``F1 induced flow``: :math:`G_{Ak} = \partial_k J_A` for every entry (then :math:`\tfrac{d}{dt}J = G\dot\theta
      = GG^\top r` by the chain rule);
    * ``F1 likelihood increase``: ``E1 gradient direct``, :math:`\nabla\ell = G^\top r` (then
      :math:`\dot\ell = \nabla\ell\cdot G^\top r = \|G^\top r\|^2`);
    * ``H formula``: :math:`G` and every :math:`\nabla^2J_A` are the Walsh transforms of :math:`\partial F` and
      :math:`\partial^2F` (:math:`G_{Ak} = 2^{-N}\sum_x\chi_A(x)\partial_kF_x`), and :func:`curvature_lemma`: for any
      functions on :math:`N` spins, sympy's second derivative of :math:`\ell` equals the formula written with
      their Walsh transforms."""
    cf = s.cf
    if name == "F1 induced flow":
        return all(_exact_zero(tanh_form(sp.diff(j, t)) - cf.jacobian[a, k])
                   for a, j in enumerate(s.J) for k, t in enumerate(cf.theta))
    if name == "F1 likelihood increase":
        _, residuals = _residuals("E1 gradient direct", s)
        return all(_exact_zero(e) for e in residuals)
    if name == "H formula":
        return _jacobian_is_walsh(s) and _hessians_are_walsh(s) and curvature_lemma(cf.n)
    raise ValueError(f"{name!r} is not proved by reduction")


def _walsh(column, n: int) -> list:
    r""":math:`2^{-N}\sum_x\chi_A(x)\,v_x` for the nonempty subsets, canonical order."""
    from theory.walsh import to_canonical, walsh_hadamard

    return list(to_canonical(walsh_hadamard(np.array(column, dtype=object)) / sp.Integer(2**n), n))


def _jacobian_is_walsh(s: _Setting) -> bool:
    cf = s.cf
    for k in range(cf.P):
        column = _walsh([s.dF[x, k] for x in range(2**cf.n)], cf.n)
        if not all(_exact_zero(cf.jacobian[a, k] - w) for a, w in enumerate(column)):
            return False
    return True


def _hessians_are_walsh(s: _Setting) -> bool:
    cf = s.cf
    for k in range(cf.P):
        for m in range(k, cf.P):
            second = [tanh_form(sp.diff(s.dF[x, k], cf.theta[m])) for x in range(2**cf.n)]
            if all(v == 0 for v in second):
                if any(h[k, m] != 0 for h in cf.coupling_hessians):
                    return False
                continue
            column = _walsh(second, cf.n)
            if not all(_exact_zero(h[k, m] - w) for h, w in zip(cf.coupling_hessians, column)):
                return False
    return True


@lru_cache(maxsize=None)
def curvature_lemma(n: int) -> bool:
    r"""For generic functions :math:`F_x(t_1, t_2)` on :math:`N` spins (sympy's undefined functions), with
    :math:`J = ` their Walsh transform, :math:`G = \partial J` and :math:`\nabla^2J_A = \partial^2J_A`: sympy's
    :math:`\partial_{t_1}\partial_{t_2}\ell` equals :math:`\sum_A r_A\partial_1\partial_2J_A - (G^\top CG)_{12}` in
    moment coordinates, exactly (expanded as a polynomial over :math:`\mathbb{Q}`; one generic pair suffices: the
    identity is bilinear in :math:`\partial_1F, \partial_2F`). Beyond :data:`LEMMA_MAX_N` spins (a :math:`16^N` expansion) the
    Walsh part is the orthogonality of the characters, checked by enumeration, and the calculus the same as at
    :data:`LEMMA_MAX_N` spins."""
    if n > LEMMA_MAX_N:
        return _characters_orthogonal(n) and curvature_lemma(LEMMA_MAX_N)
    from sympy.polys.rings import ring

    from theory.walsh import to_canonical, walsh_hadamard

    t = sp.symbols("t1 t2", real=True)
    F = [sp.Function(f"F{x}")(*t) for x in range(2**n)]
    by_mask = walsh_hadamard(np.array(F, dtype=object)) / sp.Integer(2**n)
    J = list(to_canonical(by_mask, n))
    G = sp.Matrix([[sp.diff(j, v) for v in t] for j in J])
    H = tuple(sp.ImmutableMatrix([[sp.diff(G[a, k], v) for v in t] for k in range(2)]) for a in range(len(J)))
    generic = ClosedForms(spec={}, n=n, theta=t, labels=("t1", "t2"), spins=(), energy=sp.Integer(0), values=tuple(F),
                          empty=by_mask[0], couplings=sp.ImmutableMatrix(J), jacobian=sp.ImmutableMatrix(G),
                          coupling_hessians=H, polynomial=False)
    _, residuals = _residuals("H formula", _Setting(generic))
    residual = residuals[1]  # the (t1, t2) entry
    atoms = sorted(residual.atoms(sp.Derivative), key=sp.default_sort_key)
    plain = residual.xreplace({a: sp.Dummy(f"d{k}") for k, a in enumerate(atoms)})
    R, *_ = ring(sorted(plain.free_symbols, key=sp.default_sort_key), sp.QQ)
    return R(plain) == 0


def _characters_orthogonal(n: int) -> bool:
    r""":math:`\sum_x\chi_A(x)\chi_B(x)\chi_C(x) = 2^N[A\triangle B = C]` for all subsets (integers, enumerated): the
    identity behind :math:`E_\theta[\chi_A\chi_B] = m_{A\triangle B}` and hence :math:`\operatorname{Cov}_\theta(f, g) =
    \hat f^\top C\hat g`."""
    from theory.walsh import character_table

    chi = character_table(n)
    masks = np.arange(2**n)
    for A in range(2**n):
        products = chi[:, A][:, None] * chi  # chi_A chi_B for every B
        sums = products.T @ chi  # [B, C]
        expected = np.where((A ^ masks)[:, None] == masks[None, :], 2**n, 0)
        if not np.array_equal(sums, expected):
            return False
    return True
