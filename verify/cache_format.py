r"""The file format of the derivation cache (:mod:`verify.derivation_cache`): JSON that cannot execute
code, and the per-user signature that makes a planted entry a miss.

An entry is ``{"format": FORMAT, "type": ..., ..., "hmac": ...}``. Text (a LaTeX document, a digest) is
``"type": "str"`` with its ``"value"``; a :class:`theory.closed_forms.ClosedForms` is ``"type":
"ClosedForms"`` with its fields, its sympy expressions as indices into a node table ``"nodes"`` (each
node ``["Symbol", name, {assumption: bool}]``, ``["Integer", "-12"]``, ``["Rational", "p", "q"]``, a
constant of :data:`CONSTANTS`, or ``[name, [i, j, ...]]`` for an operation of :data:`OPERATIONS` on
*earlier* nodes), and each matrix as ``[class, rows, cols, [node, ...]]`` (:data:`MATRICES`).
:func:`decode` rebuilds a value from the whitelist alone after :func:`json.loads`: no ``eval``, no
parsing of strings, no pickle, no import by name; anything else is invalid (``None``).
:func:`signed` adds an HMAC-SHA256 under :func:`signing_key`, a per-user key kept outside the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path

from sympy.core.assumptions import _assume_defined

from theory.lazy_sympy import sp
from theory.closed_forms import ClosedForms, HiddenUnit
from theory.expression import FUNCTIONS

__all__ = ["CONSTANTS", "FORMAT", "MATRICES", "MAX_DEPTH", "OPERATIONS", "decode", "encode", "signed", "signing_key",
           "authentic"]

#: the version of the file format (part of every key, and checked in every entry)
FORMAT = "ebm-verify-cache/3"
#: the deepest expression accepted from an entry (derivations are far shallower)
MAX_DEPTH = 200

#: node name -> (sympy class, number of arguments; None: two or more)
OPERATIONS = {
    "Add": (sp.Add, None),
    "Mul": (sp.Mul, None),
    "Pow": (sp.Pow, 2),
    # the elementary functions a custom energy may use (sqrt is a Pow)
    **{name: (fn, 1) for name, fn in FUNCTIONS.items() if isinstance(fn, sp.FunctionClass)},
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
_CLOSED_FORM_FIELDS = ("spec", "n", "theta", "labels", "spins", "energy", "values", "empty", "couplings",
                       "jacobian", "coupling_hessians", "polynomial", "hessian", "units", "fields")


class _Invalid(Exception):
    """An entry that is not a well-formed value of the expected type (treated as missing)."""


class _Unsupported(Exception):
    """A value with a node outside the whitelist: it is not cached."""


class _Invalid(Exception):
    """An entry that is not a well-formed value of the expected type (treated as missing)."""


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
    """The JSON text of a ``str`` or of a :class:`ClosedForms` (with :math:`H` when it was computed); raises ``ValueError`` for
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
            "hessian": enc.matrix(cf.__dict__["hessian"]) if "hessian" in cf.__dict__ else None,
            "units": [[enc.expr(u.output), enc.expr(u.bias), [enc.expr(w) for w in u.weights],
                       [[enc.expr(t) for t in table] for table in u.tables]] for u in cf.units],
            "fields": [[k, list(A)] for k, A in cf.fields],
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
        units=_units(nodes, v["units"]),
        fields=_fields(v["fields"]),
    )
    D, P = cf.D, cf.P
    _require(len(cf.values) == 2**cf.n and cf.couplings.shape == (D, 1) and cf.jacobian.shape == (D, P)
             and len(cf.coupling_hessians) == D and all(h.shape == (P, P) for h in cf.coupling_hessians),
             "inconsistent shapes")
    _require(all(len(u.weights) == cf.n and all(len(t) == 2**cf.n for t in u.tables) for u in cf.units),
             "inconsistent unit tables")
    if v["hessian"] is not None:
        hessian = _matrix(nodes, v["hessian"])
        _require(hessian.shape == (P, P), "inconsistent shapes")
        cf.__dict__["hessian"] = hessian  # the cached_property, as computed before storing
    return cf


def _units(nodes: list, obj) -> tuple:
    _require(type(obj) is list, "malformed units")
    out = []
    for unit in obj:
        _require(type(unit) is list and len(unit) == 4 and type(unit[3]) is list and len(unit[3]) == 3,
                 "malformed unit")
        out.append(HiddenUnit(_node(nodes, unit[0]), _node(nodes, unit[1]), _nodes(nodes, unit[2]),
                              tuple(_nodes(nodes, table) for table in unit[3])))
    return tuple(out)


def _fields(obj) -> tuple:
    _require(type(obj) is list and all(type(f) is list and len(f) == 2 and _is_int(f[0]) and type(f[1]) is list
                                       and all(_is_int(i) for i in f[1]) for f in obj), "malformed fields")
    return tuple((f[0], tuple(f[1])) for f in obj)


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


# ---------------------------------------------------------------- signature


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


def authentic(text: str, key: bytes) -> bool:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return False  # malformed or absurdly nested
    mac = obj.get("hmac") if type(obj) is dict else None
    return type(mac) is str and hmac.compare_digest(mac, _mac(key, obj))
