r"""A disk cache of closed-form derivations and of the documents made from them, so that a repeated
``derive`` (or ``run``) does not re-derive.

**What is stored, and why reading it cannot execute code or believe a planted entry**: see
:mod:`verify.cache_format` (JSON rebuilt from a whitelist of sympy nodes, signed with a per-user key
kept outside the cache). An entry that is malformed, unsigned, signed by someone else, of the wrong
type or of another model is *invalid*, which is the same as missing: the value is derived again and
the entry rewritten. Old ``*.pickle`` entries are never opened.

**Keys.** An entry's key is a SHA-256 of the model spec (canonical JSON), of the kind of entry, of the
sympy version, of :data:`FORMAT`, of every ``theory/*.py`` file and of the source of the code that
produces the entry: the module named in :data:`PRODUCERS` (``closed-forms``: :mod:`theory.closed_forms`;
``document``, ``document-proofs``: :mod:`verify.document`; ``digest``:
:mod:`verify.closed_form_evaluators`; any other kind: the module defining the ``compute`` function)
together with every ``theory``/``verify`` module it imports, transitively (read from the import
statements, :func:`producer_files`). So an edit of :mod:`verify.document` or :mod:`verify.identities`
invalidates documents, and an edit of a formula invalidates everything.

**Where.** Entries are written atomically (temporary ``*.tmp`` file in the same folder, then
:func:`os.replace`), so parallel workers and an interrupted run never leave a half-written entry;
temporary files older than :data:`STALE_TMP_SECONDS` (left by a killed process) are removed when the
folder is first opened by a process. The folder is ``$EBM_VERIFY_CACHE/derivations`` (a relative path
is relative to the working directory), or ``~/.cache/ebm-verify/derivations`` when the variable is not
set. ``EBM_VERIFY_CACHE=""`` (empty, or only spaces) **disables** the disk cache, as does a home
directory that cannot be determined: nothing is read or written, and no folder is created anywhere.
``cache=False`` bypasses it for one call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from functools import lru_cache
from pathlib import Path


import theory
from theory.lazy_sympy import sp
from theory.closed_forms import ClosedForms, derive

from .cache_format import (CONSTANTS, FORMAT, MATRICES, MAX_DEPTH, OPERATIONS, authentic, decode, encode, signed,
                           signing_key)

__all__ = [
    "CONSTANTS",
    "FORMAT",
    "MATRICES",
    "MAX_DEPTH",
    "OPERATIONS",
    "PRODUCERS",
    "cache_dir",
    "cache_key",
    "cached",
    "closed_forms",
    "decode",
    "encode",
    "entry_path",
    "producer_files",
    "producer_source_hash",
    "signed",
    "signing_key",
    "theory_source_hash",
]

#: temporary files older than this (seconds) are removed when the folder is opened
STALE_TMP_SECONDS = 3600
#: the module whose source (with what it imports from ``theory``/``verify``) produces each kind of entry
PRODUCERS = {
    "closed-forms": "theory.closed_forms",
    "document": "verify.document",
    "document-proofs": "verify.document",
    "digest": "verify.closed_form_evaluators",
}

_ROOT = Path(theory.__file__).resolve().parent.parent
_PACKAGES = ("theory", "verify")
# ---------------------------------------------------------------- where


def cache_dir() -> Path | None:
    """The folder of the entries, or ``None`` when the disk cache is disabled (see the module docstring)."""
    root = os.environ.get("EBM_VERIFY_CACHE")
    if root is not None:
        if not root.strip():
            return None  # empty: disabled (never a folder in the working directory)
        return Path(root).absolute() / "derivations"
    home = os.path.expanduser("~")
    if not home or home.startswith("~") or not os.path.isabs(home):
        return None  # no home directory: disabled rather than a relative "~" folder
    return Path(home) / ".cache" / "ebm-verify" / "derivations"


_opened: set[str] = set()


def _open(directory: Path) -> None:
    """Once per process and folder: remove ``*.tmp`` files older than :data:`STALE_TMP_SECONDS`."""
    if str(directory) in _opened:
        return
    _opened.add(str(directory))
    try:
        stray = list(directory.glob("*.tmp"))
    except OSError:
        return
    limit = time.time() - STALE_TMP_SECONDS
    for path in stray:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


# ---------------------------------------------------------------- keys


def _source_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _hash_files(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(_ROOT).as_posix().encode() + b"\0")
        data = _source_bytes(path)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def theory_source_hash() -> str:
    """SHA-256 of every ``theory/**/*.py`` file, subpackages included (names and contents, in sorted order)."""
    return _hash_files(Path(theory.__file__).resolve().parent.rglob("*.py"))


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] not in _PACKAGES or not all(p.isidentifier() for p in parts):
        return None
    base = _ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
                     r"|import[ \t]+([^\n#;]*))", re.MULTILINE)


def _imported_modules(name: str, path: Path):
    """The module names ``path`` (module ``name``) imports anywhere (also inside functions, and in doctests:
    more is only safer), with their parent packages: a scan of the import statements' text, about ten times
    faster than parsing every source with :mod:`ast` (a test checks that both find the same modules)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    source = _source_bytes(path).decode("utf-8", "replace")
    found = list(_auto_imported(name, path, source))
    for dots, module, names, plain in _IMPORT.findall(source):
        if plain:
            found += [item.split()[0] for item in plain.split(",") if item.split()]
            continue
        if dots:
            level = len(dots)
            base = package[: len(package) - (level - 1)] if level > 1 else package
            module = ".".join(base + ([module] if module else []))
        found.append(module)
        names = re.sub(r"#[^\n]*", "", names).strip().strip("()")  # comments inside parentheses
        found += [f"{module}.{item.split()[0]}" for item in names.split(",") if item.split()]
    for module in found:
        parts = module.split(".")
        for k in range(1, len(parts) + 1):
            yield ".".join(parts[:k])


