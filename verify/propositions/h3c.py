r"""H3C — the region form of H3: every spurious fixed point in a box that is inconsistent at order :math:`\le 2` is a
strict saddle (a certified positive eigenvalue of :math:`H`).

THEORY.md §4 H3 says this strong form is **false in general** (a ``silu`` network with N = 3, M = 1 has spurious strict
local maxima inconsistent at order 2) and is decided case by case:

* ``holds`` when an enumeration of the box (:func:`verify.enumerate_store.enumerate_fixed_points`) is complete
  (undecided volume 0) and every spurious isolated point or manifold in it that is inconsistent at order
  :math:`\le 2` has a certified positive eigenvalue (inertia :math:`n_+ \ge 1`). A point whose residuals of order
  :math:`\le 2` are all directly parameterised is out of scope: :math:`r_A = 0` there by F3;
* ``fails`` with a certified counterexample: an isolated spurious point in the box, Krawczyk-certified, every
  eigenvalue of :math:`H` certified negative, some :math:`r_A \ne 0` with :math:`|A| \le 2` proved
  (:func:`verify.spurious_maxima.certify_spurious_maximum`), from the enumeration or from the targeted search
  (:func:`verify.spurious_maxima.search_spurious_maxima`: it need not be complete);
* ``inconclusive`` otherwise, saying why (the undecided volume fraction, or a point whose eigenvalues or low-order
  residuals are not decided).

A case may declare the outcome THEORY.md documents for it (``meta["expected_outcome"]``); the verdict carries it in its
evidence, and a run treats a verdict whose status is the documented one as expected (:func:`verify.report.exit_code`):
the ``silu`` counterexample is reported as a failure of the strong form, as THEORY.md says, without making the run fail.
"""

from __future__ import annotations

import time
from fractions import Fraction

import mpmath

from ..cases import Case, h3c_cases
from ..registry import Proposition, register, reproduce_line
from ..verdict import Requirement, Verdict, judge

__all__ = ["h3c_cases", "check_h3c", "judge_enumeration", "H3C_DPS", "STATEMENT_REQUIREMENT"]

#: the precision of H3C's certificates and enumerations (balls at twice as many digits); a run asks for at most this
H3C_DPS = 30
#: the requirement that carries the statement itself
STATEMENT_REQUIREMENT = "every_low_order_spurious_point_is_a_strict_saddle"
#: the orders H3C speaks about
MAX_ORDER = 2
def _in_box(theta, lo, hi) -> bool:
    return all(Fraction(lo) <= q <= Fraction(hi) for q in theta)


def _point_text(model, theta) -> dict:
    with mpmath.workdps(40):
        return {p.label: mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, 25) for p, q in zip(model.params, theta)}


def _box_text(lo, hi, P: int) -> str:
    return f"[{lo}, {hi}]^{P}"


def _low_orders_direct(model) -> bool:
    """Are all couplings of order <= 2 directly parameterised (so r_A = 0 there at every fixed point, F3)?"""
    from theory.conventions import subsets

    direct = set(model.direct_parameters().values())
    return all(tuple(A) in direct for A in subsets(model.n) if len(A) <= MAX_ORDER)


def _verdict_of_point(model, item: dict) -> str:
    """``saddle``, ``out-of-scope``, ``counterexample`` or ``undecided`` for an enumerated point or manifold."""
    positive, negative = item.get("positive", 0) or 0, item.get("negative", 0) or 0
    if positive >= 1:
        return "saddle"
    kind, low = item.get("kind"), item.get("lowest_inconsistent_order")
    if kind == "data-consistent":
        return "out-of-scope"
    if kind == "spurious" and low is not None and low <= MAX_ORDER:
        isolated = item.get("class", "isolated") == "isolated" and "enclosure" in item
        return "counterexample" if isolated and negative == model.P else "undecided"
    if _low_orders_direct(model):
        return "out-of-scope"  # r_A = 0 for |A| <= 2 at every fixed point (F3): not inconsistent at order <= 2
    return "undecided"


def judge_enumeration(model, res: dict) -> tuple[bool | None, str, dict]:
    """The statement on an enumeration result: ``(holds?, detail, evidence)``; ``None`` when not decided."""
    items = [dict(r, **{"class": "isolated"}) for r in res.get("isolated_points", [])]
    for key in ("manifolds", "structured_manifolds"):
        items += [dict(m, **{"class": "manifold"}) for m in res.get(key, []) or []]
    ruled = [(item, _verdict_of_point(model, item)) for item in items]
    counter = [item for item, v in ruled if v == "counterexample" and item.get("in_box", True)]
    undecided = [item for item, v in ruled if v == "undecided"]
    saddles = sum(1 for _, v in ruled if v == "saddle")
    fraction = res["undecided_volume_fraction"]
    complete = bool(res["complete"]) and fraction == 0
    evidence = {"enumeration_statement": res["statement"], "undecided_volume_fraction": fraction,
                "isolated_points": len(res.get("isolated_points", [])), "certified_saddles": saddles,
                "points_with_undecided_status": len(undecided)}
    if counter:
        c = counter[0]
        evidence["counterexample"] = {"enclosure": c["enclosure"], "nature": c["nature"], "negative": c["negative"],
                                      "lowest_inconsistent_order": c["lowest_inconsistent_order"],
                                      "residual_nonzero": c.get("residual_nonzero")}
        return False, (f"counterexample from the enumeration: an isolated spurious {c['nature']}, inconsistent at "
                       f"order {c['lowest_inconsistent_order']}, every eigenvalue of H certified negative"), evidence
    if undecided:
        return None, (f"{len(undecided)} fixed point(s) in the box are not proved saddles and their eigenvalues or "
                      "residuals of order <= 2 are not decided"), evidence
    if not complete:
        return None, (f"the enumeration is incomplete: {100 * fraction:.3g} % of the box's volume undecided "
                      f"({res['counts']['undecided']} boxes)"), evidence
    in_scope = sum(1 for item, v in ruled if v == "saddle" and item.get("kind") == "spurious")
    if in_scope == 0:
        return True, "no spurious fixed point inconsistent at order <= 2 in the box: " + res["statement"], evidence
    return True, ("every spurious fixed point inconsistent at order <= 2 in the box is a certified saddle: "
                  + res["statement"]), evidence


