r"""Model families: one module per family and one table :data:`FAMILIES` ``{name: class}``.

Adding a family is one module defining a :class:`~theory.families.base.Model` subclass (its energy, its
derivatives and its declarations) and one call of :func:`register_family`; :func:`model_from_spec` reads
the table, and nothing else in the suite switches on a family's name.

==========  =================================================================  ==================
family      :math:`F_\theta(s)`                                                parameters (order)
==========  =================================================================  ==================
gim         :math:`\sum_{0<|A|\le K}\theta_A\chi_A(s)`                          ``J[A]`` canonical
rbm         :math:`\sum_i a_i s_i + \sum_\mu \varphi(x_\mu)`                     ``a, b, w`` (w row-major, ``w[i,mu]``)
mlp         :math:`\sum_i a_i s_i + \sum_\mu c_\mu\sigma(x_\mu)`                  ``a, b, w, c``
product     :math:`\sum_i h_i s_i + \sum_{A} u_A v_A \chi_A(s)`                  ``h`` (if fields), ``u``, ``v``
custom      a parsed expression                                                 declared names
==========  =================================================================  ==================
"""

from __future__ import annotations

from ..conventions import check_n, show_value
from ..errors import SpecError
from .base import Model, Param, Symmetry, spin_linear, times_spin
from .custom import Custom
from .gim import GIM
from .hidden_layer import MLP, RBM, HiddenLayer
from .product import Product

__all__ = ["Model", "Param", "Symmetry", "GIM", "HiddenLayer", "RBM", "MLP", "Product", "Custom", "FAMILIES",
           "register_family", "family_class", "model_from_spec", "spin_linear", "times_spin"]

#: the families by name (read by :func:`model_from_spec`)
FAMILIES: dict[str, type[Model]] = {}


def register_family(cls: type[Model]) -> type[Model]:
    """Add a family class to :data:`FAMILIES` under ``cls.family`` (names are unique)."""
    if not cls.family:
        raise ValueError(f"{cls.__name__} has no family name")
    if FAMILIES.get(cls.family, cls) is not cls:
        raise ValueError(f"family {cls.family!r} registered twice")
    FAMILIES[cls.family] = cls
    return cls


for _cls in (GIM, RBM, MLP, Product, Custom):
    register_family(_cls)


def family_class(family) -> type[Model]:
    """The class of ``family``, or a one-line error listing the known ones."""
    if not isinstance(family, str) or family not in FAMILIES:
        raise SpecError(f"unknown model family {show_value(family)}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[family]


def model_from_spec(spec) -> Model:
    """Build a model from the ``"model"`` object of a case file, refusing unknown families and keys."""
    if not isinstance(spec, dict):
        raise SpecError("\"model\" must be a JSON object with at least \"family\" and \"n\"")
    cls = family_class(spec.get("family"))
    if "n" not in spec:
        raise SpecError("model.n (the number of spins) is missing")
    extra = sorted(set(spec) - cls.spec_keys - {"family", "n"})
    if extra:
        raise SpecError(
            f"model has unknown keys {show_value(extra)} for family {cls.family!r}; allowed: {sorted(cls.spec_keys)}"
        )
    check_n(spec["n"])
    return cls.from_spec(spec)
