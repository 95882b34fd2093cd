r"""Classification of a point of the flow, decided at ``dps`` and confirmed at ``2·dps``.

At an exact parameter point :math:`\theta` (rationals; each precision reads them afresh) the
classifier measures :math:`\|\nabla\ell\|`, the moment residual :math:`r` (overall and per order),
the singular values of :math:`G`, the spectrum of :math:`H` and the action of :math:`G` on the
neutral eigenvectors of :math:`H`, at ``dps`` and at ``2·dps`` digits. Every "is it zero" is a
:func:`~verify.numeric.zero_decision` of the pair; a decision that changes leaves the dependent
fields ``null`` and the verdict ``inconclusive``.

* ``kind``: ``not-a-fixed-point`` (:math:`\nabla\ell \neq 0`), ``data-consistent`` (:math:`r = 0`) or
  ``spurious`` (:math:`\nabla\ell = 0,\ r \neq 0`);
* eigenvalues of :math:`H`: ``stable`` (< 0), ``neutral`` (= 0), ``unstable`` (> 0);
* ``neutral_directions_leave_J_invariant``: whether every neutral direction is tangent to the fibre
  :math:`\{J = J(\theta^*)\}` (THEORY.md S1): :math:`Gv = 0` at first order, then the fibre is followed
  (:func:`verify.neutral.fibre_motion`) and ``order_at_which_J_moves`` reports the order at which
  :math:`J` moves when it does, with the rank of :math:`G` at nearby points (a rank drop makes S1's
  invariance clause not applicable).

Measure, then judge: this module measures and classifies, and builds no verdict. The propositions
that apply to the point (F1 everywhere; F2 and F3 at fixed points; S1 at data-consistent points) are
judged from the classification by :func:`verify.point_checks.point_verdicts`, and certificates take it
as their input (:func:`verify.certify.certify_point`); neither module is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.conventions import orders
from theory.effective import kl_divergence, model_couplings
from theory.flow import FlowState

from .linalg import max_abs, norm, principal_angle_sines, right_singular, singular_values, symmetric_eigen
from .neutral import FibreMotion, fibre_motion, rank_nearby
from .numeric import (agreed_string, magnitude_guard, point_precision, point_print_digits, working_precision,
                      zero_decision)
from .search import to_exact

__all__ = ["Measurement", "measure", "Classification", "classify", "kernel_angles"]


@dataclass
class Measurement:
    """Raw numbers of one point at one precision (mpf; arrays are numpy object arrays)."""

    dps: int
    gradient_norm: object
    residual: np.ndarray
    couplings: np.ndarray
    G: np.ndarray
    eigenvalues: list
    eigenvectors: np.ndarray
    kl: object
    G_null: np.ndarray  # right singular vectors of G (columns), descending singular values
    G_right_values: list
    state: FlowState | None = field(default=None, repr=False, compare=False)  # p, G, r, ∇ℓ here (F1 reuses them)
    hessian: np.ndarray | None = field(default=None, repr=False, compare=False)
    gram_values: list | None = field(default=None, repr=False, compare=False)  # eigenvalues of GᵀG, ascending

    @property
    def g_singular(self) -> list:
        """The ``min(D, P)`` singular values of :math:`G`, descending."""
        return self.G_right_values[: min(self.G.shape)]


def measure(model, target, theta_exact, dps: int) -> Measurement:
    """Everything the classifier needs, at ``dps`` digits."""
    with working_precision(dps):
        theta = MP.array(theta_exact)
        m_data = target.moment_array(MP)
        state = FlowState(model, theta, m_data, MP)
        H = state.hessian()
        evals, vecs = symmetric_eigen(H)
        right_values, right_vectors, gram_values = right_singular(state.G, gram_values=True)
        log_q = np.array([mpmath.log(p) for p in state.p], dtype=object)
        kl = kl_divergence(target.probability_array(MP), target.log_probability_array(MP), log_q)
        return Measurement(
            dps=dps,
            gradient_norm=norm(state.gradient),
            residual=state.r,
            couplings=model_couplings(model, theta, MP),
            G=state.G,
            eigenvalues=evals,
            eigenvectors=vecs,
            kl=kl,
            G_null=right_vectors,
            G_right_values=right_values,
            state=state,
            hessian=H,
            gram_values=gram_values,
        )


def _decide(low, high, dps):
    return zero_decision(low, high, dps).is_zero


@dataclass
class Classification:
    """The classifier's measurements and decisions (see the module docstring); no verdicts."""

    fixed_point: bool | None
    kind: str | None
    gradient_norm: object
    rank_G: int | None
    D: int
    P: int
    eigenvalues: list
    eigen_zero: list
    stable: int | None
    neutral: int | None
    unstable: int | None
    neutral_invariant: bool | None
    non_invariant_neutral: int | None
    invariance_order: int | None  # lowest order at which J moves along a neutral direction
    fibre_motion: object  # verify.neutral.FibreMotion, or None when first order decided
    rank_G_nearby: int | None  # largest rank of G at nearby points (computed when Gv = 0 for the neutral v)
    lowest_inconsistent_order: int | None
    inconsistent_orders: list | None
    dps: int
    low: Measurement = field(repr=False)
    high: Measurement = field(repr=False)
    theta: tuple[Fraction, ...] = ()

    @property
    def rank_drops(self) -> bool | None:
        r"""Whether :math:`\operatorname{rank} G` is larger at nearby points (not locally constant here)."""
        if self.rank_G_nearby is None or self.rank_G is None:
            return None
        return self.rank_G_nearby > self.rank_G

    def to_json(self, model=None, digits: int | None = None) -> dict:
        """The measurements and decisions as a JSON-ready dict (with ``params`` when ``model`` is given); the
        verdicts are added by :func:`verify.point_checks.classification_document`."""
        d = digits or self.dps
        out = {
            "fixed_point": self.fixed_point,
            "gradient_norm": mpmath.nstr(self.gradient_norm, 5),
            "kind": self.kind,
            "rank_G": self.rank_G,
            "D": self.D,
            "P": self.P,
            "eigenvalues": [("0" if z else agreed_string(a, b, min(d, 20)))
                            for a, b, z in zip(self.low.eigenvalues, self.high.eigenvalues, self.eigen_zero)],
            "stable": self.stable,
            "neutral": self.neutral,
            "unstable": self.unstable,
            "neutral_directions_leave_J_invariant": self.neutral_invariant,
            "neutral_directions_moving_J_at_first_order": self.non_invariant_neutral,
            "order_at_which_J_moves": self.invariance_order,
            "fibre_motion": None if self.fibre_motion is None else self.fibre_motion.describe(),
            "rank_G_nearby": self.rank_G_nearby,
            "rank_drops_here": self.rank_drops,
            "lowest_inconsistent_order": self.lowest_inconsistent_order,
            "inconsistent_orders": self.inconsistent_orders,
            "residual_norm": mpmath.nstr(norm(self.low.residual), 5),
            "kl_to_target": mpmath.nstr(self.low.kl, 5),
            "dps": self.dps,
            "confirmed_at_dps": 2 * self.dps,
        }
        if model is not None and self.theta:
            with mpmath.workdps(point_precision(self.dps)):
                values = [mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, point_print_digits(self.dps))
                          for q in self.theta]
            out["params"] = model.params_to_json(values)
        return out


