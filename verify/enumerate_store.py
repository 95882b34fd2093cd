r"""The driver of :mod:`verify.enumerate`: the box queue, its JSON-lines store (resumable), the statistics and the statement.

The store holds one header line (the case, the box, the precision and the minimum width) and one line per
processed box (its bounds, class, reason, children and zero). On a rerun with the same store the pending boxes are
the initial box and every child not yet processed; a torn last line (an interrupted write) is ignored.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from fractions import Fraction

from theory.errors import SpecError

from .box import Box
from .enumerate import BoxSystem, process_box
from .enumerate_report import Tally, result_document, statement

__all__ = ["enumerate_fixed_points", "statement", "initial_box"]


def initial_box(P: int, lo, hi) -> Box:
    """``[lo, hi]^P`` for numbers, or the product of ``[lo_k, hi_k]`` for sequences of ``P`` numbers."""
    lo = tuple(Fraction(v) for v in lo) if isinstance(lo, (tuple, list)) else (Fraction(lo),) * P
    hi = tuple(Fraction(v) for v in hi) if isinstance(hi, (tuple, list)) else (Fraction(hi),) * P
    if len(lo) != P or len(hi) != P:
        raise SpecError(f"the box needs {P} lower and upper bounds, got {len(lo)} and {len(hi)}")
    if not all(a < b for a, b in zip(lo, hi)):
        raise SpecError("the box must have lo < hi in every parameter")
    return Box("0", lo, hi)


def _header(case_json: dict, box: Box, dps: int, min_width: Fraction) -> dict:
    return {"kind": "header", "version": 1, "case": case_json, "box": box.to_json(), "dps": dps,
            "min_width": str(min_width)}


def _read_store(path: str, header: dict) -> list[dict]:
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if k == len(lines) - 1 or all(not t.strip() for t in lines[k + 1 :]):
                break  # torn last line of an interrupted run
            raise SpecError(f"--store {path}: line {k + 1} is not JSON; give a new store file") from None
        records.append(rec)
    if not records or records[0].get("kind") != "header":
        raise SpecError(f"--store {path} is not an enumeration store (no header line); give a new store file")
    if records[0] != header:
        raise SpecError(f"--store {path} belongs to another enumeration (case, box, --dps or --min-width differ); "
                        "give a new store file")
    return records[1:]


def _drop_torn_line(path: str) -> None:
    """Cut a store back to its last complete line (an interrupted write leaves a partial one)."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def enumerate_fixed_points(model, target, lo, hi, dps: int = 30, min_width: Fraction | None = None,
                           max_boxes: int = 100_000, store: str | None = None, case_json: dict | None = None,
                           progress: bool = False, system: BoxSystem | None = None,
                           max_seconds: float | None = None, jobs: int = 1) -> dict:
    r"""Branch and bound over :math:`[lo, hi]^P`: every box excluded, consistent, isolated or undecided (JSON-ready dict)."""
    P = model.P
    start = initial_box(P, lo, hi)
    if min_width is None:
        min_width = start.width / 64
    if min_width <= 0:
        raise SpecError(f"--min-width must be positive, got {min_width}")
    header = _header(case_json or {}, start, dps, min_width)
    records = _read_store(store, header) if store else []
    system = system or BoxSystem(model, target, dps)
    tally = Tally(start)
    done: set[str] = set()
    created: dict[str, Box] = {start.id: start}
    order = [start.id]
    for rec in records:
        box = Box.from_json(rec["box"])
        done.add(box.id)
        tally.add(box, rec["class"], rec["reason"], rec.get("root"), Fraction(rec.get("removed", "0")),
                  rec.get("exists", False), rec.get("manifold"))
        for found in (rec.get("root"), rec.get("seed")):
            if found is not None:
                system.add_known_root(found)
        for ch in rec.get("children", []):
            child = Box.from_json(ch)
            created[child.id] = child
            order.append(child.id)
    queue = deque(created[i] for i in order if i not in done)
    resumed = len(done)
    out_fh = None
    if store:
        fresh = not records
        if not fresh:
            _drop_torn_line(store)
        out_fh = open(store, "a" if not fresh else "w", encoding="utf-8")
        if fresh:
            out_fh.write(json.dumps(header) + "\n")
            out_fh.flush()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="boxes", unit="box", file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    processed = 0
    try:
        with system:
            def more() -> bool:
                return max_seconds is None or time.perf_counter() - t0 < max_seconds

            for box, result in _outcomes(system, queue, min_width, jobs, max_boxes, more):
                processed += 1
                tally.add(box, result.cls, result.reason, result.root, result.removed, result.exists, result.manifold)
                for found in (result.root, result.seed):
                    if found is not None and not any(r is found for _, _, r in system.known_roots):
                        system.add_known_root(found)
                queue.extend(result.children)
                if out_fh:
                    rec = {"kind": "box", "box": box.to_json(), "class": result.cls, "reason": result.reason,
                           "children": [ch.to_json() for ch in result.children], "removed": str(result.removed)}
                    if result.root is not None:
                        rec["root"] = result.root
                    if result.exists:
                        rec["exists"] = True
                    if result.manifold is not None:
                        rec["manifold"] = result.manifold
                    if result.seed is not None:
                        rec["seed"] = result.seed
                    out_fh.write(json.dumps(rec) + "\n")
                    out_fh.flush()
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(queue=len(queue), isolated=len(tally.roots), undecided=tally.counts["undecided"],
                                    refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if out_fh:
            out_fh.close()
    seconds = time.perf_counter() - t0
    unprocessed = list(queue)
    for box in unprocessed:  # never dropped: counted as undecided, and said so
        tally.add(box, "undecided", "not processed (budget of boxes or time reached)", None, Fraction(0))
    return result_document(tally, start, dps, min_width, processed, resumed, len(unprocessed), seconds)


_WORKER: BoxSystem | None = None  # the system a forked worker inherits


def _work(task):
    box, roots, min_width = task
    system = _WORKER
    system.known_roots = []
    for root in roots:
        system.add_known_root(root)
    return box, process_box(system, box, min_width)


def _outcomes(system: BoxSystem, queue: deque, min_width: Fraction, jobs: int, max_boxes: int, more):
    """``(box, outcome)`` pairs while the queue lasts and the budget allows: in this process, or with ``jobs > 1``
    in forked workers (each inherits the system; the certified zeros found so far travel with every box)."""
    if jobs <= 1:
        taken = 0
        while queue and taken < max_boxes and more():
            box = queue.popleft()
            taken += 1
            yield box, process_box(system, box, min_width)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    global _WORKER
    _WORKER = system
    submitted = 0
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            running: set = set()
            while True:
                while queue and len(running) < 2 * jobs and submitted < max_boxes and more():
                    roots = [root for _, _, root in system.known_roots]
                    running.add(pool.submit(_work, (queue.popleft(), roots, min_width)))
                    submitted += 1
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
    finally:
        _WORKER = None
