r"""Sweeps of long flows from small weights (H2) and the classification of their endpoints (H3).

Each sweep case is a model, a target and a seeded small-weight start (:func:`~verify.learning.small_weight_init`).
Running it integrates the flow to ``t_max``, computes the learning times of every metric at the
thresholds 0.5, 0.2, 0.1, and classifies where the flow ended: ``diverging`` (the flow runs off to
infinity), ``no-fixed-point-found`` (Newton from the endpoint did not converge), or the kind the
classifier gives the polished fixed point.

Results are appended to a JSON-lines store as each case finishes (flushed and synced), so an
interrupted sweep loses nothing: a rerun reads the store and runs only the missing cases.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from theory.arith import FLOAT64
from theory.effective import kl_divergence, log_probabilities, model_couplings
from theory.errors import SpecError
from theory.families import model_from_spec

from .cases import parse_target
from .learning import METRICS, is_ordered, learning_times, settling_times, small_weight_init

__all__ = ["SweepCase", "sweep_cases", "run_case", "run_sweep", "read_store", "summarize", "THRESHOLDS",
           "estimate_case_seconds", "load_cases", "ENDPOINTS", "CLASSIFY_MAX_N"]

THRESHOLDS = (0.5, 0.2, 0.1)
#: endpoint policies: ``auto`` classifies at high precision up to :data:`CLASSIFY_MAX_N` spins and records a
#: float64 summary above; ``classify`` always classifies; ``float64`` never does
ENDPOINTS = ("auto", "classify", "float64")
#: the most spins at which ``auto`` classifies the endpoint at high precision (mpmath on D = 2^N - 1 couplings)
CLASSIFY_MAX_N = 6


@dataclass(frozen=True, eq=False)
class SweepCase:
    """A flow to run: model spec, target spec, small-weight start ``(eps, seed)`` and ``t_max`` (identified by ``id``)."""

    id: str
    model: dict
    target: dict
    eps: float
    seed: int
    t_max: float = 1e6
    endpoint: str = "auto"
    source: str | None = None
    bias_scale: float = 0.5

    def __eq__(self, other) -> bool:
        return isinstance(other, SweepCase) and other.id == self.id and other.t_max == self.t_max

    def __hash__(self) -> int:
        return hash((self.id, self.t_max))

    def build(self):
        model = model_from_spec(self.model)
        target = parse_target(self.target, model.n)
        return model, target, small_weight_init(model, self.eps, self.seed, self.bias_scale)

    def classifies(self) -> bool:
        """Whether the endpoint is classified at high precision (:data:`ENDPOINTS`)."""
        n = int(self.model.get("n", 0))
        return self.endpoint == "classify" or (self.endpoint == "auto" and n <= CLASSIFY_MAX_N)

    def reproduce(self) -> str:
        where = f" --cases '{self.source}'" if self.source else ""
        return f"ebm-verify sweep{where} --case '{self.id}'"

    def case_json(self) -> dict:
        model, _, theta0 = self.build()
        return {"model": self.model, "params": model.params_to_json(theta0), "target": self.target}


def _models(n: int) -> list[tuple[str, dict]]:
    hidden = (2, 3, 7) if n == 4 else (2, 3)
    out = [(f"rbm-n{n}-m{M}", {"family": "rbm", "n": n, "hidden": M, "hidden_units": "spin"}) for M in hidden]
    out.append((f"mlp-n{n}-m{n - 1}-tanh", {"family": "mlp", "n": n, "hidden": n - 1, "activation": "tanh"}))
    return out


def sweep_cases(ns=(3, 4), quick: bool = False, eps: float = 1e-2, t_max: float = 1e6) -> list[SweepCase]:
    """The enumerated sweep: ``rbm`` (M = 2, 3; and 7 for N = 4) and ``mlp`` tanh, seeded targets,
    two small-weight starts; plus, for the delay analysis, starts at ε = 1e-1 … 1e-4 on two targets.
    ``quick``: N = 3 only, three targets, one start, the ε series on one model."""
    targets = [(f"random-couplings-s{s}", {"named": "random-couplings", "seed": s}) for s in ((1,) if quick else range(1, 6))]
    targets += [("pairwise-s1", {"named": "pairwise", "seed": 1}), ("parity-s1", {"named": "parity", "seed": 1})]
    seeds = (0,) if quick else (0, 1)
    out = []
    for n in ((3,) if quick else ns):
        for mtag, spec in _models(n):
            for ttag, tspec in targets:
                for seed in seeds:
                    out.append(SweepCase(f"{mtag}/{ttag}/eps{eps:g}-seed{seed}", spec, tspec, eps, seed, t_max))
            series_targets = targets[:1] if quick else targets[:2]
            if quick and spec["hidden"] != 3:
                continue
            for ttag, tspec in series_targets:
                for e in (1e-1, 1e-3, 1e-4):
                    out.append(SweepCase(f"{mtag}/{ttag}/eps{e:g}-seed0", spec, tspec, e, 0, t_max))
    return out


def _decade_record(model, target, trajectory) -> list[tuple[float, float, float]]:
    """``[(t, ‖θ‖, ‖∇ℓ‖)]`` at t = 0 (a placeholder row) and at each decade 1e3 … 1e6 the flow reached: what
    :func:`~verify.search.diverging` reads."""
    from .flow64 import State64

    p_data = target.probability_array(FLOAT64)
    record = [(0.0, 0.0, 0.0)]
    for t_mark in (1e3, 1e4, 1e5, 1e6):
        if trajectory.times[-1] >= t_mark * 0.999:
            j = int(np.argmin(np.abs(np.log10(trajectory.times) - np.log10(t_mark))))
            th = trajectory.thetas[j]
            record.append((float(trajectory.times[j]), float(np.linalg.norm(th)),
                           float(np.linalg.norm(State64(model, th, p_data).gradient))))
    return record


def _endpoint(model, target, theta_end, trajectory, dps: int) -> dict:
    from .fixed_points import classify
    from .point_checks import overall_verdict, point_verdicts
    from .search import diverging, polish, to_exact

    record = _decade_record(model, target, trajectory)
    found = polish(model, target, to_exact(theta_end), dps)  # first: a slow flow can look like a runaway one
    if not found.converged and diverging(record):
        return {"kind": "diverging", "note": f"‖∇ℓ‖ falls like 1/t while ‖θ‖ grows (‖θ‖ = {record[-1][1]:.2f} at "
                                             f"t = {record[-1][0]:.0e}) and Newton from θ(t_max) does not converge"}
    if not found.converged:
        return {"kind": "no-fixed-point-found", "note": f"Newton from θ(t_max) stalled at ‖∇ℓ‖ = {found.residual:.1e}"}
    c = classify(model, target, found.theta, dps)
    return {
        "kind": c.kind,
        "lowest_inconsistent_order": c.lowest_inconsistent_order,
        "inconsistent_orders": c.inconsistent_orders,
        "stable": c.stable,
        "neutral": c.neutral,
        "unstable": c.unstable,
        "rank_G": c.rank_G,
        "verdict": overall_verdict(c, point_verdicts(model, target, c, with_f1=False)),
        "dps": dps,
    }


def _endpoint_float64(model, target, trajectory, reason: str) -> dict:
    """The float64 summary recorded instead of a high-precision classification: ``diverging`` as there, else
    ``unclassified`` with ‖θ‖, ‖∇ℓ‖, the signs of H's eigenvalues and the per-order moment residuals at t_max."""
    from .flow64 import State64
    from .search import diverging

    p_data = target.probability_array(FLOAT64)
    record = _decade_record(model, target, trajectory)
    end = State64(model, trajectory.thetas[-1], p_data)
    grad = float(np.linalg.norm(end.gradient))
    if diverging(record):
        return {"kind": "diverging", "precision": "float64",
                "note": f"‖∇ℓ‖ falls like 1/t while ‖θ‖ grows (‖θ‖ = {record[-1][1]:.2f} at t = {record[-1][0]:.0e})"}
    ev = np.linalg.eigvalsh(end.hessian())
    tol = 1e-8 * max(1.0, float(np.max(np.abs(ev))))
    return {"kind": "unclassified", "precision": "float64",
            "note": f"float64 summary at t_max, no high-precision classification ({reason})",
            "theta_norm": float(np.linalg.norm(end.theta)), "gradient_norm": grad,
            "float64_stable": int(np.sum(ev < -tol)), "float64_unstable": int(np.sum(ev > tol)),
            "float64_near_zero": int(np.sum(np.abs(ev) <= tol)), "lowest_inconsistent_order": None,
            "inconsistent_orders": None, "stable": None, "neutral": None, "unstable": None}