def _spectrum_decisions(low: Measurement, high: Measurement, dps: int):
    zero = [_decide(a, b, dps) for a, b in zip(low.eigenvalues, high.eigenvalues)]
    if any(z is None for z in zero):
        return zero, None, None, None
    stable = sum(1 for z, e in zip(zero, low.eigenvalues) if not z and e < 0)
    unstable = sum(1 for z, e in zip(zero, low.eigenvalues) if not z and e > 0)
    return zero, stable, sum(zero), unstable


#: neutral spaces up to this dimension have every basis vector tested; larger ones only generic directions
MAX_BASIS_DIRECTIONS = 8


def _test_directions(low: Measurement, high: Measurement, idx: list) -> tuple[list, list]:
    """The neutral directions whose tangency is tested, as exact vectors read at each precision.

    An orthonormal basis of the neutral space (from ``low``) when its dimension is at most
    :data:`MAX_BASIS_DIRECTIONS`, their normalised sum and, for two or more, seeded random combinations (one
    next to a basis, two without). A singular fibre can contain the basis directions but not their
    combinations; the random ones decide the rest: the directions tangent to the fibre form a cone, and a
    cone containing a generic direction of the neutral space contains an open set of it, hence all of it
    (the fibre is analytic), while the lowest order at which J moves along some neutral direction is
    attained along a generic one (its obstruction is a non-zero form, non-zero at a generic point). At
    ``2·dps`` each vector is projected onto the neutral space computed there, so both precisions test the
    same direction to their own accuracy.
    """
    with working_precision(low.dps):
        V = low.eigenvectors[:, idx]
        with_basis = len(idx) <= MAX_BASIS_DIRECTIONS
        columns = [V[:, j] for j in range(V.shape[1])] if with_basis else []
        if len(idx) >= 2:
            columns.append(np.sum(V, axis=1))
            rng = np.random.default_rng(len(idx) + 1 if with_basis else len(idx))
            for _ in range(1 if with_basis else 2):
                weights = np.array([mpmath.mpf(float(w)) for w in rng.standard_normal(len(idx))], dtype=object)
                columns.append(V @ weights)
        exact_low = [to_exact(c / norm(c)) for c in columns]
    with working_precision(high.dps):
        Vh = high.eigenvectors[:, idx]
        exact_high = []
        for c in exact_low:
            v = MP.array(c)
            w = Vh @ (Vh.T @ v)
            exact_high.append(to_exact(w / norm(w)))
    return exact_low, exact_high


