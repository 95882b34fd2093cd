"""What the CLI verbs compute, as functions returning JSON-ready documents (tested directly)."""

from __future__ import annotations

from theory.effective import log_partition, model_couplings, moments, probabilities
from theory.walsh import spin_to_boolean

from .cases import load_case
import mpmath

from .numeric import (GUARD_DIGITS, RESOLVE_MAX_GUARD_FACTOR, agreed_string, case_guard, check_precision,
                      magnitude_guard, resolve_precisions, resolve_tolerance, warn, working_precision)

__all__ = ["couplings_document", "resolved_strings", "classify_document", "fixed_points_document", "flow_document", "scaling_document"]


def couplings_document(path: str, dps: int, gauge: str = "spin") -> dict:
    """Couplings (model at its params, else the target), moments and :math:`\\log Z`, as decimal strings.

    ``log_partition`` is :math:`\\log Z(J) = \\log\\sum_s \\exp(\\sum_{A\\ne\\emptyset} J_A\\chi_A(s))` of the spin-gauge
    couplings, *without* :math:`J_\\emptyset` (the normaliser of :math:`p_J`; :math:`\\log Z(\\theta)` of the model
    is this plus :math:`J_\\emptyset(\\theta)`). Every printed digit is correct: see :func:`resolved_strings`.
    """
    from theory.conventions import format_subset, subsets

    case = load_case(path)
    check_precision(case.n, dps)
    n = case.n
    if case.target is not None:
        for note in case.target.notes:
            warn(note)
    if case.model is not None and case.params is not None:
        source = "model"
    elif case.target is not None:
        source = "target"
    else:
        case.require("params")

    def compute(arith):
        J = model_couplings(case.model, case.theta(arith), arith) if source == "model" else case.target.coupling_array(arith)
        shown = spin_to_boolean(J, n) if gauge == "boolean" else J
        return list(shown) + list(moments(probabilities(J, n, arith), n)) + [log_partition(J, n, arith)]

    with case_guard(case):
        values = resolved_strings(compute, dps)
    names = [format_subset(A) for A in subsets(n)]
    D = len(names)
    return {
        "n": n,
        "gauge": gauge,
        "dps": dps,
        "source": source,
        "couplings": dict(zip(names, values[:D])),
        "moments": dict(zip(names, values[D:2 * D])),
        "log_partition": values[-1],
        "digits": f"every digit printed is correct: {dps} significant digits where two working precisions agree "
                  "to them, fewer where they do not; '0 +/- b' is a value not resolved from zero, below b",
    }


def resolved_strings(compute, dps: int, max_extra: int | None = None) -> list[str]:
    r"""``compute(arith)`` (a list of numbers) printed with ``dps`` correct significant digits each.

    The Walsh transform and the log-sum-exp cancel: at ``w`` digits a coupling is known to an
    *absolute* :math:`10^{-w}\max|F|`, so a small :math:`J_A` (e.g. :math:`6\cdot10^{-10}` for the top order of an
    ``rbm`` with ``N = 8``) has fewer correct significant digits than ``w``. The values are computed at
    ``dps + g`` and ``dps + g + 20`` digits with ``g = 10, 20, 40, ...`` (up to ``3·dps``, inside any
    :func:`~verify.numeric.magnitude_guard`; :func:`~verify.numeric.resolve_precisions`) until every value agrees to
    ``dps + 2`` digits (:func:`~verify.numeric.resolve_tolerance`); each is then
    printed with the digits on which the two agree (:func:`~verify.numeric.agreed_string`), at most ``dps``.
    """
    max_extra = max_extra or RESOLVE_MAX_GUARD_FACTOR * dps
    extra = GUARD_DIGITS
    while True:
        low_dps, high_dps = resolve_precisions(dps, extra)
        with working_precision(low_dps) as arith:
            low = [+mpmath.mpf(v) for v in compute(arith)]
        with working_precision(high_dps) as arith:
            high = [+mpmath.mpf(v) for v in compute(arith)]
        with working_precision(high_dps):
            unresolved = [a != b and abs(a - b) > abs(b) * resolve_tolerance(dps) for a, b in zip(low, high)]
        if not any(unresolved) or extra >= max_extra:
            return [agreed_string(a, b, dps) for a, b in zip(low, high)]
        extra = min(2 * extra, max_extra)