def run_case(sc: SweepCase, dps: int = 30) -> dict:
    """Run one sweep case on the float64 engine (:mod:`verify.flow64`): learning and settling times of every
    metric and threshold, final KL, and the endpoint (classified at ``dps`` digits when :meth:`SweepCase.classifies`,
    else a float64 summary)."""
    from .flow64 import all_order_errors64, integrate64

    start = time.perf_counter()
    model, target, theta0 = sc.build()
    tr = integrate64(model, target, theta0, t_max=sc.t_max)
    flow_seconds = time.perf_counter() - start
    learning, absolute = {}, {}
    for metric, (errors, abs_orders) in all_order_errors64(model, target, tr.thetas).items():
        absolute[metric] = [k + 1 for k, a in enumerate(abs_orders) if a]
        errors = np.where(np.isnan(errors), 1e300, errors)  # a failed maxent fit is not a passage below δ
        for delta in THRESHOLDS:
            lt = learning_times(tr.times, errors, delta)
            learning[f"{metric}@{delta}"] = {
                "learning_times": {str(k + 1): t for k, t in enumerate(lt)},
                "settling_times": {str(k + 1): t for k, t in enumerate(settling_times(tr.times, errors, delta))},
                "ordered": is_ordered(lt),
            }
    theta_end = tr.thetas[-1]
    J = model_couplings(model, theta_end, FLOAT64)
    final_kl = kl_divergence(target.probability_array(FLOAT64), target.log_probability_array(FLOAT64),
                             log_probabilities(J, model.n, FLOAT64))
    if sc.classifies():
        endpoint = _endpoint(model, target, theta_end, tr, dps)
    else:
        reason = (f"endpoint policy auto: N = {model.n} > {CLASSIFY_MAX_N}" if sc.endpoint == "auto"
                  else f"endpoint policy {sc.endpoint}")
        endpoint = _endpoint_float64(model, target, tr, reason)
    return {
        "id": sc.id,
        "case": sc.case_json(),
        "eps": sc.eps,
        "seed": sc.seed,
        "t_max": sc.t_max,
        "bias_scale": sc.bias_scale,
        "engine": "float64",
        "integrator": {"success": tr.success, "message": tr.message},
        "learning": learning,
        "absolute_orders": absolute,
        "final_kl": float(final_kl),
        "endpoint": endpoint,
        "reproduce": sc.reproduce(),
        "flow_seconds": round(flow_seconds, 2),
        "seconds": round(time.perf_counter() - start, 2),
    }


