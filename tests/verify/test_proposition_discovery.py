"""A new proposition is one new module: ``verify/propositions/`` imports every module it holds (issue 11 D4)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import verify
from verify import registry

PACKAGE = Path(verify.__file__).resolve().parent / "propositions"


def _registering_modules() -> set[str]:
    """The modules of the package (a walk of the folder) that call ``register(...)``."""
    out = set()
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "register" for n in ast.walk(tree)):
            out.add(f"verify.propositions.{path.stem}")
    return out


def test_the_registry_lists_exactly_the_propositions_whose_modules_exist():
    props = registry.propositions()
    assert {p.check.__module__ for p in props} == _registering_modules()
    assert [p.order for p in props] == sorted(p.order for p in props)


def test_the_package_imports_its_modules_in_sorted_order():
    from verify import propositions

    walk = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert list(propositions.MODULES) == walk
    assert all(f"verify.propositions.{name}" in sys.modules for name in walk)


NEW_MODULE = '''
from ..registry import Proposition, register

register(Proposition(id="Z9", title="a proposition added as one module", statement="0 = 0", hypotheses="none",
                     check=lambda case, dps, certify=False: None, cases=lambda ns=(), families=None, quick=False: [],
                     order=5))
'''


def test_a_new_module_is_registered_without_editing_anything_else(tmp_path):
    copy = tmp_path / "verify"
    shutil.copytree(PACKAGE.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "propositions" / "zz_new.py").write_text(NEW_MODULE)
    root = PACKAGE.parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)])}
    out = subprocess.run([sys.executable, "-c", "import verify, verify.registry as r; "
                          "print(verify.__file__); print(' '.join(p.id for p in r.propositions()))"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=True).stdout.split("\n")
    assert out[0].startswith(str(tmp_path))
    ids = out[1].split()
    assert "Z9" in ids and ids.index("Z9") < ids.index(registry.propositions()[1].id)
