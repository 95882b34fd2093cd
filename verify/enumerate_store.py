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

from .box import Box, box_volume
from .enumerate import BoxSystem, process_box

__all__ = ["enumerate_fixed_points", "statement", "initial_box"]

FINAL = ("excluded", "consistent", "isolated", "manifold", "undecided")


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


def _same_root(a: dict, b: dict) -> bool:
    """Two certified zeros are the same when one's enclosure lies in the other's inflated box (unique there)."""
    def inside(enc, box):
        return all(Fraction(box["lo"][i]) <= Fraction(enc["lo"][i]) and Fraction(enc["hi"][i]) <= Fraction(box["hi"][i])
                   for i in range(len(enc["lo"])))
    return inside(a["enclosure"], b["inflated"]) or inside(b["enclosure"], a["inflated"])


class _Tally:
    def __init__(self, start: Box):
        P = len(start.lo)
        self.start = start
        self.total = box_volume(start)
        self.counts = {k: 0 for k in FINAL} | {"contracted": 0, "split": 0, "reduced": 0}
        self.volume = {k: Fraction(0) for k in FINAL}
        self.roots: list[dict] = []
        self.duplicates = 0
        self.with_consistent_point = 0
        self.undecided_lo = [None] * P
        self.undecided_hi = [None] * P
        self.reasons: dict[str, int] = {}
        self.manifolds: list[tuple[Box, dict]] = []

    def add(self, box: Box, cls: str, reason: str, root: dict | None, removed: Fraction, exists: bool = False,
            manifold: dict | None = None):
        self.counts[cls] += 1
        if manifold is not None:
            self.manifolds.append((box, manifold))
        self.with_consistent_point += bool(exists)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        self.volume["excluded"] += removed
        if cls in FINAL:
            self.volume[cls] += box_volume(box)
        if cls == "undecided":
            for i, (a, b) in enumerate(zip(box.lo, box.hi)):
                self.undecided_lo[i] = a if self.undecided_lo[i] is None else min(a, self.undecided_lo[i])
                self.undecided_hi[i] = b if self.undecided_hi[i] is None else max(b, self.undecided_hi[i])
        if root is not None:
            enc = root["enclosure"]
            root["in_box"] = all(self.start.lo[i] <= Fraction(enc["lo"][i]) and Fraction(enc["hi"][i]) <= self.start.hi[i]
                                 for i in range(len(enc["lo"])))
            if any(_same_root(root, other) for other in self.roots):
                self.duplicates += 1
            else:
                self.roots.append(root)


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
    tally = _Tally(start)
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
    return _result(tally, start, dps, min_width, processed, resumed, len(unprocessed), seconds)


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


def _result(tally: _Tally, start: Box, dps: int, min_width: Fraction, processed: int, resumed: int, unprocessed: int,
            seconds: float) -> dict:
    total = tally.total
    fractions = {k: float(v / total) for k, v in tally.volume.items()}
    accounted = sum(tally.volume.values())
    hull = None
    if tally.counts["undecided"]:
        hull = {"lo": [float(v) for v in tally.undecided_lo], "hi": [float(v) for v in tally.undecided_hi]}
    out = {
        "box": {"lo": [str(v) for v in start.lo], "hi": [str(v) for v in start.hi]},
        "dps": dps, "min_width": str(min_width),
        "counts": tally.counts,
        "volume_fraction": fractions,
        "volume_accounted": accounted == total,
        "undecided_volume_fraction": fractions["undecided"],
        "undecided_hull": hull,
        "isolated_points": tally.roots,
        "manifolds": manifold_components(tally.manifolds),
        "consistent_boxes_with_a_proved_data_consistent_point": tally.with_consistent_point,
        "duplicate_certificates": tally.duplicates,
        "reasons": tally.reasons,
        "boxes_processed": processed, "boxes_resumed": resumed, "boxes_unprocessed": unprocessed,
        "seconds": round(seconds, 3),
        "boxes_per_second": round(processed / seconds, 1) if seconds > 0 else None,
        "complete": tally.counts["undecided"] == 0,
    }
    out["statement"] = statement(out, start)
    return out


def _touch(a: Box, b: Box) -> bool:
    return all(a.lo[i] <= b.hi[i] and b.lo[i] <= a.hi[i] for i in range(len(a.lo)))


