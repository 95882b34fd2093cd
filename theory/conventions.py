r"""Conventions of THEORY.md §1: the single source of truth.

* ``N`` spins :math:`s_i \in \{-1,+1\}`, configuration index :math:`x \in [0, 2^N)`,
  :math:`s_i = 1 - 2\,\mathrm{bit}_{i-1}(x)` (bit 0 of ``x`` is spin 1, ``x = 0`` is all ``+1``).
* A subset :math:`A \subseteq \{1..N\}` is a sorted tuple of 1-based indices, written ``"1,3"``
  in JSON and on the command line (``""`` is the empty set).
* Subsets are ordered by order :math:`|A|`, then lexicographically: ``1, 2, …, N, 12, 13, …``.
* The *mask* of ``A`` has bit ``i-1`` set for every ``i`` in ``A``; then
  :math:`\chi_A(s(x)) = (-1)^{\mathrm{popcount}(x \,\&\, \mathrm{mask}_A)}`, so the Walsh–Hadamard
  transform indexed by masks is the character sum.
* Boolean gauge: :math:`v_i = (1+s_i)/2`, so :math:`v_i = 1 \iff s_i = +1 \iff` bit ``i-1`` is 0.

>>> spin_table(2).tolist()
[[1, 1], [-1, 1], [1, -1], [-1, -1]]
>>> [format_subset(A) for A in subsets(3)]
['1', '2', '3', '1,2', '1,3', '2,3', '1,2,3']
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from .errors import SpecError

__all__ = [
    "MAX_N",
    "Subset",
    "spin",
    "spin_table",
    "subsets",
    "subset_mask",
    "mask_subset",
    "canonical_masks",
    "subset_index",
    "parse_subset",
    "format_subset",
    "latex_subset",
    "symmetric_difference",
    "order_of",
    "orders",
]

#: Largest number of spins the suite enumerates (2^20 configurations).
MAX_N = 20

Subset = tuple[int, ...]


def spin(x: int, i: int) -> int:
    r"""Spin :math:`s_i = 1 - 2\,\mathrm{bit}_{i-1}(x)` of configuration ``x`` (``i`` is 1-based)."""
    return 1 - 2 * ((x >> (i - 1)) & 1)


@lru_cache(maxsize=None)
def _spin_table(n: int) -> np.ndarray:
    x = np.arange(2**n)[:, None]
    bits = (x >> np.arange(n)[None, :]) & 1
    table = (1 - 2 * bits).astype(np.int64)
    table.setflags(write=False)
    return table


def spin_table(n: int) -> np.ndarray:
    """All ``2^n`` configurations as rows of spins (row ``x`` is configuration ``x``); read-only."""
    check_n(n)
    return _spin_table(n)


def check_n(n: int) -> None:
    """Refuse a number of spins outside ``1..MAX_N`` with a one-line message."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SpecError(f"n must be a positive integer, got {n!r}")
    if n > MAX_N:
        raise SpecError(
            f"n = {n} is too large: the suite enumerates all 2^n configurations and refuses n > {MAX_N}"
        )


@lru_cache(maxsize=None)
def _subsets(n: int, max_order: int, include_empty: bool) -> tuple[Subset, ...]:
    out: list[Subset] = [()] if include_empty else []
    for k in range(1, max_order + 1):
        out.extend(combinations(range(1, n + 1), k))
    return tuple(out)


def subsets(n: int, max_order: int | None = None, include_empty: bool = False) -> tuple[Subset, ...]:
    """Nonempty subsets of ``{1..n}`` of order ``<= max_order`` in canonical order."""
    check_n(n)
    k = n if max_order is None else max_order
    if not 0 <= k <= n:
        raise SpecError(f"max order must be between 1 and n = {n}, got {k}")
    return _subsets(n, k, include_empty)


def subset_mask(A: Subset) -> int:
    """Bit mask of ``A`` (bit ``i-1`` set for ``i`` in ``A``)."""
    m = 0
    for i in A:
        m |= 1 << (i - 1)
    return m


def mask_subset(mask: int) -> Subset:
    """Inverse of :func:`subset_mask`."""
    out = []
    i = 1
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return tuple(out)


@lru_cache(maxsize=None)
def _canonical_masks(n: int) -> np.ndarray:
    masks = np.array([subset_mask(A) for A in subsets(n)], dtype=np.int64)
    masks.setflags(write=False)
    return masks


def canonical_masks(n: int) -> np.ndarray:
    """Masks of the ``D = 2^n - 1`` nonempty subsets in canonical order (an index array).

    ``values_by_mask[canonical_masks(n)]`` reorders a length-``2^n`` mask-indexed array into
    the canonical coupling order, dropping the empty set.
    """
    check_n(n)
    return _canonical_masks(n)


@lru_cache(maxsize=None)
def subset_index(n: int) -> dict[Subset, int]:
    """Position of each nonempty subset in the canonical order."""
    return {A: k for k, A in enumerate(subsets(n))}


def order_of(A: Subset) -> int:
    """Interaction order :math:`|A|`."""
    return len(A)


def orders(n: int) -> np.ndarray:
    """Order ``|A|`` of each nonempty subset, in canonical order."""
    return np.array([len(A) for A in subsets(n)], dtype=np.int64)


def parse_subset(text: str, n: int) -> Subset:
    """Parse ``"1,3"`` into ``(1, 3)``; ``""`` is the empty set. Refuses unknown or repeated indices."""
    if not isinstance(text, str):
        raise SpecError(f"a subset must be written as a string like \"1,3\", got {text!r}")
    body = text.strip()
    if body == "":
        return ()
    try:
        idx = [int(part) for part in body.split(",")]
    except ValueError:
        raise SpecError(f"unknown subset {text!r}: write spin indices 1..{n} separated by commas, e.g. \"1,3\"") from None
    if any(i < 1 or i > n for i in idx):
        raise SpecError(f"unknown subset {text!r}: spin indices must lie in 1..{n}")
    if len(set(idx)) != len(idx):
        raise SpecError(f"unknown subset {text!r}: an index is repeated")
    return tuple(sorted(idx))


def format_subset(A: Subset) -> str:
    """Write ``(1, 3)`` as ``"1,3"`` (the empty set is ``""``)."""
    return ",".join(str(i) for i in A)


def latex_subset(A: Subset) -> str:
    """The subset as a LaTeX index: ``(1, 2)`` is ``12``, with commas once an index has two digits (``1,10``)."""
    return "".join(map(str, A)) if all(i < 10 for i in A) else format_subset(A)


def symmetric_difference(A: Subset, B: Subset) -> Subset:
    r""":math:`A \triangle B`, so that :math:`\chi_A \chi_B = \chi_{A \triangle B}`."""
    return tuple(sorted(set(A) ^ set(B)))
