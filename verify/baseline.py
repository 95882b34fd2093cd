r"""Regression baselines: compare two JSON reports and say what a change to the theory broke.

A baseline is a JSON report (``ebm-verify baseline save FILE`` writes one). :func:`diff_reports`
lists

* **status changes**: a verdict that held and no longer does (or disappeared, e.g. became not
  applicable) is a *regression*; the reverse is an improvement;
* **drift**: evidence that changed, compared by what it means (below);
* **empirical changes**: an H2 case whose ``ordered`` flag changed;
* **closed forms** whose digest changed: the digest hashes the printed LaTeX of :math:`J` and :math:`G`
  (:func:`verify.closed_form_evaluators.printed_closed_forms`), so a change of printed form (notation, line breaking,
  a collected logarithm) is a regression like a changed formula; compared for the models both reports derived,
  under the same sympy version (another sympy version is noted, not compared).

Every item of the first, second and fourth kinds is a regression: ``run --baseline`` and ``diff``
exit 1 on any.

How evidence is compared. The same code on another machine (another BLAS, another float64
rounding) ends its float64 flows at other points of the same manifold of fixed points, and every
residual at the zero floor comes out as other digits of noise. A regression check that reports
that noise teaches its users to ignore it, so evidence is compared by meaning:

1. **Decided facts are compared exactly**: ``satisfied`` flags, ``expect``, ``dps``, kinds,
   statuses, counts, ranks, inertia (stable / neutral / unstable), orders, predicted slopes, subsets,
   Booleans, ``None``, every integer, and the text of a string around its numbers (a fact's
   ``detail`` such as ``"dim ker H = 4, dim ker G = 4"``: words and integers exactly).
2. **A number decided to be zero is compared as zero** (THEORY.md §5): a requirement's ``value``
   at or below its printed ``threshold``, its ``value_at_2dps`` at or below :math:`10^{-\mathrm{dps}}`
   (the threshold at ``2·dps``), and any other number at or below :math:`10^{-\mathrm{dps}/2}`, with
   ``dps`` from the nearest enclosing evidence dict that carries it (the verdict's ``dps`` at the
   top). Two zeros are equal whatever their digits; zero against non-zero is drift (the *is zero*
   decision changed). A requirement that is undecided (``satisfied`` is ``None``) is compared only
   through these zero decisions: its numbers have no settled meaning.
3. **Meaningful numbers** (non-zero on both sides: Kullback–Leibler divergences, smallest
   non-zero eigenvalues at a case's point, fitted slopes, predicted eigenvalues, ``dℓ/dt``) must
   agree to a relative :data:`RELATIVE_TOLERANCE`, or to one unit in the last digit the report
   prints (at least :data:`PRINTED_DIGITS` significant digits; a value printed with five digits can
   change its last digit with no change in meaning). They are computed in mpmath at ``dps``
   digits from deterministic inputs, or are functions of :math:`J` at a Newton-polished fixed point
   (the same on every point of a fibre), so agreement to the printed digits is what is expected.
4. **Numbers that depend on which point of a manifold of fixed points was reached are not
   regression facts**: parameters, the fibre walk's travelled distance, displacement and step
   count (:data:`POINT_DEPENDENT`), Newton iteration counts, timings; and, in a verdict whose point
   has neutral directions (``neutral > 0``: a manifold of fixed points through it), eigenvalues and
   singular values other than closed-form predictions are compared only by zero decision and sign.
   Their keys are still compared (a key that appears or disappears is drift), and so is the text of
   a string around their numbers.

Verdict fields other than ``status``, ``evidence`` and ``certified`` (``margin_digits``, computed
from zero-floor noise; ``notes``; ``reproduce``) are not compared, nor is ``"meta"``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import mpmath

from theory.errors import SpecError

__all__ = ["load_report", "diff_reports", "evidence_drift", "format_diff",
           "RELATIVE_TOLERANCE", "PRINTED_DIGITS", "POINT_DEPENDENT"]

#: meaningful non-zero numbers must agree to this relative tolerance (or to the printed digits)
RELATIVE_TOLERANCE = 1e-6
#: the fewest significant digits the report prints a measured number with (``mpmath.nstr(x, 5)``)
PRINTED_DIGITS = 5
#: evidence keys (and requirement names) whose numbers depend on which point of a fibre a flow reached
POINT_DEPENDENT = frozenset({"fibre_travelled", "fibre_displacement", "fibre_steps", "fibre_walk_completed",
                             "params", "theta", "steps", "iterations", "newton_steps", "seconds", "time"})
_POINT_DEPENDENT_SUFFIX = re.compile(r"_(travelled|displacement|steps|iterations|seconds|params|theta)$")
#: on a manifold of fixed points these vary from point to point (closed-form predictions excepted)
_SPECTRAL = re.compile(r"eigenvalue|singular|sigma_")
_RANK = {"holds": 0, "inconclusive": 1, "fails": 2}
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d+")


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


def _point_dependent(key: str) -> bool:
    return key in POINT_DEPENDENT or bool(_POINT_DEPENDENT_SUFFIX.search(key))


def _as_number(x):
    """A number (JSON number or numeric string) as an ``mpf`` (any exponent: ``"1e-700"`` is not 0),
    ``None`` for anything else (Booleans included)."""
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float)):
        return mpmath.mpf(x)
    return _parse(x) if isinstance(x, str) else None


@lru_cache(maxsize=65536)
def _parse(text: str):
    text = text.strip()
    return mpmath.mpf(text) if _NUMBER.fullmatch(text) else None


def _is_integer(x) -> bool:
    if isinstance(x, str):
        return bool(_INTEGER.fullmatch(x.strip()))
    return isinstance(x, int) and not isinstance(x, bool)


def _significant_digits(x) -> int:
    """Significant digits shown in the printed form of ``x`` (``"0.30769"``: 5; ``2.0``: 2)."""
    text = x if isinstance(x, str) else repr(x)
    mantissa = re.split(r"[eE]", text.strip())[0].lstrip("+-").replace(".", "").lstrip("0")
    return len(mantissa)


@lru_cache(maxsize=256)
def _zero_threshold(dps):
    """:math:`10^{-\\mathrm{dps}/2}` (THEORY.md §5); 0 when there is no ``dps``."""
    if not isinstance(dps, (int, float)) or isinstance(dps, bool):
        return 0
    return mpmath.mpf(10) ** (-mpmath.mpf(dps) / 2)


class _Context:
    """How the numbers at one place of the evidence are read."""

    __slots__ = ("zero", "point_dependent", "spectral")

    def __init__(self, zero, point_dependent: bool = False, spectral: bool = False):
        self.zero, self.point_dependent, self.spectral = zero, point_dependent, spectral

    def child(self, key: str, on_manifold: bool) -> "_Context":
        spectral = on_manifold and bool(_SPECTRAL.search(key)) and not key.startswith("predicted")
        return _Context(self.zero, self.point_dependent or _point_dependent(key), self.spectral or spectral)


def _numbers_differ(old, new, ctx: _Context, decided: bool = True) -> str | None:
    """Why two numbers differ in meaning (``None``: they agree); see the module docstring."""
    a, b = _as_number(old), _as_number(new)
    if ctx.point_dependent:
        return None
    if _is_integer(old) and _is_integer(new):
        return None if int(a) == int(b) else "decided fact"
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        return None if a == b or (mpmath.isnan(a) and mpmath.isnan(b)) else "decided fact"
    zero_a, zero_b = abs(a) <= ctx.zero, abs(b) <= ctx.zero
    if zero_a and zero_b:
        return None
    if zero_a != zero_b:
        return "zero decision"
    if not decided:
        return None
    if ctx.spectral:
        return None if (a > 0) == (b > 0) else "sign"
    scale = max(abs(a), abs(b))
    digits = max(PRINTED_DIGITS, _significant_digits(old), _significant_digits(new))
    quantum = mpmath.mpf(10) ** (int(mpmath.floor(mpmath.log10(scale))) - digits + 1)
    return None if abs(a - b) <= max(RELATIVE_TOLERANCE * scale, quantum) * (1 + 1e-9) else "beyond tolerance"


def _strings_differ(old: str, new: str, ctx: _Context) -> str | None:
    """Text around numbers must be equal; the numbers in it are compared as numbers."""
    if old == new:
        return None
    if _NUMBER.split(old) != _NUMBER.split(new):
        return "decided fact"
    for x, y in zip(_NUMBER.findall(old), _NUMBER.findall(new)):
        why = _numbers_differ(x, y, ctx)
        if why:
            return why
    return None


def _leaf(path: str, old, new, ctx: _Context, out: list, decided: bool = True) -> None:
    why = None
    if _as_number(old) is not None and _as_number(new) is not None:
        why = _numbers_differ(old, new, ctx, decided)
    elif isinstance(old, str) and isinstance(new, str):
        why = _strings_differ(old, new, ctx)
    elif old != new or type(old) is not type(new):
        why = "decided fact"
    if why:
        out.append({"path": path, "old": old, "new": new, "why": why})


def _magnitude(x):
    """``x`` without its sign: ``value_at_2dps`` was stored unsigned before sign requirements printed it
    signed; its sign is decided in ``satisfied``, and ``value`` carries the sign at ``dps``."""
    return x.strip().lstrip("+-") if isinstance(x, str) and _as_number(x) is not None else x


def _requirement(path: str, old: dict, new: dict, ctx: _Context, out: list) -> None:
    """A requirement: ``expect``, ``satisfied`` and ``dps`` exactly; its values through their zero
    decision (threshold at ``dps`` and at ``2·dps``) and, when decided and non-zero, their meaning."""
    decided = old.get("satisfied") is not None and new.get("satisfied") is not None
    for key in sorted(set(old) | set(new)):
        here = ctx.child(key, False)
        if key not in old or key not in new:
            out.append({"path": f"{path}.{key}", "old": old.get(key), "new": new.get(key), "why": "missing"})
        elif key == "threshold":
            a, b = _as_number(old[key]), _as_number(new[key])
            if a is None or b is None or abs(a - b) > 1e-9 * max(abs(a), abs(b)):
                out.append({"path": f"{path}.{key}", "old": old[key], "new": new[key], "why": "decided fact"})
        elif key in ("value", "value_at_2dps"):
            dps = old.get("dps")
            printed = _as_number(old.get("threshold")) or 0
            if key == "value":
                zero = _zero_threshold(dps) or printed
                a, b = old[key], new[key]
            else:
                zero = _zero_threshold(2 * dps) if isinstance(dps, int) else printed**2
                a, b = _magnitude(old[key]), _magnitude(new[key])
            _leaf(f"{path}.{key}", a, b, _Context(zero, here.point_dependent, here.spectral), out, decided)
        else:
            _compare(f"{path}.{key}", old[key], new[key], here, False, out)


def _compare(path: str, old, new, ctx: _Context, on_manifold: bool, out: list) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        on_manifold = on_manifold or _has_neutral_directions(old) or _has_neutral_directions(new)
        dps = old.get("dps")
        if isinstance(dps, int) and not isinstance(dps, bool):
            ctx = _Context(_zero_threshold(dps), ctx.point_dependent, ctx.spectral)
        if "expect" in old and old.get("expect") != "fact" and old.get("expect") == new.get("expect"):
            _requirement(path, old, new, ctx, out)
            return
        for key in sorted(set(old) | set(new)):
            if key not in old or key not in new:
                if not _point_dependent(key):
                    out.append({"path": f"{path}.{key}", "old": old.get(key), "new": new.get(key), "why": "missing"})
                continue
            _compare(f"{path}.{key}", old[key], new[key], ctx.child(key, on_manifold), on_manifold, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append({"path": path, "old": old, "new": new, "why": "length"})
            return
        for k, (a, b) in enumerate(zip(old, new)):
            _compare(f"{path}[{k}]", a, b, ctx, on_manifold, out)
        return
    _leaf(path, old, new, ctx, out)


def _has_neutral_directions(evidence: dict) -> bool:
    """Does this evidence describe a point with neutral directions (a manifold of fixed points through it)?"""
    neutral = evidence.get("neutral")
    return isinstance(neutral, int) and not isinstance(neutral, bool) and neutral > 0


def evidence_drift(old: dict, new: dict) -> list[dict]:
    """What moved between two verdicts' evidence, by meaning (module docstring): ``[{path, old, new, why}]``."""
    out: list = []
    _compare("evidence", old.get("evidence", {}), new.get("evidence", {}), _Context(_zero_threshold(old.get("dps"))),
             False, out)
    if "certified" in old and "certified" in new and old["certified"] != new["certified"]:
        out.append({"path": "certified", "old": old["certified"], "new": new["certified"], "why": "decided fact"})
    return out