def manifold_components(manifolds: list[tuple[Box, dict]]) -> list[dict]:
    r"""The manifold boxes grouped into components: union-find over boxes that touch or overlap (closed boxes meet)
    and share dimension, kind, proof status, inertia and lowest inconsistent order. Each component is reported once:
    its dimension, kind, nature, certified counts, the free coordinates its boxes used, its box count and hull."""
    keys = ("dimension", "kind", "fixed_points", "nature", "negative", "positive", "lowest_inconsistent_order")
    groups: dict[tuple, list[int]] = {}
    for i, (_, facts) in enumerate(manifolds):
        groups.setdefault(tuple(facts[k] for k in keys), []).append(i)
    parent = list(range(len(manifolds)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in groups.values():
        members = sorted(members, key=lambda i: manifolds[i][0].lo[0])
        for a, i in enumerate(members):
            bi = manifolds[i][0]
            for j in members[a + 1 :]:
                bj = manifolds[j][0]
                if bj.lo[0] > bi.hi[0]:
                    break
                if _touch(bi, bj):
                    parent[find(i)] = find(j)
    comps: dict[int, dict] = {}
    for i, (box, facts) in enumerate(manifolds):
        c = comps.setdefault(find(i), {**{k: facts[k] for k in keys}, "zero": facts.get("zero"),
                                       "proof": facts.get("proof"), "free": set(), "boxes": 0,
                                       "hull": {"lo": list(box.lo), "hi": list(box.hi)}, "point": facts.get("point")})
        c["free"].add(", ".join(facts["free"]))
        c["boxes"] += 1
        if c["point"] is None or (facts.get("exists") and not c.get("boxes_with_a_proved_point")):
            c["point"] = facts.get("point")
        c["boxes_with_a_proved_point"] = c.get("boxes_with_a_proved_point", 0) + bool(facts.get("exists"))
        c["hull"]["lo"] = [min(a, b) for a, b in zip(c["hull"]["lo"], box.lo)]
        c["hull"]["hi"] = [max(a, b) for a, b in zip(c["hull"]["hi"], box.hi)]
    out = []
    for c in comps.values():
        c["free"] = sorted(c["free"])
        c["hull"] = {"lo": [float(v) for v in c["hull"]["lo"]], "hi": [float(v) for v in c["hull"]["hi"]]}
        out.append(c)
    return sorted(out, key=lambda c: (c["dimension"], str(c["kind"]), str(c["lowest_inconsistent_order"]), c["hull"]["lo"]))


def _manifold_parts(components: list[dict]) -> list[str]:
    """The components in words, grouped by what they share (their count first)."""
    groups: dict[tuple, list[dict]] = {}
    for c in components:
        groups.setdefault((c["dimension"], c["kind"], c["fixed_points"], c["nature"], c["lowest_inconsistent_order"]),
                          []).append(c)
    parts = []
    for (d, kind, fixed, nature, order), members in groups.items():
        count = sum(1 for c in members if c["boxes_with_a_proved_point"])
        free = sorted({f for c in members for f in c["free"]})
        detail = nature + (f", inconsistent at order {order}" if order is not None else "")
        detail += f"; free coordinate{'s' if len(free) > 1 or ',' in free[0] else ''} {'; '.join(free)}"
        if fixed and len(members) > count:
            rest = len(members) - count
            detail += (f"; {rest} more group{'s' if rest > 1 else ''} of boxes where any fixed point would lie on such "
                       "a manifold, none proved there")
        if fixed and not count:
            parts.append(f"no fixed point proved in {len(members)} group{'s' if len(members) > 1 else ''} of boxes "
                         f"where any would lie on a {d}-dimensional manifold of {kind} fixed points ({detail})")
        elif fixed:
            what = "spurious fixed points" if kind == "spurious" else "fixed points of undetermined kind"
            noun = "manifold" if count == 1 else "manifolds"
            parts.append(f"{count} {d}-dimensional {noun} of {what} ({detail})")
        else:
            n = len(members)
            parts.append(f"{n} group{'s' if n > 1 else ''} of boxes where every fixed point lies on a "
                         f"{d}-dimensional graph, not proved to be fixed points ({kind}; {detail})")
    return parts


def _box_text(start: Box) -> str:
    P = len(start.lo)
    if len(set(start.lo)) == 1 and len(set(start.hi)) == 1:
        return f"[{_num(start.lo[0])}, {_num(start.hi[0])}]^{P}"
    return " × ".join(f"[{_num(a)}, {_num(b)}]" for a, b in zip(start.lo, start.hi))


def _num(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{float(q):g}"


def statement(result: dict, start: Box) -> str:
    """The result in words: the isolated points by kind and nature, the data-consistent set, what is left undecided."""
    groups: dict[tuple, int] = {}
    for root in result["isolated_points"]:
        order = root["lowest_inconsistent_order"]
        key = (root["kind"], root["nature"], order)
        groups[key] = groups.get(key, 0) + 1
    parts = []
    for (kind, nature, order), count in sorted(groups.items(), key=lambda kv: str(kv[0])):
        detail = nature + (f", inconsistent at order {order}" if order is not None else "")
        kind_text = kind if kind != "undetermined" else "fixed point of undetermined kind"
        noun = "point" if count == 1 else "points"
        parts.append(f"{count} isolated {kind_text} {noun} ({detail})" if kind != "undetermined"
                     else f"{count} isolated {kind_text} ({detail})")
    parts += _manifold_parts(result.get("manifolds", []))
    edge = sum(1 for root in result["isolated_points"] if not root.get("in_box", True))
    if edge:
        parts.append(f"({edge} of these enclosed within a hair of the box's boundary: possibly just outside it)")
    consistent = result["counts"]["consistent"]
    if consistent:
        proved = result["consistent_boxes_with_a_proved_data_consistent_point"]
        parts.append(f"fixed points only data-consistent in {consistent} boxes where G has full row rank "
                     f"({100 * result['volume_fraction']['consistent']:.3g} % of the volume; a data-consistent point "
                     f"proved to exist in {proved} of them)")
    undecided = result["counts"]["undecided"]
    if not parts:
        parts.append("no fixed point")
    text = f"in {_box_text(start)}: " + ", ".join(parts)
    pct = 100 * result["undecided_volume_fraction"]
    if undecided == 0:
        return text + ", and nothing else; 0 % of the volume undecided"
    unproc = result["boxes_unprocessed"]
    extra = f", {unproc} of them not processed (budget reached)" if unproc else ""
    return text + f"; elsewhere undecided: {undecided} boxes{extra}, {pct:.3g} % of the volume"


#: the largest models the enumeration accepts (each box costs O(4^N P^2) ball operations)
MAX_N, MAX_P = 6, 24


def parse_box(text: str) -> tuple[Fraction, Fraction]:
    """``"R"`` is ``[-R, R]``; ``"LO,HI"`` is ``[LO, HI]`` (the same interval for every parameter)."""
    parts = [t.strip() for t in str(text).split(",")]
    if len(parts) not in (1, 2) or not all(parts):
        raise SpecError(f"--box must be R (for [-R, R]) or LO,HI, got {text!r}")
    values = [_exact(t, "--box") for t in parts]
    lo, hi = (-values[0], values[0]) if len(values) == 1 else tuple(values)
    if not lo < hi:
        raise SpecError(f"--box must have LO < HI (R > 0), got {text!r}")
    if max(abs(lo), abs(hi)) > 1000:
        raise SpecError(f"--box bounds must lie in [-1000, 1000], got {text!r}")
    return lo, hi


def _exact(text: str, flag: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{flag} expects numbers, got {text!r}") from None
    return value


def enumerate_document(case_file: str, box: str, dps: int, min_width: str | None, max_boxes: int,
                       store: str | None, progress: bool, jobs: int = 1) -> dict:
    """The ``enumerate`` verb: load the case, check the options, run :func:`enumerate_fixed_points`."""
    from .cases import load_case

    lo, hi = parse_box(box)
    width = None
    if min_width is not None:
        width = _exact(min_width, "--min-width")
        if not 0 < width <= hi - lo:
            raise SpecError(f"--min-width must lie in (0, {hi - lo}], got {min_width!r}")
    if max_boxes < 1:
        raise SpecError(f"--max-boxes must be at least 1, got {max_boxes}")
    case = load_case(case_file)
    case.require("model", "target")
    model = case.model
    if model.n > MAX_N or model.P > MAX_P:
        raise SpecError(f"enumerate handles N <= {MAX_N} spins and P <= {MAX_P} parameters; the case has N = {model.n}, "
                        f"P = {model.P}")
    spec = case.to_json()
    spec.pop("params", None)
    return enumerate_fixed_points(model, case.target, lo, hi, dps, width, max_boxes, store, spec, progress, jobs=jobs)
