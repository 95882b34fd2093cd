r"""Certified facts about a fixed point, in ball arithmetic (FLINT/Arb through python-flint).

The structured formulas of :mod:`theory` run unchanged on numpy arrays of Arb balls (:data:`BALL`),
so :math:`\nabla\ell` and :math:`H` are enclosed rigorously, over a single point or over a whole box.

* **Existence and uniqueness** (:func:`krawczyk`): for :math:`f` with Jacobian :math:`f'`, a box
  :math:`X = \check x + [-\rho, \rho]^n`, an approximate inverse :math:`Y \approx f'(\check x)^{-1}`, the Krawczyk
  operator :math:`K(X) = \check x - Y f(\check x) + (I - Y f'(X))(X - \check x)`; if :math:`K(X)` lies in the
  interior of :math:`X`, then :math:`f` has exactly one zero in :math:`X`. Applied to :math:`\nabla\ell` when
  :math:`H` is nonsingular (an isolated fixed point). At a data-consistent point with neutral
  directions the fixed points form a manifold and cannot be isolated; there the certificate is
  for :math:`J(\check\theta + Uz) = J^D` on the slice spanned by the row space :math:`U` of :math:`G`
  (``D`` equations, ``D`` unknowns): a zero proves a data-consistent fixed point (:math:`r = 0` exactly,
  so :math:`\nabla\ell = G^\top r = 0`) in the box, unique on the slice.
* **Orbits of continuous symmetries** (:func:`certify_orbit`): where the fixed points are not isolated
  because a declared continuous symmetry moves them, Krawczyk on the slice transversal to the orbits
  (see :func:`certify_orbit`).
* **Inertia** (:func:`inertia`): with approximate eigenvectors :math:`Q` (mpmath), :math:`M = Q^\top H Q` in
  balls over the box; Gershgorin on :math:`Q^\top Q` proves :math:`Q` nonsingular, so by Sylvester's law
  :math:`M` and :math:`H` have the same inertia; Weyl's inequality with
  :math:`\rho = \|M - \mathrm{diag}(\mathrm{mid}\,M)\|_F` certifies every eigenvalue whose diagonal entry is beyond
  :math:`\pm\rho` and encloses the others in :math:`[-\rho', \rho']`. Balls never prove an eigenvalue is 0.
* **Rank of G**: a lower bound from the certified positive eigenvalues of :math:`G^\top G` over the box,
  and the exact rank (``fmpq_mat``) when :math:`G` is rational at the point (``gim``, ``product``).
* **Exact counts** (:func:`exact_inertia`, :func:`exact_rank`): for rational matrices, the characteristic
  polynomial (``fmpq_mat``) gives the multiplicity of 0, and Descartes' rule of signs, exact for a
  real-rooted polynomial, gives the positive and negative counts.

python-flint comparisons of balls return ``False`` when undecided: every test here is written so
that ``True`` is a proof (``not (x > 0)`` is never used as one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from theory.arith import ELEMENTARY, Arith

from .numeric import ball_bits, certification_radius, certification_radius_string

if TYPE_CHECKING:
    from .fixed_points import Classification

__all__ = ["BALL", "ball_context", "krawczyk", "inertia", "exact_inertia", "exact_rank", "Inertia", "KrawczykResult", "certify_point",
           "certify_support", "certify_orbit", "symmetry_tangents", "consistent_with", "krawczyk_operator", "NO_SYMMETRY",
           "TOO_FEW_TANGENTS", "RANK_DEFICIENT"]


def _flint():
    try:
        import flint
    except ImportError:  # pragma: no cover - python-flint is a runtime dependency
        from theory.errors import SpecError

        raise SpecError("certificates need python-flint: pip install python-flint") from None
    return flint


def _ufunc(method: str):
    def apply(x):
        return np.frompyfunc(lambda v: getattr(v, method)(), 1, 1)(x)

    return apply


def _ball_scalar(q: Fraction):
    flint = _flint()
    return flint.arb(flint.fmpq(q.numerator, q.denominator))


BALL = Arith(
    name="ball",
    dtype=object,
    scalar=_ball_scalar,
    **{name: _ufunc(name) for name in ELEMENTARY},  # Arb's methods carry the same names
    log2cosh=np.frompyfunc(lambda v: (2 * v.cosh()).log(), 1, 1),
    softplus=np.frompyfunc(lambda v: (1 + v.exp()).log(), 1, 1),
    sigmoid=np.frompyfunc(lambda v: 1 / (1 + (-v).exp()), 1, 1),
)


class ball_context:
    """``with ball_context(dps):`` sets Arb's working precision (bits) for the block, then restores it."""

    def __init__(self, dps: int):
        self.bits = ball_bits(dps)

    def __enter__(self):
        flint = _flint()
        self.saved = flint.ctx.prec
        flint.ctx.prec = self.bits
        return BALL

    def __exit__(self, *exc):
        _flint().ctx.prec = self.saved


