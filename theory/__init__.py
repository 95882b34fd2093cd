"""Exact objects of the effective-model theory: conventions, transforms, model families, targets."""

from .arith import EXACT, FLOAT64, MP, Arith
from .errors import SpecError
from .models import FAMILIES, model_from_spec

__all__ = ["Arith", "EXACT", "FLOAT64", "MP", "SpecError", "FAMILIES", "model_from_spec"]