def _documented(verdict: dict) -> bool:
    """Is the verdict's status the outcome THEORY.md documents for its case (``evidence.expected_outcome``, e.g.
    H3C failing on the ``silu`` counterexample)? Leaving such a status, for any other, is a regression."""
    declared = (verdict.get("evidence") or {}).get("expected_outcome")
    return isinstance(declared, dict) and declared.get("status") == verdict["status"]


def _rank(verdict: dict) -> int:
    """How bad a verdict's status is: ``holds`` < ``inconclusive`` < ``fails``; a documented outcome
    (:func:`_documented`) ranks as ``holds``, as in :func:`verify.report.exit_code`."""
    return _RANK["holds"] if _documented(verdict) else _RANK[verdict["status"]]


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
        if _rank(w) > _rank(v) or (_documented(v) and w["status"] != v["status"]):
            regressions.append({"proposition": key[0], "case": key[1], "old": v["status"], "new": w["status"],
                                "reproduce": w.get("reproduce")})
        elif _rank(w) < _rank(v) or (_documented(w) and w["status"] != v["status"]):
            improvements.append({"proposition": key[0], "case": key[1], "old": v["status"], "new": w["status"]})
        drift += [{"proposition": key[0], "case": key[1], **m} for m in evidence_drift(v, w)]
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
        lines.append(f"DRIFT {d['proposition']} on {d['case']}: {d['path']} {d['old']} -> {d['new']}"
                     + (f" ({d['why']})" if d.get("why") else ""))
    for e in changes["empirical_changes"]:
        lines.append(f"EMPIRICAL {e['proposition']} on {e['case']}: {e['metric']} ordered {e['old']} -> {e['new']}")
    for c in changes["closed_form_changes"]:
        lines.append(f"CLOSED FORM {c['closed_form']} changed (its printed J or G)")
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