def _search(case: Case, dps: int) -> tuple[dict | None, dict]:
    from ..spurious_maxima import search_spurious_maxima

    spec = case.meta["search"]
    lo, hi = case.meta["box"]
    result = search_spurious_maxima(case.model, case.target, seeds=range(*spec["seeds"]), scale=spec["scale"], dps=dps)
    evidence = {"search": {"method": "seeded flows from random_params(seed, scale), float64 screen, Newton, "
                                     "certify_spurious_maximum", "scale": spec["scale"],
                           "seeds_tried": list(result["tried"]), "seeds_screened_out": list(result["screened_out"])}}
    for found in result["found"]:
        if _in_box(found["theta"], lo, hi):
            return found, evidence
    return None, evidence


def check_h3c(case: Case, dps: int) -> Verdict:
    dps = min(dps, H3C_DPS)
    model, meta = case.model, case.meta
    lo, hi = meta["box"]
    start = time.perf_counter()
    extra: dict = {"box": _box_text(lo, hi, model.P), "max_order": MAX_ORDER}
    if "expected_outcome" in meta:
        extra["expected_outcome"] = dict(meta["expected_outcome"])
    reqs: list[Requirement] = []
    expected = [STATEMENT_REQUIREMENT]
    holds, detail = None, "nothing decided the statement"
    if "search" in meta:
        found, evidence = _search(case, dps)
        extra.update(evidence)
        if found is not None:
            cert = found["certificate"]
            extra["counterexample"] = {
                "theta": _point_text(model, found["theta"]), "seed": found["seed"],
                "certificate_box_radius": cert["radius"], "ball_digits": cert["ball_digits"],
                "eigenvalues_of_H": cert["eigenvalue_enclosures"], "inertia": cert["inertia"],
                "residuals_proved_nonzero": cert["residual_enclosures"],
                "lowest_inconsistent_order": cert["lowest_inconsistent_order"]}
            extra["undecided_volume_fraction"] = None
            extra["enumeration"] = "not run: the counterexample decides the case"
            reqs += [Requirement.fact("counterexample_unique_zero_of_grad_l", cert["unique_zero"], dps,
                                      f"Krawczyk in a box of radius {cert['radius']}"),
                     Requirement.fact("counterexample_every_eigenvalue_of_H_negative", cert["all_eigenvalues_negative"],
                                      dps, f"inertia {cert['inertia']}"),
                     Requirement.fact("counterexample_inconsistent_at_order_le_2", cert["inconsistent_at_order_le_2"],
                                      dps, f"lowest order with r_A != 0 proved: {cert['lowest_inconsistent_order']}")]
            holds = False
            detail = (f"certified counterexample (seed {found['seed']}, scale {meta['search']['scale']}): a spurious "
                      f"strict local maximum of l inconsistent at order {cert['lowest_inconsistent_order']}, every "
                      f"eigenvalue of H in [{cert['eigenvalue_enclosures'][0]['lo']}, "
                      f"{cert['eigenvalue_enclosures'][-1]['hi']}]")
    if holds is None and "enumerate" in meta:
        from ..enumerate_store import enumerate_fixed_points

        budget = meta["enumerate"]
        res = enumerate_fixed_points(model, case.target, Fraction(lo), Fraction(hi), dps=dps,
                                     max_boxes=budget["max_boxes"], max_seconds=budget["max_seconds"])
        holds, detail, evidence = judge_enumeration(model, res)
        extra.update(evidence)
        if holds is not False:  # a certified counterexample needs no complete enumeration
            complete = bool(res["complete"]) and res["undecided_volume_fraction"] == 0
            # incomplete is not a violation: the statement is then undecided (None), never failed by it
            reqs.append(Requirement.fact("enumeration_complete", True if complete else None, dps,
                                         f"{100 * res['undecided_volume_fraction']:.3g} % of the volume undecided"))
            expected.append("enumeration_complete")
    elif holds is None:
        detail = "the targeted search found no certified counterexample in the box, and the box is not enumerated"
    reqs.insert(0, Requirement.fact(STATEMENT_REQUIREMENT, holds, dps, detail))
    extra["statement"] = detail
    extra["seconds"] = round(time.perf_counter() - start, 3)
    return judge("H3C", case.name, reqs, dps, reproduce_line("H3C", case, dps), extra=extra, expected=expected)


register(
    Proposition(
        id="H3C",
        title=r"region form of H3: in a box, every spurious point inconsistent at order $\le 2$ is a strict saddle "
              r"(false in general: decided per case)",
        statement=r"\nabla\ell(\theta^*) = 0,\ r_{|A| \le 2}(\theta^*) \ne 0,\ \theta^* \in B \Rightarrow "
                  r"\lambda_{\max}(H(\theta^*)) > 0",
        hypotheses="a box of parameters; an enumeration of it, or a certified counterexample from a targeted search",
        check=check_h3c,
        cases=h3c_cases,
        order=105,
        # decided on its declared cases (a box and a search each); on a user's model the `enumerate` verb says what
        # is in a box
        applies=lambda model: False,
    )
)
