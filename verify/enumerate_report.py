r"""The accounting and the words of :mod:`verify.enumerate_store`: the tally of the boxes (exact volumes per class),
the certified zeros listed once, the manifold boxes grouped into components, the JSON result and its statement.
"""

from __future__ import annotations

from fractions import Fraction

from .box import Box, box_volume

__all__ = ["Tally", "result_document", "statement", "manifold_components", "FINAL"]

FINAL = ("excluded", "consistent", "isolated", "manifold", "undecided")


def _same_root(a: dict, b: dict) -> bool:
    """Two certified zeros are the same when one's enclosure lies in the other's inflated box (unique there)."""
    def inside(enc, box):
        return all(Fraction(box["lo"][i]) <= Fraction(enc["lo"][i]) and Fraction(enc["hi"][i]) <= Fraction(box["hi"][i])
                   for i in range(len(enc["lo"])))
    return inside(a["enclosure"], b["inflated"]) or inside(b["enclosure"], a["inflated"])


class Tally:
    """Counts, exact volumes per class, the zeros (each once), the manifold boxes, the undecided hull."""

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


def result_document(tally: Tally, start: Box, dps: int, min_width: Fraction, processed: int, resumed: int, unprocessed: int,
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
