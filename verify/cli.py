"""``ebm-verify``: the command line.

Verbs: ``run`` (every proposition on the enumerated cases), ``list`` (propositions and cases),
``couplings`` (effective couplings, moments and log Z of a case), ``derive`` (closed forms as a
LaTeX document), and the fixed-point, flow, sweep, scaling and baseline verbs. Errors in the input are one
line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings

from theory.errors import SpecError

from . import __version__

__all__ = ["main"]


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ebm-verify", description="Verify the effective-model theory of EBMs on binary variables.")
    p.add_argument("--version", action="version", version=f"ebm-verify {__version__}")
    sub = p.add_subparsers(dest="verb", required=True)

    run = sub.add_parser("run", help="check every proposition on its enumerated cases")
    run.add_argument("--quick", action="store_true", help="one target per model (a smoke run)")
    run.add_argument("--only", type=_words, default=None, help="proposition ids, e.g. E1,E2")
    run.add_argument("--n", type=_int_list, default=(2, 3), help="numbers of spins, e.g. 2,3")
    run.add_argument("--families", type=_words, default=None, help="model families, e.g. rbm,gim")
    run.add_argument("--case", default=None, help="run one enumerated case by name")
    run.add_argument("--dps", type=int, default=50, help="working precision in decimal digits (default 50)")
    run.add_argument("--jobs", type=int, default=None, help="worker processes (default: the number of CPUs)")
    run.add_argument("--scheduler", default=None, help="run the cases on an existing Dask cluster (tcp://host:port)")
    run.add_argument("--json", dest="json_out", default=None, help="write the JSON report to this file")
    run.add_argument("--md", dest="md_out", default=None, help="write a Markdown report to this file")
    run.add_argument("--tex", dest="tex_out", default=None, help="write a LaTeX report (pdflatex-ready) to this file")
    run.add_argument("--baseline", default=None, help="compare with a saved baseline; exit 1 on a regression")
    run.add_argument("--certify", action="store_true", help="attach ball-arithmetic certificates to F2, S1, S2 verdicts")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    bl = sub.add_parser("baseline", help="save a regression baseline (a JSON report of a run)")
    blsub = bl.add_subparsers(dest="action", required=True)
    save = blsub.add_parser("save", help="run the suite and write its report as a baseline")
    save.add_argument("file")
    for flag, kw in (("--quick", {"action": "store_true"}), ("--only", {"type": _words, "default": None}),
                     ("--n", {"type": _int_list, "default": (2, 3)}), ("--families", {"type": _words, "default": None}),
                     ("--dps", {"type": int, "default": 50}), ("--jobs", {"type": int, "default": None})):
        save.add_argument(flag, **kw)
    save.add_argument("--no-progress", action="store_true")

    df = sub.add_parser("diff", help="compare two reports or baselines; exit 1 on a regression")
    df.add_argument("old")
    df.add_argument("new")

    ls = sub.add_parser("list", help="list the propositions (and with --cases the enumerated cases)")
    ls.add_argument("--cases", action="store_true")
    ls.add_argument("--n", type=_int_list, default=(2, 3))

    cl = sub.add_parser("classify", help="classify the case's parameter point (fixed point? which kind? spectrum of H)")
    cl.add_argument("case_file")
    cl.add_argument("--dps", type=int, default=50)
    cl.add_argument("--polish", action="store_true", help="first move to the fixed point Newton finds from the point")
    cl.add_argument("--follow-fibre", action="store_true", help="at a data-consistent point, walk along a neutral direction")
    cl.add_argument("--certify", action="store_true", help="prove existence (Krawczyk) and the inertia of H in ball arithmetic")

    fp = sub.add_parser("fixed-points", help="search fixed points from seeded starts, classify and merge them")
    fp.add_argument("case_file")
    fp.add_argument("--seeds", type=int, default=5)
    fp.add_argument("--dps", type=int, default=50)
    fp.add_argument("--scale", type=float, default=0.5, help="scale of the seeded random starts")
    fp.add_argument("--t-max", type=float, default=1e5, help="longest flow time before Newton")

    fl = sub.add_parser("flow", help="integrate the flow and report per-order learning times (H2)")
    fl.add_argument("case_file")
    fl.add_argument("--t-max", type=float, default=1e6)
    fl.add_argument("--metric", default="moment", help="coupling, coupling-boolean, moment, connected, maxent or all")
    fl.add_argument("--threshold", type=float, default=0.2)
    fl.add_argument("--plot", default=None, help="write the per-order errors to this PNG")
    fl.add_argument("--eps", type=float, default=1e-2, help="weight scale of the start when the case has no params")
    fl.add_argument("--seed", type=int, default=0)

    sw = sub.add_parser("sweep", help="H2/H3 over the enumerated sweep, resumable (results appended to --store)")
    sw.add_argument("--quick", action="store_true")
    sw.add_argument("--n", type=_int_list, default=(3, 4))
    sw.add_argument("--store", default="sweep.jsonl", help="JSON-lines store; a rerun skips the cases in it")
    sw.add_argument("--jobs", type=int, default=None)
    sw.add_argument("--dps", type=int, default=30, help="precision of the endpoint classification")
    sw.add_argument("--case", default=None, help="run one sweep case by id and print its record")
    sw.add_argument("--json", dest="json_out", default=None, help="write the summary to this file")
    sw.add_argument("--plot", default=None, help="learning times per order across the sweep (PNG)")
    sw.add_argument("--metric", default="moment", help="metric of the printed summary and the plot")
    sw.add_argument("--threshold", type=float, default=0.2)
    sw.add_argument("--no-progress", action="store_true")

    sc = sub.add_parser("scaling", help="H1: per-order slopes of J, G and K as the weights shrink")
    sc.add_argument("case_file")
    sc.add_argument("--uniform", action="store_true", help="scale every parameter (the product contrast)")
    sc.add_argument("--plot", default=None)

    dv = sub.add_parser("derive", help="closed-form derivation (sympy) of a model as a LaTeX document")
    dv.add_argument("case_file", help="a case file, or a file holding only a model spec")
    dv.add_argument("--out", required=True, help="the .tex file to write")
    dv.add_argument("--pdf", action="store_true", help="also compile it with pdflatex")
    dv.add_argument("--no-proofs", action="store_true", help="leave out the table of identities proved (faster)")
    dv.add_argument("--no-cache", action="store_true", help="derive again instead of reading the derivation cache")

    cp = sub.add_parser("couplings", help="effective couplings, moments and log Z of a case")
    cp.add_argument("case_file")
    cp.add_argument("--dps", type=int, default=50)
    cp.add_argument("--gauge", choices=("spin", "boolean"), default="spin")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, *a, **k: f"warning: {msg}\n"
    try:
        verbs = {"run": _run, "list": _list, "couplings": _couplings, "classify": _classify,
                 "fixed-points": _fixed_points, "flow": _flow, "sweep": _sweep, "scaling": _scaling,
                 "baseline": _baseline, "diff": _diff, "derive": _derive}
        return verbs[args.verb](args)
    except SpecError as err:
        print(f"ebm-verify: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ebm-verify: interrupted", file=sys.stderr)
        return 130


def _derive(args) -> int:
    from .document import compile_pdf, derivation_document, load_model, overfull_boxes

    model = load_model(args.case_file)
    if not args.out.endswith(".tex"):
        raise SpecError(f"--out must name a .tex file, got {args.out!r}")
    text = derivation_document(model, prove=not args.no_proofs, cache=not args.no_cache)
    with open(args.out, "w") as fh:
        fh.write(text)
    print(f"wrote {args.out}")
    if args.pdf:
        pdf, log = compile_pdf(args.out)
        wide = [w for w in overfull_boxes(log) if w > 10]
        print(f"wrote {pdf}" + (f" (warning: {len(wide)} lines run past the margin)" if wide else ""))
    return 0


def _couplings(args) -> int:
    from .commands import couplings_document

    doc = couplings_document(args.case_file, args.dps, args.gauge)
    print(json.dumps(doc, indent=2))
    return 0


def _classify(args) -> int:
    from .commands import classify_document

    print(json.dumps(classify_document(args.case_file, args.dps, args.polish, args.follow_fibre, args.certify), indent=2))
    return 0


def _fixed_points(args) -> int:
    from .commands import fixed_points_document

    if args.seeds < 0:
        raise SpecError(f"--seeds must be >= 0, got {args.seeds}")
    docs = fixed_points_document(args.case_file, args.seeds, args.dps, args.scale, args.t_max, progress=True)
    print(json.dumps(docs, indent=2))
    return 0


def _flow(args) -> int:
    from .commands import flow_document

    doc = flow_document(args.case_file, args.t_max, args.metric, args.threshold, args.plot, args.eps, args.seed)
    print(json.dumps(doc, indent=2))
    return 0


def _scaling(args) -> int:
    from .commands import scaling_document

    print(json.dumps(scaling_document(args.case_file, args.plot, args.uniform), indent=2))
    return 0


def _sweep(args) -> int:
    from .sweep import THRESHOLDS, run_case, run_sweep, summarize, sweep_cases

    cases = sweep_cases(ns=args.n, quick=args.quick)
    if args.case:
        match = [c for c in cases + sweep_cases(ns=(3, 4)) if c.id == args.case]
        if not match:
            raise SpecError(f"no sweep case is called {args.case!r}; see the ids in the store or the summary")
        print(json.dumps(run_case(match[0], args.dps), indent=2))
        return 0
    key = f"{args.metric}@{args.threshold}"
    if args.threshold not in THRESHOLDS:
        raise SpecError(f"--threshold must be one of {THRESHOLDS} (the thresholds a sweep records)")
    records = run_sweep(cases, args.store, args.jobs, args.dps, progress=not args.no_progress)
    summary = summarize(records)
    if key not in summary["H2"]:
        raise SpecError(f"unknown metric {args.metric!r}")
    row = summary["H2"][key]
    print(f"H2 ({key}): {row['ordered']} of {row['cases']} cases have t_1 <= ... <= t_N")
    for k, v in summary["H2"].items():
        if k.endswith(f"@{args.threshold}"):
            print(f"  {k:<26} {v['ordered']:>4} / {v['cases']:<4} median delay slopes vs log10(1/eps): "
                  + ", ".join(f"{d} {s['median_slope']:.2f}" for d, s in v["delay_slope_vs_log_inv_eps"].items()))
    print(f"H3 endpoints: {summary['H3']['endpoint_kinds']}; order 1 matched at "
          f"{summary['H3']['order_1_matched']} of {summary['H3']['fixed_point_endpoints']} fixed points, order 2 at "
          f"{summary['H3']['order_2_matched']}; low-order spurious without an unstable direction: "
          f"{summary['H3']['low_order_spurious_without_unstable_direction'] or 'none'}")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(summary, fh, indent=2)
    if args.plot:
        from .plots import plot_learning_times

        plot_learning_times(list(records.values()), args.metric, args.threshold, args.plot)
    return 1 if summary["H3"]["low_order_spurious_without_unstable_direction"] else 0


def _baseline(args) -> int:
    args.case, args.json_out, args.md_out, args.tex_out, args.baseline = None, args.file, None, None, None
    code = _run(args)
    print(f"baseline written to {args.file}")
    return code


def _diff(args) -> int:
    from .baseline import diff_reports, format_diff, load_report

    changes = diff_reports(load_report(args.old), load_report(args.new))
    print(format_diff(changes))
    return 1 if changes["regressions"] else 0


def _list(args) -> int:
    from .registry import propositions

    names: dict[str, None] = {}
    for prop in propositions():
        cases = prop.cases(ns=args.n, families=None, quick=False)
        print(f"{prop.id:<4} {prop.title}  [{len(cases)} cases]")
        names.update((c.name, None) for c in cases)
    if args.cases:
        print("\n".join(names))
    return 0


def _closed_form_digests(jobs) -> dict:
    """Digest of the closed forms of every small model the run checked (derivations come from the cache)."""
    from .closed_form_evaluators import closed_form_digest, has_closed_forms

    import sympy

    models = {json.dumps(c.model.spec(), sort_keys=True): c.model for _, c in jobs if c.model is not None}
    digests = {key: closed_form_digest(m) for key, m in models.items() if has_closed_forms(m)}
    return {"sympy": sympy.__version__, "digests": digests} if digests else None


def _run(args) -> int:
    from .registry import find_case, get, propositions
    from .report import exit_code, format_observations, format_table, json_report, latex_report, markdown_report, summary_rows

    props = [get(pid) for pid in args.only] if args.only else propositions()
    if args.case:
        case, owners = find_case(args.case, [p.id for p in props])
        jobs = [(p, case) for p in props if p.id in owners]
    else:
        jobs = [(p, c) for p in props for c in p.cases(ns=args.n, families=args.families, quick=args.quick)]
    if not jobs:
        raise SpecError("no enumerated case matches --n/--families/--only; `ebm-verify list --cases` shows them")
    from .runner import run_jobs

    verdicts, skips, observations, seconds = run_jobs(jobs, args.dps, args.jobs, progress=not args.no_progress,
                                                      scheduler=getattr(args, "scheduler", None),
                                                      certify=getattr(args, "certify", False))
    print(format_table(summary_rows(verdicts, seconds, skips)))
    if observations:
        print(format_observations(observations))
    for v in verdicts:
        if v.status != "holds":
            print(f"{v.status.upper()}: {v.proposition} on {v.case}; reproduce: {v.reproduce}")
    for s in skips:
        print(f"not applicable: {s.proposition} on {s.case}: {s.reason}")
    meta = {"version": __version__, "python": platform.python_version(), "dps": args.dps,
            "seconds": round(sum(seconds.values()), 2)}
    text = json_report(verdicts, meta, skips, observations, _closed_form_digests(jobs))
    for path, content in ((args.json_out, lambda: text), (args.md_out, lambda: markdown_report(verdicts, meta, skips, observations)),
                          (args.tex_out, lambda: latex_report(verdicts, meta, skips, observations))):
        if path:
            with open(path, "w") as fh:
                fh.write(content())
    if args.baseline:
        from .baseline import diff_reports, format_diff, load_report

        changes = diff_reports(load_report(args.baseline), json.loads(text))
        print(format_diff(changes))
        if changes["regressions"]:
            return 1
    return exit_code(verdicts)
