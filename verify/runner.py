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
_CERTIFY = False


def _group(jobs):
    groups: dict[str, list] = {}
    cases = {}
    for prop, case in jobs:
        groups.setdefault(case.name, []).append(prop)
        cases[case.name] = case
    return [(cases[name], props) for name, props in groups.items()]


def _run_group(index: int, dps: int):
    case, props = _GROUPS[index]
    return [run_check(prop, case, dps, _CERTIFY) for prop in props]


def run_check(prop, case, dps: int, certify: bool = False):
    """``(id, outcome, seconds)``; a check that raises is a failed verdict carrying the error, not a crash."""
    from theory.errors import SpecError

    from .registry import reproduce_line
    from .verdict import FAILS, Verdict

    start = time.perf_counter()
    try:
        outcome = prop.check(case, dps, certify=True) if certify and prop.certifiable else prop.check(case, dps)
    except SpecError:
        raise
    except Exception as err:  # noqa: BLE001 — any other exception is a defect the report must show
        outcome = Verdict(prop.id, case.name, FAILS, {"error": f"{type(err).__name__}: {err}"}, dps,
                          reproduce_line(prop.id, case, dps), None)
    return prop.id, outcome, time.perf_counter() - start


def _remote_group(case, pids: list[str], dps: int, certify: bool = False):
    """Worker side of the Dask path: look the propositions up in the worker's own registry."""
    from .registry import get

    return [run_check(get(pid), case, dps, certify) for pid in pids]


def _run_on_dask(scheduler: str, dps: int, bar) -> list:
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        from theory.errors import SpecError

        raise SpecError("--scheduler needs Dask's distributed scheduler: pip install 'dask[distributed]'") from None
    from theory.errors import SpecError

    try:
        client = Client(scheduler, timeout=20)
    except (OSError, TimeoutError) as err:
        raise SpecError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}") from None
    results = []
    try:
        futures = [client.submit(_remote_group, case, [p.id for p in props], dps, _CERTIFY, pure=False)
                   for case, props in _GROUPS]
        for fut in dask_completed(futures):
            part = fut.result()
            results.extend(part)
            bar.update(len(part))
    finally:
        client.close()
    return results


def run_jobs(jobs, dps: int, workers: int | None = None, progress: bool = True, scheduler: str | None = None,
             certify: bool = False):
    """Run ``(proposition, case)`` jobs on local processes, or on an existing Dask cluster (``scheduler``);
    returns ``(verdicts, skips, observations, seconds per proposition)``."""
    from tqdm import tqdm

    global _GROUPS, _CERTIFY
    _GROUPS = _group(jobs)
    _CERTIFY = certify
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc="checking", unit="check", disable=not progress, file=sys.stderr, leave=False)
    results = []
    if scheduler:
        results = _run_on_dask(scheduler, dps, bar)
    elif workers <= 1 or len(_GROUPS) <= 1:
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