def _auto_imported(name: str, path: Path, source: str) -> list[str]:
    """Every module of the package when ``path`` is a package's ``__init__.py`` that imports its folder's modules
    automatically (it calls ``pkgutil.iter_modules``, as :mod:`verify.propositions` does), else nothing."""
    if path.name != "__init__.py" or "iter_modules(" not in source:
        return []
    return [f"{name}.{child.stem}" for child in sorted(path.parent.glob("*.py")) if child.name != "__init__.py"]


@lru_cache(maxsize=None)
def producer_files(module: str) -> tuple[Path, ...]:
    """The source files of ``module`` and of every ``theory``/``verify`` module it imports, transitively."""
    start = _module_file(module)
    if start is None:
        raise ValueError(f"no source file for module {module!r} in theory/ or verify/")
    seen = {module: start}
    todo = [module]
    while todo:
        name = todo.pop()
        for imported in _imported_modules(name, seen[name]):
            if imported not in seen:
                path = _module_file(imported)
                if path is not None:
                    seen[imported] = path
                    todo.append(imported)
    return tuple(sorted(set(seen.values())))


@lru_cache(maxsize=None)
def producer_source_hash(module: str) -> str:
    """SHA-256 of :func:`producer_files` of ``module`` and of this module (the stored format)."""
    return _hash_files(set(producer_files(module)) | {Path(__file__).resolve()})


def _producer(what: str, module: str | None = None) -> str:
    if what in PRODUCERS:
        return PRODUCERS[what]
    if module is None:
        raise ValueError(f"unknown cache entry kind {what!r}: name the module that computes it")
    return module


def cache_key(model, what: str = "closed-forms", producer: str | None = None) -> str:
    """The key of the entry ``what`` of ``model`` (see the module docstring for what it covers)."""
    fields = {
        "spec": model.spec(),
        "what": what,
        "theory": theory_source_hash(),
        "code": producer_source_hash(_producer(what, producer)),
        "sympy": sp.__version__,
        "format": FORMAT,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def entry_path(model, what: str, producer: str | None = None) -> Path | None:
    """The file of one cached item (``closed-forms``, ``document``, ...) of ``model`` (``None``: disabled)."""
    directory = cache_dir()
    if directory is None:
        return None
    return directory / f"{cache_key(model, what, producer)}-{what}.json"


def _belongs_to(cf: ClosedForms, model) -> bool:
    """A decoded derivation is of ``model``: same spec, parameters, spins, labels and energy."""
    return (json.dumps(cf.spec, sort_keys=True) == json.dumps(model.spec(), sort_keys=True)
            and cf.n == model.n and cf.theta == tuple(model.symbols) and cf.spins == tuple(model.spins)
            and cf.labels == tuple(p.label for p in model.params) and cf.energy == model.energy_expr()
            and cf.polynomial == model.polynomial)


# ---------------------------------------------------------------- files


def _load(path: Path, kind: type, model):
    _open(path.parent)
    key = signing_key()
    if key is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, ValueError):
        return None  # missing or unreadable
    if not authentic(text, key):
        return None  # unsigned, edited or planted: not believed
    value = decode(text, kind)
    if type(value) is ClosedForms:
        if not _belongs_to(value, model):
            return None  # a well-formed derivation of another model
    return value


def _store(path: Path, value) -> None:
    try:
        text = signed(encode(value))
    except ValueError:
        return  # a node outside the whitelist: not cached (computed again next time)
    except OSError:
        return  # no signing key: the disk cache is disabled
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _open(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # a read-only or full disk only costs the next call a derivation
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached(model, what: str, compute, kind: type, cache: bool = True):
    """``compute()``, or its stored value for ``(model, what)`` when the cache has a valid one.

    ``kind`` is ``str`` or :class:`ClosedForms`; the key covers the source of :data:`PRODUCERS` ``[what]``
    (for another ``what``, of the module defining ``compute``) and what it imports."""
    path = entry_path(model, what, getattr(compute, "__module__", None)) if cache else None
    if path is not None:
        found = _load(path, kind, model)
        if found is not None:
            return found
    value = compute()
    if path is not None:
        _store(path, value)
    return value


def closed_forms(model, cache: bool = True) -> ClosedForms:
    """The closed forms of ``model`` (with :math:`H` when it is small, :attr:`ClosedForms.hessian_is_small`; else built on demand), from the disk cache when present."""

    def compute():
        cf = derive(model)
        if cf.hessian_is_small:
            cf.hessian  # noqa: B018  (computed once, stored with the entry; a large H is built only on demand)
        return cf

    return cached(model, "closed-forms", compute, ClosedForms, cache)
