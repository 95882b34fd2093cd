r"""sympy, imported on first use: ``from theory.lazy_sympy import sp``.

Importing sympy costs about half a second, more than a numerical command such as ``ebm-verify
classify`` spends on a small case; the numerical paths (mpmath, FLINT, numpy) never touch it. Every
module of the project that needs sympy names it through :data:`sp`, an object whose first attribute
access imports sympy and which then reads every attribute from the module.
"""

from __future__ import annotations

import importlib

__all__ = ["sp"]


class _LazyModule:
    """A stand-in for the module ``name``, imported when an attribute is first read."""

    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def __getattr__(self, attr: str):
        module = self.__dict__.get("_module")
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self._name)
        return getattr(module, attr)  # read from the module each time: a patched attribute is seen

    def __repr__(self) -> str:
        return f"<lazily imported module {self._name!r}>"


sp = _LazyModule("sympy")
