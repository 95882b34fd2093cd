"""Reports of a run: the terminal table and the JSON document.

The JSON report is deterministic: verdicts are sorted by proposition and case, and run metadata
(times, versions) lives under ``"meta"``, which comparisons ignore.
"""

from __future__ import annotations

import json
from collections import defaultdict

from .verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict

__all__ = ["summary_rows", "format_table", "json_report", "exit_code", "observation_summary", "format_observations"]


def summary_rows(verdicts: list[Verdict], seconds: dict[str, float] | None = None, skips=()) -> list[dict]:
    """Per proposition: counts of each status and of cases outside the hypotheses, the worst margin, the time."""
    grouped: dict[str, list[Verdict]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    for v in verdicts:
        grouped[v.proposition].append(v)
    for s in skips:
        skipped[s.proposition] += 1
        grouped.setdefault(s.proposition, [])
    rows = []
    for pid, vs in grouped.items():
        margins = [v.margin for v in vs if v.margin is not None]
        rows.append(
            {
                "proposition": pid,
                HOLDS: sum(v.status == HOLDS for v in vs),
                FAILS: sum(v.status == FAILS for v in vs),
                INCONCLUSIVE: sum(v.status == INCONCLUSIVE for v in vs),
                "not_applicable": skipped[pid],
                "worst_margin": round(min(margins), 2) if margins else None,
                "seconds": (seconds or {}).get(pid),
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain-text table: proposition, holds, fails, inconclusive, worst margin, time."""
    head = f"{'proposition':<12}{'holds':>7}{'fails':>7}{'inconcl.':>10}{'n/a':>6}{'worst margin':>14}{'time':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        margin = "-" if r["worst_margin"] is None else f"{r['worst_margin']:.1f} dig"
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}s"
        lines.append(
            f"{r['proposition']:<12}{r[HOLDS]:>7}{r[FAILS]:>7}{r[INCONCLUSIVE]:>10}{r['not_applicable']:>6}{margin:>14}{secs:>9}"
        )
    return "\n".join(lines)


def exit_code(verdicts: list[Verdict]) -> int:
    """0 when everything holds, 1 when something fails, 2 when something is inconclusive (and nothing fails)."""
    if any(v.status == FAILS for v in verdicts):
        return 1
    if any(v.status == INCONCLUSIVE for v in verdicts):
        return 2
    return 0


def observation_summary(observations) -> dict:
    """Empirical propositions: per proposition and metric key, how many cases were ordered."""
    out: dict = {}
    for ob in observations:
        table = out.setdefault(ob.proposition, {})
        for key, flag in ob.data.get("ordered", {}).items():
            row = table.setdefault(key, {"ordered": 0, "nothing_learned": 0, "cases": 0, "counterexamples": []})
            row["cases"] += 1
            row["ordered"] += flag is True
            row["nothing_learned"] += flag is None
            if flag is False:
                row["counterexamples"].append(ob.case)
    return out


def format_observations(observations) -> str:
    """One line per empirical metric: the fraction of cases in which lower orders were learned first."""
    lines = ["", "empirical (measured, not judged): cases with t_1 <= t_2 <= ... <= t_N"]
    for pid, table in observation_summary(observations).items():
        for key, row in table.items():
            extra = f"  ({row['nothing_learned']} learned no order)" if row["nothing_learned"] else ""
            lines.append(f"  {pid} {key:<24} {row['ordered']:>4} / {row['cases']:<4}{extra}")
    return "\n".join(lines)


def json_report(verdicts: list[Verdict], meta: dict, skips=(), observations=()) -> str:
    """The JSON report; everything outside ``meta`` depends only on code and inputs."""
    ordered = sorted(verdicts, key=lambda v: (v.proposition, v.case))
    skipped = sorted(skips, key=lambda s: (s.proposition, s.case))
    doc = {
        "summary": [{k: v for k, v in r.items() if k != "seconds"} for r in summary_rows(ordered, None, skipped)],
        "verdicts": [v.to_json() for v in ordered],
        "not_applicable": [s.to_json() for s in skipped],
        "empirical": observation_summary(sorted(observations, key=lambda o: (o.proposition, o.case))),
        "observations": [o.to_json() for o in sorted(observations, key=lambda o: (o.proposition, o.case))],
        "meta": meta,
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
