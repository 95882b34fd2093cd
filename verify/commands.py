"""What the CLI verbs compute, as functions returning JSON-ready documents (tested directly)."""

from __future__ import annotations

from theory.effective import log_partition, model_couplings, moments, probabilities
from theory.walsh import spin_to_boolean

from .cases import load_case
from .numeric import check_precision, decimal_string, warn, working_precision

__all__ = ["couplings_document"]


def couplings_document(path: str, dps: int, gauge: str = "spin") -> dict:
    """Couplings (model at its params, else the target), moments and :math:`\\log Z`, as decimal strings.

    ``log_partition`` is :math:`\\log Z(J)` of the spin-gauge couplings without :math:`J_\\emptyset`.
    """
    from theory.conventions import format_subset, subsets

    case = load_case(path)
    check_precision(case.n, dps)
    n = case.n
    if case.target is not None:
        for note in case.target.notes:
            warn(note)
    with working_precision(dps) as arith:
        if case.model is not None and case.params is not None:
            J, source = model_couplings(case.model, case.theta(arith), arith), "model"
        elif case.target is not None:
            J, source = case.target.coupling_array(arith), "target"
        else:
            case.require("params")
        m = moments(probabilities(J, n, arith), n)
        logz = log_partition(J, n, arith)
        shown = spin_to_boolean(J, n) if gauge == "boolean" else J
        names = [format_subset(A) for A in subsets(n)]
        return {
            "n": n,
            "gauge": gauge,
            "dps": dps,
            "source": source,
            "couplings": {k: decimal_string(v, dps) for k, v in zip(names, shown)},
            "moments": {k: decimal_string(v, dps) for k, v in zip(names, m)},
            "log_partition": decimal_string(logz, dps),
        }


def classify_document(path: str, dps: int, polish_point: bool = False, fibre: bool = False) -> dict:
    """Classification of the case's parameter point (``polish_point``: of the fixed point Newton finds from it)."""
    from .fixed_points import classify
    from .search import polish

    case = load_case(path)
    case.require("model", "params", "target")
    check_precision(case.n, dps)
    for note in case.target.notes:
        warn(note)
    theta = case.params
    extra = {}
    if polish_point:
        found = polish(case.model, case.target, theta, dps)
        extra["polished"] = {"converged": found.converged, "steps": found.steps, "gradient_norm": f"{found.residual:.3e}"}
        theta = found.theta
    c = classify(case.model, case.target, theta, dps)
    doc = c.to_json(case.model)
    doc.update(extra)
    if fibre and c.kind == "data-consistent" and c.neutral:
        from .propositions.s1_neutral import fibre_requirements

        reqs, evidence = fibre_requirements(case.model, case.target, theta, dps)
        evidence.update({r.name: r.evidence() for r in reqs})
        doc["fibre"] = evidence
    return doc


def fixed_points_document(path: str, seeds: int, dps: int, scale: float = 0.5, t_max: float = 1e5,
                          progress: bool = False) -> list[dict]:
    """Search from the case's point and ``seeds`` seeded starts (flow + Newton; Gauss–Newton on J = J^D
    when P >= D), classify each fixed point found, merge those with the same couplings and classification."""
    from .cases import random_params
    from .fixed_points import classify
    from .search import diverging, flow_record, polish, solve_couplings

    case = load_case(path)
    case.require("model", "target")
    check_precision(case.n, dps)
    model, target = case.model, case.target
    starts = ([("params", case.params)] if case.params is not None else []) + [
        (f"seed {s}", random_params(model, seed=s, scale=scale)) for s in range(seeds)
    ]
    found, notes = [], []
    bar = _bar(len(starts), progress)
    for label, start in starts:
        theta, t, gn, record = flow_record(model, target, start, t_max=t_max)
        if diverging(record):
            notes.append({"start": label, "note": f"flow runs off to infinity (‖θ‖ = {record[-1][1]:.2f} at t = {t:.0e})"})
        else:
            outcome = polish(model, target, theta, dps)
            if outcome.converged:
                found.append((label, "flow+newton", outcome.theta))
            else:
                notes.append({"start": label, "note": f"Newton did not converge from the flow endpoint (‖∇ℓ‖ = {outcome.residual:.1e})"})
        if model.P >= 2**model.n - 1:
            direct = solve_couplings(model, target, start, dps)
            if direct.converged:
                found.append((label, "gauss-newton", direct.theta))
        bar.update(1)
    bar.close()
    merged: list[dict] = []
    keys: list = []
    for label, method, theta in found:
        c = classify(model, target, theta, dps)
        key = (c.kind, c.stable, c.neutral, c.unstable)
        for k, (other_key, other) in enumerate(keys):
            if other_key == key and _same_couplings(c, other, dps):
                merged[k]["found_from"].append(f"{label} ({method})")
                break
        else:
            doc = c.to_json(model)
            doc["found_from"] = [f"{label} ({method})"]
            merged.append(doc)
            keys.append((key, c))
    return merged + [{"no_fixed_point": n} for n in notes]


def _same_couplings(a, b, dps: int) -> bool:
    from .numeric import zero_threshold

    with working_precision(dps):
        return max(abs(x - y) for x, y in zip(a.low.couplings, b.low.couplings)) <= zero_threshold(dps)


def _bar(total: int, show: bool):
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc="searching", unit="start", disable=not show, file=sys.stderr, leave=False)