def _record(line: bytes) -> dict | None:
    """A sweep record parsed from one line of the store, or ``None`` for anything else."""
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if (isinstance(rec, dict) and isinstance(rec.get("id"), str) and isinstance(rec.get("learning"), dict)
            and isinstance(rec.get("endpoint"), dict) and isinstance(rec.get("eps"), (int, float))):
        return rec
    return None


def read_store(path, repair: bool = False, quiet: bool = False) -> dict[str, dict]:
    """Records already in the store, by id.

    A last line without its newline was cut by an interruption: when it is not a whole record it is
    ignored and, with ``repair``, moved to ``STORE.partial`` and cut from the store (so the next record
    is not appended to it); a whole record that only lacks its newline gets it. Other lines that are not
    sweep records (invalid JSON, no ``"id"``) are ignored with one warning naming their count (``quiet``:
    no warnings)."""
    out: dict[str, dict] = {}
    p = Path(path)
    if not p.exists():
        return out
    try:
        data = p.read_bytes()
    except OSError as err:
        raise SpecError(f"cannot read the sweep store {str(p)!r}: {err.strerror}") from None
    body, _, tail = data.rpartition(b"\n") if b"\n" in data else (b"", b"", data)
    foreign = 0
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        rec = _record(line)
        if rec is None:
            foreign += 1
        else:
            out[rec["id"]] = rec
    if tail.strip():
        rec = _record(tail)
        if rec is not None:
            out[rec["id"]] = rec
            if repair:
                with open(p, "ab") as fh:
                    fh.write(b"\n")
        elif repair:
            aside = p.with_name(p.name + ".partial")
            with open(aside, "ab") as fh:
                fh.write(tail + b"\n")
            with open(p, "r+b") as fh:
                fh.truncate(len(data) - len(tail))
                fh.flush()
                os.fsync(fh.fileno())
            print(f"warning: the last line of {p} was cut off (an interrupted write, {len(tail)} bytes): "
                  f"moved it to {aside} and removed it from the store", file=sys.stderr)
        elif not quiet:
            print(f"warning: the last line of {p} was cut off (an interrupted write); ignored", file=sys.stderr)
    if foreign and not quiet:
        print(f"warning: {foreign} line{'s' if foreign > 1 else ''} of {p} {'are' if foreign > 1 else 'is'} not "
              "sweep records (invalid JSON, or no \"id\"); ignored", file=sys.stderr)
    return out


