r"""Reduction of a box to a pinned sub-box (the recursion of issue 14: fixed points with switched-off or dead
parameters are those of the smaller model, times the free directions).

Let :math:`Z` be coordinates with :math:`0 \in X_Z`, and :math:`y` the others. If

1. the ball enclosure of :math:`\partial_Z\ell(0_Z, Y)` is *exactly* :math:`\{0\}` (a structural zero: e.g. ``product``'s
   :math:`\partial_{u_A}\ell = v_A r_A` and :math:`\partial_{v_A}\ell = u_A r_A` vanish where :math:`u_A = v_A = 0`), so
   :math:`x = 0_Z` solves :math:`\partial_Z\ell(x, y) = 0` for every :math:`y \in Y`; and
2. :math:`H_{ZZ}` is regular on the box (every matrix it encloses is nonsingular; preconditioned diagonal dominance):
   for each :math:`y`, :math:`\partial_Z\ell(x, y) - \partial_Z\ell(0, y) = \bar H x` with :math:`\bar H` in the (convex)
   enclosure (mean value theorem on the convex :math:`X_Z \ni 0`), so :math:`0_Z` is the only zero in :math:`X_Z`
   (``product``: :math:`H_{ZZ}` is :math:`r_A\begin{pmatrix}0&1\\1&0\end{pmatrix}` up to :math:`O(u_A^2, v_A^2)`, regular as
   soon as :math:`r_A` keeps its sign on the box, much weaker than a Krawczyk contraction),

then every fixed point of the box has :math:`\theta_Z = 0`, and the fixed points of the box are exactly the zeros of
:math:`\nabla_y\ell(0_Z, \cdot)` in :math:`Y`: the box is replaced by the pinned box :math:`\{0_Z\} \times Y`
(:meth:`~verify.box.Box.pin`), which stands for the whole volume of the box. On a pinned box the tests of
:func:`~verify.enumerate.process_box` run over the free coordinates; its zeros are fixed points of the full model.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .certify import _ball
from .enumerate_system import _regular

__all__ = ["reduce_box"]


def _zeros(n: int) -> np.ndarray:
    return np.array([_ball(Fraction(0), Fraction(0)) for _ in range(n)], dtype=object)


def structural_zeros(system, box, Xi) -> list[int]:
    """The largest set :math:`Z` of free coordinates with :math:`0 \\in X_Z` such that :math:`\\partial_Z\\ell(0_Z, Y)`
    encloses exactly 0 (shrunk until it is stable: pinning fewer coordinates can only widen the others)."""
    Z = [k for k in box.free if box.lo[k] <= 0 <= box.hi[k]]
    while Z:
        theta = Xi.copy()
        theta[Z] = _zeros(len(Z))
        g = system.state(theta).gradient
        kept = [k for k in Z if g[k].is_zero()]
        if kept == Z:
            return Z
        Z = kept
    return []


#: a pattern of coordinates containing 0 is no longer tried on boxes of one width after this many reductions failed
#: with H_ZZ singular at theta_Z = 0, and no success (a shortcut that only gives up reductions: rbm's b = w = 0 are
#: structural zeros whose H_ZZ is singular there)
GIVE_UP = 50


def _singular_at_zero(system, box, Z) -> bool:
    r"""Is :math:`H_{ZZ}` numerically singular at the midpoint with :math:`\theta_Z = 0` (float64)? Then the reduction
    fails on every box of the pattern (rbm: :math:`H_{bb} = 0` where :math:`w = 0`), not only on wide ones."""
    from theory.arith import FLOAT64
    from theory.flow import FlowState

    from .enumerate_manifold import _m64

    theta = np.array([float(v) for v in box.mid])
    theta[Z] = 0.0
    H = FlowState(system.model, theta, _m64(system), FLOAT64).hessian()[np.ix_(Z, Z)]
    return not np.all(np.isfinite(H)) or np.linalg.cond(H) > 1e10


def reduce_box(system, box, Xi, HX):
    r"""The pinned box :math:`\{0_Z\} \times Y` when the two conditions of the module docstring hold, else ``None``."""
    pattern = tuple(k for k in box.free if box.lo[k] <= 0 <= box.hi[k])
    if not pattern:
        return None
    pattern = (pattern, box.width)  # tried again on narrower boxes
    tried = system.__dict__.setdefault("_reductions", {})
    fails, wins = tried.get(pattern, (0, 0))
    if fails >= GIVE_UP and not wins:
        return None
    Z = structural_zeros(system, box, Xi)
    if not Z or not _regular(HX[np.ix_(Z, Z)]):
        if not Z or _singular_at_zero(system, box, Z):  # counted only when no narrower box can do better
            tried[pattern] = (fails + 1, wins)
        return None
    tried[pattern] = (fails, wins + 1)
    return box.pin(Z, [Fraction(0)] * len(Z)), Z
