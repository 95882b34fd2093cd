r"""H2 — learning hierarchy (empirical) and H3 — endpoints are consistent at low orders.

Both read the same long flows from small weights (:mod:`verify.sweep`, one run per case, cached):

* **H2** is an empirical claim: each case is an :class:`~verify.registry.Observation` of whether
  :math:`t_1 \le \dots \le t_N` for every metric at the thresholds 0.5, 0.2, 0.1. The report gives the
  fraction of ordered cases and lists the others; nothing is tuned to make it hold.
* **H3** is judged where it makes a definite statement: at a fixed-point endpoint of a family
  with free fields order 1 is matched (F3), and a spurious endpoint inconsistent at order
  :math:`\le 2` must have an unstable direction (such points are saddles). Endpoints at infinity
  (diverging flows) or without a certified fixed point are not applicable, with the reason.

``ebm-verify sweep`` runs the full enumerated sweep with a resumable store; ``run`` uses its quick
subset.
"""

from __future__ import annotations

from functools import lru_cache

from ..cases import Case
from ..numeric import SWEEP_DPS
from ..registry import Observation, Proposition, Skip, register, reproduce_line
from ..sweep import THRESHOLDS, SweepCase, run_case, sweep_cases
from ..verdict import Requirement, Verdict, judge

__all__ = ["hierarchy_cases", "check_h2", "check_h3"]


def hierarchy_cases(ns=(3,), families=None, quick: bool = False) -> list[Case]:
    """The quick sweep (N = 3, when 3 is among ``ns``) as registry cases; ``meta["sweep"]`` holds the sweep case.
    ``quick``: its three ε = 0.01 flows of the rbm with M = 3."""
    out = []
    if 3 not in ns:
        return out
    chosen = [sc for sc in sweep_cases(quick=True) if not quick or (sc.id.startswith("rbm-n3-m3/") and "eps0.01" in sc.id)]
    for sc in chosen:
        if families and sc.model["family"] not in families:
            continue
        out.append(Case(f"sweep/{sc.id}", None, None, None, {"sweep": sc}))
    return out


def hierarchy_cases_for(model, params, target, target_spec, eps: float = 0.01, seed: int = 1) -> list[Case]:
    """One flow of the model from its seeded small-weight start (``params`` is not used: H2 and H3 speak
    about flows from small weights)."""
    sc = SweepCase(f"{model.family}-n{model.n}/given/eps{eps}-seed{seed}", model.spec(), target_spec, eps, seed)
    return [Case(f"sweep/{sc.id}", None, None, None, {"sweep": sc})]


@lru_cache(maxsize=256)
def _record(sc: SweepCase, dps: int) -> dict:
    return run_case(sc, dps=min(dps, SWEEP_DPS))


def check_h2(case: Case, dps: int) -> Observation:
    rec = _record(case.meta["sweep"], dps)
    ordered = {key: v["ordered"] for key, v in rec["learning"].items()}
    times = {key: v["learning_times"] for key, v in rec["learning"].items() if key.endswith("@0.2")}
    return Observation("H2", case.name, {"ordered": ordered, "learning_times_at_0.2": times,
                                         "absolute_orders": rec["absolute_orders"], "reproduce": rec["reproduce"]})


def check_h3(case: Case, dps: int) -> Verdict | Skip:
    rec = _record(case.meta["sweep"], dps)
    end = rec["endpoint"]
    if end["kind"] not in ("data-consistent", "spurious"):
        return Skip("H3", case.name, f"endpoint is {end['kind']}: {end.get('note', '')}")
    d = end["dps"]
    inconsistent = end.get("inconsistent_orders")
    reqs = [Requirement.fact("order_1_matched", None if inconsistent is None else 1 not in inconsistent, d,
                             f"inconsistent orders {inconsistent}")]
    low = end.get("lowest_inconsistent_order")
    expected = ["order_1_matched"]
    if end["kind"] == "spurious" and (low is None or low <= 2):
        expected.append("low_order_spurious_point_is_unstable")
    if end["kind"] == "spurious" and low is not None and low <= 2:
        reqs.append(Requirement.fact("low_order_spurious_point_is_unstable",
                                     None if end["unstable"] is None else end["unstable"] > 0, d,
                                     f"unstable directions: {end['unstable']}"))
    return judge("H3", case.name, reqs, d, reproduce_line("H3", case, dps),
                 extra={"endpoint": end, "thresholds": list(THRESHOLDS)}, expected=expected)


register(
    Proposition(
        id="H2",
        title="learning hierarchy: lower orders learned first (empirical: fraction of ordered cases per metric)",
        statement=r"t_1 \le t_2 \le \dots \le t_N,\quad t_k = \inf\{t: e_k(t) < \delta\}",
        hypotheses="flows from small weights; an empirical claim, reported per metric",
        check=check_h2,
        cases=hierarchy_cases,
        empirical=True,
        order=90,
        applies=lambda model: model.hierarchy,
        cases_for=hierarchy_cases_for,
    )
)

register(
    Proposition(
        id="H3",
        title="flow endpoints are consistent at low orders; low-order spurious points are saddles",
        statement=r"r_1 = 0 \text{ at every endpoint};\ r_{\le 2} \ne 0 \Rightarrow \lambda_{\max}(H) > 0",
        hypotheses="the fixed point a flow from small weights ends at",
        check=check_h3,
        cases=hierarchy_cases,
        order=100,
        applies=lambda model: model.hierarchy,
        cases_for=hierarchy_cases_for,
    )
)
