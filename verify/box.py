r"""The boxes of the enumeration (:mod:`verify.enumerate`): exact rational bounds, pinned coordinates, volumes.

A box is :math:`\prod_k [lo_k, hi_k]` with exact rationals. A coordinate with :math:`lo_k = hi_k` is *pinned*: a
reduction (:mod:`verify.enumerate_reduce`) proved that every fixed point of a parent box has that value there, and the
box stands for the parent's whole volume, its ``scale`` (the product of the pinned sides of the parent) times the
product of its free sides. So volumes still add up exactly to the starting box.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

import numpy as np

from .certify import _ball

__all__ = ["Box", "box_volume", "ball_fraction", "GRID_BITS"]

#: outward rounding grid of contracted bounds (bits): keeps the rationals short
GRID_BITS = 48


@dataclass(frozen=True)
class Box:
    """A closed box ``[lo, hi]`` (exact rationals), its identifier (its path in the bisection tree) and, for a box with
    pinned coordinates (``lo[k] == hi[k]``), the volume ``scale`` of the pinned sides it stands for."""

    id: str
    lo: tuple[Fraction, ...]
    hi: tuple[Fraction, ...]
    scale: Fraction = Fraction(1)

    @cached_property
    def mid(self) -> tuple[Fraction, ...]:
        return tuple((a + b) / 2 for a, b in zip(self.lo, self.hi))

    @cached_property
    def rad(self) -> tuple[Fraction, ...]:
        return tuple((b - a) / 2 for a, b in zip(self.lo, self.hi))

    @cached_property
    def free(self) -> list[int]:
        """The coordinates that are not pinned."""
        return [k for k, (a, b) in enumerate(zip(self.lo, self.hi)) if a != b]

    @property
    def pinned(self) -> bool:
        return len(self.free) < len(self.lo)

    @cached_property
    def width(self) -> Fraction:
        return max(b - a for a, b in zip(self.lo, self.hi))

    def to_json(self) -> dict:
        out = {"id": self.id, "lo": [str(v) for v in self.lo], "hi": [str(v) for v in self.hi]}
        if self.scale != 1:
            out["scale"] = str(self.scale)
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "Box":
        return cls(obj["id"], tuple(Fraction(v) for v in obj["lo"]), tuple(Fraction(v) for v in obj["hi"]),
                   Fraction(obj.get("scale", "1")))

    @cached_property
    def _balls(self) -> dict:
        return {}

    def __getstate__(self):  # the cached balls (Arb) do not pickle: workers get the bounds only
        return {"id": self.id, "lo": self.lo, "hi": self.hi, "scale": self.scale}

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def balls(self, inflate: Fraction = Fraction(0)):
        """The box (inflated by the relative ``inflate``; ``-1``: its midpoint) as Arb balls (a fresh array)."""
        if inflate not in self._balls:
            self._balls[inflate] = np.array([_ball(m, r * (1 + inflate)) for m, r in zip(self.mid, self.rad)],
                                            dtype=object)
        return self._balls[inflate].copy()

    def bisect(self, k: int | None = None) -> list["Box"]:
        """Halve along side ``k`` (default: the widest)."""
        if k is None:
            k = max(range(len(self.lo)), key=lambda i: self.hi[i] - self.lo[i])
        m = (self.lo[k] + self.hi[k]) / 2
        left = Box(self.id + ".0", self.lo, self.hi[:k] + (m,) + self.hi[k + 1 :], self.scale)
        right = Box(self.id + ".1", self.lo[:k] + (m,) + self.lo[k + 1 :], self.hi, self.scale)
        return [left, right]

    def pin(self, coords: list[int], values: list[Fraction]) -> "Box":
        """The box with ``coords`` pinned to ``values``; it stands for this box's volume."""
        lo, hi, scale = list(self.lo), list(self.hi), self.scale
        for k, v in zip(coords, values):
            scale *= self.hi[k] - self.lo[k]
            lo[k] = hi[k] = v
        return Box(self.id + ".p", tuple(lo), tuple(hi), scale)


def box_volume(box: Box) -> Fraction:
    """The volume the box stands for: ``scale`` times the product of its free sides."""
    out = box.scale
    for a, b in zip(box.lo, box.hi):
        if a != b:
            out *= b - a
    return out


def ball_fraction(x, upper: bool) -> Fraction:
    """An exact endpoint of a ball, rounded outward to the grid :math:`2^{-48}`."""
    end = x.upper() if upper else x.lower()
    if not end.is_finite():
        raise ValueError("the ball is not finite")
    man, exp = end.mid().man_exp()
    q = Fraction(int(man)) * Fraction(2) ** int(exp)
    scale = 2**GRID_BITS
    k = q * scale
    k = -((-k.numerator) // k.denominator) if upper else k.numerator // k.denominator
    return Fraction(k, scale)
