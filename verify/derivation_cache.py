"""A disk cache of closed-form derivations and of the documents made from them, so that a repeated
``derive`` (or ``run``) does not re-derive.

The key is a SHA-256 of the model spec (canonical JSON), of the source of every module of
``theory/`` and of the sympy version: any change to a formula, a normal form or sympy invalidates
every entry. Entries are pickles of :class:`theory.closed_forms.ClosedForms` (with :math:`H`
computed) and of the LaTeX text of documents, written atomically (temporary file, then rename),
so parallel workers and an interrupted run never leave a half-written entry. The directory is ``$EBM_VERIFY_CACHE`` or
``~/.cache/ebm-verify``; ``cache=False`` bypasses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

import sympy as sp

import theory
from theory.closed_forms import ClosedForms, derive

__all__ = ["cache_dir", "cache_key", "closed_forms", "theory_source_hash"]


def cache_dir() -> Path:
    """``$EBM_VERIFY_CACHE`` or ``~/.cache/ebm-verify`` (the derivations live in ``derivations/``)."""
    root = os.environ.get("EBM_VERIFY_CACHE") or Path.home() / ".cache" / "ebm-verify"
    return Path(root) / "derivations"


@lru_cache(maxsize=1)
def theory_source_hash() -> str:
    """SHA-256 of every ``theory/*.py`` file (names and contents, in sorted order)."""
    digest = hashlib.sha256()
    for path in sorted(Path(theory.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(model) -> str:
    """The cache key of a model's derivation."""
    text = json.dumps(model.spec(), sort_keys=True) + theory_source_hash() + sp.__version__
    return hashlib.sha256(text.encode()).hexdigest()


def _load(path: Path, kind: type):
    try:
        with path.open("rb") as handle:
            value = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
        return None  # missing, truncated or from another code version: compute again
    return value if isinstance(value, kind) else None


def _store(path: Path, value) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk only costs the next call a derivation


def entry_path(model, what: str) -> Path:
    """The file of one cached item (``closed-forms``, ``document``, ...) of ``model``."""
    return cache_dir() / f"{cache_key(model)}-{what}.pickle"


def cached(model, what: str, compute, kind: type, cache: bool = True):
    """``compute()``, or its stored value for ``(model, what)`` when the cache has it."""
    path = entry_path(model, what)
    if cache:
        found = _load(path, kind)
        if found is not None:
            return found
    value = compute()
    if cache:
        _store(path, value)
    return value


def closed_forms(model, cache: bool = True) -> ClosedForms:
    """The closed forms of ``model`` (with :math:`H`), from the disk cache when present."""

    def compute():
        cf = derive(model)
        cf.hessian  # noqa: B018  (computed once, stored with the entry)
        return cf

    return cached(model, "closed-forms", compute, ClosedForms, cache)