def _neutral_invariance(model, theta_exact, low: Measurement, high: Measurement, zero: list, dps: int, rank):
    """Do the neutral directions of :math:`H` leave :math:`J` invariant (tangent to its fibre)?

    Returns ``(invariant, number moving J at first order, FibreMotion or None, rank of G nearby)``.

    1. First order: the number of neutral directions that move :math:`J` is the rank of :math:`GV` (``V`` an
       orthonormal basis of the neutral space), decided from its singular values (basis-independent).
    2. When :math:`GV = 0`: the rank of :math:`G` at nearby points (:func:`verify.neutral.rank_nearby`, a
       random direction among them). Equal to the rank here, the rank is locally constant (it is lower
       semicontinuous, and a random nearby point has the largest nearby rank), so the fibre is a
       manifold with tangent space :math:`\\ker G \\ni v` (constant-rank theorem): invariant.
    3. Where the rank drops, :func:`verify.neutral.fibre_motion` follows the fibre along each tested
       direction and finds the order at which :math:`J` moves (second, third, ...), or that it stays.
    """
    idx = [k for k, z in enumerate(zero) if z]
    if not idx:
        return None, 0, None, None
    with working_precision(low.dps):
        gv = singular_values(low.G @ low.eigenvectors[:, idx])
    with working_precision(high.dps):
        gv_high = singular_values(high.G @ high.eigenvectors[:, idx])
    moving = [_decide(a, b, dps) for a, b in zip(gv, gv_high)]
    if any(m is None for m in moving):
        return None, None, None, None
    not_invariant = sum(1 for m in moving if not m)
    if not_invariant:
        return False, not_invariant, None, None
    if rank is None:
        return None, 0, None, None
    directions_low, directions_high = _test_directions(low, high, idx)
    nearby = rank_nearby(model, theta_exact, directions_low, dps)
    if nearby is None:
        return None, 0, None, None
    if nearby == rank:
        motion = FibreMotion(True, None, len(directions_low), 0, ("tangent",) * len(directions_low), "constant rank", rank)
    else:
        motion = fibre_motion(model, theta_exact, directions_low, directions_high, rank, dps)
    return motion.invariant, 0, motion, nearby


def classify(model, target, theta_exact, dps: int) -> Classification:
    """Classify the exact point ``theta_exact`` (never moved) at ``dps``, confirmed at ``2·dps``
    (both with the guard digits its magnitudes need, :func:`verify.numeric.magnitude_guard`).

    Measures only: the verdicts of the propositions that apply are
    ``verify.point_checks.point_verdicts(model, target, c)``.
    """
    with magnitude_guard(model, theta_exact, target):
        return _classify(model, target, theta_exact, dps)


def _classify(model, target, theta_exact, dps: int) -> Classification:
    low = measure(model, target, theta_exact, dps)
    high = measure(model, target, theta_exact, 2 * dps)
    D, P = len(low.residual), model.P
    fixed = _decide(low.gradient_norm, high.gradient_norm, dps)
    consistent = _decide(max_abs(low.residual), max_abs(high.residual), dps)
    if fixed is None:
        kind = None
    elif not fixed:
        kind = "not-a-fixed-point"
    elif consistent is None:
        kind = None
    else:
        kind = "data-consistent" if consistent else "spurious"
    sv_zero = [_decide(a, b, dps) for a, b in zip(low.g_singular, high.g_singular)]
    rank = None if any(z is None for z in sv_zero) else sum(1 for z in sv_zero if not z)
    zero, stable, neutral, unstable = _spectrum_decisions(low, high, dps)
    invariant, non_invariant, motion, nearby = ((None, None, None, None) if neutral is None
                                                else _neutral_invariance(model, theta_exact, low, high, zero, dps, rank))
    order = 1 if non_invariant else (motion.order if motion is not None else None)
    per_order, lowest = _inconsistent_orders(model.n, low, high, dps)
    return Classification(
        fixed_point=fixed,
        kind=kind,
        gradient_norm=low.gradient_norm,
        rank_G=rank,
        D=D,
        P=P,
        eigenvalues=low.eigenvalues,
        eigen_zero=zero,
        stable=stable,
        neutral=neutral,
        unstable=unstable,
        neutral_invariant=invariant,
        non_invariant_neutral=non_invariant,
        invariance_order=order,
        fibre_motion=motion,
        rank_G_nearby=nearby,
        lowest_inconsistent_order=lowest,
        inconsistent_orders=per_order,
        dps=dps,
        low=low,
        high=high,
        theta=tuple(theta_exact),
    )


def _inconsistent_orders(n: int, low: Measurement, high: Measurement, dps: int):
    ords = orders(n)
    out = []
    for k in range(1, n + 1):
        sel = ords == k
        z = _decide(max_abs(low.residual[sel]), max_abs(high.residual[sel]), dps)
        if z is None:
            return None, None
        if not z:
            out.append(k)
    return out, (out[0] if out else None)


def kernel_angles(c: Classification):
    """Largest principal-angle sine between :math:`\\ker H` and :math:`\\ker G` at each precision (None if dims differ)."""
    results = []
    for meas in (c.low, c.high):
        with working_precision(meas.dps):
            zero_idx = [k for k, z in enumerate(c.eigen_zero) if z]
            rank = c.rank_G
            VH = meas.eigenvectors[:, zero_idx]
            VG = meas.G_null[:, rank:]
            if VH.shape[1] != VG.shape[1]:
                return None
            sines = principal_angle_sines(VG, VH)
            results.append(max(sines, default=mpmath.mpf(0)))
    return results