def _ball(mid: Fraction, radius: Fraction):
    flint = _flint()
    return flint.arb(flint.fmpq(mid.numerator, mid.denominator)) + flint.arb(0, flint.arb(flint.fmpq(radius.numerator, radius.denominator)))


def _strictly_inside(inner, outer) -> bool:
    """``inner ⊂ interior(outer)`` for balls, proved (False when undecided)."""
    return bool(inner.lower() > outer.lower()) and bool(inner.upper() < outer.upper())


@dataclass(frozen=True)
class KrawczykResult:
    """``certified``: exactly one zero in the box of half-width ``radius`` around ``center``."""

    certified: bool
    radius: Fraction
    note: str = ""
    width: float | None = None  # largest width of K(X), a measure of how tight the enclosure is


def krawczyk_operator(xc: np.ndarray, fx: np.ndarray, Y: np.ndarray, JX: np.ndarray, X: np.ndarray) -> np.ndarray:
    r"""The Krawczyk operator :math:`K(X) = \check x - Y f(\check x) + (I - Y f'(X))(X - \check x)` in balls: ``fx`` is
    :math:`f(\check x)`, ``JX`` an enclosure of :math:`f'` over the box ``X``, ``Y`` any matrix of balls. If
    :math:`K(X) \subset \operatorname{int} X`, ``X`` holds exactly one zero of ``f``; a zero in ``X`` lies in :math:`K(X)`."""
    n = len(xc)
    identity = np.array([[_ball(Fraction(int(i == j)), Fraction(0)) for j in range(n)] for i in range(n)], dtype=object)
    return xc - Y @ fx + (identity - Y @ JX) @ (X - xc)


def krawczyk(f, jac, center: tuple[Fraction, ...], radius: Fraction, approx_inverse: np.ndarray) -> KrawczykResult:
    """Krawczyk test for ``f`` (ball vector of a ball vector) with Jacobian ``jac`` around ``center``.

    ``approx_inverse`` is any matrix (floats or rationals; it need not be exact: it is read as exact
    rationals and only affects whether the test succeeds, never its soundness).
    """
    n = len(center)
    X = np.array([_ball(c, radius) for c in center], dtype=object)
    xc = np.array([_ball(c, Fraction(0)) for c in center], dtype=object)
    Y = np.array([[_ball(Fraction(str(v)) if not isinstance(v, Fraction) else v, Fraction(0)) for v in row]
                  for row in approx_inverse], dtype=object)
    K = krawczyk_operator(xc, f(xc), Y, jac(X), X)
    inside = all(_strictly_inside(K[i], X[i]) for i in range(n))
    width = max(float(2 * K[i].rad()) for i in range(n))
    return KrawczykResult(inside, radius, "" if inside else "K(X) is not inside X", width)


@dataclass(frozen=True)
class Inertia:
    """Certified counts of negative and positive eigenvalues; the rest are enclosed in ``[-rho, rho]``."""

    negative: int
    positive: int
    undecided: int
    rho: float
    q_nonsingular: bool
    exact: bool = False
    zero: int | None = None  # known only from exact arithmetic
    notes: tuple = field(default=())


def inertia(H_balls: np.ndarray, Q: np.ndarray) -> Inertia:
    r"""Inertia of the symmetric matrix enclosed by ``H_balls`` from approximate eigenvectors ``Q`` (columns)."""
    n = H_balls.shape[0]
    Qb = np.array([[_ball(Fraction(str(v)), Fraction(0)) for v in row] for row in np.asarray(Q)], dtype=object)
    gram = Qb.T @ Qb
    nonsingular = all(bool(gram[i, i] - sum(abs(gram[i, j]) for j in range(n) if j != i) > 0) for i in range(n))
    M = Qb.T @ H_balls @ Qb
    # upper bounds only: a ball straddling 0 has no square root, its upper endpoint does
    bound2 = sum((abs(M[i, j]).upper() ** 2 for i in range(n) for j in range(n) if i != j), start=_ball(Fraction(0), Fraction(0)))
    bound2 += sum((M[i, i].rad() ** 2 for i in range(n)), start=_ball(Fraction(0), Fraction(0)))
    rho = bound2.upper().sqrt().upper()
    mids = [M[i, i].mid() for i in range(n)]
    negative = sum(1 for d in mids if bool(d < -rho)) if nonsingular else 0
    positive = sum(1 for d in mids if bool(d > rho)) if nonsingular else 0
    return Inertia(negative, positive, n - negative - positive, float(rho.mid()), nonsingular)


