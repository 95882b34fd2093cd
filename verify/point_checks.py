r"""Requirements of F1, F2, F3 and S1 at one point: the judging half of "measure, then judge".

:func:`verify.fixed_points.classify` measures a point; the functions here judge its classification
(:func:`point_verdicts`, used by the ``classify`` and ``fixed-points`` commands and the sweep) or supply
the requirements the registered propositions judge (:mod:`verify.propositions`). Imports run one way:
this module imports :mod:`verify.fixed_points` and :mod:`verify.certify`, never the reverse.

* **F1** (anywhere): along the flow :math:`\dot J = GG^\top r` and :math:`\dot\ell = \|G^\top r\|^2 \ge 0`,
  checked by central differences of :math:`J` and :math:`\ell` along :math:`\nabla\ell` (step
  :math:`10^{-\mathrm{dps}/3}`, so truncation and rounding stay below :math:`10^{-2\mathrm{dps}/3}`), and
  :math:`K = GG^\top \succeq 0` (its smallest eigenvalue, for :math:`D \le 15`); and the flow's Jacobian
  :math:`H = \sum_A r_A\nabla^2J_A - G^\top CG` equals the central-difference Jacobian of :math:`\nabla\ell`.
* **F2** (fixed points): data-consistent points have :math:`\mathrm{KL}(p_D\|p_\theta) = 0`; spurious ones
  have :math:`\operatorname{rank}G < D` (the :math:`D`-th singular value of :math:`G` is zero).
* **F3** (fixed points, families with directly parameterised couplings): :math:`r_A = 0` for those ``A``.
* **S1** (data-consistent points): no eigenvalue of :math:`H` is positive; :math:`\dim\ker H = \dim\ker G`;
  the principal angles between :math:`\ker H` and :math:`\ker G` vanish; every neutral :math:`v` is
  tangent to the fibre (not applicable where the rank of :math:`G` drops: an observation then).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from theory.arith import MP
from theory.effective import log_likelihood, model_couplings
from theory.fixedpoint import matmul

from . import certify
from .fixed_points import Classification, kernel_angles
from .linalg import max_abs, symmetric_eigenvalues
from .numeric import at_two_precisions, fd_step, magnitude_guard
from .verdict import FAILS, HOLDS, INCONCLUSIVE, Requirement, Verdict, judge

__all__ = ["f1_residuals", "f1_requirements", "point_verdicts", "overall_verdict", "classification_document",
           "reproduce_classify"]

#: the spectrum of K = GG^T (D x D, Arb's eigensolver) is computed for D <= 63 (N <= 6); beyond, K ⪰ 0 rests
#: on dℓ/dt = rᵀKr >= 0 along the flow, which is checked everywhere
MAX_D_FOR_KERNEL_SPECTRUM = 63


def reproduce_classify(dps: int) -> str:
    return f"ebm-verify classify CASE.json --dps {dps}"


def f1_residuals(model, target, theta_exact, dps: int, measured=None) -> dict:
    r"""F1 residuals at the working precision ``dps`` (call inside ``working_precision``); ``measured`` is the
    classifier's :class:`~verify.fixed_points.Measurement` at ``dps`` when there is one (its state and
    :math:`H` are reused, not recomputed).

    * :math:`H` against its phase form :math:`E_D[\partial^2F] - E_\theta[\partial^2F] - \mathrm{Cov}_\theta(\partial F)`
      (:func:`theory.flow.flow_jacobian_phases`; an exact identity, no differencing);
    * :math:`H` as the flow's Jacobian, by one central difference of :math:`\nabla\ell` along a fixed
      pseudo-random direction :math:`v` (two gradients, not :math:`2P`: an error matrix :math:`E \ne 0` escapes
      only if :math:`Ev = 0`, a measure-zero event for :math:`v` independent of the model);
    * :math:`\dot J = Kr` and :math:`\dot\ell = \|\nabla\ell\|^2` by central differences along the flow;
    * :math:`K \succeq 0` from the spectrum of the smaller of :math:`K = GG^\top` (:math:`D\times D`) and
      :math:`G^\top G` (:math:`P\times P`): the two share their non-zero eigenvalues, and when :math:`D > P` the
      other :math:`D - P` eigenvalues of :math:`K` are exactly 0 (:math:`\operatorname{rank} K \le P`).
    """
    from theory.flow import FlowState, flow_jacobian_phases

    theta = MP.array(theta_exact)
    m_data = target.moment_array(MP)
    p_data = target.probability_array(MP)
    reuse = measured is not None and measured.dps == dps and measured.state is not None
    state = measured.state if reuse else FlowState(model, theta, m_data, MP)
    g = state.gradient
    h = fd_step(dps)
    up, down = theta + g * h, theta - g * h
    dJ = (model_couplings(model, up, MP) - model_couplings(model, down, MP)) / (2 * h)
    K = state.kernel  # the kernel the theorem names (K = G G^T), checked as the suite computes it
    Kr = matmul(K, state.r[:, None])[:, 0]
    dl = (log_likelihood(model, up, p_data, MP) - log_likelihood(model, down, p_data, MP)) / (2 * h)
    g2 = g @ g
    scale = 1 + max(abs(v) for v in Kr)
    H = measured.hessian if reuse else state.hessian()
    H_scale = 1 + max(abs(v) for v in H.reshape(-1))
    v = _probe_direction(model.P)
    Hv_fd = (FlowState(model, theta + v * h, m_data, MP).gradient - FlowState(model, theta - v * h, m_data, MP).gradient) / (2 * h)
    out = {
        "H_equals_its_phase_form": max(abs(x) for x in (H - flow_jacobian_phases(model, theta, p_data, MP)).reshape(-1)) / H_scale,
        "H_is_the_flow_jacobian": max(abs(a - b) for a, b in zip(H @ v, Hv_fd)) / H_scale,
        "dJ_dt_equals_K_r": max(abs(a - b) for a, b in zip(dJ, Kr)) / scale,
        "dl_dt_equals_grad_norm_sq": abs(dl - g2) / (1 + g2),
        "dl_dt": dl,
    }
    D, P = state.G.shape
    if D <= MAX_D_FOR_KERNEL_SPECTRUM:
        if D <= P:
            out["min_eigenvalue_K"] = symmetric_eigenvalues(K)[0]
        else:  # K's spectrum is GᵀG's (the classifier's, when it measured this point) and D - P exact zeros
            gram = measured.gram_values if reuse and measured.gram_values else \
                symmetric_eigenvalues(matmul(state.G.T, state.G))
            out["min_eigenvalue_K"] = min(+gram[0], 0 * g2)
    return out


def _probe_direction(P: int) -> np.ndarray:
    """A fixed unit-scale direction with irrational-looking rational entries (the same at every precision)."""
    rng = np.random.default_rng(20261128)
    return MP.array([Fraction(int(k), 997) for k in rng.integers(-997, 998, size=P)])


def f1_requirements(model, target, theta_exact, dps: int, measured: dict | None = None) -> list[Requirement]:
    """F1's requirements at ``dps`` and ``2·dps``; ``measured`` maps a precision to the classifier's
    :class:`~verify.fixed_points.Measurement` there (reused by :func:`f1_residuals`)."""
    measured = measured or {}
    with magnitude_guard(model, theta_exact, target):
        low, high = at_two_precisions(lambda d: f1_residuals(model, target, theta_exact, d, measured.get(d)), dps)
    reqs = [
        Requirement.zero("H_equals_its_phase_form", low["H_equals_its_phase_form"], high["H_equals_its_phase_form"], dps),
        Requirement.zero("H_is_the_flow_jacobian", low["H_is_the_flow_jacobian"], high["H_is_the_flow_jacobian"], dps),
        Requirement.zero("dJ_dt_equals_K_r", low["dJ_dt_equals_K_r"], high["dJ_dt_equals_K_r"], dps),
        Requirement.zero("dl_dt_equals_grad_norm_sq", low["dl_dt_equals_grad_norm_sq"],
                         high["dl_dt_equals_grad_norm_sq"], dps),
        Requirement.nonnegative("dl_dt", low["dl_dt"], high["dl_dt"], dps),
    ]
    if "min_eigenvalue_K" in low:
        reqs.append(Requirement.nonnegative("min_eigenvalue_K", low["min_eigenvalue_K"], high["min_eigenvalue_K"], dps))
    return reqs


#: what F1 checks at every point (and K's spectrum where D <= MAX_D_FOR_KERNEL_SPECTRUM)
F1_REQUIREMENTS = ("H_equals_its_phase_form", "H_is_the_flow_jacobian", "dJ_dt_equals_K_r", "dl_dt_equals_grad_norm_sq",
                   "dl_dt")


def f1_expected(model) -> list[str]:
    """The requirements F1 promises on ``model``: the four identities, the sign of dℓ/dt and, for D <= 63, K ⪰ 0."""
    D = 2**model.n - 1
    return list(F1_REQUIREMENTS) + (["min_eigenvalue_K"] if D <= MAX_D_FOR_KERNEL_SPECTRUM else [])


def f2_expected(c) -> list[str]:
    """F2's promise at ``c``: a vanishing gradient, and the criterion of the kind the point was given (KL = 0 for
    data-consistent; rank G < D and r ≠ 0 for spurious); an undecided kind promises its decision."""
    if c.kind == "data-consistent":
        return ["gradient_norm", "kl_to_target"]
    if c.kind == "spurious":
        return ["gradient_norm", "sigma_D_of_G" if c.P >= c.D else "rank_G_below_D", "residual_norm"]
    return ["gradient_norm", "kind_decided"]


def f3_expected(model) -> list[str]:
    """F3's promise: the residual of the directly parameterised couplings (none when no coupling is direct)."""
    return ["directly_parameterised_residual"] if model.direct_parameters() else []