def classify_document(path: str, dps: int, polish_point: bool = False, fibre: bool = False, certify: bool = False) -> dict:
    """Classification of the case's parameter point (``polish_point``: of the fixed point Newton finds from it),
    judged (:func:`verify.point_checks.point_verdicts`) and, with ``certify``, certified."""
    from .fixed_points import classify
    from .point_checks import classification_document, point_verdicts
    from .search import polish

    case = load_case(path)
    case.require("model", "params", "target")
    check_precision(case.n, dps)
    for note in case.target.notes:
        warn(note)
    theta = case.params
    extra = {}
    if polish_point:
        with magnitude_guard(case.model, theta, case.target):
            found = polish(case.model, case.target, theta, dps)
        extra["polished"] = {"converged": found.converged, "steps": found.steps, "gradient_norm": f"{found.residual:.3e}"}
        theta = found.theta
    c = classify(case.model, case.target, theta, dps)
    doc = classification_document(c, point_verdicts(case.model, case.target, c), case.model)
    doc.update(extra)
    if certify:
        from .certify import certify_point, consistent_with

        if c.fixed_point:
            cert = certify_point(case.model, case.target, theta, dps, c)
            doc["certified"] = bool(cert.get("certified"))
            doc["certificate"] = cert
            if consistent_with(cert, c) is False:
                doc["verdict"] = "fails"
                doc["certificate"]["contradiction"] = "certified eigenvalue counts exceed the numerical ones"
        else:
            doc["certified"] = False
            doc["certificate"] = {"note": "not a fixed point: nothing to certify"}
    if fibre and c.kind == "data-consistent" and c.neutral:
        from .propositions.s1_neutral import fibre_requirements

        reqs, evidence = fibre_requirements(case.model, case.target, theta, dps)
        evidence.update({r.name: r.evidence() for r in reqs})
        doc["fibre"] = evidence
    return doc


def fixed_points_document(path: str, seeds: int, dps: int, scale: float = 0.5, t_max: float = 1e5,
                          progress: bool = False) -> list[dict]:
    """Classify the case's point itself, then search from it and ``seeds`` seeded starts (flow + Newton;
    Gauss–Newton on J = J^D when P >= D), classify each fixed point found, merge those with the same
    couplings and classification."""
    from .cases import random_params
    from .fixed_points import classify
    from .point_checks import classification_document, point_verdicts
    from .search import diverging, flow_record, polish, solve_couplings

    case = load_case(path)
    case.require("model", "target")
    check_precision(case.n, dps)
    model, target = case.model, case.target
    starts = ([("params", case.params)] if case.params is not None else []) + [
        (f"seed {s}", random_params(model, seed=s, scale=scale)) for s in range(seeds)
    ]
    found, notes = [], []
    if case.params is not None:
        # the given point first: Newton cannot converge at a degenerate fixed point (paramagnetic,
        # rank-dropping), so a fixed point the search starts on would otherwise be missed
        given = classify(model, target, case.params, dps)
        if given.fixed_point:
            found.append(("params", "given point", case.params, given))
    bar = _bar(len(starts), progress)
    for label, start in starts:
        theta, t, gn, record = flow_record(model, target, start, t_max=t_max)
        outcome = polish(model, target, theta, dps)  # first: a slow flow can look like a runaway one
        if outcome.converged:
            found.append((label, "flow+newton", outcome.theta, None))
        elif diverging(record):
            notes.append({"start": label, "note": f"the flow appears to run off to infinity (‖θ‖ = {record[-1][1]:.2f} "
                                                  f"at t = {t:.0e}) and Newton from its endpoint does not converge"})
        else:
            notes.append({"start": label, "note": f"Newton did not converge from the flow endpoint (‖∇ℓ‖ = {outcome.residual:.1e})"})
        if model.P >= 2**model.n - 1:
            direct = solve_couplings(model, target, start, dps)
            if direct.converged:
                found.append((label, "gauss-newton", direct.theta, None))
        bar.update(1)
    bar.close()
    merged: list[dict] = []
    keys: list = []
    for label, method, theta, known in found:
        c = known or classify(model, target, theta, dps)
        key = (c.kind, c.stable, c.neutral, c.unstable)
        for k, (other_key, other) in enumerate(keys):
            if other_key == key and _same_couplings(c, other, dps):
                merged[k]["found_from"].append(f"{label} ({method})")
                break
        else:
            doc = classification_document(c, point_verdicts(model, target, c), model)
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


