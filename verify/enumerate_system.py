r"""The fixed-point system of a case in Arb balls, on a point or a box: :math:`\nabla\ell`, :math:`H`, :math:`G`, :math:`r`.

:class:`BoxSystem` holds the model, the target and the precision and answers the matrix questions of the branch and
bound (:mod:`verify.enumerate`): full row rank of :math:`G`, regularity of a ball matrix, strict concavity of
:math:`\ell` on a box, a data-consistent point on a slice. :class:`BoxState` encloses :math:`p, m, G, r, \nabla\ell, H`
on a box, with the probabilities and moments in mean-value form (:func:`tight_probabilities`).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .box import Box
from .certify import _flint, _strictly_inside as _inside, ball_context

__all__ = ["BoxSystem", "BoxState", "tight_probabilities", "full_rows"]

#: relative inflation of a box before the Krawczyk test (roots on a shared face are then still isolated)
INFLATION = Fraction(1, 32)

def _excludes_zero(x) -> bool:
    return bool(x > 0) or bool(x < 0)


def _mids(M) -> np.ndarray:
    return np.array([[float(v.mid()) for v in row] for row in M])


def _to_balls(M: np.ndarray) -> np.ndarray:
    flint = _flint()
    return np.frompyfunc(lambda v: flint.arb(float(v)), 1, 1)(np.asarray(M, dtype=float)).astype(object)


class BoxSystem:
    r"""The fixed-point system of a case in balls: :math:`\nabla\ell`, :math:`H`, :math:`G`, :math:`r` at a point or on a box.

    Subclass and override :meth:`state` to enumerate the zeros of another vector field (the mutation test does).
    """

    def __init__(self, model, target, dps: int):
        self.model, self.target, self.dps = model, target, dps
        self.P = model.P
        self.D = 2**model.n - 1
        self._context = ball_context(dps)
        self.known_roots: list[tuple] = []
        self._affine = None  # False once a curvature term did not vanish on a box
        self.seed_attempts = self.boxes_seen = 0

    def __enter__(self):
        self.arith = self._context.__enter__()
        self.m_data = self.target.moment_array(self.arith)
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)

    def state(self, theta, center=None):
        """Any object with ``gradient``, ``G``, ``r`` and ``hessian()`` on the box ``theta`` (ball array).

        With ``center`` (exact balls inside the box) the probabilities are enclosed by :func:`tight_probabilities`.
        """
        return BoxState(self.model, theta, self.m_data, self.arith, center)

    def gradient_at(self, theta):
        return self.state(theta).gradient

    def add_known_root(self, root: dict) -> None:
        """Remember a certified zero (its enclosure) for :func:`_known_root_decides`, once: a zero whose enclosure lies
        in the box where a known one is unique (``inflated``) is that one."""
        enc = root["enclosure"]
        lo, hi = tuple(Fraction(v) for v in enc["lo"]), tuple(Fraction(v) for v in enc["hi"])
        for _, _, other in self.known_roots:
            box = other.get("inflated")
            if box and all(Fraction(a) <= x and y <= Fraction(b) for a, b, x, y in zip(box["lo"], box["hi"], lo, hi)):
                return
        self.known_roots.append((lo, hi, root))

    def strictly_concave_on(self, R: Box) -> bool:
        r"""``True`` when :math:`\ell` is proved strictly concave on the box ``R``: the curvature term
        :math:`\sum_A r_A\nabla^2 J_A` is exactly zero on ``R`` (every :math:`\nabla^2 J_A` encloses to the exact ball 0:
        :math:`J` affine in :math:`\theta`) and :math:`G` has full column rank on ``R``, so :math:`H = -G^\top C G \prec 0`
        (:math:`C \succ 0` for every strictly positive :math:`p_\theta`, E2). Then :math:`\nabla\ell` has at most one zero in ``R``."""
        if self._affine is False:
            return False
        X = R.balls(INFLATION)
        d2F = self.model.energy_hessian(X, self.arith)
        if not all(v.is_zero() for v in np.asarray(d2F).ravel()):
            self._affine = False  # never tried again (a shortcut: it only gives up a proof)
            return False
        G = self.state(X, R.balls(Fraction(-1))).G
        return G.shape[0] >= G.shape[1] and self.full_row_rank(G.T)

    def consistent_point_exists(self, box: Box) -> bool:
        r"""Is a data-consistent point proved to lie in ``box``? Krawczyk on :math:`J(\theta) = J^D` over ``D`` coordinates
        :math:`S` (pivoted QR of :math:`G` at the midpoint), the others held at the midpoint: a zero there has
        :math:`r = 0`, so :math:`\nabla\ell = G^\top r = 0` (a fixed point, data-consistent, in the box)."""
        import scipy.linalg
        from theory.effective import jacobian, model_couplings

        arith = self.arith
        c, X = box.balls(Fraction(-1)), box.balls()
        Gm = _mids(jacobian(self.model, c, arith))
        if not np.all(np.isfinite(Gm)):
            return False
        S = sorted(scipy.linalg.qr(Gm, pivoting=True)[2][: self.D])

        def theta(z):
            th = c.copy()
            th[S] = z
            return th

        J_data = self.target.coupling_array(arith)
        zc, Z = c[S], X[S]
        Jc = jacobian(self.model, theta(zc), arith)[:, S]
        Jm = _mids(Jc)
        if not np.all(np.isfinite(Jm)) or np.linalg.cond(Jm) > 1e14:
            return False
        Y = _to_balls(np.linalg.inv(Jm))
        f = model_couplings(self.model, theta(zc), arith) - J_data
        K = zc - Y @ f + (_to_balls(np.eye(self.D)) - Y @ jacobian(self.model, theta(Z), arith)[:, S]) @ (Z - zc)
        return all(_inside(K[i], Z[i]) for i in range(self.D))

    def full_row_rank(self, G) -> bool:
        r"""``True`` when the ball matrix ``G`` (``D x P``) has full row rank for every matrix it encloses.

        Columns ``S`` from a pivoted QR of :math:`\mathrm{mid}\,G^\top`; with :math:`Y \approx G_S^{-1}`, strict diagonal
        dominance of :math:`Y G_S` proves every enclosed :math:`G_S` nonsingular.
        """
        D, P = G.shape
        if P < D:
            return False
        import scipy.linalg

        Gm = _mids(G)
        if not np.all(np.isfinite(Gm)):
            return False
        _, _, perm = scipy.linalg.qr(Gm, pivoting=True)
        A = G[:, sorted(perm[:D])]
        try:
            Y = np.linalg.inv(_mids(A))
        except np.linalg.LinAlgError:
            return False
        if not np.all(np.isfinite(Y)):
            return False
        return _diagonally_dominant(_to_balls(Y) @ A)


def _diagonally_dominant(B) -> bool:
    """Every matrix enclosed by ``B`` is strictly diagonally dominant by rows (so nonsingular)."""
    D = B.shape[0]
    for i in range(D):
        off = sum((abs(B[i, j]) for j in range(D) if j != i), start=B[i, i] * 0)
        if not (bool(B[i, i] - off > 0) or bool(B[i, i] + off < 0)):
            return False
    return True


def _regular(M) -> bool:
    """Every matrix enclosed by the ball matrix ``M`` is nonsingular (preconditioned diagonal dominance)."""
    Mm = _mids(M)
    if not np.all(np.isfinite(Mm)) or np.linalg.cond(Mm) > 1e14:
        return False
    return _diagonally_dominant(_to_balls(np.linalg.inv(Mm)) @ M)


def tight_probabilities(model, X, c, arith):
    r""":math:`p_\theta(s) = 1/\sum_{s'} e^{F(s') - F(s)}` over the box ``X`` with the differences in mean-value form.

    :math:`F(s';\theta) - F(s;\theta) \in F(s';c) - F(s;c) + (\partial F(s';X) - \partial F(s;X))\cdot(X - c)`,
    intersected with the natural enclosure: :math:`e^F/Z` evaluated naively loses the correlation of numerator and
    denominator (a width :math:`e^{2w}` where this has :math:`e^{O(w^2)}` for the linear part).
    """
    Fc = model.energy(c, arith)
    FX = model.energy(X, arith)
    dFX = model.energy_grad(X, arith)
    dX = X - c
    S = len(Fc)
    p = np.empty(S, dtype=object)
    for s in range(S):
        total = None
        for t in range(S):
            if t == s:
                term = Fc[s] * 0 + 1
            else:
                mv = (Fc[t] - Fc[s]) + (dFX[t] - dFX[s]) @ dX
                diff = _meet(mv, FX[t] - FX[s])
                term = diff.exp()
            total = term if total is None else total + term
        p[s] = _meet(1 / total, _UNIT)
    return p


def _meet(a, b):
    """The intersection of two enclosures of the same number (``a`` alone if Arb refuses: still an enclosure)."""
    try:
        return a.intersection(b)
    except ValueError:
        return a


_UNIT = _flint().arb(0.5, 0.5)  # [0, 1], exact endpoints
_SIGNED = _flint().arb(0, 1)  # [-1, 1]


def _moments_mean_value(model, X, c, arith, mbm, G, rounds: int = 2):
    r"""Moments on the box in mean-value form, intersected with ``mbm``: for every mask :math:`M`,

    .. math:: m_M(X) \subset m_M(c) + \sum_A \mathrm{Cov}(\chi_M, \chi_A)(X)\, G_A(X)\,(X - c),

    since :math:`\partial m_M/\partial\theta = \mathrm{Cov}(\chi_M, \partial F) = \sum_A \mathrm{Cov}(\chi_M,\chi_A)\,\partial J_A/\partial\theta`
    (the covariances from the current enclosure, :math:`m_{M\triangle A} - m_M m_A`, each in :math:`[-1, 1]`)."""
    from theory.conventions import canonical_masks
    from theory.effective import model_probabilities, moments_by_mask

    masks = canonical_masks(model.n)
    at_c = moments_by_mask(model_probabilities(model, c, arith))
    dX = X - c
    for _ in range(rounds):
        cov = np.array([[_meet(mbm[M ^ a] - mbm[M] * mbm[a], _SIGNED) for a in masks] for M in range(1, len(mbm))],
                       dtype=object)
        slope = cov @ G
        new = mbm.copy()
        for M in range(1, len(mbm)):
            new[M] = _meet(mbm[M], at_c[M] + slope[M - 1] @ dX)
        mbm = new
    return mbm


class BoxState:
    r""":math:`p, m, G, r, \nabla\ell = G^\top r` and :math:`H = \sum_A r_A\nabla^2J_A - G^\top CG` on a box (as :class:`theory.flow.FlowState`)."""

    def __init__(self, model, theta, m_data, arith, center=None):
        from theory.effective import jacobian, model_probabilities, moments_by_mask
        from theory.walsh import to_canonical

        self.model, self.theta, self.arith, self.n, self.center = model, theta, arith, model.n, center
        p = model_probabilities(model, theta, arith) if center is None else tight_probabilities(model, theta, center, arith)
        mbm = moments_by_mask(p)
        if center is not None:  # every moment lies in [-1, 1] (intersections only tighten)
            mbm = np.array([_meet(v, _SIGNED) for v in mbm], dtype=object)
        mbm[0] = mbm[0] * 0 + 1  # total mass, exactly
        self.G = jacobian(model, theta, arith)
        self.d2J = None
        if center is not None:
            self.G, self.d2J = _jacobian_mean_value(model, theta, center, arith, self.G)
            mbm = _moments_mean_value(model, theta, center, arith, mbm, self.G)
        self.p, self.m_by_mask = p, mbm
        self.m = to_canonical(mbm, self.n)
        self.r = m_data - self.m
        self.gradient = self.G.T @ self.r

    @property
    def C(self):
        r"""Fisher matrix; on a box intersected with :math:`|C_{AB}| \le 1` (Cauchy-Schwarz) and :math:`C_{AA} \in [0, 1]`."""
        from theory.effective import covariance

        C = covariance(self.m_by_mask, self.n)
        if self.center is not None:
            C = np.array([[_meet(v, _UNIT if i == j else _SIGNED) for j, v in enumerate(row)]
                          for i, row in enumerate(C)], dtype=object)
        return C

    def hessian(self):
        from theory.flow import curvature_term

        curv = curvature_term(self.model, self.theta, self.r, self.arith)
        if self.d2J is not None:  # the same sum over the couplings: keep the tighter enclosure of each entry
            other = np.tensordot(self.r, self.d2J, axes=1)
            curv = np.array([[_meet(a, b) for a, b in zip(ra, rb)] for ra, rb in zip(curv, other)], dtype=object)
        return curv - (self.G.T @ self.C) @ self.G


def _jacobian_mean_value(model, X, c, arith, G):
    r""":math:`G(X) \subset G(c) + \sum_k \partial_k G(X)(X_k - c_k)`, :math:`\partial_k G_{A\cdot} = (\nabla^2 J_A)_{\cdot k}`,
    intersected with the natural enclosure ``G``: the Walsh sums of the natural enclosure do not cancel in balls
    (``product``: :math:`\partial J_1/\partial u_2 = \tfrac14\sum_s \chi_1\chi_2 v_2` is 0, not :math:`\pm|v_2|`). Returns
    the enclosure and :math:`\nabla^2 J(X)` (shape ``(D, P, P)``)."""
    from theory.effective import jacobian
    from theory.flow import coupling_hessians

    d2J = coupling_hessians(model, X, arith)
    mv = jacobian(model, c, arith) + np.tensordot(d2J, X - c, axes=([2], [0]))
    return np.array([[_meet(a, b) for a, b in zip(ra, rb)] for ra, rb in zip(G, mv)], dtype=object), d2J


def full_rows(G) -> list[int]:
    """The rows of the ball matrix ``G`` that are not exactly zero (a row enclosed by exact zeros is a coupling that does
    not move on the whole box, e.g. a switched-off ``product`` subset on a pinned box, or an order a ``gim`` lacks)."""
    return [A for A in range(G.shape[0]) if not all(v.is_zero() for v in G[A])]
