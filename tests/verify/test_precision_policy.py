"""The precision policy lives in :mod:`verify.numeric` (issue 11, constraints): named values, and no
guard-digit, solver-goal or cut-off literal at a call site.

The named values are pinned to the literals they replaced, so that moving them changed no number
(the committed baseline is unchanged); a deliberate change of policy updates them here.
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from pathlib import Path

import mpmath

import verify
from verify import numeric

PACKAGE = Path(verify.__file__).parent

#: precision arithmetic with a literal that is not precision policy, with the reason
NOT_POLICY = {
    "baseline.py": {
        "mpmath.mpf(10) ** (-mpmath.mpf(dps) / 2)",  # the zero threshold of a saved report's (possibly float) dps
        "mpmath.mpf(10) ** (int(mpmath.floor(mpmath.log10(scale))) - digits + 1)",  # the quantum of a printed number
        "int(mpmath.floor(mpmath.log10(scale))) - digits + 1",
    },
    "cases.py": {"MAX_DIGITS + 1"},  # the longest integer a case file may spell out
}

#: literals in modules still to be moved onto the names of verify.numeric (remove an entry when it is)
PENDING: dict[str, set[str]] = {}

_PRECISION = re.compile(r"dps|digits", re.IGNORECASE)


def _mentions_precision(node: ast.AST) -> bool:
    return any((isinstance(n, ast.Name) and _PRECISION.search(n.id)) or
               (isinstance(n, ast.Attribute) and _PRECISION.search(n.attr)) for n in ast.walk(node))


def _is_mpf_ten(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "mpf"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) and node.args[0].value == 10)


def policy_literals(source: str) -> set[str]:
    """``mpf(10) ** x``, ``10 ** <precision>`` and ``<precision> ± n`` / ``<precision> // n`` (``n`` an integer
    literal) in ``source``, unparsed: the forms a guard digit, a solver goal, a cut-off or a radius takes."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.BinOp):
            continue
        if isinstance(node.op, ast.Pow) and (_is_mpf_ten(node.left) or (
                isinstance(node.left, ast.Constant) and node.left.value == 10 and _mentions_precision(node.right))):
            found.add(ast.unparse(node))
        elif (isinstance(node.op, (ast.Add, ast.Sub, ast.FloorDiv)) and isinstance(node.right, ast.Constant)
              and type(node.right.value) is int and _mentions_precision(node.left)):
            found.add(ast.unparse(node))
    return found


def test_the_detector_sees_each_form():
    source = """
goal = mpmath.mpf(10) ** (-(dps - 8))
work = 2 * dps + 10
radius = Fraction(1, 10 ** (dps // 2))
fine = 2 * dps
steps = Fraction(1, 10**k)
"""
    assert policy_literals(source) == {"mpmath.mpf(10) ** (-(dps - 8))", "dps - 8", "2 * dps + 10",
                                       "10 ** (dps // 2)", "dps // 2"}


def test_no_precision_literal_outside_numeric():
    stray = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "numeric.py":
            continue
        allowed = NOT_POLICY.get(path.name, set()) | PENDING.get(path.name, set())
        extra = policy_literals(path.read_text(encoding="utf-8")) - allowed
        if extra:
            stray[str(path.relative_to(PACKAGE))] = sorted(extra)
    assert not stray, f"name these in verify/numeric.py and use the names: {stray}"


