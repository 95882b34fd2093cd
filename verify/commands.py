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
