r"""Certified enumeration of the fixed points of :math:`\dot\theta = \nabla\ell(\theta)` in a box (interval branch and bound).

Every box of the queue is enclosed in ball arithmetic (:data:`~verify.certify.BALL`, Arb) and ends in one class:

* **excluded**: :math:`\nabla\ell \ne 0` on the whole box, proved by a component of the natural enclosure
  :math:`\nabla\ell(X)`, of the mean-value form :math:`\nabla\ell(\check x) + H(X)(X - \check x)`, of the Krawczyk
  operator (every zero of :math:`X` lies in :math:`K(X)`, so :math:`K(X)\cap X = \emptyset` excludes), or of the
  residual :math:`r(X)` where :math:`G` has full row rank (then a fixed point would have :math:`r = 0`);
* **consistent**: :math:`G` provably of full row rank :math:`D` on the whole box (a :math:`D\times D` minor, preconditioned,
  strictly diagonally dominant), so by F2 (region form) every fixed point in it is data-consistent; accepted at
  once when :math:`P > D` (the data-consistent points form manifolds there), and only at the minimum width when
  :math:`P = D`;
* **isolated**: Krawczyk proves exactly one zero of :math:`\nabla\ell` in a slightly inflated box
  :math:`X' \supset X`, and its enclosure meets :math:`X`; the point is described by its kind (spurious when
  :math:`r = 0` is excluded, data-consistent when :math:`G` has full row rank on its enclosure), the certified
  inertia of :math:`H`, a lower bound on :math:`\operatorname{rank} G` and the lowest order with :math:`r_A \ne 0` proved;
* **undecided**: none of these at the minimum width (or not processed within ``max_boxes``).

Otherwise the box is contracted to :math:`X \cap K(X')` (the cut-off part holds no zero: excluded volume) or
bisected along its widest side. Volumes are tracked exactly (rationals), so the excluded, consistent, isolated and
undecided volumes add up to the box: nothing is dropped. The store and the final statement are in
:mod:`verify.enumerate_store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .box import Box, ball_fraction, box_volume
from .certify import _flint, _strictly_inside as _inside, inertia, krawczyk_operator
from .enumerate_manifold import consistent_point_near, manifold_test, slice_krawczyk, support_manifold
from .enumerate_reduce import reduce_box
from .enumerate_system import INFLATION, BoxSystem, _excludes_zero, _mids, _regular, _to_balls, full_rows

__all__ = ["Box", "BoxSystem", "Outcome", "process_box", "box_volume", "ball_fraction", "INFLATION"]

#: contracted boxes are requeued when they keep at most this fraction of the volume; else the box is bisected
CONTRACTION_GAIN = Fraction(1, 2)
#: Newton seeds are tried from at most this share of the bisected boxes (each costs up to 25 evaluations)
SEED_SHARE = 0.02
#: the manifold (slice) test and the contraction on the direct parameters are tried on boxes at most this many minimum
#: widths wide (they fail on wider ones)
MANIFOLD_WIDTHS = 16


def _holds_known_root(system: BoxSystem, box: Box) -> bool:
    return any(all(lo[i] <= box.hi[i] and box.lo[i] <= hi[i] for i in range(len(lo))) for lo, hi, _ in system.known_roots)


def _known_root_decides(system: BoxSystem, box: Box):
    r"""Injectivity around a certified zero :math:`\theta^*`: if :math:`H` is regular on :math:`R = \mathrm{hull}(X \cup E)`
    (:math:`E \ni \theta^*`), :math:`\nabla\ell` is one-to-one on the convex :math:`R`
    (:math:`\nabla\ell(x) - \nabla\ell(y) = \bar H(x - y)`, :math:`\bar H` in the enclosure), so :math:`\theta^*` is its only
    zero there: :math:`X` is excluded when :math:`E \cap X = \emptyset`, and holds at most :math:`\theta^*` otherwise.
    Tried for the known zeros whose hull with the box is at most twice as wide as the box (at most 5/4 as wide in every
    free side once the curvature term is known not to vanish)."""
    for lo, hi, root in system.known_roots:
        R = Box("hull", tuple(map(min, lo, box.lo)), tuple(map(max, hi, box.hi)))
        if system._affine is False and any(4 * (R.hi[k] - R.lo[k]) > 5 * (box.hi[k] - box.lo[k]) for k in box.free):
            continue  # the zero is not next to the box: H is not regular on such a hull
        if system.strictly_concave_on(R):
            why = "l strictly concave (zero curvature term, G of full column rank) on the hull of the box and a certified zero"
        elif R.width <= 2 * box.width and _regular(system.state(R.balls(INFLATION), R.balls(Fraction(-1))).hessian()):
            why = "H regular on the hull of the box and a certified zero"
        else:
            continue
        if any(hi[i] < box.lo[i] or box.hi[i] < lo[i] for i in range(len(lo))):
            return Outcome("excluded", why + " outside it")
        return Outcome("isolated", why, root=root)
    return None


def _seed_root(system: BoxSystem, box: Box, c, gc, Hc, steps: int = 25):
    """Newton from the midpoint when its first step stays in the box; the limit certified by Krawczyk (radius 1e-10)."""
    x = np.array([float(v.mid()) for v in c])
    g = np.array([float(v.mid()) for v in gc])
    try:
        x1 = x - np.linalg.solve(_mids(Hc), g)
    except np.linalg.LinAlgError:
        return None
    if not all(float(a) <= v <= float(b) for v, a, b in zip(x1, box.lo, box.hi)):
        return None
    x = x1
    flint = _flint()
    for _ in range(steps):
        pt = np.array([flint.arb(v) for v in x], dtype=object)
        st = system.state(pt)
        try:
            dx = np.linalg.solve(_mids(st.hessian()), np.array([float(v.mid()) for v in st.gradient]))
        except np.linalg.LinAlgError:
            return None
        x = x - dx
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e6:
            return None
        if np.max(np.abs(dx)) < 1e-14 * (1 + np.max(np.abs(x))):
            break
    radius = Fraction(1, 10**10)
    centre = tuple(Fraction(float(v)) for v in x)
    small = Box("seed", tuple(v - radius for v in centre), tuple(v + radius for v in centre))
    cs, Xs = small.balls(Fraction(-1)), small.balls()
    K = _krawczyk(system, cs, list(range(system.P)), Xs, system.state(Xs, cs).hessian())
    if K is None or not all(_inside(K[i], Xs[i]) for i in range(len(x))):
        return None
    E = _tighten(system, cs, list(range(system.P)), K)
    root = root_facts(system, E, "seed", (small.lo, small.hi))
    system.add_known_root(root)
    return root


@dataclass
class Outcome:
    """What processing a box found: its class (or how it was divided), why, its children and its zero."""

    cls: str  # excluded | consistent | isolated | undecided | contracted | split
    reason: str
    children: list = field(default_factory=list)
    root: dict | None = None
    removed: Fraction = Fraction(0)  # volume cut off by a contraction (proved free of zeros)
    seed: dict | None = None  # a zero certified from a Newton point found from the box's midpoint
    exists: bool = False  # consistent boxes: a data-consistent point proved to lie in the box
    manifold: dict | None = None  # manifold boxes: dimension, free coordinates, kind, inertia (enumerate_manifold)


def _krawczyk(system: BoxSystem, c, f: list[int], X, HX, fc=None, Hc=None):
    r"""``K(X) = c - Y f(c) + (I - Y f'(X))(X - c)`` on the coordinates ``f`` (the others held at ``c``), with
    :math:`Y \approx H_{ff}(c)^{-1}`; ``c``, ``X``, ``HX`` (and ``fc``, ``Hc``) are full-size. ``None`` if
    :math:`H_{ff}(c)` is singular."""
    if fc is None or Hc is None:
        point = system.state(c)
        fc, Hc = point.gradient, point.hessian()
    Hm = _mids(Hc[np.ix_(f, f)])
    if not np.all(np.isfinite(Hm)) or np.linalg.cond(Hm) > 1e14:
        return None
    return krawczyk_operator(c[f], fc[f], _to_balls(np.linalg.inv(Hm)), HX[np.ix_(f, f)], X[f])


def _disjoint(a, b) -> bool:
    return bool(a.upper() < b.lower()) or bool(b.upper() < a.lower())


def process_box(system: BoxSystem, box: Box, min_width: Fraction) -> Outcome:
    """One step of the branch and bound on ``box`` (see the module docstring for the classes); on a pinned box
    (:mod:`verify.enumerate_reduce`) the tests run over its free coordinates."""
    f = box.free
    c = box.balls(Fraction(-1))  # radius 0: the midpoint as exact balls
    X = box.balls()
    Xi = box.balls(INFLATION)
    if not f:
        return _pinned_point(system, box, c)
    st = system.state(Xi, c)
    g = st.gradient
    for i in range(system.P):
        if _excludes_zero(g[i]):
            return Outcome("excluded", f"interval enclosure of component {i + 1} of the gradient")
    point = system.state(c)
    gc = point.gradient
    HX = st.hessian()
    mv = gc + HX @ (Xi - c)
    for i in range(system.P):
        if _excludes_zero(mv[i]):
            return Outcome("excluded", f"mean-value enclosure of component {i + 1} of the gradient")
    v = _to_balls(np.array([float(x.mid()) for x in gc]))
    if np.all(np.isfinite([float(x.mid()) for x in v])) and _excludes_zero(v @ gc + (v @ HX) @ (Xi - c)):
        return Outcome("excluded", "mean-value enclosure of the gradient along its value at the midpoint")
    rows = full_rows(st.G)
    Gf = st.G[:, f]  # on a pinned box the fixed points move in the free coordinates only
    full = len(rows) == system.D and system.full_row_rank(Gf)
    support = not full and 0 < len(rows) < system.D and system.full_row_rank(Gf[rows])
    if full or support:
        for A in rows:
            if _excludes_zero(st.r[A]):
                return Outcome("excluded", f"G has full row rank on its moving rows and the residual r_{A + 1} is not 0")
    if not full and not support:
        reduced = reduce_box(system, box, Xi, HX)
        if reduced is not None:
            names = ", ".join(system.model.params[k].label for k in reduced[1])
            return Outcome("reduced", f"every fixed point of the box has {names} = 0 (reduction)", [reduced[0]])
    Hc = point.hessian()
    K = _krawczyk(system, c, f, Xi, HX, gc, Hc)
    if K is not None:
        for i, k in enumerate(f):
            if _disjoint(K[i], X[k]):
                return Outcome("excluded", f"Krawczyk: K(X) misses the box in component {k + 1}")
        if all(_inside(K[i], Xi[k]) for i, k in enumerate(f)):
            E = _tighten(system, c, f, K)
            if any(_disjoint(E[k], X[k]) for k in f):
                return Outcome("excluded", "the only zero of the inflated box lies outside the box")
            root = describe_root(system, E, box)
            return Outcome("isolated", "Krawczyk: exactly one zero in the inflated box", root=root)
        contracted = _contract(box, f, K)
        if contracted is not None:
            return contracted
    direct = [k for k in system.model.direct_parameters() if k in f]
    if direct and len(direct) < len(f) and box.width <= MANIFOLD_WIDTHS * min_width:
        partial = _contract_direct(system, box, Xi, HX, Hc, direct)
        if partial is not None:
            return partial
    if support and len(f) > len(rows):
        facts = support_manifold(system, box, st, HX, rows, f)
        return Outcome("manifold", f"G has full row rank on its {len(rows)} moving rows: every fixed point of the box has "
                       "r = 0 there (F2 on the support), a manifold of fixed points", manifold=facts)
    if full and len(f) > system.D:
        return Outcome("consistent", "G has full row rank on the box (F2, region form)",
                       exists=system.consistent_point_exists(box) or consistent_point_near(system, box, st))
    known = None if box.pinned else _known_root_decides(system, box)
    if known is not None:
        return known
    if not full and box.width <= MANIFOLD_WIDTHS * min_width:
        found = manifold_test(system, box, Xi, HX, st)
        if found is not None:
            return Outcome(found[0], found[1], manifold=found[2])
    if box.width <= min_width:
        if full:
            return Outcome("consistent", "G has full row rank on the box (F2, region form); not isolated")
        return Outcome("undecided", "minimum width reached")
    system.boxes_seen += 1
    seed = None
    if (K is not None and not box.pinned and system.seed_attempts <= SEED_SHARE * system.boxes_seen + 3
            and not _holds_known_root(system, box)):
        system.seed_attempts += 1
        seed = _seed_root(system, box, c, gc, Hc)
    return Outcome("split", "bisected", box.bisect(_smear_direction(box, HX)), seed=seed)


def _contract(box: Box, f: list[int], K) -> Outcome | None:
    """``X ∩ K(X)`` on the free coordinates when it keeps at most :data:`CONTRACTION_GAIN` of the volume."""
    if not all(k.is_finite() for k in K):
        return None
    lo, hi = list(box.lo), list(box.hi)
    for i, k in enumerate(f):
        lo[k] = max(box.lo[k], ball_fraction(K[i], False))
        hi[k] = min(box.hi[k], ball_fraction(K[i], True))
    if not all(lo[k] < hi[k] for k in f):
        return None
    small = Box(box.id + ".c", tuple(lo), tuple(hi), box.scale)
    vol, small_vol = box_volume(box), box_volume(small)
    if small_vol > CONTRACTION_GAIN * vol:
        return None
    return Outcome("contracted", "X ∩ K(X): the rest holds no zero", [small], removed=vol - small_vol)


def _contract_direct(system: BoxSystem, box: Box, Xi, HX, Hc, xs: list[int]) -> Outcome | None:
    r"""Contraction on the direct parameters :math:`x` (F3: :math:`J_A = \theta_k + g`, e.g. ``rbm``'s fields), the
    others :math:`y` ranging over the box: every zero of :math:`\partial_x\ell(\cdot, y)` in :math:`X` lies in the slice
    operator :math:`K(X, Y)` (:func:`~verify.enumerate_manifold.slice_krawczyk`), so :math:`X \cap K` keeps every fixed
    point. Along the direct parameters :math:`\ell` is concave (:math:`J` affine in them), so :math:`K` is narrow: the
    fields follow the other parameters instead of being bisected."""
    ys = [k for k in box.free if k not in xs]
    sk = slice_krawczyk(system, box, Xi, HX, xs, ys, np.array([float(v) for v in box.mid]), _mids(Hc))
    if sk is None:
        return None
    K = sk[0]
    if any(_disjoint(K[i], Xi[k]) for i, k in enumerate(xs)):
        return Outcome("excluded", "slice Krawczyk on the direct parameters misses the box")
    return _contract(box, xs, K)


def _pinned_point(system: BoxSystem, box: Box, c) -> Outcome:
    """A box pinned in every coordinate: a point whose gradient the reductions proved to be 0 (checked again)."""
    g = system.state(c).gradient
    if any(_excludes_zero(v) for v in g):
        return Outcome("excluded", "the pinned point is not a zero of the gradient")
    if not all(v.is_zero() for v in g):
        return Outcome("undecided", "pinned point: the gradient is not proved to be 0")
    return Outcome("isolated", "every coordinate pinned by reductions: the point is a fixed point",
                   root=root_facts(system, c, box.id, (box.lo, box.hi)))


def _smear_direction(box: Box, HX) -> int:
    r"""The side :math:`k` with the largest smear :math:`w_k \max_i |H_{ik}(X)|` (the widest side if ``H`` is not finite).

    Sides narrower than a quarter of the widest are not chosen (keeps the boxes from turning into needles)."""
    widths = [float(b - a) for a, b in zip(box.lo, box.hi)]
    top = max(widths)
    try:
        smear = [widths[k] * max(float(abs(HX[i, k]).upper()) for i in range(len(widths))) if widths[k] >= top / 4 else -1.0
                 for k in range(len(widths))]
    except (ValueError, OverflowError):
        return None
    if not all(np.isfinite(smear)) or max(smear) <= 0:
        return None
    return int(np.argmax(smear))


def _tighten(system: BoxSystem, c, f: list[int], K, steps: int = 4):
    """Iterate ``E := E ∩ K(E)`` on the free coordinates ``f`` (each still holds the unique zero); the pinned ones stay."""
    E = c.copy()
    E[f] = K
    for _ in range(steps):
        flint = _flint()
        mids = np.array([flint.arb(e.mid()) for e in E], dtype=object)
        H = system.state(E, mids).hessian()
        K = _krawczyk(system, mids, f, E, H)
        if K is None:
            break
        for k, e in zip(K, f):
            lo = max(k.lower(), E[e].lower())
            hi = min(k.upper(), E[e].upper())
            E[e] = lo.union(hi)
    return E


def describe_root(system: BoxSystem, E, box: Box) -> dict:
    """The zero enclosed by ``E``, unique in ``box`` inflated by :data:`INFLATION` (see :func:`root_facts`)."""
    inflated = ([m - r * (1 + INFLATION) for m, r in zip(box.mid, box.rad)],
                [m + r * (1 + INFLATION) for m, r in zip(box.mid, box.rad)])
    return root_facts(system, E, box.id, inflated)


def root_facts(system: BoxSystem, E, where: str, unique_in: tuple) -> dict:
    r"""Kind, certified inertia of :math:`H`, a lower bound on :math:`\operatorname{rank}G` and the lowest order with :math:`r_A \ne 0`."""
    from theory.conventions import subsets

    flint = _flint()
    st = system.state(E, np.array([flint.arb(e.mid()) for e in E], dtype=object))
    H = st.hessian()
    Hm = _mids(H)
    _, Q = np.linalg.eigh((Hm + Hm.T) / 2)
    inert = inertia(H, Q)
    G = st.G
    GtG = G.T @ G
    Gm = _mids(GtG)
    _, V = np.linalg.eigh((Gm + Gm.T) / 2)
    gram = inertia(GtG, V)
    orders = [len(A) for A in subsets(system.model.n)]
    nonzero = [k for k in range(system.D) if _excludes_zero(st.r[k])]
    full = system.full_row_rank(G)
    if nonzero:
        kind = "spurious"
    elif full:
        kind = "data-consistent"
    else:
        kind = "undetermined"
    P = system.P
    if inert.negative == P:
        nature = "strict maximum"
    elif inert.positive == P:
        nature = "strict minimum"
    elif inert.negative + inert.positive == P:
        nature = f"strict saddle, {inert.positive} unstable"
    elif inert.positive:
        nature = f"saddle, at least {inert.positive} unstable"
    else:
        nature = "inertia not decided"
    return {
        "box": where,
        "enclosure": {"lo": [str(ball_fraction(e, False)) for e in E], "hi": [str(ball_fraction(e, True)) for e in E]},
        "inflated": {"lo": [str(v) for v in unique_in[0]], "hi": [str(v) for v in unique_in[1]]},
        "point": [str(e.mid()) for e in E],
        "kind": kind,
        "nature": nature,
        "negative": inert.negative, "positive": inert.positive, "undecided_eigenvalues": inert.undecided,
        "rank_G_at_least": gram.positive if gram.q_nonsingular else 0,
        "G_full_row_rank": full,
        "lowest_inconsistent_order": min((orders[k] for k in nonzero), default=None),
        "residual_nonzero": [k + 1 for k in nonzero],
    }

