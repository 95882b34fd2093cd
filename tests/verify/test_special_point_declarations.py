"""Issue 11 D2: a family declares its special points (constructor and closed-form spectrum); verify/ only calls them."""

from __future__ import annotations

import ast
from pathlib import Path

import mpmath
import numpy as np

import verify
from theory.arith import MP
from theory.effective import gradient
from theory.families.hidden_laws import HiddenLayerLaws
from theory.families.product import Product
from theory.models import model_from_spec
from theory.targets import named
from verify.spurious import construct

DPS = 30


def test_the_product_declares_the_switched_off_spectrum():
    model = Product(3)
    r = [mpmath.mpf("0.25"), mpmath.mpf("-0.5")]
    assert model.switched_off_spectrum([((1, 2), r[0]), ((1, 3), r[1])]) == (r[0], -r[0], r[1], -r[1])
    doc = Product.switched_off_spectrum.__doc__
    assert r"\begin{pmatrix}0 & r_A\\ r_A & 0\end{pmatrix}" in doc and r"\pm r_A" in doc and "G_S" in doc


def test_the_symmetries_state_their_mathematics():
    assert r"u_A \to \lambda u_A" in Product.symmetries.__doc__
    doc = HiddenLayerLaws.symmetries.__doc__
    assert "permutation" in doc and r"\sigma(-x) = s\,\sigma(x) + l\,x" in doc and r"\lambda^{-p}c_\mu" in doc


class PairsOff(Product):
    """A product that declares one more kind of special point, here and nowhere else: every pair switched off."""

    def special_point_constructors(self):
        pairs = [A for A in self.subsets if len(A) == 2]
        return {**super().special_point_constructors(),
                "every-pair-off": lambda tools: self.construct_switched_off(tools, off=pairs)}


def test_a_new_kind_of_special_point_needs_no_edit_of_verify():
    model, target = PairsOff(3), named("random-couplings", 3, seed=2)
    assert model.special_points() == ("switched-off", "every-pair-off")
    point = construct("every-pair-off", model, target, DPS)
    assert len(point.predicted_eigenvalues) == 6  # +-r_12, +-r_13, +-r_23
    with mpmath.workdps(DPS):
        theta = np.array([mpmath.mpf(q.numerator) / q.denominator for q in point.theta], dtype=object)
        grad = gradient(model, theta, target.moment_array(MP), MP)
        assert max(abs(g) for g in grad) < mpmath.mpf(10) ** -(DPS - 8)  # a fixed point
        assert all(abs(p) > mpmath.mpf(10) ** -5 for p in point.predicted_eigenvalues)  # and a saddle


def test_construct_refuses_a_kind_the_family_does_not_declare():
    import pytest

    with pytest.raises(ValueError, match="declares no"):
        construct("dead-unit", model_from_spec({"family": "mlp", "n": 2, "hidden": 1, "activation": "tanh"}),
                  named("pairwise", 2, seed=1), DPS)


def test_verify_names_no_kind_of_special_point():
    """verify/spurious.py dispatches through the family's table: no kind string outside docstrings."""
    kinds = {kind for spec in ({"family": "product", "n": 3}, {"family": "rbm", "n": 3, "hidden": 2},
                               {"family": "mlp", "n": 3, "hidden": 2, "activation": "tanh"})
             for kind in model_from_spec(spec).special_points()}
    assert kinds == {"switched-off", "paramagnetic", "dead-unit"}
    tree = ast.parse((Path(verify.__file__).parent / "spurious.py").read_text())
    tree.body = [node for node in tree.body if not (isinstance(node, ast.Assign) and  # __all__ names functions
                                                    any(getattr(t, "id", "") == "__all__" for t in node.targets))]
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    literals = {node.value for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}
    assert not literals & kinds
