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
* ``neutral_directions_leave_J_invariant``: whether :math:`Gv = 0` for every neutral :math:`v`.

The propositions that apply to the point (F1 everywhere; F2 and F3 at fixed points; S1 at
data-consistent points) are judged from the same measurements (:mod:`verify.point_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from theory.arith import MP
from theory.conventions import orders
from theory.effective import kl_divergence, model_couplings
from theory.flow import FlowState, coupling_hessians

from .linalg import max_abs, norm, principal_angle_sines, right_singular, singular_values, symmetric_eigen
from .numeric import working_precision, zero_decision
from .verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict

__all__ = ["Measurement", "measure", "Classification", "classify"]


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
    coupling_hessians: np.ndarray  # (D, P, P): the Hessians of J_A

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
        evals, vecs = symmetric_eigen(state.hessian())
        right_values, right_vectors = right_singular(state.G)
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
            coupling_hessians=coupling_hessians(model, theta, MP),
        )


def _decide(low, high, dps):
    return zero_decision(low, high, dps).is_zero


@dataclass
class Classification:
    """The classifier's decisions and the verdicts of the propositions that apply (see the module docstring)."""

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
    lowest_inconsistent_order: int | None
    inconsistent_orders: list | None
    dps: int
    low: Measurement = field(repr=False)
    high: Measurement = field(repr=False)
    verdicts: list[Verdict] = field(default_factory=list)
    theta: tuple[Fraction, ...] = ()

    @property
    def verdict(self) -> str:
        statuses = [v.status for v in self.verdicts]
        if FAILS in statuses:
            return FAILS
        if INCONCLUSIVE in statuses or self.kind is None:
            return INCONCLUSIVE
        return HOLDS

    def to_json(self, model=None, digits: int | None = None) -> dict:
        d = digits or self.dps
        out = {
            "fixed_point": self.fixed_point,
            "gradient_norm": mpmath.nstr(self.gradient_norm, 5),
            "kind": self.kind,
            "rank_G": self.rank_G,
            "D": self.D,
            "P": self.P,
            "eigenvalues": [mpmath.nstr(e, min(d, 20)) for e in self.eigenvalues],
            "stable": self.stable,
            "neutral": self.neutral,
            "unstable": self.unstable,
            "neutral_directions_leave_J_invariant": self.neutral_invariant,
            "neutral_directions_moving_J_at_first_order": self.non_invariant_neutral,
            "lowest_inconsistent_order": self.lowest_inconsistent_order,
            "inconsistent_orders": self.inconsistent_orders,
            "residual_norm": mpmath.nstr(norm(self.low.residual), 5),
            "kl_to_target": mpmath.nstr(self.low.kl, 5),
            "dps": self.dps,
            "confirmed_at_dps": 2 * self.dps,
            "verdict": self.verdict,
            "propositions": {v.proposition: {"status": v.status, "evidence": v.evidence} for v in self.verdicts},
        }
        if model is not None and self.theta:
            with mpmath.workdps(2 * self.dps + 10):
                values = [mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, 2 * self.dps + 5) for q in self.theta]
            out["params"] = model.params_to_json(values)
        return out


def _spectrum_decisions(low: Measurement, high: Measurement, dps: int):
    zero = [_decide(a, b, dps) for a, b in zip(low.eigenvalues, high.eigenvalues)]
    if any(z is None for z in zero):
        return zero, None, None, None
    stable = sum(1 for z, e in zip(zero, low.eigenvalues) if not z and e < 0)
    unstable = sum(1 for z, e in zip(zero, low.eigenvalues) if not z and e > 0)
    return zero, stable, sum(zero), unstable


def _second_order_motion(meas: Measurement, idx: list, rank: int):
    r"""Largest :math:`|P_\perp(v_a^\top\nabla^2J\,v_b)|` over a basis of the neutral space.

    Along a curve :math:`\theta(t) = \theta^* + tv + \tfrac{t^2}{2}a` with :math:`Gv = 0`,
    :math:`J(\theta(t)) = J^* + \tfrac{t^2}{2}(Ga + v^\top\nabla^2J\,v) + O(t^3)`: the couplings can stay put
    to second order only if :math:`v^\top\nabla^2J\,v` lies in the range of :math:`G`
    (:math:`P_\perp` projects onto its orthogonal complement, spanned by the left singular
    vectors of the zero singular values).
    """
    with mpmath.workdps(meas.dps):
        V = meas.eigenvectors[:, idx]
        T = np.matmul(np.matmul(V.T, meas.coupling_hessians), V)  # (D, k, k)
        # orthonormal basis of range(G): u_k = G v_k / sigma_k over the nonzero singular values
        basis = (meas.G @ meas.G_null[:, :rank]) / np.array(meas.G_right_values[:rank], dtype=object)[None, :]
        flat = T.reshape(T.shape[0], -1)
        residual = flat - basis @ (basis.T @ flat)
        return max_abs(residual)


def _neutral_invariance(low: Measurement, high: Measurement, zero: list, dps: int, rank):
    """Do the neutral directions of :math:`H` leave :math:`J` invariant? Returns (invariant, number moving J at first order).

    First order: the number of neutral directions that move :math:`J` is the rank of :math:`GV`
    (``V`` an orthonormal basis of the neutral space), decided from its singular values, so it
    does not depend on the basis. When :math:`GV = 0`, second order decides
    (:func:`_second_order_motion`): a degenerate spurious point (e.g. ``w = 0`` with no pairwise
    residual) has :math:`GV = 0` but directions along which :math:`J` moves quadratically.
    """
    idx = [k for k, z in enumerate(zero) if z]
    if not idx:
        return None, 0
    with mpmath.workdps(low.dps):
        gv = singular_values(low.G @ low.eigenvectors[:, idx])
    with mpmath.workdps(high.dps):
        gv_high = singular_values(high.G @ high.eigenvectors[:, idx])
    moving = [_decide(a, b, dps) for a, b in zip(gv, gv_high)]
    if any(m is None for m in moving):
        return None, None
    not_invariant = sum(1 for m in moving if not m)
    if not_invariant:
        return False, not_invariant
    if rank is None:
        return None, 0
    second = _decide(_second_order_motion(low, idx, rank), _second_order_motion(high, idx, rank), dps)
    return second, 0


def classify(model, target, theta_exact, dps: int, with_f1: bool = True) -> Classification:
    """Classify the exact point ``theta_exact`` (never moved) at ``dps``, confirmed at ``2·dps``."""
    from .point_checks import point_verdicts

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
    invariant, non_invariant = (None, None) if neutral is None else _neutral_invariance(low, high, zero, dps, rank)
    per_order, lowest = _inconsistent_orders(model.n, low, high, dps)
    c = Classification(
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
        lowest_inconsistent_order=lowest,
        inconsistent_orders=per_order,
        dps=dps,
        low=low,
        high=high,
        theta=tuple(theta_exact),
    )
    c.verdicts = point_verdicts(model, target, c, with_f1)
    return c


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
        with mpmath.workdps(meas.dps):
            zero_idx = [k for k, z in enumerate(c.eigen_zero) if z]
            rank = c.rank_G
            VH = meas.eigenvectors[:, zero_idx]
            VG = meas.G_null[:, rank:]
            if VH.shape[1] != VG.shape[1]:
                return None
            sines = principal_angle_sines(VG, VH)
            results.append(max(sines, default=mpmath.mpf(0)))
    return results
