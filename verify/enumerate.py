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
from functools import cached_property

import numpy as np

from .certify import _ball, _flint, _strictly_inside as _inside, ball_context, inertia, krawczyk_operator

__all__ = ["Box", "BoxSystem", "Outcome", "process_box", "box_volume", "ball_fraction", "INFLATION"]

#: relative inflation of a box before the Krawczyk test (roots on a shared face are then still isolated)
INFLATION = Fraction(1, 32)
#: contracted boxes are requeued when they keep at most this fraction of the volume; else the box is bisected
CONTRACTION_GAIN = Fraction(1, 2)
#: Newton seeds are tried from at most this share of the bisected boxes (each costs up to 25 evaluations)
SEED_SHARE = 0.02
#: outward rounding grid of contracted bounds (bits): keeps the rationals short
GRID_BITS = 48


@dataclass(frozen=True)
class Box:
    """A closed box ``[lo, hi]`` (exact rationals) and its identifier (its path in the bisection tree)."""

    id: str
    lo: tuple[Fraction, ...]
    hi: tuple[Fraction, ...]

    @cached_property
    def mid(self) -> tuple[Fraction, ...]:
        return tuple((a + b) / 2 for a, b in zip(self.lo, self.hi))

    @cached_property
    def rad(self) -> tuple[Fraction, ...]:
        return tuple((b - a) / 2 for a, b in zip(self.lo, self.hi))

    @property
    def width(self) -> Fraction:
        return max(b - a for a, b in zip(self.lo, self.hi))

    def to_json(self) -> dict:
        return {"id": self.id, "lo": [str(v) for v in self.lo], "hi": [str(v) for v in self.hi]}

    @classmethod
    def from_json(cls, obj: dict) -> "Box":
        return cls(obj["id"], tuple(Fraction(v) for v in obj["lo"]), tuple(Fraction(v) for v in obj["hi"]))

    def balls(self, inflate: Fraction = Fraction(0)):
        return np.array([_ball(m, r * (1 + inflate)) for m, r in zip(self.mid, self.rad)], dtype=object)

    def bisect(self, k: int | None = None) -> list["Box"]:
        """Halve along side ``k`` (default: the widest)."""
        if k is None:
            k = max(range(len(self.lo)), key=lambda i: self.hi[i] - self.lo[i])
        m = (self.lo[k] + self.hi[k]) / 2
        left = Box(self.id + ".0", self.lo, self.hi[:k] + (m,) + self.hi[k + 1 :])
        right = Box(self.id + ".1", self.lo[:k] + (m,) + self.lo[k + 1 :], self.hi)
        return [left, right]


def box_volume(box: Box) -> Fraction:
    out = Fraction(1)
    for a, b in zip(box.lo, box.hi):
        out *= b - a
    return out


