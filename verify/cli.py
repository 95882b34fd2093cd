"""``ebm-verify``: the command line.

Verbs: ``run`` (every proposition on the enumerated cases), ``list`` (propositions and cases),
``couplings`` (effective couplings, moments and log Z of a case), ``derive`` (closed forms as a
LaTeX document), and the fixed-point, flow, sweep, scaling and baseline verbs. Errors in the input are one
line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import warnings
from pathlib import Path

from theory.errors import SpecError
from theory.latex import plain_text

from . import __version__
from .cli_guards import (LARGE_SECONDS, _check_derive_size, _check_model_size, _check_output, _check_plot,
                         _check_work, _peek_model_spec, _spec_size, _write_output)
from .numeric import DEFAULT_DPS, MAX_DPS, MIN_DPS, SWEEP_DPS

__all__ = ["main"]

#: the longest flow time accepted (LSODA to 1e300 does not return)
MAX_T_MAX = 1e12
#: the most seeded starts of ``fixed-points`` (each is a flow and a Newton polish)
MAX_SEEDS = 1000
#: the spins of the enumerated cases (``run``, ``baseline save``, ``sweep``, ``list``): enumerating the
#: cases of N = 12 already takes minutes and a gigabyte, N = 16 tens of gigabytes
N_RANGE = (2, 10)
class _Parser(argparse.ArgumentParser):
    """argparse with errors in one line (``ebm-verify: error: ...``) and exit code 2, like every other error."""

    def error(self, message: str):
        print(f"ebm-verify: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one number of spins, got {text!r}")
    lo, hi = N_RANGE
    bad = [v for v in values if not lo <= v <= hi]
    if bad:
        raise argparse.ArgumentTypeError(f"numbers of spins must lie in {lo}..{hi}, got {bad[0]}")
    return values


def _whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number, got {text!r}") from None


def _jobs(text: str) -> int:
    v = _whole(text, "the number of worker processes")
    if v < 1:
        raise argparse.ArgumentTypeError(f"the number of worker processes must be at least 1, got {v}")
    return v


def _seeds(text: str) -> int:
    v = _whole(text, "the number of seeded starts")
    if not 0 <= v <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"the number of seeded starts must lie in 0..{MAX_SEEDS}, got {v}")
    return v


def _seed(text: str) -> int:
    v = _whole(text, "the seed")
    if v < 0:
        raise argparse.ArgumentTypeError(f"the seed must be a whole number >= 0, got {v}")
    return v


def _dps(text: str) -> int:
    v = _whole(text, "the precision (decimal digits)")
    if not MIN_DPS <= v <= MAX_DPS:
        raise argparse.ArgumentTypeError(f"the precision must lie in {MIN_DPS}..{MAX_DPS} decimal digits, got {v}")
    return v


def _finite(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _weight_scale(text: str) -> float:
    v = _finite(text)
    if not 0 < v <= 100:
        raise argparse.ArgumentTypeError(f"the weight scale must lie in (0, 100], got {text}")
    return v


def _t_max(text: str) -> float:
    v = _finite(text)
    if not 1 <= v <= MAX_T_MAX:
        raise argparse.ArgumentTypeError(f"the flow time must lie in [1, {MAX_T_MAX:g}], got {text}")
    return v


def _threshold(text: str) -> float:
    v = _finite(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"the threshold must lie in (0, 1), got {text}")
    return v


def _words(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ebm-verify", description="Verify the effective-model theory of EBMs on binary variables.")
    p.add_argument("--version", action="version", version=f"ebm-verify {__version__}")
    sub = p.add_subparsers(dest="verb", required=True)

    run = sub.add_parser("run", help="check every proposition on its enumerated cases")
    run.add_argument("--quick", action="store_true", help="one target per model (a smoke run)")
    run.add_argument("--only", type=_words, default=None, help="proposition ids, e.g. E1,E2")
    run.add_argument("--n", type=_int_list, default=(2, 3), help="numbers of spins, e.g. 2,3")
    run.add_argument("--families", type=_words, default=None, help="model families, e.g. rbm,gim")
    run.add_argument("--case", default=None, help="run one enumerated case by name")
    run.add_argument("--dps", type=_dps, default=DEFAULT_DPS, help=f"working precision in decimal digits (default {DEFAULT_DPS})")
    run.add_argument("--jobs", type=_jobs, default=None, help="worker processes (default, and at most: the number of CPUs)")
    run.add_argument("--scheduler", default=None, help="run the cases on an existing Dask cluster (tcp://host:port)")
    run.add_argument("--json", dest="json_out", default=None, help="write the JSON report to this file")
    run.add_argument("--md", dest="md_out", default=None, help="write a Markdown report to this file")
    run.add_argument("--tex", dest="tex_out", default=None, help="write a LaTeX report (pdflatex-ready) to this file")
    run.add_argument("--baseline", default=None, help="compare with a saved baseline; exit 1 on a regression")
    run.add_argument("--certify", action="store_true", help="attach ball-arithmetic certificates to F2, S1, S2 verdicts")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--allow-large", action="store_true", help=f"start even when the estimate exceeds {LARGE_SECONDS // 60} min")

    bl = sub.add_parser("baseline", help="save a regression baseline (a JSON report of a run)")
    blsub = bl.add_subparsers(dest="action", required=True)
    save = blsub.add_parser("save", help="run the suite and write its report as a baseline")
    save.add_argument("file")
    for flag, kw in (("--quick", {"action": "store_true"}), ("--only", {"type": _words, "default": None}),
                     ("--n", {"type": _int_list, "default": (2, 3)}), ("--families", {"type": _words, "default": None}),
                     ("--dps", {"type": _dps, "default": DEFAULT_DPS}), ("--jobs", {"type": _jobs, "default": None})):
        save.add_argument(flag, **kw)
    save.add_argument("--no-progress", action="store_true")
    save.add_argument("--allow-large", action="store_true")

    df = sub.add_parser("diff", help="compare two reports or baselines; exit 1 on a regression")
    df.add_argument("old")
    df.add_argument("new")

    ls = sub.add_parser("list", help="list the propositions (and with --cases the enumerated cases)")
    ls.add_argument("--cases", action="store_true")
    ls.add_argument("--n", type=_int_list, default=(2, 3))

    cl = sub.add_parser("classify", help="classify the case's parameter point (fixed point? which kind? spectrum of H)")
    cl.add_argument("case_file")
    cl.add_argument("--dps", type=_dps, default=DEFAULT_DPS)
    cl.add_argument("--polish", action="store_true", help="first move to the fixed point Newton finds from the point")
    cl.add_argument("--follow-fibre", action="store_true", help="at a data-consistent point, walk along a neutral direction")
    cl.add_argument("--certify", action="store_true", help="prove existence (Krawczyk) and the inertia of H in ball arithmetic")

    fp = sub.add_parser("fixed-points", help="search fixed points from seeded starts, classify and merge them")
    fp.add_argument("case_file")
    fp.add_argument("--seeds", type=_seeds, default=5)
    fp.add_argument("--dps", type=_dps, default=DEFAULT_DPS)
    fp.add_argument("--scale", type=_weight_scale, default=0.5, help="scale of the seeded random starts")
    fp.add_argument("--t-max", type=_t_max, default=1e5, help="longest flow time before Newton")

    fl = sub.add_parser("flow", help="integrate the flow and report per-order learning times (H2)")
    fl.add_argument("case_file")
    fl.add_argument("--t-max", type=_t_max, default=1e6)
    fl.add_argument("--metric", default="moment", help="coupling, coupling-boolean, moment, connected, maxent or all")
    fl.add_argument("--threshold", type=_threshold, default=0.2)
    fl.add_argument("--plot", default=None, help="write the per-order errors to this PNG")
    fl.add_argument("--eps", type=_weight_scale, default=1e-2, help="weight scale of the start when the case has no params")
    fl.add_argument("--seed", type=_seed, default=0)

    sw = sub.add_parser("sweep", help="H2/H3 over the enumerated sweep, resumable (results appended to --store)")
    sw.add_argument("--quick", action="store_true")
    sw.add_argument("--n", type=_int_list, default=(3, 4))
    sw.add_argument("--store", default="sweep.jsonl", help="JSON-lines store; a rerun skips the cases in it")
    sw.add_argument("--jobs", type=_jobs, default=None)
    sw.add_argument("--dps", type=_dps, default=SWEEP_DPS, help=f"precision of the endpoint classification (default {SWEEP_DPS})")
    sw.add_argument("--case", default=None, help="run one sweep case by id and print its record")
    sw.add_argument("--json", dest="json_out", default=None, help="write the summary to this file")
    sw.add_argument("--plot", default=None,
                    help="two panels: median t_k against k (one line per N), delays against log(1/eps) (PNG)")
    sw.add_argument("--metric", default="moment", help="metric of the printed summary and the plot")
    sw.add_argument("--cases", dest="cases_file", default=None,
                    help="the case list as a JSON file (model, target, eps list, seeds) instead of the enumerated sweep")
    sw.add_argument("--scheduler", default=None, help="run the cases on an existing Dask cluster (tcp://host:port)")
    sw.add_argument("--endpoint", choices=("auto", "classify", "float64"), default=None,
                    help="endpoint classification: auto (high precision up to N = 6, a float64 summary above), "
                         "classify, float64 (default: what the cases say, auto for the enumerated sweep)")
    sw.add_argument("--law", dest="law_out", default=None,
                    help="write the learning-time law (fits, bootstrap intervals, predictions) to this JSON file")
    sw.add_argument("--threshold", type=_threshold, default=0.2)
    sw.add_argument("--no-progress", action="store_true")
    sw.add_argument("--allow-large", action="store_true", help=f"start even when the estimate exceeds {LARGE_SECONDS // 60} min")

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
    dv.add_argument("--allow-large", action="store_true", help=f"derive even when the estimate exceeds {LARGE_SECONDS // 60} min")

    cp = sub.add_parser("couplings", help="effective couplings, moments and log Z of a case")
    cp.add_argument("case_file")
    cp.add_argument("--dps", type=_dps, default=DEFAULT_DPS)
    cp.add_argument("--gauge", choices=("spin", "boolean"), default="spin")
    en = sub.add_parser("enumerate", help="prove where every fixed point in a box is (interval branch and bound)")
    en.add_argument("case_file")
    en.add_argument("--box", required=True,
                    help="R for [-R, R]^P, LO,HI, or bounds per parameter group: \"GROUP=LO,HI;GROUP=R\" (a bare R or "
                         "LO,HI among them: the other groups)")
    en.add_argument("--dps", type=_dps, default=30)
    en.add_argument("--min-width", default=None, help="smallest box side before a box is left undecided (default: box/64)")
    en.add_argument("--max-boxes", type=lambda t: _whole(t, "the number of boxes"), default=100_000)
    en.add_argument("--store", default=None, help="JSON-lines store of processed boxes; a rerun resumes from it")
    en.add_argument("--json", dest="json_out", default=None, help="write the JSON result to this file")
    en.add_argument("--jobs", type=_jobs, default=1, help="worker processes sharing the box queue (default 1)")
    en.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, *a, **k: f"warning: {msg}\n"
    try:
        verbs = {"run": _run, "list": _list, "couplings": _couplings, "classify": _classify,
                 "fixed-points": _fixed_points, "flow": _flow, "sweep": _sweep, "scaling": _scaling,
                 "baseline": _baseline, "diff": _diff, "derive": _derive, "enumerate": _enumerate}
        return verbs[args.verb](args)
    except SpecError as err:
        print(f"ebm-verify: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ebm-verify: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("ebm-verify: error: out of memory; use a smaller model or fewer spins", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `ebm-verify list --cases | head`: the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _derive(args) -> int:
    from types import SimpleNamespace

    from theory.closed_forms import check_derivable
    from theory.families import family_class

    from .document import compile_pdf, derivation_document, load_model, overfull_boxes

    if not args.out.endswith(".tex"):
        raise SpecError(f"--out must name a .tex file, got {args.out!r}")
    _check_output(args.out, "--out")
    spec = _peek_model_spec(args.case_file)
    size = _spec_size(spec) if spec else None
    if size:  # before the model is built: 10^5 hidden units take seconds to build and years to derive
        limit = family_class(spec.get("family")).closed_form_limit(spec)
        check_derivable(SimpleNamespace(n=size[0], closed_form_max_n=limit))
        _check_derive_size(*size, spec.get("family"), args)
    model = load_model(args.case_file)
    check_derivable(model)
    if not size:
        _check_derive_size(model.n, model.P, model.family, args)
    text = derivation_document(model, prove=not args.no_proofs, cache=not args.no_cache)
    if not _write_output(args.out, text, "--out"):
        return 2
    print(f"wrote {args.out}")
    if args.pdf:
        pdf, log = compile_pdf(args.out)
        wide = [w for w in overfull_boxes(log) if w > 10]
        print(f"wrote {pdf}" + (f" (warning: {len(wide)} lines run past the margin)" if wide else ""))
    return 0


def _enumerate(args) -> int:
    from .enumerate_cli import enumerate_document

    _check_output(args.json_out, "--json")
    _check_output(args.store, "--store")
    doc = enumerate_document(args.case_file, args.box, args.dps, args.min_width, args.max_boxes, args.store,
                             progress=not args.no_progress, jobs=args.jobs)
    if args.json_out and not _write_output(args.json_out, json.dumps(doc, indent=2) + "\n", "--json"):
        return 2
    print(doc["statement"])
    return 0


def _couplings(args) -> int:
    from .commands import couplings_document

    _check_model_size(args.case_file, "couplings")
    doc = couplings_document(args.case_file, args.dps, args.gauge)
    print(json.dumps(doc, indent=2))
    return 0


def _classify(args) -> int:
    from .commands import classify_document

    _check_model_size(args.case_file, "classify")
    print(json.dumps(classify_document(args.case_file, args.dps, args.polish, args.follow_fibre, args.certify), indent=2))
    return 0


def _fixed_points(args) -> int:
    from .commands import fixed_points_document

    _check_model_size(args.case_file, "fixed-points")
    docs = fixed_points_document(args.case_file, args.seeds, args.dps, args.scale, args.t_max, progress=True)
    print(json.dumps(docs, indent=2))
    return 0


def _flow(args) -> int:
    from .commands import flow_document

    _check_model_size(args.case_file, "flow")
    _check_plot(args.plot)
    doc = flow_document(args.case_file, args.t_max, args.metric, args.threshold, args.plot, args.eps, args.seed)
    print(json.dumps(doc, indent=2))
    return 0


def _scaling(args) -> int:
    from .commands import scaling_document

    _check_model_size(args.case_file, "scaling")
    _check_plot(args.plot)
    print(json.dumps(scaling_document(args.case_file, args.plot, args.uniform), indent=2))
    return 0


def _sweep(args) -> int:
    import dataclasses

    from .learning import METRICS
    from .runner import worker_count
    from .sweep import (THRESHOLDS, estimate_case_seconds, load_cases, read_store, run_case, run_sweep, summarize,
                        sweep_cases)

    cases = load_cases(args.cases_file) if args.cases_file else sweep_cases(ns=args.n, quick=args.quick)
    if args.endpoint:
        cases = [dataclasses.replace(c, endpoint=args.endpoint) for c in cases]
    if args.case:
        pool = cases if args.cases_file else cases + sweep_cases(ns=(3, 4))
        match = [c for c in pool if c.id == args.case]
        if not match:
            raise SpecError(f"no sweep case is called {args.case!r}; see the ids in the store or the summary")
        _check_work(estimate_case_seconds(match[0]), 1, f"sweep case {args.case!r}", args.allow_large, "choose a smaller case")
        print(json.dumps(run_case(match[0], args.dps), indent=2))
        return 0
    key = f"{args.metric}@{args.threshold}"
    if args.threshold not in THRESHOLDS:
        raise SpecError(f"--threshold must be one of {THRESHOLDS} (the thresholds a sweep records)")
    if args.metric not in METRICS:
        raise SpecError(f"unknown metric {args.metric!r}; choose one of {', '.join(METRICS)}")
    _check_output(args.store, "--store")
    _check_output(args.json_out, "--json")
    _check_output(args.law_out, "--law")
    _check_plot(args.plot)
    if Path(args.store).exists():
        stored = set(read_store(args.store, quiet=True))
        todo = [c for c in cases if c.id not in stored]
    else:
        todo = cases
    workers = (os.cpu_count() or 1) if args.scheduler else worker_count(args.jobs, len(todo))
    what = f"N = {','.join(map(str, args.n))}" if not args.cases_file else f"from {args.cases_file}"
    _check_work(sum(estimate_case_seconds(c) for c in todo), workers,
                f"the sweep ({len(todo)} flows to run, {what})", args.allow_large,
                "lower --n or use --quick" if not args.cases_file else "shorten the case list")
    records = run_sweep(cases, args.store, args.jobs, args.dps, progress=not args.no_progress, scheduler=args.scheduler)
    summary = summarize(records)
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
    law = None
    if args.law_out or len({r["eps"] for r in records.values()}) >= 3:
        from .learning_law import format_law, law_summary

        law = law_summary(list(records.values()), metrics=(args.metric,) if not args.law_out else METRICS,
                          thresholds=(args.threshold,) if not args.law_out else THRESHOLDS)
        print(format_law(law, key))
    written = True
    if args.json_out:
        written = _write_output(args.json_out, json.dumps(summary, indent=2), "--json")
    if args.law_out:
        written = _write_output(args.law_out, json.dumps(law, indent=1), "--law") and written
    if args.plot:
        from .learning_law import plot_law

        plot_law(list(records.values()), args.metric, args.threshold, args.plot)
    if not written:
        return 2
    return 1 if summary["H3"]["low_order_spurious_without_unstable_direction"] else 0


def _baseline(args) -> int:
    args.case, args.json_out, args.md_out, args.tex_out, args.baseline = None, args.file, None, None, None
    args.saving_baseline = True
    code = _run(args)
    if code in (0, 1, 2) and getattr(args, "written", False):
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
        print(f"{prop.id:<4} {plain_text(prop.title)}  [{len(cases)} cases]")
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
    from .report import (exit_code, expected_outcome, format_observations, format_table, json_report, latex_report,
                         markdown_report, summary_rows)
    from .runner import Interrupted, estimate_seconds, run_jobs, worker_count

    baseline_file = getattr(args, "saving_baseline", False)
    for path, flag in ((args.json_out, "baseline file" if baseline_file else "--json"), (args.md_out, "--md"),
                       (args.tex_out, "--tex")):
        _check_output(path, flag)
    baseline = None
    if args.baseline:
        from .baseline import load_report

        baseline = load_report(args.baseline)
    props = [get(pid) for pid in args.only] if args.only else propositions()
    scheduler = getattr(args, "scheduler", None)
    if args.case:
        case, owners = find_case(args.case, [p.id for p in props])
        jobs = [(p, case) for p in props if p.id in owners]
    else:
        jobs = [(p, c) for p in props for c in p.cases(ns=args.n, families=args.families, quick=args.quick)]
    if not jobs:
        raise SpecError("no enumerated case matches --n/--families/--only; `ebm-verify list --cases` shows them")
    workers = (os.cpu_count() or 1) if scheduler else worker_count(args.jobs, len({c.name for _, c in jobs}))
    spins = sorted({c.meta["sweep"].model["n"] if "sweep" in (c.meta or {}) else c.n for _, c in jobs})
    _check_work(estimate_seconds(jobs, args.dps), workers,
                f"this run ({len(jobs)} checks, N = {','.join(map(str, spins))})",
                args.allow_large, "lower --n or narrow it with --only/--families/--quick")
    interrupted = None
    try:
        verdicts, skips, observations, seconds = run_jobs(jobs, args.dps, args.jobs, progress=not args.no_progress,
                                                          scheduler=scheduler, certify=getattr(args, "certify", False))
    except Interrupted as stop:
        interrupted = stop
        verdicts, skips, observations, seconds = stop.partial
    print(format_table(summary_rows(verdicts, seconds, skips)))
    if observations:
        print(format_observations(observations))
    for v in verdicts:
        if v.status != "holds":
            expected = " (expected: the outcome THEORY.md documents for this case)" if expected_outcome(v) else ""
            print(f"{v.status.upper()}{expected}: {v.proposition} on {v.case}; reproduce: {v.reproduce}")
    for s in skips:
        print(f"not applicable: {s.proposition} on {s.case}: {s.reason}")
    meta = {"version": __version__, "python": platform.python_version(), "dps": args.dps,
            "seconds": round(sum(seconds.values()), 2)}
    if interrupted is not None:
        meta["interrupted"] = {"checks_finished": interrupted.total - len(interrupted.unfinished),
                               "checks": interrupted.total,
                               "unfinished": sorted(f"{p.id} on {c.name}" for p, c in interrupted.unfinished)}
        return _keep_interrupted(args, interrupted, verdicts, meta, skips, observations)
    text = json_report(verdicts, meta, skips, observations, _closed_form_digests(jobs))
    written = True
    for path, flag, content in ((args.json_out, "--json", lambda: text),
                                (args.md_out, "--md", lambda: markdown_report(verdicts, meta, skips, observations)),
                                (args.tex_out, "--tex", lambda: latex_report(verdicts, meta, skips, observations))):
        if path:
            written = _write_output(path, content(), "the baseline" if baseline_file and flag == "--json" else flag) and written
    args.written = written
    if baseline is not None:
        from .baseline import diff_reports, format_diff

        changes = diff_reports(baseline, json.loads(text))
        print(format_diff(changes))
        if changes["regressions"]:
            return 1
    if not written:
        return 2
    return exit_code(verdicts)


#: where an interrupted ``run`` without --json/--md/--tex keeps what finished
PARTIAL_REPORT = "ebm-verify-partial.json"


def _keep_interrupted(args, stop, verdicts, meta, skips, observations) -> int:
    """Ctrl-C: write what finished to the requested reports (a baseline to ``FILE.partial.json``, never
    to FILE itself), or to :data:`PARTIAL_REPORT`; say so and how to re-run, in one line; exit 130."""
    from .report import json_report, latex_report, markdown_report

    text = json_report(verdicts, meta, skips, observations, None)
    outputs = []
    if getattr(args, "saving_baseline", False):
        outputs.append((str(Path(args.json_out).with_suffix(".partial.json")), "the partial baseline", lambda: text))
    else:
        outputs += [(path, flag, content) for path, flag, content in (
            (args.json_out, "--json", lambda: text),
            (args.md_out, "--md", lambda: markdown_report(verdicts, meta, skips, observations)),
            (args.tex_out, "--tex", lambda: latex_report(verdicts, meta, skips, observations))) if path]
    if not outputs:
        outputs.append((PARTIAL_REPORT, "the partial report", lambda: text))
    kept = [path for path, flag, content in outputs if _write_output(path, content(), flag)]
    done = meta["interrupted"]["checks_finished"]
    where = f"kept in {', '.join(kept)}" if kept else "see above for where they were kept"
    print(f"ebm-verify: interrupted: {done} of {stop.total} checks finished, {where} (meta.interrupted lists the "
          f"{len(stop.unfinished)} unfinished); run the same command again to check everything, or narrow it "
          "with --only/--case", file=sys.stderr)
    return 130
