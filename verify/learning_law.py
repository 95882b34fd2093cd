r"""The learning-time law (issue 15): how the learning time :math:`t_k` of order :math:`k` depends on :math:`k`
and on the scale :math:`\varepsilon` of the small-weight start, measured on a sweep's records.

With :math:`L = \ln(1/\varepsilon)`, for each metric, threshold and number of spins :math:`N`:

* the fraction of cases with :math:`t_1 \le \dots \le t_N` (a time that never comes counts as :math:`+\infty`;
  cases where nothing is learned are left out and counted);
* the law :math:`t_k = \alpha + \beta L + \gamma (k-1) + \delta (k-1) L`, fitted by least squares on the finite
  times of orders :math:`k \ge 2` (order 1 is carried by the free fields, not by the small weights), with 95 %
  percentile intervals from a bootstrap over the ε-series (model, target, start seed: the cases that share
  everything but ε are resampled together);
* the elasticity :math:`\eta` of the delays :math:`t_k - t_2` (:math:`k \ge 3`: the delays between the orders the
  weights carry) against :math:`L` over the small starts (:math:`\varepsilon \le 10^{-2}`): the slope of
  :math:`\ln(t_k - t_2)` against :math:`\ln L`, median over the (series, k) pairs, with its bootstrap interval;
* the counterexamples (cases not ordered) with their reproduce lines.

Two predictions are compared:

* **(a) linear growth**: the weights grow like :math:`\varepsilon e^{\lambda t}` from the unstable directions of the
  paramagnetic point, every order switches on at about :math:`L/\lambda`, the delays stay :math:`O(1)` as
  :math:`\varepsilon \to 0`: :math:`\delta = 0` and :math:`\eta = 0`;
* **(b)** delays growing like :math:`(k-1)L`: :math:`\delta > 0` (of the size of :math:`\beta` when each order
  waits another :math:`L/\lambda`) and :math:`\eta \to 1`.

The onset of the orders the weights carry is measured by :math:`\eta_2 = d\ln t_2/d\ln L` (:math:`\to 1` under
(a)). A prediction *survives* when the data do not reject it: (a) when the interval of :math:`\eta` lies within
:data:`ETA_A` of 0 (delays :math:`O(1)`) and that of :math:`\eta_2` reaches :data:`ETA_B` (onset like :math:`L`); (b) when the interval of :math:`\eta` reaches :data:`ETA_B` and that of :math:`\delta`
(fitted on ε <= :data:`SMALL_EPS`) lies above 0. Nothing here is tuned to a result: the rules are fixed
before the data are read, and every number behind a verdict is in the summary.
"""

from __future__ import annotations

import warnings

import numpy as np

from .learning import METRICS

__all__ = ["series_of", "law_points", "fit_law", "bootstrap_law", "delay_elasticities", "onset_elasticities",
           "ordered_fractions",
           "law_summary", "format_law", "plot_law", "compact_records", "expand_compact", "study_document", "ETA_A", "ETA_B", "SMALL_EPS"]

#: (a) survives when the elasticity's interval lies within this of 0
ETA_A = 0.25
#: (b) survives when the elasticity's interval reaches above this (the pure law gives 1; O(1) offsets lower it)
ETA_B = 0.5
#: the starts counted as small (the limit ε → 0 of the predictions)
SMALL_EPS = 1e-2
#: bootstrap resamples
RESAMPLES = 400


def series_of(rec: dict) -> str:
    """The ε-series of a record: its id without the ε (``model/target/seedS``)."""
    head, _, last = rec["id"].rpartition("/")
    seed = last.rpartition("-")[2] if "-seed" in last else f"seed{rec.get('seed')}"
    return f"{head}/{seed}"


def n_of(rec: dict) -> int:
    return int(rec["case"]["model"]["n"])


def _times(rec: dict, key: str) -> np.ndarray:
    lt = rec["learning"][key]["learning_times"]
    return np.array([np.nan if lt[str(k)] is None else float(lt[str(k)]) for k in range(1, len(lt) + 1)])


