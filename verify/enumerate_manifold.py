r"""Manifold boxes of the enumeration: the parametric (slice) Krawczyk test and what makes its graph fixed points.

**Slice test.** Split the coordinates :math:`\theta = (x, y)`, :math:`\dim y = d`, and let
:math:`F(x, y) = \partial\ell/\partial x` (the :math:`x`-components of :math:`\nabla\ell`), so
:math:`\partial_x F = H_{xx}`. With :math:`\tilde x \in X`, :math:`C \approx H_{xx}^{-1}` (at a nearby fixed point) and
:math:`y` ranging over the whole interval :math:`Y`,

.. math:: K(X, Y) = \tilde x - C\,F(\tilde x, Y) + (I - C\,H_{xx}(X, Y))(X - \tilde x).

For each fixed :math:`y \in Y`, :math:`K(X, y) \subset K(X, Y)`; so :math:`K(X, Y) \subset \operatorname{int} X` proves
(Krawczyk) that for every :math:`y \in Y` there is exactly one :math:`x(y) \in X` with :math:`F(x(y), y) = 0`, and
:math:`H_{xx}` is nonsingular on the box (implicit function theorem: :math:`y \mapsto x(y)` is smooth). Every fixed
point in :math:`X \times Y` then lies on the :math:`d`-dimensional graph :math:`\{(x(y), y)\}`. (:math:`K \cap X = \emptyset`
in one component excludes the box.) Uniqueness alone needs much less: if the enclosure :math:`H_{xx}(X, Y)` is
*regular* (every matrix in it nonsingular), then :math:`F(x, y) - F(x', y) = \bar H (x - x')` with :math:`\bar H` in the
(convex) enclosure, so :math:`F(\cdot, y)` is one-to-one on :math:`X`: at most one :math:`x(y)` per :math:`y`, and every
fixed point of the box lies on that graph. This is the test of :func:`manifold_test`; existence comes from the slice
operator above (for every :math:`y`) or from Krawczyk at one :math:`y_0` around a Gauss-Newton point
(:func:`~verify.enumerate_proofs.exists_on_slice`); a box where no point is proved and the Gauss-Newton point lies outside
is bisected. :math:`d` is the numerical kernel dimension of :math:`H` at a fixed point found by Gauss-Newton
(Levenberg-Marquardt) from the box's midpoint, and :math:`y` the :math:`d` coordinates on which that kernel projects
best (pivoted QR of the kernel basis: the largest minor).

**The graph consists of fixed points** (then it is a :math:`d`-manifold of fixed points) when one of these holds:

* *declared continuous symmetries* (:meth:`~theory.families.base.Model.symmetries`, e.g. ``product``'s rescalings
  :math:`u_A \to \lambda u_A, v_A \to v_A/\lambda`): :math:`\ell` is constant on their orbits, so
  :math:`\nabla\ell\cdot t_j \equiv 0` for each generator :math:`t_j(\theta)`. Where :math:`\partial_x\ell = 0` this
  leaves :math:`T_y^\top\nabla_y\ell = 0` (:math:`T_y` the :math:`d \times d` block of :math:`d` generators on the
  :math:`y` coordinates); if :math:`T_y` is proved nonsingular on the box (preconditioned diagonal dominance),
  :math:`\nabla_y\ell = 0` too: every point of the graph is a fixed point;
* *dead directions* (a dead hidden unit's free bias): coordinates :math:`Z` with :math:`0 \in X_Z` and the subspace
  :math:`L = \{\theta_Z = 0\}` such that, exactly (sympy, on :math:`L`), (i) :math:`\partial J/\partial y \equiv 0` (so
  :math:`J|_L` depends on :math:`x' = x\setminus Z` alone and :math:`\partial_y\ell = 0` on :math:`L`) and (ii) every
  non-zero entry :math:`\partial J_A/\partial\theta_k`, :math:`k \in Z`, is in a row :math:`A` with a direct parameter
  :math:`\theta_j \in x'` (F3: :math:`\partial_j\ell = r_A`). Krawczyk on :math:`\partial_{x'}\ell` restricted to
  :math:`L` (at one :math:`y`; it does not depend on :math:`y`) proves a zero :math:`x'^*`; there :math:`r_A = 0` on the
  direct rows, so :math:`\partial_Z\ell = \sum_A r_A\,\partial J_A/\partial\theta_Z = 0`, and
  :math:`(x'^*, 0_Z, y)` is a fixed point for every :math:`y \in Y`. By uniqueness :math:`x(y) = (x'^*, 0_Z)`: the graph
  is the flat piece :math:`\{x'^*\} \times \{0_Z\} \times Y` (``rbm``'s paramagnetic line :math:`w = 0`, free :math:`b`).

Otherwise the box is reported as a graph only: "every fixed point in this box lies on a :math:`d`-dimensional graph
over :math:`y`", with no claim that its points are fixed points.

**Inertia.** On a manifold of fixed points of dimension :math:`d` through a point with :math:`H_{xx}` nonsingular,
the tangent space lies in :math:`\ker H`, so :math:`\dim\ker H \ge d`; the Haynsworth formula
:math:`\operatorname{In} H = \operatorname{In} H_{xx} + \operatorname{In}(H/H_{xx})` with a :math:`d \times d` Schur complement
of nullity :math:`\ge d` forces :math:`H/H_{xx} = 0`: :math:`H` has exactly :math:`d` zero eigenvalues and the
positive and negative counts of :math:`H_{xx}`, certified over the box by :func:`~verify.certify.inertia` (so
"strict saddle" means a certified positive eigenvalue).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .certify import _ball, _strictly_inside, inertia, krawczyk_operator
from .enumerate_proofs import (_exact_balls, dead_line_elsewhere, exists_on_slice, fixed_by_dead_directions,
                              fixed_by_symmetry)
from .enumerate_system import _regular, _to_balls

__all__ = ["nearby_fixed_point", "free_coordinates", "manifold_facts", "slice_krawczyk", "support_manifold", "manifold_test"]

#: relative threshold of a numerically zero eigenvalue of H at the Gauss-Newton point
KERNEL_TOL = 1e-7


def _m64(system):
    from theory.arith import FLOAT64

    if getattr(system, "_m_data64", None) is None:
        system._m_data64 = system.target.moment_array(FLOAT64)
    return system._m_data64


def nearby_fixed_point(system, box, steps: int = 20):
    r"""A numerical fixed point near the box: float64 Levenberg-Marquardt steps
    :math:`\delta = -(H^\top H + \mu I)^{-1}H^\top\nabla\ell`, :math:`\mu = \|\nabla\ell\|` (Fan-Yuan: quadratic
    convergence onto a manifold of zeros under a local error bound; plain minimum-norm Newton steps run along the
    manifold, where the near-kernel eigenvalues of :math:`H` off it are of second order). ``(theta, H)``, or ``None``
    when it does not converge or leaves the box inflated by half its width. A heuristic: it only chooses :math:`d`,
    :math:`y`, :math:`\tilde x` and the preconditioner, never decides anything."""
    from theory.arith import FLOAT64
    from theory.flow import FlowState

    f = box.free
    lo = np.array([float(v) for v in box.lo])
    hi = np.array([float(v) for v in box.hi])
    slack = (hi - lo) / 2
    x = (lo + hi) / 2
    m = _m64(system)
    for step in range(steps):
        st = FlowState(system.model, x, m, FLOAT64)
        g, H = st.gradient, st.hessian()
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            return None
        if np.max(np.abs(g)) < 1e-13:
            return x, (H + H.T) / 2
        g, H = g[f], H[np.ix_(f, f)]
        if step == steps // 2 and np.max(np.abs(g)) > 1e-6:
            return None  # not converging fast: no zero close by
        mu = float(np.linalg.norm(g))
        x[f] = x[f] - np.linalg.solve(H.T @ H + mu * np.eye(len(f)), H.T @ g)
        if not np.all(np.isfinite(x)) or np.any(x < lo - slack) or np.any(x > hi + slack):
            return None
    return None  # no convergence (far from a zero): the box is bisected


def free_coordinates(H: np.ndarray) -> tuple[int, list[int], np.ndarray]:
    """``(d, y, V)``: the numerical kernel dimension of the symmetric ``H``, the ``d`` coordinates of the largest minor
    of its kernel basis ``V`` (pivoted QR of ``V^T``)."""
    import scipy.linalg

    lam, Q = np.linalg.eigh(H)
    scale = max(1.0, float(np.max(np.abs(lam))))
    zero = np.abs(lam) < KERNEL_TOL * scale
    d = int(np.sum(zero))
    if d == 0:
        return 0, [], Q[:, :0]
    V = Q[:, zero]
    perm = scipy.linalg.qr(V.T, pivoting=True)[2]
    return d, sorted(int(k) for k in perm[:d]), V


def slice_krawczyk(system, box, Xi, HX, xs: list[int], ys: list[int], theta0: np.ndarray, H0: np.ndarray):
    r"""The slice operator :math:`K(X', Y)` over the box inflated in :math:`x` (``Xi``) and the box's own :math:`Y`, with
    :math:`\tilde x` the Gauss-Newton point's :math:`x` (the midpoint if it is outside :math:`X'`) and
    :math:`H_{xx}(X', Y)` taken from ``HX`` (an enclosure over ``Xi``, a superset). :math:`F(\tilde x, Y)` in mean-value
    form :math:`F(\tilde x, \check y) + H_{xy}(X', Y)(Y - \check y)`: the natural enclosure loses the cancellations of
    the Walsh sums (at :math:`w = 0`, :math:`\partial J_{12}/\partial w_1 = \tfrac14\sum_s s_2\tanh b` is not 0 in
    balls when :math:`b` is). Returns ``(K, X')`` or ``None``."""
    X = box.balls()
    Xx = Xi[xs]
    xt = []
    for k in xs:
        v = Fraction(float(theta0[k]))
        lo, hi = box.lo[k] - box.rad[k] * Fraction(1, 32), box.hi[k] + box.rad[k] * Fraction(1, 32)
        xt.append(v if lo < v < hi else box.mid[k])
    xt = _exact_balls(xt)
    Hxx = H0[np.ix_(xs, xs)]
    if not np.all(np.isfinite(Hxx)) or np.linalg.cond(Hxx) > 1e12:
        return None
    centre = np.empty(system.P, dtype=object)
    yt = _exact_balls([box.mid[k] for k in ys])
    centre[xs], centre[ys] = xt, yt
    F = system.state(centre).gradient[xs] + HX[np.ix_(xs, ys)] @ (X[ys] - yt)  # mean value in y
    K = krawczyk_operator(xt, F, _to_balls(np.linalg.inv(Hxx)), HX[np.ix_(xs, xs)], Xx)
    return K, Xx


def manifold_facts(system, box, st, HX, ys: list[int], proof: str | None) -> dict:
    r"""What a manifold box reports: dimension, free coordinates, kind, lowest inconsistent order, and the certified
    inertia of the block :math:`H_{x'x'}` of the full :math:`H` on every coordinate but :math:`y`: when it is regular on
    the box (every enclosed matrix nonsingular), its inertia is the same at every point of the connected box, so it is
    certified at the midpoint (thin balls); then :math:`H` has at every point of the manifold in the box exactly
    :math:`d` zero eigenvalues and the positive and negative counts of :math:`H_{x'x'}` (Haynsworth, module docstring)."""
    from theory.conventions import subsets

    xs = [k for k in range(system.P) if k not in ys]
    Hxx = HX[np.ix_(xs, xs)]
    if _regular(Hxx):  # nonsingular on the whole (connected) box: the same inertia at every point, so at the midpoint
        Hxx = system.state(np.array([_ball(q, Fraction(0)) for q in box.mid], dtype=object)).hessian()[np.ix_(xs, xs)]
    Hm = np.array([[float(v.mid()) for v in row] for row in Hxx])
    _, Q = np.linalg.eigh((Hm + Hm.T) / 2)
    inert = inertia(Hxx, Q)
    orders = [len(A) for A in subsets(system.model.n)]
    nonzero = [k for k in range(system.D) if bool(st.r[k] > 0) or bool(st.r[k] < 0)]
    d = len(ys)
    if proof is None:
        nature = "graph only"
    elif inert.undecided:
        nature = f"saddles, at least {inert.positive} unstable" if inert.positive else "inertia not decided"
    elif inert.positive:
        nature = f"strict saddles, {inert.positive} unstable"
    else:
        nature = "no unstable direction"
    labels = [system.model.params[k].label for k in ys]
    return {"dimension": d, "free": labels, "free_index": list(ys),
            "kind": "spurious" if nonzero else "undetermined",
            "fixed_points": proof is not None, "proof": proof, "nature": nature,
            "negative": inert.negative, "positive": inert.positive, "undecided_eigenvalues": inert.undecided,
            "zero": d if proof is not None and not inert.undecided else None,
            "lowest_inconsistent_order": min((orders[k] for k in nonzero), default=None),
            "residual_nonzero": [k + 1 for k in nonzero]}


def support_manifold(system, box, st, HX, rows: list[int], f: list[int]) -> dict:
    r"""A box where the rows of :math:`G` outside ``rows`` are exactly 0 (those couplings do not move on the box) and
    :math:`G_S` (:math:`S` = ``rows``) has full row rank: a fixed point has :math:`G_S^\top r_S = 0`, so :math:`r_S = 0`;
    conversely every point with :math:`r_S = 0` is a fixed point (:math:`\nabla\ell = G_S^\top r_S + 0`). With the
    other couplings constant on the box, :math:`r_S = 0` is :math:`J_S = J^*_S` (the maximum-entropy fit on :math:`S`,
    unique by strict concavity), a regular level set: the fixed points of the box form a manifold of dimension
    ``len(f) - |S|`` (it may be empty), spurious where some :math:`r_A`, :math:`A \notin S`, is proved non-zero. Its free
    coordinates: the free ones outside the :math:`|S|` pivots :math:`x` of a pivoted QR of :math:`G_S`. A point of it is
    proved to lie in the box (``exists``) when :math:`G_{S,x}` is regular on the box and Krawczyk finds a zero of
    :math:`\partial_x\ell = G_{S,x}^\top r_S` at the midpoint's :math:`y` (:func:`exists_on_slice`): there :math:`r_S = 0`."""
    import scipy.linalg

    Gm = np.array([[float(v.mid()) for v in row] for row in st.G[rows][:, f]])
    pivots = {f[k] for k in scipy.linalg.qr(Gm, pivoting=True)[2][: len(rows)]}
    ys = [k for k in f if k not in pivots]
    xs = sorted(pivots)
    facts = manifold_facts(system, box, st, HX, ys, "F2 on the moving rows of G")
    facts["exists"], facts["point"] = _point_on_level_set(system, box, st, rows, xs, ys)
    return facts


def _point_on_level_set(system, box, st, rows, xs, ys) -> tuple[bool, list | None]:
    r"""A zero of :math:`\partial_x\ell` at one :math:`y_0` (:func:`exists_on_slice`, around a Gauss-Newton point) with
    :math:`G_{S,x}` regular on the box: there :math:`r_S = 0`, a fixed point in the box."""
    found = nearby_fixed_point(system, box)
    point = found[0] if found is not None else np.array([float(v) for v in box.mid])
    ok = _regular(st.G[rows][:, xs]) and exists_on_slice(system, box, xs, ys, point)
    return ok, ([float(v) for v in point] if ok else None)


def consistent_point_near(system, box, st) -> bool:
    """A data-consistent point proved in a box where :math:`G` has full row rank: :func:`_point_on_level_set` with all
    rows (:math:`r = 0`), on the pivots of a pivoted QR of :math:`G` at the midpoint."""
    import scipy.linalg

    f = box.free
    Gm = np.array([[float(v.mid()) for v in row] for row in st.G[:, f]])
    if not np.all(np.isfinite(Gm)):
        return False
    xs = sorted(f[k] for k in scipy.linalg.qr(Gm, pivoting=True)[2][: system.D])
    return _point_on_level_set(system, box, st, list(range(system.D)), xs, [k for k in f if k not in xs])[0]


def manifold_test(system, box, Xi, HX, st):
    """``("excluded" | "manifold", reason, facts)`` from the slice test of the module docstring, or ``None``."""
    found = nearby_fixed_point(system, box)
    if found is None:
        return None
    theta0, H0 = found
    f = box.free
    d, ys, _ = free_coordinates(H0[np.ix_(f, f)])
    if d == 0 or d >= len(f):
        return None
    ys = [f[k] for k in ys]
    xs = [k for k in f if k not in ys]
    off = dead_line_elsewhere(system, box, xs, ys, theta0)
    if off is not None:
        return "excluded", off, None
    if not _regular(HX[np.ix_(xs, xs)]):
        return None
    sk = slice_krawczyk(system, box, Xi, HX, xs, ys, theta0, H0)
    everywhere = False
    if sk is not None:
        K, Xx = sk
        X = box.balls()
        for i, k in enumerate(xs):
            if bool(K[i].upper() < X[k].lower()) or bool(X[k].upper() < K[i].lower()):
                return "excluded", f"slice Krawczyk over the free coordinates misses the box in component {k + 1}", None
        everywhere = all(_strictly_inside(K[i], Xx[i]) for i in range(len(xs)))
    proof = fixed_by_symmetry(system, Xi, ys, theta0)
    if proof is not None:
        proof = "declared symmetry: " + proof
    elif fixed_by_dead_directions(system, box, xs, ys, theta0, Xi[xs]):
        proof = "dead directions: J does not depend on the free coordinates where the pinned ones are 0"
        everywhere = True
    if proof is None and not all(box.lo[k] <= Fraction(float(theta0[k])) <= box.hi[k] for k in xs):
        return None  # nothing proved, and the zero set seen is outside the box: bisect
    facts = manifold_facts(system, box, st, HX, ys, proof)
    facts["point"] = [float(v) for v in theta0]
    facts["exists"] = proof is not None and (everywhere or exists_on_slice(system, box, xs, ys, theta0))
    why = f"H_xx regular: every fixed point of the box on a {d}-dimensional graph over {', '.join(facts['free'])}"
    return "manifold", why, facts