def _append(path, record: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


@lru_cache(maxsize=4096)
def _target_spread(target_json: str, n: int) -> float:
    r""":math:`\sum_A (J^D_A)^2` of a target: large for targets near a point mass (``random-couplings``, ``parity`` at
    N >= 8), whose maximum-entropy fits are ill-conditioned and slow."""
    try:
        J = parse_target(json.loads(target_json), n).coupling_array(FLOAT64)
    except SpecError:
        return 0.0
    return float(np.sum(np.asarray(J, dtype=float) ** 2))


def estimate_case_seconds(sc: SweepCase) -> float:
    """A rough estimate of one sweep case's CPU seconds on the float64 engine: the flow grows like 2^N P (about
    1 s for N = 6, 2-10 s for N = 10 on this machine), the maximum-entropy metric like 2^N times the target's
    spread :func:`_target_spread` (10-20 s at N = 10 on the structured targets, minutes at N = 9 on
    ``random-couplings``), plus 5 s (N = 3, 4) to a minute (N = 6) for a high-precision endpoint classification."""
    from theory.families import family_class

    model = sc.model
    n = int(model.get("n", 3))
    P = family_class(model.get("family")).count_parameters(model) or 2**n
    flow = 0.5 + 1e-4 * 2**n * P * max(1.0, sc.t_max / 1e6) ** 0.1
    spread = _target_spread(json.dumps(sc.target, sort_keys=True), n) if isinstance(sc.target, dict) and sc.target else 0.0
    maxent = 1e-2 * 2**n * (1 + spread / 4)
    return flow + maxent + (4.0 + 2e-3 * 8**n if sc.classifies() else 0.0)


# --- case files ---------------------------------------------------------------------------------------------

#: keys of one entry of a case file
_ENTRY_KEYS = {"model", "n", "family", "hidden", "activation", "hidden_units", "target", "eps", "seeds", "t_max",
               "endpoint", "tag", "bias_scale"}
_MODEL_SHORTHAND = ("family", "n", "hidden", "activation", "hidden_units")


def _tag(spec: dict, first: str) -> str:
    rest = [f"{k}{v}" if k not in ("activation", "hidden_units") else str(v)
            for k, v in sorted(spec.items()) if k not in (first, "n", "hidden", "seed")]
    return "-".join(rest)


def model_tag(spec: dict) -> str:
    """``family-nN-mM[-activation|-hidden units][-other keys]``, the model part of a case id."""
    head = [str(spec.get("family")), f"n{spec.get('n')}"] + ([f"m{spec['hidden']}"] if "hidden" in spec else [])
    rest = _tag(spec, "family")
    return "-".join(head) + (f"-{rest}" if rest else "")


def target_tag(spec: dict) -> str:
    """``name-sSEED[-other keys]`` for a named target, the target part of a case id."""
    rest = _tag(spec, "named")
    return f"{spec['named']}-s{spec.get('seed', 0)}" + (f"-{rest}" if rest else "")


def _number_list(value, where: str, what: str, integer: bool) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError(f"{where}.{what} is empty")
    out = []
    for v in values:
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0 if integer else (
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and 0 < v <= 10)
        if not ok:
            want = "integers >= 0" if integer else "numbers in (0, 10]"
            raise SpecError(f"{where}.{what} must be {want} (or a list of them), got {json.dumps(v)}")
        out.append(v)
    return out


def parse_cases(doc, source: str | None = None) -> list[SweepCase]:
    """Sweep cases from a case-list document: ``{"t_max": ..., "endpoint": ..., "cases": [entry, ...]}`` (or the
    list alone). An entry gives the model (``"model": {...}`` or its keys ``family, n, hidden, activation,
    hidden_units`` inline), ``"target"`` (a target object or a target name), ``"eps"`` and ``"seeds"`` (numbers or
    lists: one case per pair), optionally ``t_max``, ``endpoint`` (``auto``, ``classify``, ``float64``) and
    ``tag`` (the id's model/target part) and ``bias_scale`` (the start's hidden biases ~ bias_scale·N(0,1), default
    0.5; another value is part of the id, ``-bias0`` for 0). Errors are one line naming the entry."""
    where0 = source or "the case list"
    if isinstance(doc, list):
        doc = {"cases": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise SpecError(f"{where0} must be a JSON object with a list \"cases\" (or the list itself)")
    extra = sorted(set(doc) - {"cases", "t_max", "endpoint", "comment"})
    if extra:
        raise SpecError(f"{where0} has unknown keys {extra}; allowed: cases, t_max, endpoint, comment")
    defaults = {"t_max": doc.get("t_max", 1e6), "endpoint": doc.get("endpoint", "auto")}
    out: list[SweepCase] = []
    seen: set = set()
    for i, entry in enumerate(doc["cases"]):
        where = f"{where0}: cases[{i}]"
        if not isinstance(entry, dict):
            raise SpecError(f"{where} must be a JSON object, got {type(entry).__name__}")
        extra = sorted(set(entry) - _ENTRY_KEYS)
        if extra:
            raise SpecError(f"{where} has unknown keys {extra}; allowed: {sorted(_ENTRY_KEYS)}")
        inline = [k for k in _MODEL_SHORTHAND if k in entry]
        if ("model" in entry) == bool(inline):
            raise SpecError(f"{where} must give the model either as \"model\": {{...}} or by the keys "
                            f"{', '.join(_MODEL_SHORTHAND)}, not both or neither")
        spec = entry["model"] if "model" in entry else {k: entry[k] for k in inline}
        for k in ("target", "eps", "seeds"):
            if k not in entry:
                raise SpecError(f"{where} has no \"{k}\"")
        tspec = {"named": entry["target"]} if isinstance(entry["target"], str) else entry["target"]
        try:
            model = model_from_spec(spec)
            parse_target(tspec, model.n)
        except SpecError as err:
            raise SpecError(f"{where}: {err}") from None
        eps_list = _number_list(entry["eps"], where, "eps", integer=False)
        seeds = _number_list(entry["seeds"], where, "seeds", integer=True)
        t_max = entry.get("t_max", defaults["t_max"])
        if isinstance(t_max, bool) or not isinstance(t_max, (int, float)) or not 1 <= t_max <= 1e12:
            raise SpecError(f"{where}.t_max must be a number in [1, 1e12], got {json.dumps(t_max)}")
        endpoint = entry.get("endpoint", defaults["endpoint"])
        if endpoint not in ENDPOINTS:
            raise SpecError(f"{where}.endpoint must be one of {', '.join(ENDPOINTS)}, got {json.dumps(endpoint)}")
        bias = entry.get("bias_scale", 0.5)
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not np.isfinite(bias) or not 0 <= bias <= 10:
            raise SpecError(f"{where}.bias_scale must be a number in [0, 10], got {json.dumps(bias)}")
        tag = entry.get("tag")
        if tag is None:
            if "named" not in tspec:
                raise SpecError(f"{where} has a target that is not named: give the entry a \"tag\" for its ids")
            tag = f"{model_tag(model.spec())}" + ("" if bias == 0.5 else f"-bias{bias:g}") + f"/{target_tag(tspec)}"
        elif not isinstance(tag, str) or not tag.strip():
            raise SpecError(f"{where}.tag must be a non-empty string")
        for e in eps_list:
            for seed in seeds:
                sc = SweepCase(f"{tag}/eps{e:g}-seed{seed}", dict(model.spec()), tspec, float(e), int(seed),
                               float(t_max), endpoint, source, float(bias))
                if sc.id in seen:
                    raise SpecError(f"{where} repeats the case {sc.id!r}")
                seen.add(sc.id)
                out.append(sc)
    if not out:
        raise SpecError(f"{where0} lists no cases")
    return out


def load_cases(path) -> list[SweepCase]:
    """:func:`parse_cases` of a JSON file; a missing or malformed file is a one-line :class:`SpecError`."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise SpecError(f"cannot read the case list {str(p)!r}: {err.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"{p}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    return parse_cases(doc, str(path))


def law_case_list(ns=range(4, 11), eps=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6), seeds=(0,), targets=None,
                  extra_seeds: dict | None = None, t_max: float = 1e6, bias_scale: float = 0.5) -> dict:
    """The case list of the learning-time law (issue 15): for each N, ``rbm`` with M = N/2 and M = N and ``mlp``
    tanh with M = N/2, on the ``decaying-couplings`` and ``teacher-rbm`` targets (seed 1), every ε, the
    ``seeds`` (``extra_seeds``: more seeds for some N), float64 endpoints."""
    targets = targets or ({"named": "decaying-couplings", "seed": 1}, {"named": "teacher-rbm", "seed": 1})
    entries = []
    for n in ns:
        half = max(1, n // 2)
        models = [{"family": "rbm", "n": n, "hidden": half, "hidden_units": "spin"},
                  {"family": "rbm", "n": n, "hidden": n, "hidden_units": "spin"},
                  {"family": "mlp", "n": n, "hidden": half, "activation": "tanh"}]
        for m in models:
            for t in targets:
                entries.append({"model": m, "target": dict(t), "eps": list(eps),
                                "seeds": list((extra_seeds or {}).get(n, seeds))}
                               | ({} if bias_scale == 0.5 else {"bias_scale": bias_scale}))
    return {"comment": "issue 15: the learning-time law", "t_max": t_max, "endpoint": "float64", "cases": entries}


_CASES: list = []


def _work(index: int, dps: int) -> dict:
    return run_case(_CASES[index], dps)


def run_case_on_worker(sc: SweepCase, dps: int = 30) -> dict:
    """:func:`run_case` in a Dask worker, under glibc's dynamic heap thresholds while it runs
    (:func:`verify.dask_worker.dynamic_heap_thresholds`)."""
    from .dask_worker import dynamic_heap_thresholds

    with dynamic_heap_thresholds():
        return run_case(sc, dps)


def _run_on_dask(scheduler: str, todo: list[SweepCase], dps: int, keep) -> None:
    """The cases on an existing Dask cluster (``scheduler``: its address, or a ``distributed.Client``),
    each record kept as it arrives; Ctrl-C cancels what has not finished. Each case runs through
    :func:`run_case_on_worker` (the nanny's ``MALLOC_TRIM_THRESHOLD_`` made flows ~40 % slower)."""
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise SpecError("--scheduler needs Dask's distributed scheduler: pip install 'dask[distributed]'") from None

    own = isinstance(scheduler, str)
    try:
        client = Client(scheduler, timeout=20) if own else scheduler
    except (OSError, TimeoutError, ValueError) as err:
        raise SpecError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}") from None
    futures: dict = {}
    try:
        futures = {client.submit(run_case_on_worker, sc, dps, pure=False, key=f"sweep-{k}-{sc.id}"): sc.id
                   for k, sc in enumerate(todo)}
        for fut in dask_completed(list(futures)):
            keep(fut.result())
    except KeyboardInterrupt:
        client.cancel([f for f in futures if not f.done()])
        raise
    finally:
        if own:
            client.close()


def run_sweep(cases: list[SweepCase], store, workers: int | None = None, dps: int = 30, progress: bool = True,
              scheduler=None) -> dict[str, dict]:
    """Run the cases missing from ``store`` (JSON lines), appending each record as it finishes; locally on
    ``workers`` processes, or on the Dask cluster at ``scheduler`` (an address or a ``distributed.Client``).

    ``workers`` is capped at the cases to run and the CPUs. Ctrl-C terminates the workers at once (what
    finished is stored). When the store cannot be appended to (a full disk), the remaining records go to
    a fallback file in the temporary folder, named in one warning."""
    from tqdm import tqdm

    from .runner import ignore_sigint, stop_pool, worker_count

    global _CASES
    done = read_store(store, repair=True)
    todo = [c for c in cases if c.id not in done]
    if done:
        print(f"resuming: {len(cases) - len(todo)} of {len(cases)} cases already in {store}", file=sys.stderr)
    _CASES = todo
    bar = tqdm(total=len(cases), initial=len(cases) - len(todo), desc="sweep", unit="flow", disable=not progress,
               file=sys.stderr, leave=False)
    workers = worker_count(workers, len(todo))
    target = [store]

    def keep(rec: dict) -> None:
        try:
            _append(target[0], rec)
        except OSError as err:
            if target[0] != store:
                raise SpecError(f"cannot append to the sweep store {store!r} ({err.strerror}) nor to {target[0]!r}; "
                                f"{len(done)} records were kept") from None
            import tempfile

            fd, fallback = tempfile.mkstemp(prefix="ebm-verify-sweep-", suffix=".jsonl")
            os.close(fd)
            target[0] = fallback
            print(f"warning: cannot append to the sweep store {store} ({err.strerror}); the remaining records go to "
                  f"{fallback} (append it to the store, e.g. `cat {fallback} >> {store}`, and rerun to resume)",
                  file=sys.stderr)
            _append(fallback, rec)
        done[rec["id"]] = rec
        bar.update(1)

    try:
        if scheduler is not None and todo:
            _run_on_dask(scheduler, todo, dps, keep)
        elif workers <= 1:
            for k in range(len(todo)):
                keep(_work(k, dps))
        else:
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=ignore_sigint)
            try:
                futures = [pool.submit(_work, k, dps) for k in range(len(todo))]
                for fut in as_completed(futures):
                    keep(fut.result())
            except BaseException:
                stop_pool(pool)
                raise
            pool.shutdown()
    except KeyboardInterrupt:
        bar.close()
        where = store if target[0] == store else f"{store} and {target[0]}"
        raise SpecError(f"interrupted: {len(done)} of {len(cases)} cases are stored in {where}; "
                        "rerun the same command to resume") from None
    bar.close()
    return {c.id: done[c.id] for c in cases if c.id in done}


def _delay_slopes(records: list[dict], key: str) -> dict:
    """Fitted slope of the delay t_{k+1} - t_k against log10(1/ε) for each ε series, and their median
    (a diverging flow in one series can make its delays huge: the median is the robust summary)."""
    series: dict = {}
    for rec in records:
        base = rec["id"].rsplit("/", 1)[0]
        series.setdefault(base, []).append(rec)
    slopes: dict[str, list] = {}
    for recs in series.values():
        if len({r["eps"] for r in recs}) < 3:
            continue
        for k in range(1, 8):
            xs, ys = [], []
            for r in recs:
                lt = r["learning"][key]["learning_times"]
                a, b = lt.get(str(k)), lt.get(str(k + 1))
                if a is not None and b is not None:
                    xs.append(np.log10(1 / r["eps"]))
                    ys.append(b - a)
            if len(xs) >= 3:
                slopes.setdefault(f"{k}->{k + 1}", []).append(float(np.polyfit(xs, ys, 1)[0]))
    return {k: {"median_slope": float(np.median(v)), "series": len(v), "slopes": [round(x, 3) for x in v]}
            for k, v in slopes.items()}


def summarize(records: dict[str, dict]) -> dict:
    """H2: per metric and threshold, the fraction of cases with ordered learning times and the
    counterexamples; the delay slopes against log(1/ε). H3: endpoint kinds and inconsistent orders."""
    recs = list(records.values())
    h2 = {}
    for metric in METRICS:
        for delta in THRESHOLDS:
            key = f"{metric}@{delta}"
            ordered = [r for r in recs if r["learning"][key]["ordered"]]
            h2[key] = {
                "ordered": len(ordered),
                "nothing_learned": sum(1 for r in recs if r["learning"][key]["ordered"] is None),
                "cases": len(recs),
                "fraction_ordered": round(len(ordered) / len(recs), 4) if recs else None,
                "counterexamples": [{"id": r["id"], "learning_times": r["learning"][key]["learning_times"],
                                     "reproduce": r["reproduce"]} for r in recs if r["learning"][key]["ordered"] is False],
                "delay_slope_vs_log_inv_eps": _delay_slopes(recs, key),
            }
    kinds: dict[str, int] = {}
    lowest: dict[str, int] = {}
    for r in recs:
        e = r["endpoint"]
        kinds[e["kind"] or "undecided"] = kinds.get(e["kind"] or "undecided", 0) + 1
        if e.get("kind") == "spurious":
            key = str(e["lowest_inconsistent_order"])
            lowest[key] = lowest.get(key, 0) + 1
    fixed = [r for r in recs if r["endpoint"]["kind"] in ("data-consistent", "spurious")]
    order2 = [r for r in fixed if 2 not in (r["endpoint"].get("inconsistent_orders") or [])]
    h3 = {
        "endpoint_kinds": kinds,
        "spurious_lowest_inconsistent_order": lowest,
        "fixed_point_endpoints": len(fixed),
        "order_1_matched": sum(1 for r in fixed if 1 not in (r["endpoint"].get("inconsistent_orders") or [])),
        "order_2_matched": len(order2),
        "low_order_spurious_without_unstable_direction": [
            r["id"] for r in fixed
            if r["endpoint"]["kind"] == "spurious" and (r["endpoint"]["lowest_inconsistent_order"] or 99) <= 2
            and not r["endpoint"]["unstable"]
        ],
    }
    return {"H2": h2, "H3": h3}