def law_points(records: list[dict], key: str, kmin: int = 2, eps_max: float = np.inf):
    """``(series index, L, k, t_k)`` rows of the finite learning times of orders ``k >= kmin`` at ε <= ``eps_max``,
    and the list of series."""
    series: dict[str, int] = {}
    rows = []
    for rec in records:
        if rec["eps"] > eps_max:
            continue
        s = series.setdefault(series_of(rec), len(series))
        L = float(np.log(1 / rec["eps"]))
        for k, t in enumerate(_times(rec, key), start=1):
            if k >= kmin and np.isfinite(t):
                rows.append((s, L, k, t))
    return np.array(rows, dtype=float).reshape(-1, 4), list(series)


def fit_law(points: np.ndarray) -> dict | None:
    r"""Least squares :math:`t = \alpha + \beta L + \gamma(k-1) + \delta(k-1)L` on ``(series, L, k, t)`` rows
    (``None`` when the design is singular: one ε, or one order)."""
    if len(points) < 5:
        return None
    L, k, t = points[:, 1], points[:, 2] - 1, points[:, 3]
    X = np.column_stack([np.ones_like(L), L, k, k * L])
    if np.linalg.matrix_rank(X) < 4:
        return None
    coef, *_ = np.linalg.lstsq(X, t, rcond=None)
    return dict(zip(("alpha", "beta", "gamma", "delta"), (float(c) for c in coef)))


def bootstrap_law(points: np.ndarray, n_series: int, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """95 % percentile intervals of :func:`fit_law`'s coefficients, resampling whole ε-series."""
    rng = np.random.default_rng(seed)
    by = [points[points[:, 0] == s] for s in range(n_series)]
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, n_series, n_series)
        fit = fit_law(np.vstack([by[s] for s in pick]))
        if fit is not None:
            draws.append([fit[c] for c in ("alpha", "beta", "gamma", "delta")])
    if len(draws) < resamples // 2:
        return {}
    arr = np.array(draws)
    lo, hi = np.percentile(arr, 2.5, axis=0), np.percentile(arr, 97.5, axis=0)
    return {c: [float(a), float(b)] for c, a, b in zip(("alpha", "beta", "gamma", "delta"), lo, hi)}


def _series_up_to(records: list[dict], eps_max: float) -> dict[str, list]:
    """The records with ε <= ``eps_max``, grouped by their ε-series (:func:`series_of`)."""
    by: dict[str, list] = {}
    for rec in records:
        if rec["eps"] <= eps_max:
            by.setdefault(series_of(rec), []).append(rec)
    return by


def delay_elasticities(records: list[dict], key: str, eps_max: float = SMALL_EPS) -> list[tuple[str, int, float]]:
    r"""``(series, k, η)``: slope of :math:`\ln(t_k - t_2)` against :math:`\ln L` over a series' starts with
    ε <= ``eps_max``, for the orders ``k >= 3`` whose delay is positive and finite at three or more of them."""
    out = []
    for s, recs in _series_up_to(records, eps_max).items():
        table = [(np.log(np.log(1 / r["eps"])), _times(r, key)) for r in recs]
        n = len(table[0][1])
        for k in range(3, n + 1):
            xs, ys = [], []
            for lnL, t in table:
                d = t[k - 1] - t[1]
                if np.isfinite(d) and d > 0:
                    xs.append(lnL)
                    ys.append(np.log(d))
            if len(xs) >= 3 and np.ptp(xs) > 0:
                out.append((s, k, float(np.polyfit(xs, ys, 1)[0])))
    return out


def onset_elasticities(records: list[dict], key: str, eps_max: float = SMALL_EPS) -> list[tuple[str, int, float]]:
    r"""``(series, 2, η_2)``: slope of :math:`\ln t_2` against :math:`\ln L` over a series' starts with ε <= ``eps_max``
    (the first order the weights carry: :math:`t_2 \approx L/\lambda + O(1)` under (a) gives :math:`\eta_2 \to 1`)."""
    out = []
    for s, recs in _series_up_to(records, eps_max).items():
        pts = [(np.log(np.log(1 / r["eps"])), _times(r, key)[1]) for r in recs if len(_times(r, key)) > 1]
        pts = [(x, np.log(t)) for x, t in pts if np.isfinite(t) and t > 0]
        if len(pts) >= 3 and np.ptp([x for x, _ in pts]) > 0:
            out.append((s, 2, float(np.polyfit(*zip(*pts), 1)[0])))
    return out


