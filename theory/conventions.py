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

import re
import reprlib
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
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
    "canonical_masks",
    "subset_index",
    "parse_subset",
    "format_subset",
    "latex_subset",
    "order_of",
    "orders",
    "MAX_MAGNITUDE_EXPONENT",
    "MIN_MAGNITUDE_EXPONENT",
    "MAX_DIGITS",
    "JsonLiteral",
    "parse_number",
    "show_value",
    "short_number",
    "parse_subset_keys",
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
        raise SpecError(f"n must be a positive integer, got {show_value(n)}")
    if n > MAX_N:
        raise SpecError(
            f"n = {show_value(n)} is too large: the suite enumerates all 2^n configurations and refuses n > {MAX_N}"
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


_INDEX = re.compile(r"^\s*[0-9]{1,3}\s*$")


def parse_subset(text: str, n: int) -> Subset:
    """Parse ``"1,3"`` into ``(1, 3)``; ``""`` is the empty set. Refuses unknown or repeated indices."""
    if not isinstance(text, str):
        raise SpecError(f"a subset must be written as a string like \"1,3\", got {show_value(text)}")
    body = text.strip()
    if body == "":
        return ()
    parts = body.split(",")
    if len(body) > 200 or not all(_INDEX.match(part) for part in parts):
        raise SpecError(
            f"unknown subset {show_value(text)}: write spin indices 1..{n} separated by commas, e.g. \"1,3\""
        )
    idx = [int(part) for part in parts]
    if any(i < 1 or i > n for i in idx):
        raise SpecError(f"unknown subset {show_value(text)}: spin indices must lie in 1..{n}")
    if len(set(idx)) != len(idx):
        raise SpecError(f"unknown subset {show_value(text)}: an index is repeated")
    return tuple(sorted(idx))


def parse_subset_keys(values: dict, n: int, where: str, problems: list) -> list[tuple[Subset, str, object]]:
    """The entries ``(A, key, value)`` of an object keyed by subsets (``{"1,2": value}``).

    Unknown subsets, and two keys naming the same subset (``"1,2"`` and ``"2,1"``), are appended to
    ``problems`` as one-line messages starting with ``where``; such entries are left out.
    """
    out, seen = [], {}
    for key, value in values.items():
        try:
            A = parse_subset(key, n)
        except SpecError as err:
            problems.append(f"{where}: {err}")
            continue
        if A in seen:
            problems.append(
                f"{where}: the keys {show_value(seen[A])} and {show_value(key)} name the same subset "
                f"{{{format_subset(A)}}}; give it once"
            )
            continue
        seen[A] = key
        out.append((A, key, value))
    return out


# --- numbers in case files and energies ------------------------------------------------------------

#: Largest magnitude of a number in a case file or an energy: ``|x| <= 10**300`` (so that every
#: number system, float64 included, can hold it).
MAX_MAGNITUDE_EXPONENT = 300
#: Smallest magnitude of a non-zero number: ``|x| >= 10**-1000``.
MIN_MAGNITUDE_EXPONENT = -1000
#: Most significant digits of a decimal, and most digits of each part of a fraction ``"p/q"``.
MAX_DIGITS = 1000

_DECIMAL = re.compile(r"^[+-]?(?P<mantissa>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?(?P<exponent>[0-9]+))?$")
_RATIO = re.compile(r"^[+-]?[0-9]+/[0-9]+$")


class JsonLiteral:
    """A JSON token that is not an ordinary number: ``Infinity``, ``-Infinity``, ``NaN``, or an integer
    too long to convert (the case-file loader makes these instead of converting them)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else f"{self.text[:20]}...({len(self.text)} characters)"


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 3, 4, 4, 60, 60
_SHORT.maxlong = 60


def show_value(value, limit: int = 60) -> str:
    """A short rendering of a value for an error message: never the whole of a huge or deeply nested
    input, and never more than about ``limit`` characters."""
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, JsonLiteral):
        text = repr(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        text = f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    else:
        try:
            text = _SHORT.repr(value)
        except (RecursionError, ValueError):
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[: limit - 25]}...({len(text)} characters)"


def short_number(q: Fraction) -> str:
    """An exact number as written (``1/1000``) when short, else to 6 significant digits (``3.33333E-1001``)."""
    text = str(q)
    if len(text) <= 40:
        return text
    with localcontext() as ctx:
        ctx.prec = 6
        return str(Decimal(q.numerator) / Decimal(q.denominator))


def _too_big(where: str, shown: str) -> SpecError:
    return SpecError(
        f"{where}: {shown} is out of range: a number must have |x| <= 1e{MAX_MAGNITUDE_EXPONENT} "
        f"and, if not zero, |x| >= 1e{MIN_MAGNITUDE_EXPONENT}"
    )


def _check_magnitude(q: Fraction, where: str, shown: str) -> Fraction:
    if q == 0:
        return q
    a = abs(q)
    if a > 10**MAX_MAGNITUDE_EXPONENT or a < Fraction(1, 10**-MIN_MAGNITUDE_EXPONENT):
        raise _too_big(where, shown)
    return q


def _from_decimal(d: Decimal, where: str, shown: str) -> Fraction:
    if not d.is_finite():
        raise SpecError(f"{where}: expected a finite number, got {shown}")
    if d.is_zero():
        return Fraction(0)
    digits = "".join(map(str, d.as_tuple().digits)).strip("0")
    if len(digits) > MAX_DIGITS:
        raise SpecError(f"{where}: {shown} has {len(digits)} significant digits; at most {MAX_DIGITS} are allowed")
    if not MIN_MAGNITUDE_EXPONENT - 1 <= d.adjusted() <= MAX_MAGNITUDE_EXPONENT:
        raise _too_big(where, shown)
    return _check_magnitude(Fraction(d), where, shown)


def parse_number(value, where: str) -> Fraction:
    """The exact value of a number of a case file, or a one-line :class:`SpecError` naming ``where``.

    Accepted: integers, finite floats, :class:`~decimal.Decimal` (JSON numbers are read as decimals),
    :class:`~fractions.Fraction`, and strings holding a decimal (``"0.1"``, ``"-2.5e-3"``) or a
    fraction (``"1/3"``). Refused: booleans, ``Infinity``/``NaN`` in any spelling, other types, and
    numbers out of range (:data:`MAX_MAGNITUDE_EXPONENT`, :data:`MIN_MAGNITUDE_EXPONENT`,
    :data:`MAX_DIGITS`). Sizes are checked before any conversion, so no input can make it hang.
    """
    shown = show_value(value)
    if isinstance(value, Fraction):
        if max(abs(value.numerator).bit_length(), value.denominator.bit_length()) > 4 * MAX_DIGITS:
            raise SpecError(f"{where}: {shown} has more than {MAX_DIGITS} digits")
        return _check_magnitude(value, where, shown)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str, JsonLiteral)):
        raise SpecError(f"{where}: expected a finite number, got {shown}")
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_DIGITS:
            raise _too_big(where, shown)
        return _check_magnitude(Fraction(value), where, shown)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SpecError(f"{where}: expected a finite number, got {shown}")
        return _check_magnitude(Fraction(value), where, shown)
    if isinstance(value, Decimal):
        return _from_decimal(value, where, shown)
    if isinstance(value, JsonLiteral):
        if value.text.lstrip("+-").isdigit():
            raise SpecError(f"{where}: {shown} has {len(value.text)} digits; at most {MAX_DIGITS} are allowed")
        raise SpecError(f"{where}: expected a finite number, got {shown}")
    text = value.strip()
    if len(text) > 2 * MAX_DIGITS + 20:
        raise SpecError(f"{where}: {shown} is too long for a number (at most {MAX_DIGITS} digits)")
    if _RATIO.match(text):
        p, q = text.lstrip("+-").split("/")
        if len(p) > MAX_DIGITS or len(q) > MAX_DIGITS:
            raise SpecError(f"{where}: {shown} has more than {MAX_DIGITS} digits in its numerator or denominator")
        if int(q) == 0:
            raise SpecError(f"{where}: {shown} divides by zero")
        return _check_magnitude(Fraction(text), where, shown)
    match = _DECIMAL.match(text)
    if not match:
        raise SpecError(f"{where}: expected a finite number (such as 0.1 or \"1/3\"), got {shown}")
    if not match["mantissa"].strip(".0"):
        return Fraction(0)
    if match["exponent"] and len(match["exponent"].lstrip("0")) > 9:
        raise _too_big(where, shown)
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise SpecError(f"{where}: expected a finite number, got {shown}") from None
    return _from_decimal(d, where, shown)


def format_subset(A: Subset) -> str:
    """Write ``(1, 3)`` as ``"1,3"`` (the empty set is ``""``)."""
    return ",".join(str(i) for i in A)


def latex_subset(A: Subset) -> str:
    """The subset as a LaTeX index: ``(1, 2)`` is ``12``, with commas once an index has two digits (``1,10``)."""
    return "".join(map(str, A)) if all(i < 10 for i in A) else format_subset(A)