def f2_requirements(c) -> list[Requirement]:
    dps = c.dps
    reqs = [Requirement.zero("gradient_norm", c.low.gradient_norm, c.high.gradient_norm, dps)]
    if c.kind == "data-consistent":
        reqs.append(Requirement.zero("kl_to_target", c.low.kl, c.high.kl, dps))
    elif c.kind == "spurious":
        if c.P >= c.D:
            reqs.append(Requirement.zero("sigma_D_of_G", c.low.g_singular[c.D - 1], c.high.g_singular[c.D - 1], dps))
        else:
            reqs.append(Requirement.fact("rank_G_below_D", True, dps, f"P = {c.P} < D = {c.D}"))
        reqs.append(Requirement.nonnegative("residual_norm", max_abs(c.low.residual), max_abs(c.high.residual), dps))
    else:
        reqs.append(Requirement.fact("kind_decided", None, dps, "data-consistent or spurious could not be decided"))
    return reqs


def f3_requirements(model, c) -> list[Requirement]:
    direct = model.direct_parameters()
    if not direct:
        return []
    from theory.conventions import subset_index

    index = subset_index(model.n)
    rows = sorted({index[A] for A in direct.values()})
    return [Requirement.zero("directly_parameterised_residual", max_abs(c.low.residual[rows]),
                             max_abs(c.high.residual[rows]), c.dps)]


