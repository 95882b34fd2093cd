"""One module per proposition; importing this package imports every module in it, which registers every check.

The modules are found on disk (:func:`pkgutil.iter_modules`) and imported in sorted name order, so the import is
deterministic; a new proposition is one new module here, with no list to edit. Registration order does not
matter: reports and documents sort by :attr:`verify.registry.Proposition.order`. (The derivation cache's key
counts every module of this folder as imported by this file: :func:`verify.derivation_cache.producer_files`.)
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["MODULES"]

#: the modules of this package, imported in this order
MODULES: tuple[str, ...] = tuple(sorted(info.name for info in pkgutil.iter_modules(__path__)))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
