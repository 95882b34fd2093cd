r"""Spurious strict local maxima of :math:`\ell` inconsistent at order :math:`\le 2`: a search aimed at them, and their
certificate.

THEORY.md §4 H3: the region statement "every spurious fixed point inconsistent at order :math:`\le 2` is a saddle" is
false in general. This module finds counterexamples and proves them, for proposition H3C.

* **Search** (:func:`search_spurious_maxima`): flows :math:`\dot\theta = \nabla\ell` from seeded starts at a given scale
  (:func:`verify.cases.random_params`; THEORY.md's points are reached from scale 0.5), float64 Newton at the plateau,
  a float64 screen (every eigenvalue of :math:`H` below :math:`-10^{-8}`, some :math:`|r_A| > 10^{-6}` with
  :math:`|A| \le 2`), then Newton at ``dps + GUARD_DIGITS`` digits and :func:`certify_spurious_maximum`. Deterministic: the
  starts are seeded and the flows are float64 LSODA runs.
* **Certificate** (:func:`certify_spurious_maximum`), in Arb balls at ``2·dps`` digits around an exact point
  :math:`\check\theta` (the box :math:`X = \check\theta + [-\rho, \rho]^P`, :math:`\rho` =
  :func:`~verify.numeric.certification_radius`):

  1. Krawczyk (:func:`verify.certify.krawczyk`) on :math:`\nabla\ell` with Jacobian :math:`H` proves exactly one zero
     :math:`\theta^*` of :math:`\nabla\ell` in :math:`X`;
  2. :math:`H` is enclosed over :math:`X`; with approximate eigenvectors :math:`Q`, :math:`M = Q^\top H Q` and
     :math:`\|Q^\top Q - I\|_F \le \delta < 1`, Weyl's inequality
     (:math:`\|M - \mathrm{diag}\,\mathrm{mid}\,M\|_F \le \rho_M`)
     encloses :math:`\lambda_k(M)` in :math:`[d_{(k)} - \rho_M, d_{(k)} + \rho_M]` and Ostrowski's theorem
     (:math:`\lambda_k(Q^\top HQ) = \vartheta_k\lambda_k(H)`, :math:`\vartheta_k \in [1-\delta, 1+\delta]`) gives an
     enclosure
     of every eigenvalue :math:`\lambda_k(H(\theta))`, :math:`\theta \in X`; all of them below 0 make
     :math:`\theta^*` a strict local maximum (:func:`verify.certify.inertia` gives the same count, by Sylvester's law);
  3. :math:`r_A = m^D_A - m_A` enclosed over :math:`X`: a ball excluding 0 for some :math:`|A| \le 2` proves that
     :math:`\theta^*` is spurious and inconsistent at order :math:`\le 2`.

>>> certification_summary({"certified": False, "note": "K(X) is not inside X"})
'not certified: K(X) is not inside X'
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .certify import _ball, _flint, approximate_inverse, ball_context, inertia, krawczyk
from .enumerate_system import _excludes_zero
from .numeric import GUARD_DIGITS, certification_radius, certification_radius_string

__all__ = ["certify_spurious_maximum", "search_spurious_maxima", "certification_summary", "decimal_point",
           "SCREEN_EIGENVALUE", "SCREEN_RESIDUAL"]

#: float64 screen: a candidate's largest eigenvalue of H must be below this ...
SCREEN_EIGENVALUE = -1e-8
#: ... and some residual of order <= 2 above this in absolute value
SCREEN_RESIDUAL = 1e-6
#: the lowest orders H3C speaks about
MAX_ORDER = 2


def _interval(lo, hi) -> dict:
    return {"lo": f"{float(lo):.11e}", "hi": f"{float(hi):.11e}"}


def _exact_extreme(points: list, lower: bool):
    """The least (``lower``) or greatest of exact points (Arb balls of radius 0, so comparisons are decided)."""
    best = points[0]
    for p in points[1:]:
        if (lower and bool(p < best)) or (not lower and bool(p > best)):
            best = p
    return best


def eigenvalue_enclosures(H_balls: np.ndarray, Q: np.ndarray) -> tuple[list, bool]:
    r"""Enclosures ``[(lo, hi)]`` (arb upper/lower bounds, ascending) of every eigenvalue of every symmetric matrix in
    ``H_balls``, and whether they are valid (:math:`\delta < 1`); see the module docstring (Weyl, then Ostrowski)."""
    flint = _flint()
    n = H_balls.shape[0]
    Qb = np.array([[_ball(Fraction(float(v)), Fraction(0)) for v in row] for row in np.asarray(Q)], dtype=object)
    gram = Qb.T @ Qb
    delta2 = sum(((gram[i, j] - (1 if i == j else 0)) ** 2 for i in range(n) for j in range(n)), start=flint.arb(0))
    delta = delta2.upper().sqrt().upper()
    if not bool(delta < 1):
        return [], False
    M = Qb.T @ H_balls @ Qb
    off = sum((abs(M[i, j]).upper() ** 2 for i in range(n) for j in range(n) if i != j), start=flint.arb(0))
    off += sum((M[i, i].rad() ** 2 for i in range(n)), start=flint.arb(0))
    rho = off.upper().sqrt().upper()
    mids = sorted((M[i, i].mid() for i in range(n)), key=lambda v: float(v))
    out = []
    for d in mids:
        lo_m, hi_m = (d - rho).lower(), (d + rho).upper()
        ends = [lo_m / (1 - delta), lo_m / (1 + delta), hi_m / (1 - delta), hi_m / (1 + delta)]
        out.append((_exact_extreme([e.lower() for e in ends], lower=True),
                    _exact_extreme([e.upper() for e in ends], lower=False)))
    return out, True


def certify_spurious_maximum(model, target, theta_exact, dps: int = 30) -> dict:
    r"""Prove (or fail to prove) that ``theta_exact`` is within :func:`~verify.numeric.certification_radius` of a
    spurious strict local maximum of :math:`\ell` inconsistent at order :math:`\le 2` (module docstring).

    Returns a JSON-ready dict: ``certified`` (all three facts proved), ``unique_zero`` (Krawczyk),
    ``all_eigenvalues_negative``, ``inconsistent_at_order_le_2``, ``eigenvalue_enclosures`` (ascending),
    ``inertia`` (negative, positive, undecided from :func:`verify.certify.inertia`), ``residual_enclosures`` of the
    :math:`r_A` proved non-zero, ``lowest_inconsistent_order`` (the lowest order with a proved :math:`r_A \ne 0`)
    and ``note`` saying what failed.
    """
    from theory.conventions import subsets
    from theory.flow import FlowState

    center = tuple(Fraction(v) for v in theta_exact)
    radius = certification_radius(dps)
    out: dict = {"method": "krawczyk on grad l, Weyl/Ostrowski enclosures of spec H over the box", "dps": dps,
                 "radius": certification_radius_string(dps), "ball_digits": 2 * dps}
    with ball_context(2 * dps) as ball:
        m_data = target.moment_array(ball)

        def f(x):
            return FlowState(model, x, m_data, ball).gradient

        def jac(x):
            return FlowState(model, x, m_data, ball).hessian()

        result = krawczyk(f, jac, center, radius, approximate_inverse(jac(ball.array(center))))
        out["unique_zero"] = bool(result.certified)
        out["enclosure_width"] = f"{result.width:.3e}"
        box = np.array([_ball(q, radius) for q in center], dtype=object)
        state = FlowState(model, box, m_data, ball)
        H = state.hessian()
        mids = np.array([[float(v.mid()) for v in row] for row in H])
        _, Q = np.linalg.eigh((mids + mids.T) / 2)
        enclosures, valid = eigenvalue_enclosures(H, Q)
        inert = inertia(H, Q)
        orders = [len(A) for A in subsets(model.n)]
        names = [",".join(map(str, A)) for A in subsets(model.n)]
        r = state.r
        proved = [k for k in range(len(r)) if _excludes_zero(r[k])]
        out["residual_enclosures"] = {names[k]: _interval(r[k].lower(), r[k].upper()) for k in proved}
    negative = valid and all(bool(hi < 0) for _, hi in enclosures)
    low = min((orders[k] for k in proved), default=None)
    out.update({
        "eigenvalue_enclosures": [_interval(lo, hi) for lo, hi in enclosures],
        "inertia": {"negative": inert.negative, "positive": inert.positive, "undecided": inert.undecided},
        "all_eigenvalues_negative": bool(negative and inert.negative == model.P),
        "lowest_inconsistent_order": low,
        "inconsistent_at_order_le_2": low is not None and low <= MAX_ORDER,
    })
    out["certified"] = bool(out["unique_zero"] and out["all_eigenvalues_negative"]
                            and out["inconsistent_at_order_le_2"])
    if not out["certified"]:
        out["note"] = "; ".join(text for ok, text in (
            (out["unique_zero"], "Krawczyk: K(X) is not inside X (no zero of grad l proved in the box)"),
            (out["all_eigenvalues_negative"],
             f"not every eigenvalue of H is proved negative (inertia {out['inertia']})"),
            (out["inconsistent_at_order_le_2"], "no residual r_A of order <= 2 is proved non-zero"),
        ) if not ok)
    return out


def certification_summary(cert: dict) -> str:
    """One line for a certificate of :func:`certify_spurious_maximum`."""
    if not cert.get("certified"):
        return f"not certified: {cert.get('note', '')}"
    top = cert["eigenvalue_enclosures"][-1]
    return (f"spurious strict local maximum, inconsistent at order {cert['lowest_inconsistent_order']}: unique zero of "
            f"grad l in a box of radius {cert['radius']}, every eigenvalue of H in [..., {top['hi']}]")


def decimal_point(theta, digits: int) -> tuple[Fraction, ...]:
    """``theta`` rounded to ``digits`` significant decimal digits, as exact rationals (a point a person can store)."""
    import mpmath

    with mpmath.workdps(digits + GUARD_DIGITS):
        return tuple(Fraction(mpmath.nstr(mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction)
                                          else mpmath.mpf(v), digits, strip_zeros=False, min_fixed=-mpmath.inf,
                                          max_fixed=mpmath.inf)) for v in theta)


def _screen(model, target, theta) -> tuple[bool, np.ndarray]:
    """Float64 Newton from a flow's end, then the screen of the module docstring."""
    from theory.arith import FLOAT64
    from theory.conventions import subsets
    from theory.flow import FlowState

    m = target.moment_array(FLOAT64)
    theta = np.array(theta, dtype=float)
    for _ in range(30):
        st = FlowState(model, theta, m, FLOAT64)
        g = np.asarray(st.gradient, dtype=float)
        if not np.all(np.isfinite(g)) or np.linalg.norm(g) < 1e-13:
            break
        theta = theta + np.linalg.lstsq(np.asarray(st.hessian(), dtype=float), -g, rcond=1e-12)[0]
    st = FlowState(model, theta, m, FLOAT64)
    if not np.all(np.isfinite(theta)) or np.linalg.norm(np.asarray(st.gradient, dtype=float)) > 1e-9:
        return False, theta
    top = np.linalg.eigvalsh(np.asarray(st.hessian(), dtype=float)).max()
    low = [abs(float(v)) for v, A in zip(st.r, subsets(model.n)) if len(A) <= MAX_ORDER]
    return bool(top < SCREEN_EIGENVALUE and max(low) > SCREEN_RESIDUAL), theta


