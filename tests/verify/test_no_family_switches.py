"""Issue 11: nothing in ``verify/`` recognises a model family or an activation by its name.

A family declares its structure (:mod:`theory.families`) and an activation is an object
(:mod:`theory.activations`); ``verify/`` reads the declarations. This walks the syntax trees of
``verify/`` and counts string literals equal to a family's or an activation's name, and comparisons on
``.family``, ``.activation`` or ``.hidden_units`` — outside the case lists, which name the cases they
enumerate, and outside docstrings.
"""

from __future__ import annotations

import ast
from pathlib import Path

from theory.activations import ACTIVATIONS
from theory.families import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
#: the enumerated case lists (they name the models they build)
CASE_LISTS = {"verify/cases.py", "verify/sweep.py"}
NAMES = set(FAMILIES) | set(ACTIVATIONS) | {"bernoulli"}
SWITCHED_ATTRIBUTES = {"family", "activation", "hidden_units"}


def _docstrings(tree) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def name_switches(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each literal naming a family or activation, and each comparison on those attributes."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if node.value in NAMES:
                found.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for side in sides:
                if isinstance(side, ast.Attribute) and side.attr in SWITCHED_ATTRIBUTES:
                    found.append((node.lineno, f"comparison on .{side.attr}"))
    return sorted(found)


def test_the_walker_finds_what_it_should():
    assert name_switches('if model.family == "rbm":\n    pass\n') == [(1, "'rbm'"), (1, "comparison on .family")]
    assert name_switches('def f():\n    """An rbm: "rbm"."""\n    return 1\n') == []
    assert name_switches('x = {"tanh": 1}\n') == [(1, "'tanh'")]


def test_verify_has_no_family_or_activation_switch():
    offenders = []
    for path in sorted((ROOT / "verify").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in CASE_LISTS:
            continue
        offenders += [f"{rel}:{line}: {what}" for line, what in name_switches(path.read_text())]
    assert not offenders, "\n".join(offenders)
