"""Running proposition checks on cases, in this process or in worker processes.

Jobs are grouped by case, so that the propositions sharing a case's fixed point (F2, F3, S1)
find it once in the same worker (:func:`verify.endpoints.flow_endpoint` caches it).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from .numeric import DEFAULT_DPS
from .registry import Observation, Skip

__all__ = ["run_jobs", "Interrupted", "estimate_seconds", "worker_count", "stop_pool", "ignore_sigint"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_jobs`: ``partial`` is what finished, in :func:`run_jobs`'s return shape;
    ``unfinished`` the ``(proposition, case)`` jobs that did not."""

    def __init__(self, partial, unfinished, total: int):
        super().__init__("interrupted")
        self.partial = partial
        self.unfinished = unfinished
        self.total = total


def worker_count(requested: int | None, tasks: int) -> int:
    """Worker processes to start: ``requested`` (default: the CPUs), at most one per task and per CPU."""
    cpus = os.cpu_count() or 1
    return max(1, min(requested or cpus, cpus, tasks))


#: Linux ``prctl`` option: the signal a process receives when its parent dies
PR_SET_PDEATHSIG = 1


def ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it terminates the workers), so a terminal's
    SIGINT, sent to the whole process group, does not print a traceback from every worker. On Linux the
    worker also asks to be terminated when its parent dies (``PR_SET_PDEATHSIG``): a parent killed outright
    (SIGKILL, an out-of-memory kill) cannot stop its pool, which would otherwise run on unseen."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # no prctl here: the pool is stopped by its parent as before
            pass


def stop_pool(pool) -> None:
    """Cancel the queued tasks and terminate the running workers at once (``shutdown`` would wait for them)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()

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


def remote_group(case, pids: list[str], dps: int, certify: bool = False):
    """Worker side of the Dask path: look the propositions up in the worker's own registry."""
    from .registry import get

    return [run_check(get(pid), case, dps, certify) for pid in pids]


def run_group_on_worker(case, pids: list[str], dps: int, certify: bool = False) -> list:
    """:func:`remote_group` in a Dask worker under glibc's dynamic heap thresholds
    (:func:`verify.dask_worker.dynamic_heap_thresholds`): its checks allocate and free mpmath and numpy
    temporaries at the pace of a flow."""
    from .dask_worker import dynamic_heap_thresholds

    with dynamic_heap_thresholds():
        return remote_group(case, pids, dps, certify)


def _run_on_dask(scheduler: str, dps: int, bar, done: dict) -> list:
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
    futures = {}
    try:
        futures = {client.submit(run_group_on_worker, case, [p.id for p in props], dps, _CERTIFY, pure=False): k
                   for k, (case, props) in enumerate(_GROUPS)}
        for fut in dask_completed(list(futures)):
            done[futures[fut]] = fut.result()
            bar.update(len(done[futures[fut]]))
    except KeyboardInterrupt:
        client.cancel([f for f, k in futures.items() if k not in done])
        raise
    finally:
        client.close()


def run_jobs(jobs, dps: int, workers: int | None = None, progress: bool = True, scheduler: str | None = None,
             certify: bool = False):
    """Run ``(proposition, case)`` jobs on local processes, or on an existing Dask cluster (``scheduler``);
    returns ``(verdicts, skips, observations, seconds per proposition)``.

    ``workers`` is capped at the number of case groups and of CPUs. Ctrl-C cancels the queued groups,
    terminates the workers at once and raises :class:`Interrupted` carrying the groups that finished."""
    from tqdm import tqdm

    global _GROUPS, _CERTIFY
    _GROUPS = _group(jobs)
    _CERTIFY = certify
    workers = worker_count(workers, len(_GROUPS))
    bar = tqdm(total=len(jobs), desc="checking", unit="check", disable=not progress, file=sys.stderr, leave=False)
    done: dict[int, list] = {}
    try:
        if scheduler:
            _run_on_dask(scheduler, dps, bar, done)
        elif workers <= 1:
            for k in range(len(_GROUPS)):
                done[k] = _run_group(k, dps)
                bar.update(len(done[k]))
        else:
            _run_on_pool(workers, dps, bar, done)
    except KeyboardInterrupt:
        bar.close()
        unfinished = [(prop, case) for k, (case, props) in enumerate(_GROUPS) if k not in done for prop in props]
        raise Interrupted(_collect([r for k in sorted(done) for r in done[k]]), unfinished, len(jobs)) from None
    bar.close()
    return _collect([r for k in sorted(done) for r in done[k]])


def _run_on_pool(workers: int, dps: int, bar, done: dict) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=ignore_sigint)
    futures: dict = {}
    try:
        for k in range(len(_GROUPS)):
            futures[pool.submit(_run_group, k, dps)] = k
        for fut in as_completed(futures):
            done[futures[fut]] = fut.result()
            bar.update(len(done[futures[fut]]))
    except BaseException:
        # keep the groups that finished while the interrupt was raised, then stop the rest at once
        for fut, k in futures.items():
            if k not in done and fut.done() and not fut.cancelled() and fut.exception() is None:
                done[k] = fut.result()
        stop_pool(pool)
        raise
    pool.shutdown()


def _collect(results):
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


#: seconds of one CPU per case group (set-up, fixed points, closed forms from the cache) and per unit of
#: ``checks * 2^N * (P + D)^2`` beyond it, measured at 50 digits on this 2-core machine (`run --n 2,3,4,5`: 696 CPU-s)
GROUP_SECONDS = 0.5
UNIT_SECONDS = 6e-6


def _size(case) -> tuple[int, int]:
    """``(N, P)`` of a case (a target-only case counts the ``2(2^N - 1)`` parameters of its constructions)."""
    if case.model is not None:
        return case.model.n, case.model.P
    if case.target is not None:
        return case.target.n, 2 * (2**case.target.n - 1)
    return case.n, 0


def estimate_seconds(jobs, dps: int) -> float:
    """A rough estimate of the CPU seconds ``run_jobs`` will take (the scaling is what matters: 2^N and P^2)."""
    from .sweep import estimate_case_seconds

    groups: dict[str, list] = {}
    cases = {}
    for prop, case in jobs:
        groups.setdefault(case.name, []).append(prop)
        cases[case.name] = case
    digits = max(1.0, dps / DEFAULT_DPS) ** 0.5
    total = 0.0
    for name, props in groups.items():
        case = cases[name]
        if "sweep" in (case.meta or {}):
            total += estimate_case_seconds(case.meta["sweep"])
            continue
        n, P = _size(case)
        total += (GROUP_SECONDS + UNIT_SECONDS * len(props) * 2**n * (P + 2**n - 1) ** 2) * digits
    return total
