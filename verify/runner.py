"""Running proposition checks on cases, in this process or in worker processes.

Jobs are grouped by case, so that the propositions sharing a case's fixed point (F2, F3, S1)
find it once in the same worker (:func:`verify.endpoints.flow_endpoint` caches it).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from .registry import Observation, Skip

__all__ = ["run_jobs"]

_GROUPS: list = []


def _group(jobs):
    groups: dict[str, list] = {}
    cases = {}
    for prop, case in jobs:
        groups.setdefault(case.name, []).append(prop)
        cases[case.name] = case
    return [(cases[name], props) for name, props in groups.items()]


def _run_group(index: int, dps: int):
    case, props = _GROUPS[index]
    return [run_check(prop, case, dps) for prop in props]


def run_check(prop, case, dps: int):
    """``(id, outcome, seconds)``; a check that raises is a failed verdict carrying the error, not a crash."""
    from theory.errors import SpecError

    from .registry import reproduce_line
    from .verdict import FAILS, Verdict

    start = time.perf_counter()
    try:
        outcome = prop.check(case, dps)
    except SpecError:
        raise
    except Exception as err:  # noqa: BLE001 — any other exception is a defect the report must show
        outcome = Verdict(prop.id, case.name, FAILS, {"error": f"{type(err).__name__}: {err}"}, dps,
                          reproduce_line(prop.id, case, dps), None)
    return prop.id, outcome, time.perf_counter() - start


def run_jobs(jobs, dps: int, workers: int | None = None, progress: bool = True):
    """Run ``(proposition, case)`` jobs; returns ``(verdicts, skips, observations, seconds per proposition)``."""
    from tqdm import tqdm

    global _GROUPS
    _GROUPS = _group(jobs)
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc="checking", unit="check", disable=not progress, file=sys.stderr, leave=False)
    results = []
    if workers <= 1 or len(_GROUPS) <= 1:
        for k in range(len(_GROUPS)):
            part = _run_group(k, dps)
            results.extend(part)
            bar.update(len(part))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_run_group, k, dps) for k in range(len(_GROUPS))]
            for fut in as_completed(futures):
                part = fut.result()
                results.extend(part)
                bar.update(len(part))
    bar.close()
    verdicts, skips, observations, seconds = [], [], [], {}
    for pid, outcome, secs in results:
        if isinstance(outcome, Skip):
            skips.append(outcome)
        elif isinstance(outcome, Observation):
            observations.append(outcome)
        else:
            verdicts.append(outcome)
        seconds[pid] = seconds.get(pid, 0.0) + secs
    for items in (verdicts, skips, observations):
        items.sort(key=lambda v: (v.proposition, v.case))
    return verdicts, skips, observations, seconds