def flow_document(path: str, t_max: float, metric: str, threshold: float, plot: str | None,
                  eps: float = 1e-2, seed: int = 0) -> dict:
    """Integrate the flow from the case's point (or a seeded small-weight start) and report learning times."""
    import numpy as np

    from theory.arith import FLOAT64
    from theory.effective import gradient, kl_divergence, log_probabilities, model_couplings

    from .learning import METRICS, integrate, is_ordered, learning_times, order_errors, settling_times, small_weight_init

    from theory.errors import SpecError

    case = load_case(path)
    case.require("model", "target")
    if metric not in METRICS + ("all",):
        raise SpecError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)} or all")
    if not 0 < threshold < 1:
        raise SpecError(f"--threshold must lie in (0, 1), got {threshold}")
    if t_max < 1:
        raise SpecError(f"--t-max must be at least 1, got {t_max}")
    model, target = case.model, case.target
    start = case.params if case.params is not None else small_weight_init(model, eps, seed)
    tr = integrate(model, target, start, t_max=t_max)
    J = model_couplings(model, tr.thetas[-1], FLOAT64)
    final_kl = kl_divergence(target.probability_array(FLOAT64), target.log_probability_array(FLOAT64),
                             log_probabilities(J, model.n, FLOAT64))
    per_metric = {}
    for name in (METRICS if metric == "all" else (metric,)):
        errors, absolute = order_errors(model, target, tr.thetas, name)
        lt = learning_times(tr.times, errors, threshold)
        per_metric[name] = {
            "metric": name,
            "threshold": threshold,
            "learning_times": {str(k + 1): t for k, t in enumerate(lt)},
            "settling_times": {str(k + 1): t for k, t in enumerate(settling_times(tr.times, errors, threshold))},
            "ordered": is_ordered(lt),
            "absolute_error_orders": [k + 1 for k, a in enumerate(absolute) if a],
            "final_errors": {str(k + 1): float(e) for k, e in enumerate(errors[-1])},
        }
        if plot and (metric != "all" or name == "moment"):
            from .plots import plot_errors

            plot_errors(tr.times, errors, name, threshold, lt, plot, title=f"{model.family} n={model.n}: {name} error")
    doc = per_metric[metric] if metric != "all" else {"metrics": per_metric}
    doc.update({"final_kl": float(final_kl), "t_max": t_max, "integrator": tr.message,
                "start": "params" if case.params is not None else f"small weights eps={eps} seed={seed}",
                "samples": int(len(tr.times)),
                "final_gradient_norm": float(np.linalg.norm(gradient(model, tr.thetas[-1], target.moment_array(FLOAT64), FLOAT64)))})
    if plot:
        doc["plot"] = plot
    return doc


def scaling_document(path: str, plot: str | None = None, uniform: bool = False) -> dict:
    """H1 slopes for the case's model at its parameter point taken as the base (weights scaled by ε)."""
    from .scaling import scaling_fit

    case = load_case(path)
    case.require("model", "params")
    fit = scaling_fit(case.model, case.params, scale_all=uniform)
    doc = fit.to_json()
    predicted = any(v is not None for table in fit.predicted.values() for v in table.values())
    doc["holds"] = fit.worst_deviation() <= 0.01 if predicted else None
    if not predicted:
        doc["note"] = f"the {case.model.family} family declares no order-scaling law for this rescaling: slopes only"
    if plot:
        from .plots import plot_scaling

        plot_scaling(fit, plot, title=f"{case.model.family} n={case.model.n}: order scaling")
        doc["plot"] = plot
    return doc
