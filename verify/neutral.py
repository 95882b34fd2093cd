r"""Neutral directions: following the data-consistent fibre :math:`J^{-1}(J^D)` (S1).

Where :math:`G` has locally constant rank the fibre is a manifold of dimension
:math:`P - \operatorname{rank} G` whose tangent space is :math:`\ker G = \ker H`. :func:`follow_fibre`
walks along it: a predictor step of length ``step`` along the current tangent direction, then a
projection back onto :math:`J(\theta) = J^D` by minimal-norm Gauss–Newton steps
:math:`\delta = -G^+(J(\theta) - J^D)`; the next tangent is the previous direction projected onto the
new :math:`\ker G` (so the path does not turn back). The largest :math:`|J - J^D|` seen after each
projection must stay at working precision while :math:`\theta` moves by :math:`O(1)`.

Whether a neutral direction is tangent to the fibre at all (THEORY.md S1: :math:`Gv = 0` is necessary, not
sufficient) is decided by :func:`rank_nearby` (locally constant rank: the constant-rank theorem) and,
where the rank drops, by :func:`fibre_motion`, which finds the order at which :math:`J` moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.effective import jacobian, model_couplings
from theory.fixedpoint import matmul

from .linalg import as_matrix, norm, pseudo_inverse_solve, right_singular
from .numeric import INNER_SLACK_DIGITS, pinv_cutoff, solver_goal, stall_factor, working_precision, zero_threshold

#: Distances from the point at which :func:`rank_nearby` looks for the rank of G, nearest first.
NEARBY_STEPS = (Fraction(1, 1000), Fraction(1, 20), Fraction(1, 4))

__all__ = ["FibrePath", "follow_fibre", "confirm_on_fibre", "FibreMotion", "fibre_motion", "rank_nearby",
           "approach_fibre", "distance_to_target_couplings"]


@dataclass(frozen=True)
class FibrePath:
    """Result of :func:`follow_fibre` at one precision."""

    dps: int
    steps: int
    travelled: object  # sum of step lengths
    displacement: object  # |theta_end - theta_start|
    max_coupling_error: object  # max |J - J^D| after each projection
    completed: bool
    note: str = ""
    end: tuple = ()  # the last point of the path, exact


def confirm_on_fibre(model, target, theta_exact, dps: int):
    """Project an exact point onto :math:`J = J^D` at ``dps`` digits: ``(|J - J^D| after, distance moved, point)``."""
    from .search import to_exact

    with working_precision(dps):
        J_data = target.coupling_array(MP)
        theta = MP.array(theta_exact)
        projected, err, _ = _project(model, theta, J_data, dps)
        return err, norm(projected - theta), to_exact(projected)


def distance_to_target_couplings(model, target, theta_exact, dps: int):
    r""":math:`\max_A |J_A(\theta) - J^D_A|` at ``dps`` digits, computed afresh from the model and the target
    (independent of the walk and of its projections)."""
    from .linalg import max_abs

    with working_precision(dps):
        return max_abs(model_couplings(model, MP.array(theta_exact), MP) - target.coupling_array(MP))


def _full_row_rank_solve(G: np.ndarray, b: np.ndarray):
    r""":math:`(GG^\top)^{-1} b` when :math:`G` has full row rank (Cholesky), else ``None``."""
    try:
        x = mpmath.cholesky_solve(as_matrix(G @ G.T), as_matrix(b))
    except (ZeroDivisionError, ValueError):
        return None
    return np.array([x[i] for i in range(x.rows)], dtype=object)


def _min_norm_step(G: np.ndarray, res: np.ndarray, dps: int) -> np.ndarray:
    r"""Minimal-norm :math:`\delta` with :math:`G\delta = -\text{res}`: :math:`-G^\top(GG^\top)^{-1}\text{res}`, or :math:`-G^+\text{res}`."""
    y = _full_row_rank_solve(G, res)
    if y is not None:
        return -(G.T @ y)
    return -pseudo_inverse_solve(G, res, pinv_cutoff(dps))


def _tangent(G: np.ndarray, v: np.ndarray, dps: int) -> np.ndarray:
    r"""Projection of ``v`` onto :math:`\ker G` (:math:`v - G^\top(GG^\top)^{-1}Gv`, or through the SVD)."""
    y = _full_row_rank_solve(G, G @ v)
    if y is not None:
        return v - G.T @ y
    basis = _kernel_basis(G, dps)
    return basis @ (basis.T @ v)


def _kernel_basis(G: np.ndarray, dps: int) -> np.ndarray:
    values, vectors = right_singular(G)
    small = zero_threshold(dps)
    return vectors[:, [k for k, v in enumerate(values) if v <= small]]


def _project(model, theta, J_data, dps: int, max_iter: int = 30):
    goal = solver_goal(dps, INNER_SLACK_DIGITS)
    for _ in range(max_iter):
        res = model_couplings(model, theta, MP) - J_data
        if norm(res) <= goal:
            return theta, norm(res), True
        theta = theta + _min_norm_step(jacobian(model, theta, MP), res, dps)
    res = model_couplings(model, theta, MP) - J_data
    return theta, norm(res), norm(res) <= goal


def follow_fibre(model, target, theta_exact, dps: int, step: float = 0.05, distance: float = 0.5) -> FibrePath:
    """Walk ``distance`` along the fibre through a data-consistent ``theta_exact`` in steps of ``step``."""
    with working_precision(dps):
        J_data = target.coupling_array(MP)
        theta = MP.array(theta_exact)
        start = theta.copy()
        basis = _kernel_basis(jacobian(model, theta, MP), dps)
        if basis.shape[1] == 0:
            return FibrePath(dps, 0, mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(0), False, "ker G is trivial: no fibre to follow")
        direction = basis[:, 0]
        h = mpmath.mpf(step)
        travelled, worst = mpmath.mpf(0), norm(model_couplings(model, theta, MP) - J_data)
        nsteps, k = 0, 0
        limit = 3 * int(mpmath.ceil(mpmath.mpf(distance) / h))
        while travelled < distance and k < limit:
            predicted = theta + direction * h
            new, err, ok = _project(model, predicted, J_data, dps)
            worst = max(worst, err)
            if not ok:
                return FibrePath(dps, k, travelled, norm(theta - start), worst, False,
                                 f"projection onto J = J^D failed at step {k + 1} (|J - J^D| = {mpmath.nstr(err, 3)})")
            travelled += norm(new - theta)
            theta = new
            k += 1
            nsteps = k
            projected = _tangent(jacobian(model, theta, MP), direction, dps)
            if norm(projected) <= zero_threshold(dps):
                return FibrePath(dps, k, travelled, norm(theta - start), worst, False, "ker G collapsed along the path")
            direction = projected / norm(projected)
        from .search import to_exact

        return FibrePath(dps, nsteps, travelled, norm(theta - start), worst, bool(travelled >= distance), end=to_exact(theta))


# ---------------------------------------------------------------------------------------------
# Invariance of J along neutral directions: tangency to the fibre, decided beyond second order
# ---------------------------------------------------------------------------------------------

#: curve parameters t at which the fibre is approached along v; order k shows as |ΔJ| ~ t^k
TANGENCY_STEPS = (Fraction(1, 10), Fraction(1, 100), Fraction(1, 1000))
#: a tangent direction is corrected by δ(t) = O(t²): at the smallest t, |δ|/t must stay below this
TANGENCY_CORRECTION = Fraction(1, 10)


@dataclass(frozen=True)
class SliceApproach:
    r"""At one precision: for each t, :math:`\min_{\delta \in \mathrm{row}\,G(\theta^*)}\|J(\theta^*+tv+\delta) - J^*\|` and :math:`\|\delta\|`."""

    residuals: tuple
    corrections: tuple


def _slice_residual(model, theta_star, J_star, v, row_basis, t, dps: int, max_iter: int = 40):
    r"""Gauss–Newton on :math:`J(\theta^* + tv + \delta) = J^*` with :math:`\delta` in the row space of :math:`G(\theta^*)`.

    This is the Lyapunov–Schmidt reduction along the kernel direction :math:`v`: near :math:`\theta^*` the
    equations along the range of :math:`G(\theta^*)` are solved by :math:`\delta = O(t^2)` (implicit
    function theorem), and what is left, :math:`g(tv)`, is the motion of :math:`J` that no correction
    can undo. If :math:`v` is tangent to the fibre, :math:`g(tv) = 0` (the residual reaches working
    precision); if :math:`g(tv) \sim t^k`, :math:`J` moves at order :math:`k` along :math:`v`. Returns the final
    :math:`\|J - J^*\|` and :math:`\|\delta\|`.
    """
    theta = theta_star + v * t
    start = theta.copy()
    goal = solver_goal(dps, INNER_SLACK_DIGITS)
    cutoff = pinv_cutoff(dps)
    res = model_couplings(model, theta, MP) - J_star
    best = norm(res)
    rows = row_basis
    for _ in range(max_iter):
        if best <= goal:
            break
        # δ = R y with y = (G R)^+ res: the minimal-norm step within the row space (R orthonormal), from the
        # D x rank matrix G R instead of the D x P matrix G R R^T (the same singular values, the same cut-off)
        y = pseudo_inverse_solve(matmul(jacobian(model, theta, MP), rows), res, cutoff)
        step = -(rows @ y)
        trial = theta + step
        trial_res = model_couplings(model, trial, MP) - J_star
        if norm(trial_res) >= best * stall_factor():
            break  # the least-squares floor: what is left cannot be undone within the slice
        theta, res, best = trial, trial_res, norm(trial_res)
    return best, norm(theta - start)


def approach_fibre(model, theta_exact, directions_exact, rank: int, dps: int) -> list[SliceApproach]:
    r""":func:`_slice_residual` for each direction (exact vectors) at each t of :data:`TANGENCY_STEPS`;
    ``rank`` is the decided rank of :math:`G(\theta^*)`, whose leading right singular vectors span its row space."""
    out = []
    with working_precision(dps):
        theta_star = MP.array(theta_exact)
        J_star = model_couplings(model, theta_star, MP)
        _, vectors = right_singular(jacobian(model, theta_star, MP))
        rows = vectors[:, :rank]
        for v_exact in directions_exact:
            v = MP.array(v_exact)
            v = v / norm(v)
            pairs = [_slice_residual(model, theta_star, J_star, v, rows, MP.scalar(t), dps) for t in TANGENCY_STEPS]
            out.append(SliceApproach(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)))
    return out


@dataclass(frozen=True)
class FibreMotion:
    """Whether :math:`J` stays on its fibre along the tested neutral directions, and the order at which it moves.

    ``invariant``: every tested direction is tangent to the fibre (``True``), some direction moves
    :math:`J` (``False``) or undecided (``None``). ``order``: the lowest order :math:`k` at which
    :math:`J` moves (:math:`|\\Delta J| \\sim t^k`), ``None`` when invariant or not resolved.
    """

    invariant: bool | None
    order: int | None
    tested: int
    moving: int | None
    per_direction: tuple = ()  # ("tangent" | "moves at order k" | "moves" | "undecided", ...)
    method: str = "reduction"  # "reduction" (followed along each direction) or "constant rank"
    rank: int | None = None

    def describe(self) -> str:
        if self.invariant and self.method == "constant rank":
            return (f"rank G = {self.rank} here and at nearby points: the fibre is a manifold with tangent space ker G "
                    "(constant-rank theorem), so every neutral direction (Gv = 0) leaves J invariant")
        if self.invariant:
            return f"all {self.tested} tested neutral directions are tangent to the fibre (J stays within working precision)"
        if self.invariant is None:
            return f"tangency undecided along the {self.tested} tested neutral directions: {', '.join(self.per_direction)}"
        order = f"at order {self.order}" if self.order else "(order beyond the resolved range)"
        return f"J moves {order} along {self.moving} of {self.tested} tested neutral directions"


def _direction_verdict(low: SliceApproach, high: SliceApproach, dps: int) -> tuple[str, int | None]:
    from .numeric import zero_decision

    zeros = [zero_decision(a, b, dps).is_zero for a, b in zip(low.residuals, high.residuals)]
    if any(z is None for z in zeros):
        return "undecided", None
    if all(zeros):
        bound = TANGENCY_STEPS[-1] * TANGENCY_CORRECTION
        small = all(s.corrections[-1] <= mpmath.mpf(bound.numerator) / bound.denominator for s in (low, high))
        return ("tangent", None) if small else ("undecided", None)
    nonzero = [k for k, z in enumerate(zeros) if not z]
    if nonzero != list(range(len(nonzero))):
        return "undecided", None  # zero at a larger t but not at a smaller one
    if len(nonzero) < 2:
        return "moves", None
    a, b = nonzero[-2], nonzero[-1]
    ta, tb = (mpmath.mpf(TANGENCY_STEPS[k].numerator) / TANGENCY_STEPS[k].denominator for k in (a, b))
    slopes = [float(mpmath.log(s.residuals[b] / s.residuals[a]) / mpmath.log(tb / ta)) for s in (low, high)]
    k = round(slopes[0])
    if k < 1 or any(abs(s - k) > 0.25 for s in slopes):
        return "moves", None
    return f"moves at order {k}", k


def fibre_motion(model, theta_exact, directions_low, directions_high, rank: int, dps: int) -> FibreMotion:
    r"""Decide, at ``dps`` and ``2·dps``, whether :math:`J` stays on its fibre along each direction.

    A direction :math:`v` is *tangent* (invariant) when, for every :math:`t` in :data:`TANGENCY_STEPS`,
    some :math:`\delta` in the row space of :math:`G(\theta^*)` (:func:`_slice_residual`) with :math:`\|\delta\| \le t/10` at the smallest :math:`t` brings
    :math:`J(\theta^*+tv+\delta)` back to :math:`J(\theta^*)` within the zero threshold at both precisions;
    it *moves J at order k* when the least-squares floor is non-zero at both precisions and scales like
    :math:`t^k` (slope within 0.25 of the integer ``k`` at both precisions). ``directions_low`` and
    ``directions_high`` are the same directions as exact vectors read at each precision.
    """
    lows = approach_fibre(model, theta_exact, directions_low, rank, dps)
    highs = approach_fibre(model, theta_exact, directions_high, rank, 2 * dps)
    verdicts = [_direction_verdict(a, b, dps) for a, b in zip(lows, highs)]
    labels = tuple(v[0] for v in verdicts)
    moving = [v for v in verdicts if v[0].startswith("moves")]
    if moving:
        orders_found = [k for _, k in moving if k is not None]
        return FibreMotion(False, min(orders_found) if len(orders_found) == len(moving) else None,
                           len(verdicts), len(moving), labels)
    if all(label == "tangent" for label in labels):
        return FibreMotion(True, None, len(verdicts), 0, labels)
    return FibreMotion(None, None, len(verdicts), None, labels)


def rank_nearby(model, theta_exact, directions_exact, dps: int, steps=NEARBY_STEPS):
    r"""Largest rank of :math:`G` at the points :math:`\theta^* + tu` near :math:`\theta^*`, decided at ``dps`` and ``2·dps``.

    ``u`` runs over ``directions_exact`` (the neutral directions tested for tangency) and one seeded
    random direction (a generic nearby point). The rank is lower semicontinuous, so a value above
    :math:`\operatorname{rank} G(\theta^*)` proves that the rank is not locally constant at :math:`\theta^*`:
    the constant-rank theorem, and with it S1's invariance clause, does not apply there (an ``rbm``
    with ``w = 0`` on a uniform target: rank 3 at the point, 5 at nearby points of its fibre).

    The distance ``t`` is the first of ``steps`` at which every rank is decided. Any distance gives a
    valid answer: :math:`J` is real-analytic (every family's energy is built from analytic functions),
    so the points where :math:`\operatorname{rank} G` is below its generic value form a nowhere dense
    analytic set, and a rank found anywhere along a segment from :math:`\theta^*` is attained
    arbitrarily close to it. Small ``t`` comes first only to stay where the energy is defined; a
    larger one is needed where :math:`G` grows like a high power of ``t`` (the paramagnetic ``tanh``
    network with N = 4: a singular value :math:`\approx 6\cdot10^{-26}` at :math:`t = 10^{-3}`,
    straddling the zero threshold at dps 50). ``None`` when a rank is undecided at every distance.
    """
    for t in steps:
        ranks = _ranks_at(model, theta_exact, directions_exact, dps, t)
        if ranks is not None:
            return max(ranks) if ranks else None
    return None


def _ranks_at(model, theta_exact, directions_exact, dps: int, t: Fraction) -> list[int] | None:
    r"""Ranks of :math:`G(\theta^* + tu/\|u\|)` for each direction (and a seeded random one); ``None`` if one is undecided."""
    from .linalg import singular_values
    from .numeric import zero_decision

    rng = np.random.default_rng(model.P)
    generic = tuple(Fraction(int(k), 1000) for k in rng.integers(-1000, 1001, size=model.P))
    directions = list(directions_exact) + ([generic] if any(generic) else [])
    per_precision = []
    for d in (dps, 2 * dps):
        with working_precision(d):
            theta_star = MP.array(theta_exact)
            values = []
            for u_exact in directions:
                u = MP.array(u_exact)
                values.append(singular_values(jacobian(model, theta_star + u * (MP.scalar(t) / norm(u)), MP)))
            per_precision.append(values)
    ranks = []
    for low, high in zip(*per_precision):
        zeros = [zero_decision(a, b, dps).is_zero for a, b in zip(low, high)]
        if any(z is None for z in zeros):
            return None
        ranks.append(sum(1 for z in zeros if not z))
    return ranks