def ball_fraction(x, upper: bool) -> Fraction:
    """An exact endpoint of a ball, rounded outward to the grid :math:`2^{-48}`."""
    end = x.upper() if upper else x.lower()
    if not end.is_finite():
        raise ValueError("the ball is not finite")
    man, exp = end.mid().man_exp()
    q = Fraction(int(man)) * Fraction(2) ** int(exp)
    scale = 2**GRID_BITS
    k = q * scale
    k = -((-k.numerator) // k.denominator) if upper else k.numerator // k.denominator
    return Fraction(k, scale)


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
        """Remember a certified zero (its enclosure) for :func:`_known_root_decides`."""
        enc = root["enclosure"]
        self.known_roots.append((tuple(Fraction(v) for v in enc["lo"]), tuple(Fraction(v) for v in enc["hi"]), root))

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


def _holds_known_root(system: BoxSystem, box: Box) -> bool:
    return any(all(lo[i] <= box.hi[i] and box.lo[i] <= hi[i] for i in range(len(lo))) for lo, hi, _ in system.known_roots)


def _known_root_decides(system: BoxSystem, box: Box):
    r"""Injectivity around a certified zero :math:`\theta^*`: if :math:`H` is regular on :math:`R = \mathrm{hull}(X \cup E)`
    (:math:`E \ni \theta^*`), :math:`\nabla\ell` is one-to-one on the convex :math:`R`
    (:math:`\nabla\ell(x) - \nabla\ell(y) = \bar H(x - y)`, :math:`\bar H` in the enclosure), so :math:`\theta^*` is its only
    zero there: :math:`X` is excluded when :math:`E \cap X = \emptyset`, and holds at most :math:`\theta^*` otherwise.
    Tried for the known zeros whose hull with the box is at most twice as wide as the box."""
    for lo, hi, root in system.known_roots:
        R = Box("hull", tuple(map(min, lo, box.lo)), tuple(map(max, hi, box.hi)))
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
    K = _krawczyk(system, cs, Xs, system.state(Xs, cs).hessian())
    if K is None or not all(_inside(K[i], Xs[i]) for i in range(len(x))):
        return None
    E = _tighten(system, K)
    root = root_facts(system, E, "seed", (small.lo, small.hi))
    system.add_known_root(root)
    return root


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
        if center is not None:
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

        return curvature_term(self.model, self.theta, self.r, self.arith) - (self.G.T @ self.C) @ self.G


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


def _krawczyk(system: BoxSystem, c, X, HX, fc=None, Hc=None):
    """``K(X) = c - Y f(c) + (I - Y f'(X))(X - c)`` with :math:`Y \\approx H(c)^{-1}` (``None`` if ``H(c)`` is singular)."""
    if fc is None or Hc is None:
        point = system.state(c)
        fc, Hc = point.gradient, point.hessian()
    Hm = _mids(Hc)
    if not np.all(np.isfinite(Hm)) or np.linalg.cond(Hm) > 1e14:
        return None
    return krawczyk_operator(c, fc, _to_balls(np.linalg.inv(Hm)), HX, X)


def _disjoint(a, b) -> bool:
    return bool(a.upper() < b.lower()) or bool(b.upper() < a.lower())


def process_box(system: BoxSystem, box: Box, min_width: Fraction) -> Outcome:
    """One step of the branch and bound on ``box`` (see the module docstring for the classes)."""
    P = system.P
    c = box.balls(Fraction(-1))  # radius 0: the midpoint as exact balls
    X = box.balls()
    Xi = box.balls(INFLATION)
    st = system.state(Xi, c)
    g = st.gradient
    for i in range(P):
        if _excludes_zero(g[i]):
            return Outcome("excluded", f"interval enclosure of component {i + 1} of the gradient")
    point = system.state(c)
    gc = point.gradient
    HX = st.hessian()
    mv = gc + HX @ (Xi - c)
    for i in range(P):
        if _excludes_zero(mv[i]):
            return Outcome("excluded", f"mean-value enclosure of component {i + 1} of the gradient")
    v = _to_balls(np.array([float(x.mid()) for x in gc]))
    if np.all(np.isfinite([float(x.mid()) for x in v])) and _excludes_zero(v @ gc + (v @ HX) @ (Xi - c)):
        return Outcome("excluded", "mean-value enclosure of the gradient along its value at the midpoint")
    full = system.full_row_rank(st.G)
    if full:
        for A in range(system.D):
            if _excludes_zero(st.r[A]):
                return Outcome("excluded", f"G has full row rank and the residual r_{A + 1} is not 0")
    Hc = point.hessian()
    K = _krawczyk(system, c, Xi, HX, gc, Hc)
    if K is not None:
        for i in range(P):
            if _disjoint(K[i], X[i]):
                return Outcome("excluded", f"Krawczyk: K(X) misses the box in component {i + 1}")
        if all(_inside(K[i], Xi[i]) for i in range(P)):
            E = _tighten(system, K)
            if any(_disjoint(E[i], X[i]) for i in range(P)):
                return Outcome("excluded", "the only zero of the inflated box lies outside the box")
            root = describe_root(system, E, box)
            return Outcome("isolated", "Krawczyk: exactly one zero in the inflated box", root=root)
        finite = all(k.is_finite() for k in K)
        lo = tuple(max(box.lo[i], ball_fraction(K[i], False)) for i in range(P)) if finite else box.lo
        hi = tuple(min(box.hi[i], ball_fraction(K[i], True)) for i in range(P)) if finite else box.hi
        if finite and all(a < b for a, b in zip(lo, hi)):
            small = Box(box.id + ".c", lo, hi)
            vol, small_vol = box_volume(box), box_volume(small)
            if small_vol <= CONTRACTION_GAIN * vol:
                return Outcome("contracted", "X ∩ K(X): the rest holds no zero", [small], removed=vol - small_vol)
    if full and P > system.D:
        return Outcome("consistent", "G has full row rank on the box (F2, region form)",
                       exists=system.consistent_point_exists(box))
    known = _known_root_decides(system, box)
    if known is not None:
        return known
    if box.width <= min_width:
        if full:
            return Outcome("consistent", "G has full row rank on the box (F2, region form); not isolated")
        return Outcome("undecided", "minimum width reached")
    system.boxes_seen += 1
    seed = None
    if K is not None and system.seed_attempts <= SEED_SHARE * system.boxes_seen + 3 and not _holds_known_root(system, box):
        system.seed_attempts += 1
        seed = _seed_root(system, box, c, gc, Hc)
    return Outcome("split", "bisected", box.bisect(_smear_direction(box, HX)), seed=seed)


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


def _tighten(system: BoxSystem, E, steps: int = 4):
    """Iterate ``E := E ∩ K(E)`` (each still holds the unique zero)."""
    for _ in range(steps):
        flint = _flint()
        mids = np.array([flint.arb(e.mid()) for e in E], dtype=object)
        K = _krawczyk(system, mids, E, system.state(E, mids).hessian())
        if K is None:
            break
        new = []
        for k, e in zip(K, E):
            lo = max(k.lower(), e.lower())
            hi = min(k.upper(), e.upper())
            new.append(lo.union(hi))
        E = np.array(new, dtype=object)
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
