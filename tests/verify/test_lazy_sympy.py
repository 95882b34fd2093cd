"""sympy is imported only by the commands that use it: the numerical ones start without it (half a second)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _sympy_loaded_after(code: str) -> bool:
    probe = code + "\nimport sys\nprint('sympy' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_the_cli_and_classify_run_without_importing_sympy():
    assert not _sympy_loaded_after("import verify.cli")
    classify = ("import sys\nfrom verify.cli import main\nsys.argv = ['ebm-verify', 'classify', 'examples/rbm_n3.json',"
                " '--dps', '20']\ntry:\n    main()\nexcept SystemExit:\n    pass")
    assert not _sympy_loaded_after(classify)


def test_the_stand_in_is_sympy_once_used():
    import sympy

    from theory.activations import X
    from theory.expression import FUNCTIONS
    from theory.lazy_sympy import sp

    assert sp.Rational(1, 3) == sympy.Rational(1, 3) and sp.exp is sympy.exp
    assert X == sympy.Symbol("x", real=True) and X.is_real
    assert dict(FUNCTIONS) == {name: getattr(sympy, name) for name in ("exp", "log", "cosh", "sinh", "tanh", "sqrt")}


def test_the_stand_in_survives_pickling_by_value():
    # cloudpickle (Dask) pickles lambdas by value with their globals: an rbm case carries the stand-in; unpickling
    # a copy used to recurse in __getattr__ (the scheduler rejected `run --scheduler`'s task graph)
    import pickle

    import cloudpickle

    from theory.lazy_sympy import sp
    from verify.registry import get

    assert pickle.loads(pickle.dumps(sp)) is sp
    case = next(c for c in get("F1").cases(ns=(2,)) if c.name.startswith("rbm-"))
    copy = pickle.loads(cloudpickle.dumps(case))
    assert copy.name == case.name and copy.model.spec() == case.model.spec()
