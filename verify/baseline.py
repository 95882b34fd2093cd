r"""Regression baselines: compare two JSON reports and say what a change to the theory broke.

A baseline is a JSON report (``ebm-verify baseline save FILE`` writes one). :func:`diff_reports`
lists

* **status changes**: a verdict that held and no longer does (or disappeared, e.g. became not
  applicable) is a *regression*; the reverse is an improvement;
* **drift**: evidence that moved beyond tolerance: decided facts (``satisfied``, kinds, counts,
  ranks) must be equal, and numbers that are not zero by construction (Kullback–Leibler
  divergences, smallest eigenvalues, fitted slopes, predicted eigenvalues) must agree to a relative
  ``1e-6``; residuals that are zero by construction are noise at the ``10^{-dps}`` level and are
  compared only through their ``satisfied`` flag;
* **empirical changes**: an H2 case whose ``ordered`` flag changed;
* **closed forms** whose digest changed (the printed :math:`J` and :math:`G` of a model both reports
  derived, under the same sympy version; another sympy version is noted, not compared).

Every item of the first, second and fourth kinds is a regression: ``run --baseline`` and ``diff``
exit 1 on any.
"""

from __future__ import annotations

import json
from pathlib import Path

from theory.errors import SpecError

__all__ = ["load_report", "diff_reports", "format_diff"]

RELATIVE_TOLERANCE = 1e-6
_RANK = {"holds": 0, "inconclusive": 1, "fails": 2}
_NOISE_KEYS = {"value", "value_at_2dps", "threshold", "margin_digits", "fibre_travelled", "fibre_displacement"}


def load_report(path) -> dict:
    """A JSON report or baseline; a one-line error when it is missing or malformed."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as err:
        raise SpecError(f"cannot read baseline {str(path)!r}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"baseline {str(path)!r} is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(doc, dict) or "verdicts" not in doc:
        raise SpecError(f"{str(path)!r} is not an ebm-verify report (no \"verdicts\"); write one with `ebm-verify baseline save`")
    return doc


def _as_number(x):
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def _leaf_drift(path: str, old, new, out: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        zero_requirement = old.get("expect") == "zero"
        for key in sorted(set(old) | set(new)):
            if key in _NOISE_KEYS and (zero_requirement or key in ("margin_digits", "threshold", "value_at_2dps")):
                continue
            if key not in old or key not in new:
                out.append({"path": f"{path}.{key}", "old": old.get(key), "new": new.get(key)})
                continue
            _leaf_drift(f"{path}.{key}", old[key], new[key], out)
        return
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append({"path": path, "old": old, "new": new})
            return
        for k, (a, b) in enumerate(zip(old, new)):
            _leaf_drift(f"{path}[{k}]", a, b, out)
        return
    a, b = _as_number(old), _as_number(new)
    if a is not None and b is not None and not isinstance(old, bool):
        if abs(a - b) > RELATIVE_TOLERANCE * max(abs(a), abs(b)) + 1e-300:
            out.append({"path": path, "old": old, "new": new})
        return
    if old != new:
        out.append({"path": path, "old": old, "new": new})


def diff_reports(old: dict, new: dict) -> dict:
    """Status changes, drifted evidence, empirical changes and closed-form changes between two reports."""
    before = {(v["proposition"], v["case"]): v for v in old.get("verdicts", [])}
    after = {(v["proposition"], v["case"]): v for v in new.get("verdicts", [])}
    regressions, improvements, drift, added = [], [], [], []
    for key, v in before.items():
        if key not in after:
            regressions.append({"proposition": key[0], "case": key[1], "old": v["status"], "new": "missing",
                                "reproduce": v.get("reproduce")})
            continue
        w = after[key]
        if _RANK[w["status"]] > _RANK[v["status"]]:
            regressions.append({"proposition": key[0], "case": key[1], "old": v["status"], "new": w["status"],
                                "reproduce": w.get("reproduce")})
        elif _RANK[w["status"]] < _RANK[v["status"]]:
            improvements.append({"proposition": key[0], "case": key[1], "old": v["status"], "new": w["status"]})
        moved: list = []
        _leaf_drift("evidence", v.get("evidence", {}), w.get("evidence", {}), moved)
        drift += [{"proposition": key[0], "case": key[1], **m} for m in moved]
    added = [{"proposition": k[0], "case": k[1], "status": v["status"]} for k, v in after.items() if k not in before]
    obs_old = {(o["proposition"], o["case"]): o.get("ordered", {}) for o in old.get("observations", [])}
    obs_new = {(o["proposition"], o["case"]): o.get("ordered", {}) for o in new.get("observations", [])}
    empirical = []
    for key, flags in obs_old.items():
        for metric, flag in flags.items():
            other = obs_new.get(key, {}).get(metric, "missing")
            if other != flag:
                empirical.append({"proposition": key[0], "case": key[1], "metric": metric, "old": flag, "new": other})
    closed, notes = _closed_form_changes(old.get("closed_forms"), new.get("closed_forms"))
    everything = regressions + drift + empirical + closed
    return {"regressions": everything, "status_regressions": regressions, "improvements": improvements,
            "drift": drift, "empirical_changes": empirical, "closed_form_changes": closed, "added": added,
            "notes": notes}


def _closed_form_changes(old, new) -> tuple[list, list]:
    """Models whose closed-form digest changed (compared only under the same sympy version)."""
    if not old or not new:
        return [], []
    if old.get("sympy") != new.get("sympy"):
        return [], [f"closed forms not compared: derived with sympy {old.get('sympy')} and {new.get('sympy')}"]
    a, b = old.get("digests", {}), new.get("digests", {})
    changed = [{"closed_form": name, "old": a.get(name), "new": b.get(name)}
               for name in sorted(set(a) & set(b)) if a[name] != b[name]]
    return changed, []


def format_diff(changes: dict) -> str:
    """A readable list of the changes (one line each)."""
    lines = []
    for r in changes["status_regressions"]:
        lines.append(f"REGRESSION {r['proposition']} on {r['case']}: {r['old']} -> {r['new']}"
                     + (f"; reproduce: {r['reproduce']}" if r.get("reproduce") else ""))
    for d in changes["drift"]:
        lines.append(f"DRIFT {d['proposition']} on {d['case']}: {d['path']} {d['old']} -> {d['new']}")
    for e in changes["empirical_changes"]:
        lines.append(f"EMPIRICAL {e['proposition']} on {e['case']}: {e['metric']} ordered {e['old']} -> {e['new']}")
    for c in changes["closed_form_changes"]:
        lines.append(f"CLOSED FORM {c['closed_form']} changed")
    lines += [f"note: {n}" for n in changes.get("notes", [])]
    for i in changes["improvements"]:
        lines.append(f"improved {i['proposition']} on {i['case']}: {i['old']} -> {i['new']}")
    if changes["added"]:
        lines.append(f"{len(changes['added'])} verdicts are new (not in the baseline)")
    if not lines:
        lines.append("no change against the baseline")
    elif not changes["regressions"]:
        lines.append("no regression against the baseline")
    return "\n".join(lines)
