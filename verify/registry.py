"""The registry of propositions: each is written once and shared by the CLI, pytest and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .cases import Case
from .verdict import Verdict

__all__ = ["Proposition", "Skip", "Observation", "register", "REGISTRY", "propositions", "get", "reproduce_line", "find_case",
           "cases_for_model"]


@dataclass(frozen=True)
class Skip:
    """A case on which a proposition's hypotheses turned out not to hold (e.g. the flow has no fixed point)."""

    proposition: str
    case: str
    reason: str

    def to_json(self) -> dict:
        return {"proposition": self.proposition, "case": self.case, "reason": self.reason}


@dataclass(frozen=True)
class Observation:
    """The outcome of an empirical proposition on one case (H2): measured, reported, never a verdict."""

    proposition: str
    case: str
    data: dict

    def to_json(self) -> dict:
        return {"proposition": self.proposition, "case": self.case, **self.data}


@dataclass(frozen=True)
class Proposition:
    """One proposition of THEORY.md §4.

    ``cases(ns, families, quick)`` lists its enumerated cases; ``check(case, dps)`` returns a
    :class:`~verify.verdict.Verdict`, or a :class:`Skip` when the case turns out to lie outside the
    hypotheses (reported, never counted as a verdict). ``order`` places it in reports and documents
    (THEORY.md's order), ``applies(model)`` says whether it speaks about a model, and ``document(model, cf)``
    returns the paragraphs it adds to a derivation document (:mod:`verify.document_sections`).
    """

    id: str
    title: str
    statement: str  # LaTeX
    hypotheses: str
    check: Callable[[Case, int], "Verdict | Skip | Observation"]
    cases: Callable[..., list[Case]]
    empirical: bool = False  # an empirical claim: its checks return Observations (reported, not judged)
    certifiable: bool = False  # check(case, dps, certify=True) attaches ball-arithmetic certificates
    order: float = 1000.0  # position in reports and documents
    applies: Callable[[object], bool] = lambda model: True
    document: Callable | None = None  # (model, closed forms) -> LaTeX paragraphs for derivation documents
    cases_for: Callable | None = None  # (model, params, target, target_spec) -> its cases on a given model


REGISTRY: dict[str, Proposition] = {}

def register(prop: Proposition) -> Proposition:
    """Add a proposition (ids are unique)."""
    if prop.id in REGISTRY:
        raise ValueError(f"proposition {prop.id} registered twice")
    REGISTRY[prop.id] = prop
    return prop


def propositions() -> list[Proposition]:
    """Registered propositions in THEORY.md order."""
    from . import propositions as _load  # noqa: F401  (registers the checks)

    return sorted(REGISTRY.values(), key=lambda p: (p.order, p.id))


def get(pid: str) -> Proposition:
    from . import propositions as _load  # noqa: F401
    from theory.errors import SpecError

    key = pid.strip().upper()
    if key not in REGISTRY:
        raise SpecError(f"unknown proposition {pid!r}; known: {', '.join(p.id for p in propositions())}")
    return REGISTRY[key]


def find_case(name: str, pids=None) -> tuple[Case, list[str]]:
    """The enumerated case called ``name`` and the propositions that enumerate it."""
    from theory.errors import SpecError

    found, owners = None, []
    for prop in propositions():
        if pids and prop.id not in pids:
            continue
        for case in prop.cases(ns=(2, 3, 4), families=None, quick=False):
            if case.name == name:
                found = case
                owners.append(prop.id)
    if found is None:
        raise SpecError(f"no enumerated case is called {name!r}; `ebm-verify list --cases` shows their names")
    return found, owners


def cases_for_model(prop: Proposition, model, params, target_spec: dict) -> list[Case]:
    """The cases of ``prop`` on a model the user gives (any registered family), at the point ``params`` against the
    target ``target_spec`` (a case file's ``"target"`` object); ``[]`` when it does not apply to the model.
    By default one case; a proposition that needs more (S2: one per special point) declares ``cases_for``."""
    from .cases import parse_target

    if not prop.applies(model):
        return []
    target = parse_target(target_spec, model.n)
    if prop.cases_for is not None:
        return prop.cases_for(model, params, target, target_spec)
    return [Case(f"{prop.id.lower()}/{model.family}-n{model.n}/given", model, params, target)]


def reproduce_line(pid: str, case: Case, dps: int) -> str:
    """The command that re-runs one proposition on one enumerated case."""
    return f"ebm-verify run --only {pid} --case '{case.name}' --dps {dps}"
