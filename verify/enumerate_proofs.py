r"""Proofs that the graph of a slice test (:mod:`verify.enumerate_manifold`) consists of fixed points.

* :func:`fixed_by_symmetry` — declared continuous symmetries with :math:`T_y` regular on the box;
* :func:`fixed_by_dead_directions` — dead directions (:math:`J` does not depend on :math:`y` where :math:`\theta_Z = 0`);
* :func:`dead_line_elsewhere` — the same proof on the hull of a box and a dead-direction line outside it (exclusion);
* :func:`exists_on_slice` — Krawczyk at one :math:`y_0` around a Gauss-Newton point (a point of the graph exists).

The mathematics is in the docstring of :mod:`verify.enumerate_manifold`.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np

from .certify import _ball, _strictly_inside, krawczyk_operator, symmetry_tangents
from .enumerate_system import INFLATION, _regular, _to_balls

__all__ = ["fixed_by_symmetry", "fixed_by_dead_directions", "dead_line_elsewhere", "exists_on_slice", "TINY"]

#: radius of the Krawczyk boxes around a Gauss-Newton point (existence of a zero on a slice)
TINY = Fraction(1, 2**34)


def _exact_balls(values) -> np.ndarray:
    return np.array([_ball(v, Fraction(0)) for v in values], dtype=object)


def fixed_by_symmetry(system, Xi, ys: list[int], theta0: np.ndarray) -> str | None:
    """The name(s) of declared continuous symmetries whose ``d`` generators have :math:`T_y` proved nonsingular on the
    box (``None`` when there are none)."""
    model = system.model
    tangents0, names = symmetry_tangents(model, tuple(float(v) for v in theta0))
    d = len(ys)
    if len(tangents0) < d:
        return None
    T0 = np.array([[float(t[k]) for k in ys] for t in tangents0])
    best = max(combinations(range(len(tangents0)), d), key=lambda c: abs(np.linalg.det(T0[list(c)])))
    if abs(np.linalg.det(T0[list(best)])) < 1e-9:
        return None
    tangents, _ = symmetry_tangents(model, tuple(Xi))
    Ty = np.array([[tangents[j][k] for k in ys] for j in best], dtype=object)
    return ", ".join(names) if _regular(Ty) else None


def _dead_conditions(system, Z: tuple, ys: tuple, xprime: tuple) -> bool:
    r"""Exactly (sympy) on :math:`L = \{\theta_Z = 0\}`: :math:`\partial J/\partial y \equiv 0`, and the non-zero entries of
    :math:`\partial J/\partial\theta_Z` lie in rows whose direct parameter is in :math:`x'`. Cached per ``(Z, y, x')``."""
    cache = system.__dict__.setdefault("_dead_cache", {})
    key = (Z, ys, xprime)
    if key not in cache:
        import sympy as sp

        from theory.arith import EXACT
        from theory.effective import jacobian

        model = system.model
        theta = np.array([sp.Integer(0) if k in Z else sp.Symbol(f"t{k}", real=True) for k in range(system.P)],
                         dtype=object)
        G = jacobian(model, theta, EXACT)
        direct_rows = {}
        for j, A in model.direct_parameters().items():
            if j in xprime:
                from theory.conventions import subset_index

                direct_rows[subset_index(model.n)[tuple(A)]] = j
        ok = all(sp.simplify(G[a, k]) == 0 for k in ys for a in range(G.shape[0]))
        ok = ok and all(a in direct_rows or sp.simplify(G[a, k]) == 0 for k in Z for a in range(G.shape[0]))
        cache[key] = bool(ok)
    return cache[key]


def _tiny_around(values, outer) -> np.ndarray:
    """Balls of radius :data:`TINY` around ``values`` when they lie inside the balls ``outer`` (a Krawczyk box around a
    Gauss-Newton point contracts at once), else ``outer`` itself."""
    tiny = np.array([_ball(Fraction(float(v)), TINY) for v in values], dtype=object)
    return tiny if all(_strictly_inside(a, b) for a, b in zip(tiny, outer)) else outer


def fixed_by_dead_directions(system, box, xs: list[int], ys: list[int], theta0: np.ndarray, Xx) -> bool:
    """The dead-direction proof of the module docstring: ``True`` when the graph is the flat piece
    :math:`\\{x'^*\\} \\times \\{0_Z\\} \\times Y` of fixed points."""
    Z = tuple(k for k in xs if abs(theta0[k]) < 1e-9 and box.lo[k] <= 0 <= box.hi[k])
    if not Z:
        return False
    xprime = tuple(k for k in xs if k not in Z)
    if not xprime or not _dead_conditions(system, Z, tuple(ys), xprime):
        return False
    pos = {k: i for i, k in enumerate(xs)}
    Xp = _tiny_around([theta0[k] for k in xprime], np.array([Xx[pos[k]] for k in xprime], dtype=object))
    theta = np.empty(system.P, dtype=object)
    theta[list(Z)] = _exact_balls([Fraction(0)] * len(Z))
    theta[list(ys)] = _exact_balls([box.mid[k] for k in ys])
    centre = theta.copy()
    xt = _exact_balls([Fraction(float(theta0[k])) for k in xprime])
    theta[list(xprime)], centre[list(xprime)] = Xp, xt
    st_box, st_pt = system.state(theta, centre), system.state(centre)
    Hm = np.array([[float(v.mid()) for v in row] for row in st_pt.hessian()[np.ix_(xprime, xprime)]])
    if not np.all(np.isfinite(Hm)) or np.linalg.cond(Hm) > 1e12:
        return False
    K = krawczyk_operator(xt, st_pt.gradient[list(xprime)], _to_balls(np.linalg.inv(Hm)),
                          st_box.hessian()[np.ix_(xprime, xprime)], Xp)
    return all(_strictly_inside(K[i], Xp[i]) for i in range(len(xprime)))


def exists_on_slice(system, box, xs: list[int], ys: list[int], theta0) -> bool:
    r"""Krawczyk on :math:`\partial_x\ell(\cdot, y_0) = 0` over :math:`X'` (the box inflated in :math:`x`) at one exact
    :math:`y_0` in the box (the Gauss-Newton point's :math:`y`, clipped): a zero :math:`x^*` with :math:`(x^*, y_0)` in the box."""
    centre = box.balls(Fraction(-1))
    theta = box.balls(INFLATION)
    y0 = [min(max(Fraction(float(theta0[k])), box.lo[k]), box.hi[k]) for k in ys]
    x0 = [min(max(Fraction(float(theta0[k])), box.lo[k]), box.hi[k]) for k in xs]
    theta[ys] = centre[ys] = _exact_balls(y0)
    centre[xs] = _exact_balls(x0)
    theta[xs] = _tiny_around([theta0[k] for k in xs], theta[xs])
    point = system.state(centre)
    Hm = np.array([[float(v.mid()) for v in row] for row in point.hessian()[np.ix_(xs, xs)]])
    if not np.all(np.isfinite(Hm)) or np.linalg.cond(Hm) > 1e12:
        return False
    H = system.state(theta, centre).hessian()
    K = krawczyk_operator(centre[xs], point.gradient[xs], _to_balls(np.linalg.inv(Hm)), H[np.ix_(xs, xs)], theta[xs])
    X = box.balls()
    return all(_strictly_inside(K[i], theta[k]) and not bool(K[i].upper() < X[k].lower())
               and not bool(X[k].upper() < K[i].lower()) for i, k in enumerate(xs))


def dead_line_elsewhere(system, box, xs, ys, theta0) -> str | None:
    r"""Exclusion next to a flat piece of dead directions: when the Gauss-Newton point :math:`\theta_0` (with
    :math:`\theta_Z = 0`) lies outside the box in some coordinate of :math:`x`, the dead-direction proof on the hull
    :math:`R` of the box and :math:`\theta_0` (with :math:`H_{xx}` regular on :math:`R`) shows that every fixed point of
    :math:`R` is :math:`(x'^*, 0_Z, y)` with :math:`x'^*` within :data:`TINY` of :math:`\theta_0`: none lies in the box."""
    from .box import Box
    Z = [k for k in xs if abs(theta0[k]) < 1e-9]
    pt = {k: Fraction(0) if k in Z else Fraction(float(theta0[k])) for k in xs}
    outside = [k for k in xs if not box.lo[k] + TINY < pt[k] < box.hi[k] - TINY]
    if not Z or not outside:
        return None
    lo, hi = list(box.lo), list(box.hi)
    for k in xs:
        lo[k], hi[k] = min(lo[k], pt[k] - 2 * TINY), max(hi[k], pt[k] + 2 * TINY)
    R = Box(box.id + ".hull", tuple(lo), tuple(hi), box.scale)
    Ri = R.balls(INFLATION)
    H = system.state(Ri, R.balls(Fraction(-1))).hessian()
    if not _regular(H[np.ix_(xs, xs)]) or not fixed_by_dead_directions(system, R, xs, ys, theta0, Ri[xs]):
        return None
    if not any(pt[k] + TINY < box.lo[k] or box.hi[k] < pt[k] - TINY for k in outside):
        return None
    return "every fixed point of the hull of the box and a dead-direction line lies on that line, outside the box"