def _median_ci(values: list[tuple[str, int, float]], resamples: int = RESAMPLES, seed: int = 1):
    if not values:
        return None, None
    names = sorted({s for s, _, _ in values})
    by = {s: [v for t, _, v in values if t == s] for s in names}
    rng = np.random.default_rng(seed)
    med = float(np.median([v for _, _, v in values]))
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, len(names), len(names))
        draws.append(np.median([v for i in pick for v in by[names[i]]]))
    return med, [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def ordered_fractions(records: list[dict], key: str) -> dict:
    """Per N: cases, ordered, not ordered, nothing learned, the fraction ordered (of the cases that learned something)."""
    out: dict[str, dict] = {}
    for rec in records:
        row = out.setdefault(str(n_of(rec)), {"cases": 0, "ordered": 0, "not_ordered": 0, "nothing_learned": 0})
        row["cases"] += 1
        o = rec["learning"][key]["ordered"]
        row["ordered" if o else "nothing_learned" if o is None else "not_ordered"] += 1
    for row in out.values():
        judged = row["ordered"] + row["not_ordered"]
        row["fraction_ordered"] = round(row["ordered"] / judged, 4) if judged else None
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def _verdicts(fit_ci: dict, eta_ci, onset_ci) -> dict:
    delta = fit_ci.get("delta") if fit_ci else None
    delays_o1 = b = onset = None
    if eta_ci is not None:
        delays_o1 = bool(max(abs(eta_ci[0]), abs(eta_ci[1])) <= ETA_A)
        b = bool(eta_ci[1] >= ETA_B and (delta is None or delta[0] > 0))
    if onset_ci is not None:
        onset = bool(onset_ci[1] >= ETA_B)
    a = None if delays_o1 is None or onset is None else delays_o1 and onset
    return {"a_delays_stay_o1": delays_o1, "a_onset_grows_like_log_inv_eps": onset, "a_linear_growth_survives": a,
            "b_delays_grow_with_k_log_inv_eps_survives": b}


def _law_block(records: list[dict], key: str) -> dict:
    pts, series = law_points(records, key)
    fit = fit_law(pts)
    ci = bootstrap_law(pts, len(series)) if fit else {}
    small, small_series = law_points(records, key, eps_max=SMALL_EPS)
    fit_small = fit_law(small)
    ci_small = bootstrap_law(small, len(small_series)) if fit_small else {}
    el = delay_elasticities(records, key)
    eta, eta_ci = _median_ci(el)
    on = onset_elasticities(records, key)
    eta2, eta2_ci = _median_ci(on)
    first = np.array([[np.log(1 / r["eps"]), _times(r, key)[0]] for r in records if np.isfinite(_times(r, key)[0])])
    t1_slope = float(np.polyfit(first[:, 0], first[:, 1], 1)[0]) if len(first) > 2 and np.ptp(first[:, 0]) > 0 else None
    return {"cases": len(records), "series": len(series), "points": int(len(pts)),
            "fit_all_eps": fit, "ci_all_eps": ci, "fit_small_eps": fit_small, "ci_small_eps": ci_small,
            "t1_slope_vs_log_inv_eps": t1_slope,
            "delay_elasticity": {"median": eta, "ci95": eta_ci, "pairs": len(el)},
            "onset_elasticity": {"median": eta2, "ci95": eta2_ci, "series": len(on)},
            **_verdicts(ci_small or ci, eta_ci, eta2_ci)}


def law_summary(records: list[dict], metrics=METRICS, thresholds=(0.2,), per_n: bool = True) -> dict:
    """Per metric and threshold (``metric@δ``): ordered fractions per N, the law pooled over N and per N, the
    delay elasticity, the verdicts on (a) and (b), and the counterexamples."""
    out = {"rules": {"fit": "t_k = alpha + beta L + gamma (k-1) + delta (k-1) L, k >= 2, L = ln(1/eps); "
                            "95% percentile CIs, bootstrap over eps-series",
                     "eta": f"median slope of ln(t_k - t_2), k >= 3, vs ln L over eps <= {SMALL_EPS}",
                     "eta_2": f"median slope of ln t_2 vs ln L over eps <= {SMALL_EPS} (onset of the weights' orders)",
                     "a_survives": f"CI of eta within +-{ETA_A} (delays O(1)) and CI of eta_2 reaches {ETA_B} "
                                   "(onset ~ L/lambda)",
                     "b_survives": f"CI of eta reaches {ETA_B} and CI of delta (eps <= {SMALL_EPS}) above 0",
                     "resamples": RESAMPLES},
           "laws": {}}
    for metric in metrics:
        for delta in thresholds:
            key = f"{metric}@{delta}"
            recs = [r for r in records if key in r.get("learning", {})]
            if not recs:
                continue
            block = {"ordered_by_n": ordered_fractions(recs, key), "pooled": _law_block(recs, key)}
            if per_n:
                block["by_n"] = {str(n): _law_block([r for r in recs if n_of(r) == n], key)
                                 for n in sorted({n_of(r) for r in recs})}
            block["counterexamples"] = [
                {"id": r["id"], "learning_times": {k: (None if v is None else round(v, 4))
                                                   for k, v in r["learning"][key]["learning_times"].items()},
                 "reproduce": r["reproduce"]}
                for r in recs if r["learning"][key]["ordered"] is False]
            out["laws"][key] = block
    return out


def _ci(pair) -> str:
    return "[?]" if not pair else f"[{pair[0]:.3g}, {pair[1]:.3g}]"


def format_law(law: dict, key: str) -> str:
    """A few lines on one ``metric@δ``: ordered fractions per N, the fitted law, η and the verdicts."""
    block = law["laws"].get(key)
    if block is None:
        return f"law ({key}): no records"
    p = block["pooled"]
    fr = ", ".join(f"N={n}: {v['ordered']}/{v['ordered'] + v['not_ordered']}" for n, v in block["ordered_by_n"].items())
    lines = [f"law ({key}): ordered {fr}"]
    f, ci = p["fit_small_eps"] or p["fit_all_eps"], p["ci_small_eps"] or p["ci_all_eps"]
    if f:
        terms = [("", f["alpha"]), (" L", f["beta"]), (" (k-1)", f["gamma"]), (" (k-1) L", f["delta"])]
        law = "".join((f"{v:.3g}" if i == 0 else f" {'-' if v < 0 else '+'} {abs(v):.3g}") + name
                      for i, (name, v) in enumerate(terms))
        lines.append(f"  t_k = {law}"
                     f"  (eps <= {SMALL_EPS}; beta {_ci(ci.get('beta'))}, delta {_ci(ci.get('delta'))})")
    el = p["delay_elasticity"]
    if el["median"] is not None:
        on = p["onset_elasticity"]
        onset = "?" if on["median"] is None else f"{on['median']:.3f} {_ci(on['ci95'])}"
        lines.append(f"  delay elasticity eta = d ln(t_k - t_2)/d ln L = {el['median']:.3f} {_ci(el['ci95'])} "
                     f"over {el['pairs']} (series, k); onset eta_2 = d ln t_2/d ln L = {onset}")
        lines.append(f"  (a) delays O(1): {p['a_delays_stay_o1']}, onset ~ L: {p['a_onset_grows_like_log_inv_eps']}, "
                     f"(a) survives: {p['a_linear_growth_survives']}; (b) survives: "
                     f"{p['b_delays_grow_with_k_log_inv_eps_survives']}")
    return "\n".join(lines)


def _medians_by(records: list[dict], key: str, group) -> dict:
    out: dict = {}
    for rec in records:
        out.setdefault(group(rec), []).append(_times(rec, key))
    return out


def plot_law(records: list[dict], metric: str, threshold: float, path: str) -> None:
    """Two panels: the median :math:`t_k` against :math:`k` (one line per N, smallest ε of the sweep), and the
    median delay :math:`t_k - t_2` against :math:`\\log_{10}(1/\\varepsilon)` (one line per k, pooled over N),
    with the dotted line of prediction (b) through the first point of each."""
    from matplotlib.ticker import MaxNLocator

    from .plots import _pyplot, _save

    plt = _pyplot()
    key = f"{metric}@{threshold}"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.0, 4.0), dpi=120)
    eps_min = min((r["eps"] for r in records), default=None)
    by_n = _medians_by([r for r in records if r["eps"] == eps_min], key, n_of)
    cmap = plt.get_cmap("viridis")
    ns = sorted(by_n)
    for i, n in enumerate(ns):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an order no flow learns: an all-nan column
            med = np.nanmedian(np.array(by_n[n]), axis=0) if by_n[n] else []
        ks = [k for k in range(1, len(med) + 1) if np.isfinite(med[k - 1])]
        ax1.plot(ks, [med[k - 1] for k in ks], marker="o", color=cmap(i / max(1, len(ns) - 1)), label=f"N = {n}")
    ax1.set_yscale("log")
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_xlabel("order k")
    ax1.set_ylabel("median t_k (flows that learn order k)")
    ax1.set_title(f"{key}, eps = {eps_min:g}" if eps_min else key)
    ax1.legend(fontsize=7)
    by_eps = _medians_by(records, key, lambda r: r["eps"])
    eps_sorted = sorted(by_eps, reverse=True)
    x = [np.log10(1 / e) for e in eps_sorted]
    for k in range(3, 8):
        ys = []
        for e in eps_sorted:
            d = [t[k - 1] - t[1] for t in by_eps[e] if len(t) >= k and np.isfinite(t[k - 1] - t[1])]
            ys.append(np.median(d) if d else np.nan)
        if np.all(np.isnan(ys)):
            continue
        line, = ax2.plot(x, ys, marker="o", label=f"k = {k}")
        first = next((j for j, y in enumerate(ys) if np.isfinite(y) and y > 0), None)
        if first is not None:
            L = np.log(1 / np.array(eps_sorted))
            ax2.plot(x, ys[first] * L / L[first], linestyle=":", color=line.get_color(), linewidth=0.9)
    ax2.set_yscale("log")
    ax2.set_xlabel("log10(1/eps)")
    ax2.set_ylabel("median delay t_k - t_2")
    ax2.set_title("delays (dotted: prediction (b), delay ∝ log(1/eps))")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