def s1_requirements(c) -> list[Requirement]:
    dps = c.dps
    top_low, top_high = c.low.eigenvalues[-1], c.high.eigenvalues[-1]
    reqs = [Requirement.nonpositive("max_eigenvalue_H", top_low, top_high, dps)]
    if c.neutral is None or c.rank_G is None:
        reqs.append(Requirement.fact("dim_ker_H_equals_dim_ker_G", None, dps, "spectrum or rank undecided"))
        return reqs
    dims_equal = c.neutral == c.P - c.rank_G
    reqs.append(Requirement.fact("dim_ker_H_equals_dim_ker_G", dims_equal, dps,
                                 f"dim ker H = {c.neutral}, dim ker G = {c.P - c.rank_G}"))
    if dims_equal and c.neutral > 0:
        angles = kernel_angles(c)
        reqs.append(Requirement.zero("principal_angle_sine_ker_H_ker_G", angles[0], angles[1], dps))
        if invariance_clause_applies(c) is not False:
            invariant = c.neutral_invariant
            if invariant is False and c.rank_drops is None:
                invariant = None  # J moves, but whether the clause applies (locally constant rank) is undecided
            reqs.append(Requirement.fact("neutral_directions_leave_J_invariant", invariant, dps, invariance_detail(c)))
    return reqs


def invariance_clause_applies(c) -> bool | None:
    """S1's invariance clause needs :math:`G` of locally constant rank: ``False`` where the rank drops at the point."""
    return None if c.rank_drops is None else not c.rank_drops


def invariance_detail(c) -> str:
    """The evidence of the invariance decision, in words that agree with it."""
    if c.non_invariant_neutral:
        return f"{c.non_invariant_neutral} neutral directions move J at first order (Gv ≠ 0)"
    if c.fibre_motion is not None:
        text = c.fibre_motion.describe()
        if c.neutral_invariant is False and c.rank_drops is None:
            text += "; whether rank G is locally constant here is undecided"
        return text
    return "undecided"


def s1_observations(c) -> dict:
    """What S1 reports without judging: where the rank of :math:`G` drops, the invariance clause does not
    apply (THEORY.md S1) and the order at which :math:`J` moves is an observation."""
    if invariance_clause_applies(c) is not False:
        return {}
    return {"invariance_clause": "not applicable: rank G is not locally constant here "
                                 f"(rank {c.rank_G} at the point, {c.rank_G_nearby} at nearby points)",
            "observation": invariance_detail(c),
            "order_at_which_J_moves": c.invariance_order}


def s1_expected(c) -> list[str]:
    """The requirements S1 promises at ``c``: the spectrum, the kernels, and where neutral directions exist,
    their angles and (unless the rank drops) their invariance."""
    names = ["max_eigenvalue_H", "dim_ker_H_equals_dim_ker_G"]
    if c.neutral and c.rank_G is not None and c.neutral == c.P - c.rank_G:
        names.append("principal_angle_sine_ker_H_ker_G")
        if invariance_clause_applies(c) is not False:
            names.append("neutral_directions_leave_J_invariant")
    return names