def _descartes(coeffs: list) -> int:
    signs = [c > 0 for c in coeffs if c != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def exact_inertia(H_rational: list[list[Fraction]]) -> Inertia:
    """Exact inertia of a rational symmetric matrix: zero multiplicity and Descartes counts of its charpoly."""
    flint = _flint()
    n = len(H_rational)
    mat = flint.fmpq_mat(n, n, [flint.fmpq(v.numerator, v.denominator) for row in H_rational for v in row])
    poly = mat.charpoly()
    coeffs = [poly[k] for k in range(n + 1)]  # ascending
    zero = next(k for k, c in enumerate(coeffs) if c != 0)
    positive = _descartes(list(reversed(coeffs)))
    negative = _descartes([c * (-1) ** k for k, c in reversed(list(enumerate(coeffs)))])
    return Inertia(negative, positive, 0, 0.0, True, exact=True, zero=zero)


def exact_rank(G_rational: list[list[Fraction]]) -> int:
    """Exact rank of a rational matrix (``fmpq_mat.rank``)."""
    flint = _flint()
    rows, cols = len(G_rational), len(G_rational[0])
    return int(flint.fmpq_mat(rows, cols, [flint.fmpq(v.numerator, v.denominator) for r in G_rational for v in r]).rank())


def approximate_inverse(matrix_mid) -> np.ndarray:
    """Float inverse of a ball matrix's midpoints (good enough for Krawczyk's preconditioner)."""
    mids = np.array([[float(v.mid()) for v in row] for row in matrix_mid])
    return np.linalg.inv(mids)





def certify_point(model, target, theta_exact, dps: int, classification: Classification) -> dict:
    """Certificates for a numerically found fixed point: existence (and uniqueness) in a box, inertia of H.

    ``classification`` is the point's :func:`verify.fixed_points.classify` at ``dps`` (measure, then
    certify): it chooses the method (isolated point or slice), and its approximate eigenvectors and
    right singular vectors are the certificate's preconditioners. The box has half-width
    :func:`~verify.numeric.certification_radius`.

    Returns a JSON-ready dict: ``certified`` (existence proved), ``method`` (``krawczyk`` on
    :math:`\\nabla\\ell`, or ``krawczyk-slice`` on :math:`J = J^D`), ``radius``, the certified inertia
    counts and the enclosure radius of the undecided eigenvalues.
    """
    from theory.effective import jacobian, model_couplings
    from theory.flow import FlowState

    if classification is None:
        raise TypeError("certify_point needs the point's classification: certify_point(model, target, theta, dps, "
                        "classify(model, target, theta, dps))")
    c = classification
    radius = certification_radius(dps)
    center = tuple(theta_exact)
    out: dict = {"radius": certification_radius_string(dps), "dps": dps}
    with ball_context(2 * dps) as ball:
        m_data = target.moment_array(ball)
        if c.neutral == 0 or c.neutral is None:  # undecided spectrum: Krawczyk decides it if H is nonsingular
            out["method"] = "krawczyk"

            def f(x):
                return FlowState(model, x, m_data, ball).gradient

            def jac(x):
                return FlowState(model, x, m_data, ball).hessian()

            centre_balls = ball.array(center)
            result = krawczyk(f, jac, center, radius, approximate_inverse(jac(centre_balls)))
            box = np.array([_ball(q, radius) for q in center], dtype=object)
            out["uniqueness"] = "unique fixed point in the box"
        elif c.kind == "data-consistent" and c.rank_G == c.D:
            out["method"] = "krawczyk-slice"
            with mpmath.workdps(dps):
                U = c.low.G_null[:, : c.D]
                U_exact = np.array([[Fraction(float(v)) for v in row] for row in U], dtype=object)
            J_data = target.coupling_array(ball)
            base = ball.array(center)
            Ub = ball.array(U_exact)

            def f(z):
                return model_couplings(model, base + Ub @ z, ball) - J_data

            def jac(z):
                return jacobian(model, base + Ub @ z, ball) @ Ub

            zero = tuple(Fraction(0) for _ in range(c.D))
            result = krawczyk(f, jac, zero, radius, approximate_inverse(jac(ball.array(zero))))
            Z = np.array([_ball(Fraction(0), radius) for _ in range(c.D)], dtype=object)
            box = base + Ub @ Z
            out["uniqueness"] = "unique on the slice through the point spanned by the row space of G"
        elif c.neutral:
            cert = certify_orbit(model, target, theta_exact, dps, c)
            if not cert["certified"] and c.kind == "data-consistent" and c.rank_G is not None and c.rank_G < c.D:
                cert["reason"] = "rank-deficient-data-consistent"
                cert["note"] = RANK_DEFICIENT.format(rank=c.rank_G, D=c.D) + "; and " + cert["note"]
            return cert
        out["certified"] = result.certified
        out["enclosure_width"] = result.width
        if not result.certified:
            out["note"] = result.note
            return out
        state = FlowState(model, box, m_data, ball)
        H_box = state.hessian()
        with mpmath.workdps(dps):
            Q = np.array([[float(v) for v in row] for row in c.low.eigenvectors])
            V = np.array([[float(v) for v in row] for row in c.low.G_null])
        inert = inertia(H_box, Q)
        gram = inertia(state.G.T @ state.G, V)  # positive eigenvalues of GᵀG bound rank G from below
    out.update({"negative": inert.negative, "positive": inert.positive, "undecided": inert.undecided,
                "undecided_within": f"{inert.rho:.3e}", "q_nonsingular": inert.q_nonsingular,
                "rank_G_at_least": gram.positive if gram.q_nonsingular else 0})
    exact = exact_rank_if_rational(model, theta_exact)
    if exact is not None:
        out["rank_G_exact"] = exact
    return out


def exact_rank_if_rational(model, theta_exact) -> int | None:
    """Exact rank of :math:`G` when its entries at the exact point are rational: for families whose energy is
    polynomial in the parameters (:attr:`~theory.families.base.Model.polynomial`: ``gim``, ``product``, polynomial
    networks) at a rational point; ``None`` otherwise (sympy would spend seconds finding transcendental entries)."""
    import sympy as sp

    if not model.polynomial:
        return None

    from theory.arith import EXACT
    from theory.effective import jacobian

    G = jacobian(model, EXACT.array(theta_exact), EXACT)
    if not all(isinstance(v, sp.Rational) for v in G.reshape(-1)):
        return None
    return exact_rank([[Fraction(int(v.p), int(v.q)) for v in row] for row in G])


def unmatched_rows_vanish(model, theta_exact, free: list[int], rows: list[int]) -> bool:
    """Do the given rows of :math:`G` vanish identically on the slice? Decided symbolically (sympy), with
    the free coordinates as symbols and the others exact: balls cannot see that :math:`u - u = 0`."""
    import sympy as sp

    from theory.arith import EXACT
    from theory.effective import jacobian

    theta = np.array([sp.Symbol(f"x{k}", real=True) if k in free else sp.Rational(q.numerator, q.denominator)
                      for k, q in enumerate(theta_exact)], dtype=object)
    G = jacobian(model, theta, EXACT)
    return all(sp.simplify(v) == 0 for v in G[rows].reshape(-1))


def certify_support(model, target, theta_exact, free: list[int], matched: list[int], dps: int) -> dict:
    r"""Certificate for a fixed point on a slice where some couplings are matched and the others cannot move.

    The coordinates outside ``free`` stay at their exact values. Krawczyk on
    :math:`r_S(\theta) = m^D_S - m_S(J(\theta)) = 0` over the ``free`` coordinates (``|S| = |free|``, Jacobian
    :math:`-(CG)_{S,\mathrm{free}}`) proves a unique zero in the box; if moreover every row of :math:`G` for
    the unmatched couplings vanishes identically on the slice (:func:`unmatched_rows_vanish`), then
    :math:`\nabla\ell = G_S^\top r_S + G_Z^\top r_Z = 0` there: a fixed point exists in the box, spurious when
    :math:`r_Z \ne 0`. This covers the exact spurious points of :mod:`verify.spurious` (``product`` with
    :math:`u_A = v_A = 0`: free ``u_S`` with ``v_S = 1``; the paramagnetic point: free fields with
    ``w = 0, b = 0``), whose neutral directions make them non-isolated. The box has half-width
    :func:`~verify.numeric.certification_radius`.
    """
    from theory.flow import FlowState

    if len(free) != len(matched):
        raise ValueError("the slice needs as many free coordinates as matched couplings")
    radius = certification_radius(dps)
    unmatched = [k for k in range(2**model.n - 1) if k not in matched]
    out: dict = {"method": "krawczyk-support", "radius": certification_radius_string(dps), "dps": dps}
    with ball_context(2 * dps) as ball:
        m_data = target.moment_array(ball)
        base = ball.array(theta_exact)

        def theta_of(x):
            th = base.copy()
            th[free] = x
            return th

        def f(x):
            return FlowState(model, theta_of(x), m_data, ball).r[matched]

        def jac(x):
            st = FlowState(model, theta_of(x), m_data, ball)
            return -(st.C @ st.G)[np.ix_(matched, free)]

        centre = tuple(theta_exact[k] for k in free)
        result = krawczyk(f, jac, centre, radius, approximate_inverse(jac(ball.array(centre))))
    frozen = unmatched_rows_vanish(model, theta_exact, free, unmatched)
    out["certified"] = bool(result.certified and frozen)
    out["enclosure_width"] = result.width
    out["unmatched_rows_of_G_vanish_on_slice"] = frozen
    if not out["certified"]:
        out["note"] = result.note or "the rows of G of the unmatched couplings do not vanish on the slice"
    return out


def consistent_with(cert: dict, classification) -> bool | None:
    """Does a certificate agree with the numerical classification? (``None`` when nothing was certified.)

    Certified negative/positive eigenvalue counts may not exceed the numerical stable/unstable counts.
    """
    if not cert.get("certified"):
        return None
    if "negative" not in cert:
        return True
    c = classification
    if c.stable is None or c.unstable is None:
        return None
    return cert["negative"] <= c.stable and cert["positive"] <= c.unstable


# --- fixed points on orbits of continuous symmetries ---------------------------------------------------

NO_SYMMETRY = ("the fixed points here are not isolated (dim ker H = {d}) and the {family} family declares no "
               "continuous symmetry to slice them by: Krawczyk needs a nonsingular Jacobian, and an isolated "
               "degenerate fixed point cannot be certified by interval methods")
RANK_DEFICIENT = ("data-consistent with rank G = {rank} < D = {D}: the slice certificate for J(θ) = J^D needs D "
                  "independent equations (rank G = D), and the D − rank G couplings G does not move are not proved "
                  "to match on a slice")
TOO_FEW_TANGENTS = ("the declared symmetries ({names}) explain {m} of the {d} neutral directions (exact rank of their "
                    "generators at the point); the other {rest} are not known to be directions of a manifold of "
                    "fixed points (e.g. a dead hidden unit's free bias, or a direction along which J moves at "
                    "higher order), so the point cannot be isolated on a slice")


def symmetry_tangents(model, theta) -> tuple[list, list[str]]:
    """The generators of the model's continuous symmetries at ``theta`` (any number type) and their names."""
    tangents, names = [], []
    for sym in model.symmetries():
        if sym.continuous:
            tangents += list(sym.tangents(theta))
            names.append(sym.name)
    return tangents, names


def _independent(tangents: list, P: int) -> list[int]:
    """Indices of a maximal set of linearly independent exact generators (greedy, exact ranks)."""
    chosen: list[int] = []
    for j in range(len(tangents)):
        trial = chosen + [j]
        if exact_rank([[Fraction(tangents[i][k]) for i in trial] for k in range(P)]) == len(trial):
            chosen = trial
    return chosen


def _rational(values) -> np.ndarray:
    return np.array([[Fraction(float(v)) for v in row] for row in values], dtype=object)


def certify_orbit(model, target, theta_exact, dps: int, c) -> dict:
    r"""Certificate at a fixed point that is not isolated because a continuous symmetry moves it (``c.neutral > 0``).

    If the family declares continuous symmetries (:meth:`~theory.families.base.Model.symmetries`, e.g.
    ``product``'s rescalings :math:`u_A \to \lambda u_A,\ v_A \to v_A/\lambda`), :math:`\ell` is constant on their
    orbits, so at *every* :math:`\theta`

    .. math:: \nabla\ell(\theta)\cdot t_j(\theta) = 0 \qquad\text{for each generator } t_j(\theta),

    and at a fixed point :math:`H t_j = 0` (differentiate the identity). Let :math:`T(\theta)` hold the generators
    (exact rank :math:`d` at the point, equal to :math:`\dim\ker H`), and :math:`U` (:math:`P \times (P-d)`, rational)
    span a complement: the numerical eigenvectors of :math:`H` for its nonzero eigenvalues. Then

    1. Krawczyk on :math:`f(z) = U^\top\nabla\ell(\check\theta + Uz)` (Jacobian :math:`U^\top H U`, nonsingular) proves
       exactly one zero :math:`z^*` in the box;
    2. if :math:`[U\ T(\theta)]` is nonsingular for every :math:`\theta` of the box (a ball determinant that excludes
       0), :math:`U^\top\nabla\ell = 0` and :math:`T^\top\nabla\ell = 0` give :math:`\nabla\ell(\check\theta + Uz^*) = 0`: a
       fixed point in the box, the only one on the slice, its orbit a manifold of dimension :math:`d`;
    3. in the basis :math:`[U\ T]`, :math:`H` is :math:`\mathrm{diag}(U^\top HU, 0_d)` (congruence), so by Sylvester's law
       its inertia is that of :math:`U^\top H U` (certified over the box, :func:`inertia`) plus
       exactly :math:`d` zeros.

    Where the declared symmetries do not explain every neutral direction, nothing is certified and the
    reason says which directions are unexplained.
    """
    from theory.flow import FlowState

    d = c.neutral
    out: dict = {"method": "krawczyk-orbit", "radius": certification_radius_string(dps), "dps": dps}
    tangents, names = symmetry_tangents(model, tuple(theta_exact))
    if not tangents:
        return {**out, "certified": False, "reason": "no-continuous-symmetry",
                "note": NO_SYMMETRY.format(d=d, family=model.family)}
    chosen = _independent(tangents, model.P)
    m = len(chosen)
    if m != d:
        return {**out, "certified": False, "reason": "neutral-directions-not-explained", "orbit_dimension": m,
                "note": TOO_FEW_TANGENTS.format(names=", ".join(names), m=m, d=d, rest=d - m)}
    with mpmath.workdps(dps):
        U = _rational(c.low.eigenvectors[:, [k for k, z in enumerate(c.eigen_zero) if not z]])
    radius = certification_radius(dps)
    with ball_context(2 * dps) as ball:
        m_data = target.moment_array(ball)
        base = ball.array(theta_exact)
        Ub = ball.array(U)

        def f(z):
            return Ub.T @ FlowState(model, base + Ub @ z, m_data, ball).gradient

        def jac(z):
            return Ub.T @ FlowState(model, base + Ub @ z, m_data, ball).hessian() @ Ub

        zero = tuple(Fraction(0) for _ in range(U.shape[1]))
        result = krawczyk(f, jac, zero, radius, approximate_inverse(jac(ball.array(zero))))
        out.update({"certified": False, "enclosure_width": result.width, "orbit_dimension": d,
                    "symmetries": names})
        if not result.certified:
            return {**out, "reason": "krawczyk-failed", "note": result.note}
        box = base + Ub @ np.array([_ball(Fraction(0), radius) for _ in zero], dtype=object)
        T_box = np.array([list(t) for t in symmetry_tangents(model, tuple(box))[0]], dtype=object).T[:, chosen]
        complement = np.concatenate([Ub, T_box], axis=1)
        det = _determinant(complement)
        if not (det > 0 or det < 0):
            return {**out, "reason": "slice-not-transversal",
                    "note": "det [U T(θ)] is not proved nonzero on the box: the slice may touch the orbits"}
        reduced = Ub.T @ FlowState(model, box, m_data, ball).hessian() @ Ub
        with mpmath.workdps(dps):
            mids = np.array([[float(v.mid()) for v in row] for row in reduced])
        _, Q = np.linalg.eigh((mids + mids.T) / 2)
        inert = inertia(reduced, Q)
    out.update({"certified": True, "uniqueness": "unique fixed point of the box on the slice transversal to the "
                f"orbits of {', '.join(names)} (orbit dimension {d})",
                "negative": inert.negative, "positive": inert.positive, "undecided": inert.undecided,
                "zero": d, "undecided_within": f"{inert.rho:.3e}", "q_nonsingular": inert.q_nonsingular})
    return out


def _determinant(M: np.ndarray):
    import flint

    return flint.arb_mat(M.tolist()).det()