def test_the_named_values_are_the_literals_they_replaced():
    assert numeric.GUARD_DIGITS == 10 and numeric.POINT_PRINT_EXTRA_DIGITS == 5
    assert numeric.polish_precisions(50) == (60, 110) and numeric.point_precision(50) == 110
    assert numeric.point_print_digits(50) == 105
    assert (numeric.NEWTON_SLACK_DIGITS, numeric.INNER_SLACK_DIGITS, numeric.STALL_DIGITS) == (6, 8, 6)
    assert (numeric.DEFAULT_DPS, numeric.MIN_DPS, numeric.MAX_DPS, numeric.SWEEP_DPS) == (50, 10, 10000, 30)
    float64 = (numeric.FLOAT64_RCOND, numeric.FLOAT64_COUPLINGS_GOAL, numeric.FLOAT64_COUPLINGS_STALL)
    assert float64 == (1e-10, 1e-13, 1e-8)
    assert (numeric.FLOW_GRAD_TOL, numeric.FLOW_RTOL, numeric.FLOW_ATOL) == (1e-9, 1e-8, 1e-10)
    assert numeric.BALL_GUARD_BITS == 20 and numeric.ball_bits(100) == int(100 * 3.33) + 20
    for dps in (10, 31, 50, 101):
        assert numeric.certification_radius(dps) == Fraction(1, 10 ** (dps // 2))
        assert numeric.certification_radius_string(dps) == f"1e-{dps // 2}"
        with mpmath.workdps(dps):
            assert numeric.solver_goal(dps, 6) == mpmath.mpf(10) ** (-(dps - 6))
            assert numeric.solver_goal(dps, 8) == mpmath.mpf(10) ** (-(dps - 8))
            assert numeric.found_point_goal(dps) == mpmath.mpf(10) ** (-(2 * dps))
            assert numeric.pinv_cutoff(dps) == mpmath.mpf(10) ** (-(dps // 4))
            assert numeric.noise_floor(dps) == mpmath.mpf(10) ** (-(dps - 10))
            assert numeric.stall_factor() == 1 - mpmath.mpf(10) ** -6


def test_the_cli_reads_its_precisions_from_numeric():
    from verify.cli import _parser

    parser = _parser()
    defaults = {}
    for argv in (["run"], ["classify", "c.json"], ["fixed-points", "c.json"], ["couplings", "c.json"],
                 ["baseline", "save", "b.json"], ["sweep"]):
        defaults[argv[0] if argv[0] != "baseline" else "baseline save"] = parser.parse_args(argv).dps
    default, sweep = numeric.DEFAULT_DPS, numeric.SWEEP_DPS
    assert defaults == {"run": default, "classify": default, "fixed-points": default, "couplings": default,
                        "baseline save": default, "sweep": sweep}


def test_the_couplings_resolution_rule_is_named_in_numeric():
    assert (numeric.RESOLVE_CHECK_DIGITS, numeric.RESOLVE_MAX_GUARD_FACTOR, numeric.RESOLVE_AGREEMENT_DIGITS) == (20, 3, 2)
    assert numeric.resolve_precisions(50, numeric.GUARD_DIGITS) == (60, 80)
    with mpmath.workdps(60):
        assert numeric.resolve_tolerance(50) == mpmath.mpf(10) ** -52


def _literal_precisions(source: str) -> set[str]:
    """:func:`policy_literals` plus ``workdps``/``workprec`` with a literal, ``sp.N(x, <literal>)`` and short
    float-like strings such as ``"1e-30"``, outside the module-level definitions of UPPER_CASE names: what a theory
    module writes when it does not name its precisions."""
    tree = ast.parse(source)
    named = [node for node in tree.body if isinstance(node, ast.Assign)
             and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)]
    for node in named:
        tree.body.remove(node)
    found = policy_literals(ast.unparse(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            args = node.args if name in ("workdps", "workprec") else node.args[1:] if name == "N" else []
            if any(isinstance(a, ast.Constant) for a in args):
                found.add(ast.unparse(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"1e-\d+", node.value):
            found.add(node.value)
    return found


def test_the_detector_of_theory_literals_sees_each_form():
    source = 'X = sp.Float("1e-30")\nwith mpmath.workdps(40):\n    v = sp.N(e, 40) > sp.Float("1e-9")\nw = mp.dps + 10\n'
    assert _literal_precisions(source) == {"mpmath.workdps(40)", "sp.N(e, 40)", "1e-9", "mp.dps + 10"}


def test_the_hidden_layer_laws_name_their_precisions():
    """theory/ cannot import verify.numeric: its precision constants are named in the module (with a comment)."""
    from theory.families import hidden_laws

    assert _literal_precisions(Path(hidden_laws.__file__).read_text(encoding="utf-8")) == set()
    assert (hidden_laws.MPF_GUARD_DIGITS, hidden_laws.DERIVATIVE_TEST_DPS) == (10, 40)
    assert hidden_laws.DERIVATIVE_ZERO == Fraction(1, 10**30)
