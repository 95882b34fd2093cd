"""Reports of a run: the terminal table and the JSON document.

The JSON report is deterministic: verdicts are sorted by proposition and case, and run metadata
(times, versions) lives under ``"meta"``, which comparisons ignore.
"""

from __future__ import annotations

import json
from collections import defaultdict

from theory.latex import escape_text, text_latex

from .verdict import FAILS, HOLDS, INCONCLUSIVE, Verdict

__all__ = ["summary_rows", "format_table", "json_report", "exit_code", "expected_outcome", "observation_summary",
           "format_observations",
           "markdown_report", "latex_report"]


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
                "certified": (sum(1 for v in vs if v.certified) if any(v.certified is not None for v in vs) else None),
                "worst_margin": round(min(margins), 2) if margins else None,
                "seconds": (seconds or {}).get(pid),
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain-text table: proposition, holds, fails, inconclusive, worst margin, time."""
    show_cert = any(r.get("certified") is not None for r in rows)
    head = f"{'proposition':<12}{'holds':>7}{'fails':>7}{'inconcl.':>10}{'n/a':>6}{'worst margin':>14}{'time':>9}"
    head += f"{'certified':>11}" if show_cert else ""
    lines = [head, "-" * len(head)]
    for r in rows:
        margin = "-" if r["worst_margin"] is None else f"{r['worst_margin']:.1f} dig"
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}s"
        line = f"{r['proposition']:<12}{r[HOLDS]:>7}{r[FAILS]:>7}{r[INCONCLUSIVE]:>10}{r['not_applicable']:>6}{margin:>14}{secs:>9}"
        if show_cert:
            total = r[HOLDS] + r[FAILS] + r[INCONCLUSIVE]
            certified = "-" if r.get("certified") is None else f"{r['certified']}/{total}"
            line += f"{certified:>11}"
        lines.append(line)
    return "\n".join(lines)


def expected_outcome(v: Verdict) -> bool:
    """Is this verdict's status the outcome THEORY.md documents for its case (``evidence["expected_outcome"]``, e.g.
    H3C failing on the documented ``silu`` counterexample)? Such a verdict is reported as it is, and does not count
    against the run (as pytest's expected failures); any other status of that case counts as usual."""
    declared = v.evidence.get("expected_outcome") if isinstance(v.evidence, dict) else None
    return isinstance(declared, dict) and declared.get("status") == v.status


def exit_code(verdicts: list[Verdict]) -> int:
    """0 when everything holds, 1 when something fails, 2 when something is inconclusive (and nothing fails);
    a verdict with its documented expected outcome (:func:`expected_outcome`) counts as holding."""
    counted = [v for v in verdicts if not expected_outcome(v)]
    if any(v.status == FAILS for v in counted):
        return 1
    if any(v.status == INCONCLUSIVE for v in counted):
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


def json_report(verdicts: list[Verdict], meta: dict, skips=(), observations=(), closed_forms=None) -> str:
    """The JSON report; everything outside ``meta`` depends only on code and inputs.

    ``closed_forms`` is ``{"sympy": version, "digests": {model spec (canonical JSON): digest}}``."""
    ordered = sorted(verdicts, key=lambda v: (v.proposition, v.case))
    skipped = sorted(skips, key=lambda s: (s.proposition, s.case))
    doc = {
        "summary": [{k: v for k, v in r.items() if k != "seconds"} for r in summary_rows(ordered, None, skipped)],
        "verdicts": [v.to_json() for v in ordered],
        "not_applicable": [s.to_json() for s in skipped],
        "empirical": observation_summary(sorted(observations, key=lambda o: (o.proposition, o.case))),
        "observations": [o.to_json() for o in sorted(observations, key=lambda o: (o.proposition, o.case))],
    }
    if closed_forms:
        doc["closed_forms"] = {"sympy": closed_forms["sympy"], "digests": dict(sorted(closed_forms["digests"].items()))}
    doc["meta"] = meta
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _status_line(rows: list[dict]) -> str:
    total = {k: sum(r[k] for r in rows) for k in (HOLDS, FAILS, INCONCLUSIVE, "not_applicable")}
    return (f"{total[HOLDS]} hold, {total[FAILS]} fail, {total[INCONCLUSIVE]} inconclusive, "
            f"{total['not_applicable']} not applicable")


def markdown_report(verdicts, meta: dict, skips=(), observations=()) -> str:
    """The run as Markdown: summary table, empirical fractions, and every verdict that did not hold."""
    rows = summary_rows(verdicts, None, skips)
    out = ["# ebm-verify report", "", _status_line(rows) + ".", "",
           "| proposition | holds | fails | inconclusive | n/a | worst margin (digits) |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        margin = "" if r["worst_margin"] is None else f"{r['worst_margin']:.1f}"
        out.append(f"| {r['proposition']} | {r[HOLDS]} | {r[FAILS]} | {r[INCONCLUSIVE]} | {r['not_applicable']} | {margin} |")
    summary = observation_summary(observations)
    if summary:
        out += ["", "## Empirical propositions (measured, not judged)", "", "| proposition | metric@threshold | ordered | cases |",
                "|---|---|---:|---:|"]
        for pid, table in summary.items():
            for key, row in table.items():
                out.append(f"| {pid} | {key} | {row['ordered']} | {row['cases']} |")
    bad = [v for v in verdicts if v.status != HOLDS]
    if bad:
        out += ["", "## Verdicts that do not hold", ""]
        for v in sorted(bad, key=lambda v: (v.proposition, v.case)):
            note = " (the expected, documented outcome)" if expected_outcome(v) else ""
            out.append(f"- **{v.status}**{note} {v.proposition} on `{v.case}` — reproduce: `{v.reproduce}`")
    if skips:
        out += ["", "## Not applicable", ""]
        out += [f"- {s.proposition} on `{s.case}`: {s.reason}" for s in sorted(skips, key=lambda s: (s.proposition, s.case))]
    out += ["", f"*{meta.get('version', '')}, dps {meta.get('dps', '')}*", ""]
    return "\n".join(out)


def latex_report(verdicts, meta: dict, skips=(), observations=()) -> str:
    """A standalone LaTeX document (article, amsmath, longtable) of the run; compiles with pdflatex."""
    from .registry import get

    rows = summary_rows(verdicts, None, skips)
    lines = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2cm]{geometry}", r"\usepackage{amsmath}",
             r"\usepackage{longtable}", r"\begin{document}", r"\sloppy", r"\section*{ebm-verify report}",
             escape_text(_status_line(rows)) + ".", "", r"\begin{longtable}{lrrrrr}", r"\hline",
             r"proposition & holds & fails & inconclusive & n/a & worst margin \\ \hline"]
    for r in rows:
        margin = "" if r["worst_margin"] is None else f"{r['worst_margin']:.1f}"
        lines.append(f"{r['proposition']} & {r[HOLDS]} & {r[FAILS]} & {r[INCONCLUSIVE]} & {r['not_applicable']} & {margin} \\\\")
    lines += [r"\hline", r"\end{longtable}", r"\subsection*{Statements}", r"\begin{description}"]
    for r in rows:
        prop = get(r["proposition"])
        parts = [p.strip() for p in prop.statement.replace(r"\quad", ";").split(";") if p.strip()]
        lines.append(rf"\item[{prop.id}] {text_latex(prop.title)}:")
        lines.append(r"\[ \begin{gathered} " + r" \\ ".join(parts) + r" \end{gathered} \]")
    lines.append(r"\end{description}")
    summary = observation_summary(observations)
    if summary:
        lines += [r"\subsection*{Empirical propositions (measured, not judged)}", r"\begin{longtable}{llrr}", r"\hline",
                  r"proposition & metric@threshold & ordered & cases \\ \hline"]
        for pid, table in summary.items():
            for key, row in table.items():
                lines.append(f"{pid} & {escape_text(key)} & {row['ordered']} & {row['cases']} \\\\")
        lines += [r"\hline", r"\end{longtable}"]
    bad = [v for v in verdicts if v.status != HOLDS]
    if bad:
        lines += [r"\subsection*{Verdicts that do not hold}", r"\begin{itemize}"]
        lines += [rf"\item \textbf{{{v.status}}}{' (expected, documented)' if expected_outcome(v) else ''} "
                  rf"{v.proposition} on \texttt{{{escape_text(v.case)}}}" for v in bad]
        lines.append(r"\end{itemize}")
    if skips:
        lines += [r"\subsection*{Not applicable}", r"\begin{itemize}"]
        lines += [rf"\item {s.proposition} on \texttt{{{escape_text(s.case)}}}: {text_latex(s.reason)}" for s in skips]
        lines.append(r"\end{itemize}")
    lines += [r"\end{document}", ""]
    return "\n".join(lines)