def search_spurious_maxima(model, target, seeds=range(8), scale: float = 0.5, dps: int = 30, t_max: float = 1e5,
                           first: bool = True, digits: int | None = None) -> dict:
    r"""Seeded flows from ``random_params(model, seed, scale)``, screened, polished and certified (module docstring).

    Returns ``{"found": [{"seed", "theta" (exact, rounded to ``digits`` significant digits, default ``dps + GUARD_DIGITS``),
    "certificate"}], "tried": [seeds], "screened_out": [seeds]}``; with ``first`` it stops at the first certified
    point."""
    from .cases import random_params
    from .search import flow_record, newton_polish

    digits = digits or dps + GUARD_DIGITS
    found, tried, screened_out = [], [], []
    for seed in seeds:
        tried.append(seed)
        theta, _, _, _ = flow_record(model, target, random_params(model, seed=seed, scale=scale), t_max=t_max)
        keep, theta = _screen(model, target, theta)
        if not keep:
            screened_out.append(seed)
            continue
        polished = newton_polish(model, target, tuple(Fraction(float(v)) for v in theta), dps + GUARD_DIGITS)
        if not polished.converged:
            screened_out.append(seed)
            continue
        point = decimal_point(polished.theta, digits)
        cert = certify_spurious_maximum(model, target, point, dps)
        if cert["certified"]:
            found.append({"seed": seed, "theta": point, "certificate": cert})
            if first:
                break
        else:
            screened_out.append(seed)
    return {"found": found, "tried": tried, "screened_out": screened_out}