def certificate_requirements(model, target, c, dps: int, reqs: list) -> dict:
    """Certify the fixed point ``c`` (:mod:`verify.certify`); a certificate that contradicts the numerical
    classification appends a failing requirement to ``reqs``. Returns the certificate."""
    cert = certify.certify_point(model, target, c.theta, dps, c)
    if certify.consistent_with(cert, c) is False:
        reqs.append(Requirement.fact("certificate_agrees_with_classification", False, dps,
                                     f"certified {cert.get('negative')} negative / {cert.get('positive')} positive, "
                                     f"numerically {c.stable} stable / {c.unstable} unstable"))
    settled = settle_by_certificate(reqs, cert, c, dps)
    if settled:
        cert["settled"] = settled
    return cert


def settle_by_certificate(reqs: list, cert: dict, c, dps: int) -> list[str]:
    r"""Decide, from the certificate's enclosures, the requirements the two precisions left undecided.

    A certificate of an isolated fixed point (Krawczyk: exactly one zero :math:`\theta^*` of :math:`\nabla\ell` in
    the box) with every eigenvalue enclosure of :math:`H(\text{box})` excluding 0 fixes the inertia of
    :math:`H(\theta^*)`: ``max_eigenvalue_H`` :math:`\le 0` holds exactly when no enclosure lies above 0, and
    :math:`\dim\ker H(\theta^*) = 0`, which equals :math:`\dim\ker G` when the positive eigenvalues of
    :math:`G^\top G` certify :math:`\operatorname{rank} G = P`. Requirements already decided are left as they are
    (a certificate that contradicts one fails the verdict through ``certificate_agrees_with_classification``).
    Replaces the settled requirements in ``reqs``; returns their names.
    """
    if not cert.get("certified") or cert.get("method") != "krawczyk" or cert.get("undecided") != 0 \
            or "negative" not in cert:
        return []
    negative, positive = cert["negative"], cert["positive"]
    where = (f"ball arithmetic at the unique fixed point in the box of radius {cert['radius']}: {negative} eigenvalue "
             f"enclosures of H below 0, {positive} above, none containing 0")
    settled = []
    for k, req in enumerate(reqs):
        if req.satisfied is not None:
            continue
        if req.name == "max_eigenvalue_H":
            reqs[k] = Requirement.fact(req.name, positive == 0, dps, "decided by " + where)
        elif req.name == "dim_ker_H_equals_dim_ker_G" and cert.get("rank_G_at_least") == c.P:
            reqs[k] = Requirement.fact(req.name, True, dps, "decided by " + where + f"; rank G = P = {c.P} certified")
        else:
            continue
        settled.append(req.name)
    return settled


def point_verdicts(model, target, c: Classification, with_f1: bool = True) -> list[Verdict]:
    """Verdicts of the propositions that apply at the classified point ``c`` (F1 optional: it holds
    at every point and the registry checks it at the cases' own points)."""
    dps = c.dps
    repro = reproduce_classify(dps)
    measured = {m.dps: m for m in (c.low, c.high)}
    out = ([judge("F1", "point", f1_requirements(model, target, c.theta, dps, measured), dps, repro,
                  expected=f1_expected(model))]
           if with_f1 else [])
    if c.fixed_point:
        out.append(judge("F2", "point", f2_requirements(c), dps, repro, extra={"kind": c.kind}, expected=f2_expected(c)))
        f3 = f3_requirements(model, c)
        if f3:
            out.append(judge("F3", "point", f3, dps, repro, expected=f3_expected(model)))
    if c.kind == "data-consistent":
        out.append(judge("S1", "point", s1_requirements(c), dps, repro, extra=s1_observations(c) or None,
                         expected=s1_expected(c)))
    return out


def overall_verdict(c: Classification, verdicts: list[Verdict]) -> str:
    """One status for a judged point: ``fails`` if any verdict fails; ``inconclusive`` if any is
    inconclusive or the kind of the point is undecided; ``holds`` otherwise."""
    statuses = [v.status for v in verdicts]
    if FAILS in statuses:
        return FAILS
    if INCONCLUSIVE in statuses or c.kind is None:
        return INCONCLUSIVE
    return HOLDS


def classification_document(c: Classification, verdicts: list[Verdict], model=None, digits: int | None = None) -> dict:
    """:meth:`Classification.to_json <verify.fixed_points.Classification.to_json>` with the judgement:
    ``verdict`` (:func:`overall_verdict`) and ``propositions`` (status and evidence of each verdict),
    placed before ``params``."""
    doc = c.to_json(model, digits)
    params = doc.pop("params", None)
    doc["verdict"] = overall_verdict(c, verdicts)
    doc["propositions"] = {v.proposition: {"status": v.status, "evidence": v.evidence} for v in verdicts}
    if params is not None:
        doc["params"] = params
    return doc