# --- a compact form of a study (the committed summary) ---------------------------------------------------------


def compact_records(records: list[dict], keys=("moment@0.2", "coupling@0.2", "maxent@0.2")) -> dict:
    """The learning times of ``keys`` per record, rounded to 5 significant digits: ``{"keys": [...], "rows":
    [[id, N, eps, seed, reproduce, {key: [t_1, ..., t_N]}], ...]}`` (small enough to commit)."""
    def r5(t):
        return None if t is None or not np.isfinite(t) else float(f"{t:.5g}")

    rows = []
    for rec in sorted(records, key=lambda r: r["id"]):
        times = {k: [r5(t) for t in _times(rec, k)] for k in keys if k in rec["learning"]}
        rows.append([rec["id"], n_of(rec), rec["eps"], rec.get("seed"), rec["reproduce"], times])
    return {"keys": list(keys), "rows": rows}


def expand_compact(doc: dict) -> list[dict]:
    """Records (enough of them for :func:`law_summary` and :func:`plot_law`) from :func:`compact_records`."""
    from .learning import is_ordered

    out = []
    for rid, n, eps, seed, reproduce, times in doc["rows"]:
        learning = {k: {"learning_times": {str(j + 1): t for j, t in enumerate(ts)}, "ordered": is_ordered(ts)}
                    for k, ts in times.items()}
        out.append({"id": rid, "eps": eps, "seed": seed, "case": {"model": {"n": n}}, "learning": learning,
                    "reproduce": reproduce})
    return out


def study_document(records: list[dict], study: dict, keys=("moment@0.2", "coupling@0.2"), metrics=METRICS,
                   max_counterexamples: int = 8) -> dict:
    """The committed summary of a study: ``study`` (what was run, how long), the law of every metric at δ = 0.2
    (counterexamples cut to ``max_counterexamples``, their count kept) and the compact records of ``keys``."""
    law = law_summary(records, metrics=metrics, thresholds=(0.2,))
    for block in law["laws"].values():
        block["counterexample_count"] = len(block["counterexamples"])
        block["counterexamples"] = block["counterexamples"][:max_counterexamples]
    return {"study": study, "law": law, "records": compact_records(records, keys)}
