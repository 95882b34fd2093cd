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
        if "_name" not in self.__dict__:  # a half-built copy (unpickling): no module to forward to yet
            raise AttributeError(attr)
        module = self.__dict__.get("_module")
        if module is None:
            module = self.__dict__["_module"] = importlib.import_module(self._name)
        return getattr(module, attr)  # read from the module each time: a patched attribute is seen

    def __repr__(self) -> str:
        return f"<lazily imported module {self._name!r}>"

    def __reduce__(self):
        # functions pickled by value (cloudpickle, for Dask workers) carry their globals, this stand-in among
        # them: it travels as its name and is the receiving process's own stand-in there
        return (_stand_in, (self._name,))


def _stand_in(name: str) -> _LazyModule:
    return sp if name == "sympy" else _LazyModule(name)


sp = _LazyModule("sympy")
