r"""A disk cache of closed-form derivations and of the documents made from them, so that a repeated
``derive`` (or ``run``) does not re-derive.

**What is stored.** Every entry is one UTF-8 JSON file ``<key>-<what>.json``: an object
``{"format": FORMAT, "type": ..., ...}``. A text entry (a LaTeX document, a digest) holds the string
itself (``"type": "str"``, ``"value": "..."``). A :class:`theory.closed_forms.ClosedForms` entry
(``"type": "ClosedForms"``, with :math:`H` computed) holds its fields, its sympy expressions as
indices into a node table ``"nodes"``: each node is one of

* ``["Symbol", name, {assumption: true/false}]`` (the assumptions as given, e.g. ``real``),
* ``["Integer", "-12"]``, ``["Rational", "p", "q"]`` (decimal strings),
* ``["Pi"]``, ``["Exp1"]``, ``["ImaginaryUnit"]``, ... (the constants of :data:`CONSTANTS`),
* ``[name, [i, j, ...]]`` for ``Add``, ``Mul``, ``Pow`` and the functions ``exp log cosh sinh tanh``
  (:data:`OPERATIONS`; :math:`\sqrt{u}` is ``Pow(u, 1/2)``), whose arguments are *earlier* nodes,

and each matrix as ``[class, rows, cols, [node, ...]]`` (:data:`MATRICES`). These are all the node
types a derivation of any family contains; an expression with another node is simply not cached.

**Why reading an entry cannot execute code.** Entries are parsed by :func:`json.loads` (data only) and
rebuilt by :func:`decode` from an explicit whitelist: a node name is looked up in the tables above and
the node's shape and types are checked before the class is called on already-built sympy objects (no
``eval``, no ``sympify`` or parsing of strings, no pickle, no import by name). A node that refers
forward (no cycles), an unknown name, a wrong shape or type, an expression nested deeper than
:data:`MAX_DEPTH`, a ``ClosedForms`` that does not belong to the model asked for, or a value of the
other type (a string where closed forms are expected) make the entry *invalid*, which is the same as
missing: the value is derived again and the entry rewritten. Old ``*.pickle`` entries are never
opened.

**Why a planted entry is not believed.** Every entry carries ``"hmac"``: an HMAC-SHA256 of the rest of
the entry under a per-user key kept *outside* the cache (``$EBM_VERIFY_KEY``, or
``~/.config/ebm-verify/cache.key``, created with mode 0600 on first use). An entry without a valid
signature (written by someone else, edited, or planted) is a miss, so a well-formed but wrong
derivation in a shared folder is never served; without a usable key the disk cache is disabled.

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
import hmac
import json
import os
import re
import secrets
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import sympy as sp
from sympy.core.assumptions import _assume_defined

import theory
from theory.closed_forms import ClosedForms, derive, is_polynomial_family

__all__ = [
    "CONSTANTS",
    "FORMAT",
    "MATRICES",
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

#: the version of the file format (part of every key, and checked in every entry)
FORMAT = "ebm-verify-cache/2"
#: temporary files older than this (seconds) are removed when the folder is opened
STALE_TMP_SECONDS = 3600
#: the deepest expression accepted from an entry (derivations are far shallower)
MAX_DEPTH = 200

#: the module whose source (with what it imports from ``theory``/``verify``) produces each kind of entry
PRODUCERS = {
    "closed-forms": "theory.closed_forms",
    "document": "verify.document",
    "document-proofs": "verify.document",
    "digest": "verify.closed_form_evaluators",
}

#: node name -> (sympy class, number of arguments; None: two or more)
OPERATIONS = {
    "Add": (sp.Add, None),
    "Mul": (sp.Mul, None),
    "Pow": (sp.Pow, 2),
    "exp": (sp.exp, 1),
    "log": (sp.log, 1),
    "cosh": (sp.cosh, 1),
    "sinh": (sp.sinh, 1),
    "tanh": (sp.tanh, 1),
}
#: node name -> constant (custom energies can produce them, e.g. ``log(-1)`` is ``I*pi``)
CONSTANTS = {
    "Pi": sp.S.Pi,
    "Exp1": sp.S.Exp1,
    "ImaginaryUnit": sp.S.ImaginaryUnit,
    "Infinity": sp.S.Infinity,
    "NegativeInfinity": sp.S.NegativeInfinity,
    "ComplexInfinity": sp.S.ComplexInfinity,
    "NaN": sp.S.NaN,
}
#: matrix class name -> class
MATRICES = {
    "ImmutableDenseMatrix": sp.ImmutableDenseMatrix,
    "MutableDenseMatrix": sp.MutableDenseMatrix,
}

_OPERATION_NAMES = {cls: name for name, (cls, _) in OPERATIONS.items()}
_CONSTANT_NAMES = {id(value): name for name, value in CONSTANTS.items()}
_INTEGER = re.compile(r"-?[0-9]{1,4000}")
_ROOT = Path(theory.__file__).resolve().parent.parent
_PACKAGES = ("theory", "verify")
_CLOSED_FORM_FIELDS = ("spec", "n", "theta", "labels", "spins", "energy", "values", "empty", "couplings",
                       "jacobian", "coupling_hessians", "polynomial", "hessian")


class _Invalid(Exception):
    """An entry that is not a well-formed value of the expected type (treated as missing)."""


class _Unsupported(Exception):
    """A value with a node outside the whitelist: it is not cached."""


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
    """SHA-256 of every ``theory/*.py`` file (names and contents, in sorted order)."""
    return _hash_files(Path(theory.__file__).resolve().parent.glob("*.py"))


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
    found = []
    for dots, module, names, plain in _IMPORT.findall(_source_bytes(path).decode("utf-8", "replace")):
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


# ---------------------------------------------------------------- encoding


class _Encoder:
    """Sympy expressions to a node table (shared sub-expressions stored once)."""

    def __init__(self):
        self.nodes: list = []
        self._index: dict = {}  # node content -> index
        self._by_id: dict = {}  # id(expr) -> index
        self._alive: list = []  # keeps the ids valid

    def _add(self, key, node) -> int:
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.nodes)
            self.nodes.append(node)
        return index

    def _leaf(self, e) -> int | None:
        if id(e) in _CONSTANT_NAMES and CONSTANTS[_CONSTANT_NAMES[id(e)]] is e:
            name = _CONSTANT_NAMES[id(e)]
            return self._add((name,), [name])
        if type(e) is sp.Symbol:
            assumptions = {k: bool(v) for k, v in sorted(e._assumptions_orig.items()) if v is not None}
            return self._add(("Symbol", e.name, tuple(assumptions.items())), ["Symbol", e.name, assumptions])
        if isinstance(e, sp.Integer):
            return self._add(("Integer", str(e.p)), ["Integer", str(e.p)])
        if isinstance(e, sp.Rational):
            return self._add(("Rational", str(e.p), str(e.q)), ["Rational", str(e.p), str(e.q)])
        return None

    def expr(self, root) -> int:
        """The index of ``root`` (iterative post-order: no recursion limit)."""
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in self._by_id:
                continue
            if not isinstance(e, sp.Basic):
                raise _Unsupported(type(e).__name__)
            leaf = self._leaf(e)
            if leaf is not None:
                index = leaf
            else:
                name = _OPERATION_NAMES.get(type(e))
                if name is None:
                    raise _Unsupported(type(e).__name__)
                if not ready:
                    stack.append((e, True))
                    stack.extend((a, False) for a in reversed(e.args) if id(a) not in self._by_id)
                    continue
                children = [self._by_id[id(a)] for a in e.args]
                index = self._add((name, tuple(children)), [name, children])
            self._by_id[id(e)] = index
            self._alive.append(e)
        return self._by_id[id(root)]

    def matrix(self, m) -> list:
        name = type(m).__name__
        if MATRICES.get(name) is not type(m):
            raise _Unsupported(name)
        return [name, m.rows, m.cols, [self.expr(e) for e in m]]


def encode(value) -> str:
    """The JSON text of a ``str`` or of a :class:`ClosedForms` (with :math:`H`); raises ``ValueError`` for
    anything else, or for an expression with a node outside the whitelist."""
    if type(value) is str:
        return json.dumps({"format": FORMAT, "type": "str", "value": value}, ensure_ascii=False)
    if type(value) is not ClosedForms:
        raise ValueError(f"cannot cache a {type(value).__name__}")
    cf = value
    enc = _Encoder()
    try:
        fields = {
            "spec": cf.spec,
            "n": cf.n,
            "theta": [enc.expr(t) for t in cf.theta],
            "labels": list(cf.labels),
            "spins": [enc.expr(s) for s in cf.spins],
            "energy": enc.expr(cf.energy),
            "values": [enc.expr(v) for v in cf.values],
            "empty": enc.expr(cf.empty),
            "couplings": enc.matrix(cf.couplings),
            "jacobian": enc.matrix(cf.jacobian),
            "coupling_hessians": [enc.matrix(h) for h in cf.coupling_hessians],
            "polynomial": cf.polynomial,
            "hessian": enc.matrix(cf.hessian),
        }
    except _Unsupported as err:
        raise ValueError(f"cannot cache an expression containing {err}") from None
    return json.dumps({"format": FORMAT, "type": "ClosedForms", "nodes": enc.nodes, "value": fields},
                      ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- decoding


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise _Invalid(why)


def _is_int(x) -> bool:
    return type(x) is int


def _integer(text) -> int:
    _require(type(text) is str and _INTEGER.fullmatch(text) is not None, "not an integer string")
    return int(text)


def _decode_nodes(nodes) -> list:
    """Rebuild the node table (whitelisted classes only, arguments earlier in the table)."""
    _require(type(nodes) is list, "nodes is not a list")
    out: list = []
    depth: list[int] = []
    for node in nodes:
        _require(type(node) is list and len(node) >= 1 and type(node[0]) is str, "malformed node")
        name = node[0]
        if name == "Symbol":
            _require(len(node) == 3 and type(node[1]) is str and node[1] != "" and type(node[2]) is dict,
                     "malformed Symbol")
            assumptions = node[2]
            _require(all(k in _assume_defined and type(v) is bool for k, v in assumptions.items()),
                     "unknown assumption")
            value, d = sp.Symbol(node[1], **assumptions), 1
        elif name == "Integer":
            _require(len(node) == 2, "malformed Integer")
            value, d = sp.Integer(_integer(node[1])), 1
        elif name == "Rational":
            _require(len(node) == 3, "malformed Rational")
            p, q = _integer(node[1]), _integer(node[2])
            _require(q > 1, "malformed Rational")
            value, d = sp.Rational(p, q), 1
            _require(isinstance(value, sp.Rational) and (value.p, value.q) == (p, q), "Rational not in lowest terms")
        elif name in CONSTANTS:
            _require(len(node) == 1, f"malformed {name}")
            value, d = CONSTANTS[name], 1
        elif name in OPERATIONS:
            cls, arity = OPERATIONS[name]
            _require(len(node) == 2 and type(node[1]) is list, f"malformed {name}")
            children = node[1]
            _require(len(children) == arity if arity else len(children) >= 2, f"wrong number of arguments of {name}")
            _require(all(_is_int(i) and 0 <= i < len(out) for i in children), "argument is not an earlier node")
            d = 1 + max(depth[i] for i in children)
            _require(d <= MAX_DEPTH, "expression nested too deeply")
            value = cls(*(out[i] for i in children), evaluate=False)
        else:
            raise _Invalid(f"unknown node {name!r}")
        out.append(value)
        depth.append(d)
    return out


def _node(nodes: list, i):
    _require(_is_int(i) and 0 <= i < len(nodes), "bad node reference")
    return nodes[i]


def _nodes(nodes: list, indices) -> tuple:
    _require(type(indices) is list, "not a list of nodes")
    return tuple(_node(nodes, i) for i in indices)


def _matrix(nodes: list, obj):
    _require(type(obj) is list and len(obj) == 4 and type(obj[0]) is str and obj[0] in MATRICES, "malformed matrix")
    _, rows, cols, entries = obj
    _require(_is_int(rows) and _is_int(cols) and rows >= 0 and cols >= 0, "malformed matrix shape")
    _require(type(entries) is list and len(entries) == rows * cols, "malformed matrix entries")
    return MATRICES[obj[0]](rows, cols, list(_nodes(nodes, entries)))


def _closed_forms(obj: dict) -> ClosedForms:
    _require(set(obj) - {"hmac"} == {"format", "type", "nodes", "value"}, "malformed entry")
    nodes = _decode_nodes(obj["nodes"])
    v = obj["value"]
    _require(type(v) is dict and set(v) == set(_CLOSED_FORM_FIELDS), "malformed closed forms")
    _require(type(v["spec"]) is dict and _is_int(v["n"]) and type(v["polynomial"]) is bool, "malformed fields")
    _require(type(v["labels"]) is list and all(type(t) is str for t in v["labels"]), "malformed labels")
    symbols = _nodes(nodes, v["theta"]) + _nodes(nodes, v["spins"])
    _require(all(type(s) is sp.Symbol for s in symbols), "parameters and spins must be symbols")
    hessians = v["coupling_hessians"]
    _require(type(hessians) is list, "malformed coupling_hessians")
    cf = ClosedForms(
        spec=v["spec"],
        n=v["n"],
        theta=_nodes(nodes, v["theta"]),
        labels=tuple(v["labels"]),
        spins=_nodes(nodes, v["spins"]),
        energy=_node(nodes, v["energy"]),
        values=_nodes(nodes, v["values"]),
        empty=_node(nodes, v["empty"]),
        couplings=_matrix(nodes, v["couplings"]),
        jacobian=_matrix(nodes, v["jacobian"]),
        coupling_hessians=tuple(_matrix(nodes, h) for h in hessians),
        polynomial=v["polynomial"],
    )
    D, P = cf.D, cf.P
    _require(len(cf.values) == 2**cf.n and cf.couplings.shape == (D, 1) and cf.jacobian.shape == (D, P)
             and len(cf.coupling_hessians) == D and all(h.shape == (P, P) for h in cf.coupling_hessians),
             "inconsistent shapes")
    hessian = _matrix(nodes, v["hessian"])
    _require(hessian.shape == (P, P), "inconsistent shapes")
    cf.__dict__["hessian"] = hessian  # the cached_property, as computed before storing
    return cf


def decode(text, kind: type):
    """The value of an entry's JSON ``text`` if it is a well-formed ``kind`` (``str`` or :class:`ClosedForms`),
    else ``None``. Nothing in ``text`` is executed: see the module docstring."""
    try:
        obj = json.loads(text)
        _require(type(obj) is dict and obj.get("format") == FORMAT, "not an entry of this format")
        if kind is str:
            _require(set(obj) - {"hmac"} == {"format", "type", "value"} and obj["type"] == "str"
                     and type(obj["value"]) is str,
                     "not a text entry")
            return obj["value"]
        if kind is ClosedForms:
            _require(obj.get("type") == "ClosedForms", "not a closed-forms entry")
            return _closed_forms(obj)
        return None
    except Exception:  # noqa: BLE001  (_Invalid, or any error of json or of a sympy constructor)
        return None  # malformed, truncated, hostile or from another format: derive again


def _belongs_to(cf: ClosedForms, model) -> bool:
    """A decoded derivation is of ``model``: same spec, parameters, spins, labels and energy."""
    return (json.dumps(cf.spec, sort_keys=True) == json.dumps(model.spec(), sort_keys=True)
            and cf.n == model.n and cf.theta == tuple(model.symbols) and cf.spins == tuple(model.spins)
            and cf.labels == tuple(p.label for p in model.params) and cf.energy == model.energy_expr()
            and cf.polynomial == is_polynomial_family(model))


# ---------------------------------------------------------------- files


def signing_key() -> bytes | None:
    """The per-user key that signs entries (see the module docstring), created on first use; ``None``
    when it cannot be read or created (then the disk cache is disabled)."""
    configured = os.environ.get("EBM_VERIFY_KEY")
    if configured is not None and configured.strip():
        path = Path(configured).absolute()
    else:
        home = os.path.expanduser("~")
        if not home or home.startswith("~") or not os.path.isabs(home):
            return None
        path = Path(home) / ".config" / "ebm-verify" / "cache.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
            key = path.read_bytes()
        except OSError:
            return None  # FileExistsError (another process won the race) is an OSError: read next time
    except OSError:
        return None
    return key if len(key) >= 32 else None


def _mac(key: bytes, obj: dict) -> str:
    body = json.dumps({k: v for k, v in obj.items() if k != "hmac"}, sort_keys=True, ensure_ascii=False)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def signed(text: str, key: bytes | None = None) -> str:
    """An entry's JSON ``text`` with its ``"hmac"`` under ``key`` (default: :func:`signing_key`)."""
    key = key or signing_key()
    if key is None:
        raise OSError("no signing key")
    obj = json.loads(text)
    obj["hmac"] = _mac(key, obj)
    return json.dumps(obj, ensure_ascii=False)


def _authentic(text: str, key: bytes) -> bool:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return False  # malformed or absurdly nested
    mac = obj.get("hmac") if type(obj) is dict else None
    return type(mac) is str and hmac.compare_digest(mac, _mac(key, obj))


def _load(path: Path, kind: type, model):
    _open(path.parent)
    key = signing_key()
    if key is None:
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, ValueError):
        return None  # missing or unreadable
    if not _authentic(text, key):
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
    """The closed forms of ``model`` (with :math:`H`), from the disk cache when present."""

    def compute():
        cf = derive(model)
        cf.hessian  # noqa: B018  (computed once, stored with the entry)
        return cf

    return cached(model, "closed-forms", compute, ClosedForms, cache)
