"""The registry of propositions: each is written once and shared by the CLI, pytest and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .cases import Case
from .verdict import Verdict

__all__ = ["Proposition", "register", "REGISTRY", "propositions", "get", "reproduce_line"]


@dataclass(frozen=True)
class Proposition:
    """One proposition of THEORY.md §4.

    ``check(case, dps)`` returns a :class:`~verify.verdict.Verdict`; ``applies(case)`` says whether
    the case meets the hypotheses (a check is never run outside them).
    """

    id: str
    title: str
    statement: str  # LaTeX
    hypotheses: str
    check: Callable[[Case, int], Verdict]
    applies: Callable[[Case], bool]


REGISTRY: dict[str, Proposition] = {}

_ORDER = ("E1", "E2", "F1", "F2", "F3", "S1", "S2", "H1", "H2", "H3")


def register(prop: Proposition) -> Proposition:
    """Add a proposition (ids are unique)."""
    if prop.id in REGISTRY:
        raise ValueError(f"proposition {prop.id} registered twice")
    REGISTRY[prop.id] = prop
    return prop


def propositions() -> list[Proposition]:
    """Registered propositions in THEORY.md order."""
    from . import propositions as _load  # noqa: F401  (registers the checks)

    return sorted(REGISTRY.values(), key=lambda p: (_ORDER.index(p.id) if p.id in _ORDER else 99, p.id))


def get(pid: str) -> Proposition:
    from . import propositions as _load  # noqa: F401
    from theory.errors import SpecError

    key = pid.strip().upper()
    if key not in REGISTRY:
        raise SpecError(f"unknown proposition {pid!r}; known: {', '.join(p.id for p in propositions())}")
    return REGISTRY[key]


def reproduce_line(pid: str, case: Case, dps: int) -> str:
    """The command that re-runs one proposition on one enumerated case."""
    return f"ebm-verify run --only {pid} --case '{case.name}' --dps {dps}"
