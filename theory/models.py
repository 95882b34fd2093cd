"""The model families under their historical import path; they live in :mod:`theory.families`."""

from __future__ import annotations

from .families import (  # noqa: F401
    FAMILIES,
    GIM,
    MLP,
    RBM,
    Custom,
    HiddenLayer,
    Model,
    Param,
    Product,
    Symmetry,
    family_class,
    model_from_spec,
    register_family,
    spin_linear,
    times_spin,
)

__all__ = ["Param", "Symmetry", "Model", "GIM", "HiddenLayer", "RBM", "MLP", "Product", "Custom", "FAMILIES",
           "family_class", "register_family", "model_from_spec", "spin_linear", "times_spin"]
