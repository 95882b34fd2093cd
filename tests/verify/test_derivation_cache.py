"""The derivation cache stores JSON that cannot execute code, rebuilds exactly what was stored, and keys
each entry by the code that produces it (issue 17 item 1, issue 16 item 16)."""

import ast
import json
import os
import pickle
import time

import pytest
import sympy as sp

from theory.closed_forms import ClosedForms, derive
from theory.models import model_from_spec
from verify import derivation_cache
from verify.document import derivation_document

GIM_2 = {"family": "gim", "n": 2}

FAMILIES = {
    "gim-n2": GIM_2,
    "gim-n3-order2": {"family": "gim", "n": 3, "max_order": 2},
    "rbm-spin": {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "spin"},
    "rbm-bernoulli": {"family": "rbm", "n": 2, "hidden": 1, "hidden_units": "bernoulli"},
    "mlp-tanh": {"family": "mlp", "n": 2, "hidden": 1, "activation": "tanh"},
    "mlp-quadratic": {"family": "mlp", "n": 2, "hidden": 1, "activation": "quadratic"},
    "mlp-cubic": {"family": "mlp", "n": 2, "hidden": 1, "activation": "cubic"},
    "mlp-softplus": {"family": "mlp", "n": 2, "hidden": 1, "activation": "softplus"},
    "mlp-silu": {"family": "mlp", "n": 2, "hidden": 1, "activation": "silu"},
    "product": {"family": "product", "n": 3},
    "product-fields": {"family": "product", "n": 3, "fields": True},
    "product-subsets": {"family": "product", "n": 3, "fields": True, "subsets": ["1,2", "1,2,3"]},
    "product-subsets-no-fields": {"family": "product", "n": 3, "subsets": ["1,3"]},
    "custom": {"family": "custom", "n": 2, "energy": "a*s1 + b*s2 + log(cosh(c + w*s1*s2))",
               "params": ["a", "b", "c", "w"]},
    "custom-functions": {"family": "custom", "n": 2,
                         "energy": "0.5*sqrt(exp(a)) * s1 + sinh(b)*tanh(a*s1*s2) + log(2)*b*s2 + exp(1)*a",
                         "params": ["a", "b"]},
}

_THEORY_HASH, _PRODUCER_HASH = derivation_cache.theory_source_hash, derivation_cache.producer_source_hash

FIELDS = ("theta", "spins", "energy", "values", "empty", "couplings", "jacobian", "coupling_hessians", "hessian")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EBM_VERIFY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EBM_VERIFY_KEY", str(tmp_path / "key" / "cache.key"))
    yield
    _THEORY_HASH.cache_clear()  # (monkeypatch is undone after this: clear the real functions)
    _PRODUCER_HASH.cache_clear()


def derived(spec):
    cf = derive(model_from_spec(spec))
    cf.hessian  # noqa: B018
    return cf


@pytest.fixture(scope="module")
def gim2_entry():
    return derivation_cache.encode(derived(GIM_2))


def entry(model, what="closed-forms"):
    path = derivation_cache.entry_path(model, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------ nothing is executed


class _Payload:
    """Unpickling this creates ``marker`` (as any planted pickle could run any code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_planted_pickle_is_never_executed(tmp_path):
    model = model_from_spec(GIM_2)
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Payload(marker))
    path = entry(model)
    for planted in (path, path.with_suffix(".pickle"), path.with_name(path.name.replace(".json", ".pickle"))):
        planted.write_bytes(payload)
    cf = derivation_cache.closed_forms(model)
    assert not marker.exists()
    assert isinstance(cf, ClosedForms) and cf == derived(GIM_2)
    assert derivation_cache.decode(path.read_text(), ClosedForms) == cf  # the entry was rewritten as JSON
    pickle.loads(payload)  # the payload is live: unpickling it does create the marker
    assert marker.exists()


def test_pickled_string_is_not_a_document():
    model = model_from_spec(GIM_2)
    path = entry(model, "document")
    path.write_bytes(pickle.dumps("hello"))
    path.with_suffix(".pickle").write_bytes(pickle.dumps("hello"))
    text = derivation_document(model, prove=False)
    assert text != "hello" and text.startswith("\\documentclass")
    assert derivation_cache.decode(path.read_text(), str) == text


def test_value_of_the_wrong_type_is_a_miss():
    model = model_from_spec(GIM_2)
    path = entry(model)
    path.write_text(derivation_cache.encode("hello"))
    assert derivation_cache.closed_forms(model) == derived(GIM_2)
    path.write_text(json.dumps("hello"))
    assert derivation_cache.closed_forms(model) == derived(GIM_2)
    assert derivation_cache.decode(derivation_cache.encode(derived(GIM_2)), str) is None
    assert derivation_cache.decode(json.dumps("hello"), str) is None


def test_entry_of_another_model_is_a_miss():
    small, large = model_from_spec(GIM_2), model_from_spec({"family": "gim", "n": 3})
    entry(large).write_text(derivation_cache.encode(derived(GIM_2)))
    assert derivation_cache.closed_forms(large).n == 3
    assert derivation_cache.closed_forms(small).n == 2


def _mutate(text, change):
    obj = json.loads(text)
    change(obj)
    return json.dumps(obj)


def _first(obj, name):
    return next(i for i, node in enumerate(obj["nodes"]) if node[0] == name)


def _set_node(name, node):
    def change(obj):
        obj["nodes"][_first(obj, name)] = node
    return change


MALFORMED = {
    "not json": lambda text: "{not json",
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "other format": lambda text: _mutate(text, lambda o: o.update(format="ebm-verify-cache/1")),
    "extra key": lambda text: _mutate(text, lambda o: o.update(code="__import__('os')")),
    "unknown node __import__": lambda text: _mutate(text, _set_node("Add", ["__import__", [0]])),
    "unknown node eval": lambda text: _mutate(text, _set_node("Symbol", ["eval", "1+1"])),
    "unknown node Function": lambda text: _mutate(text, _set_node("Add", ["Function", [0, 1]])),
    "unknown node Float": lambda text: _mutate(text, _set_node("Integer", ["Float", "1.5"])),
    "Integer as an expression": lambda text: _mutate(text, _set_node("Integer", ["Integer", "1+1"])),
    "Integer as a JSON number": lambda text: _mutate(text, _set_node("Integer", ["Integer", 2])),
    "Symbol assumption not a bool": lambda text: _mutate(text, _set_node("Symbol", ["Symbol", "x", {"real": "yes"}])),
    "Symbol unknown assumption": lambda text: _mutate(text, _set_node("Symbol", ["Symbol", "x", {"__class__": True}])),
    "Symbol contradictory assumptions": lambda text: _mutate(text, _set_node(
        "Symbol", ["Symbol", "x", {"positive": True, "negative": True}])),
    "Symbol name not a string": lambda text: _mutate(text, _set_node("Symbol", ["Symbol", ["x"], {}])),
    "forward reference": lambda text: _mutate(text, _set_node("Add", ["Add", [0, 10**6]])),
    "negative reference": lambda text: _mutate(text, _set_node("Add", ["Add", [0, -1]])),
    "bool as a reference": lambda text: _mutate(text, _set_node("Add", ["Add", [True, False]])),
    "wrong arity": lambda text: _mutate(text, _set_node("Pow", ["Pow", [0]])),
    "Rational with zero denominator": lambda text: _mutate(text, _set_node("Integer", ["Rational", "1", "0"])),
    "matrix of the wrong size": lambda text: _mutate(text, lambda o: o["value"]["couplings"].__setitem__(1, 7)),
    "unknown matrix class": lambda text: _mutate(text, lambda o: o["value"]["jacobian"].__setitem__(0, "Matrix")),
    "theta not symbols": lambda text: _mutate(text, lambda o: o["value"].update(theta=[_first(o, "Integer")])),
    "missing field": lambda text: _mutate(text, lambda o: o["value"].pop("hessian")),
    "huge JSON nesting": lambda text: "[" * 200_000 + "]" * 200_000,
    "huge expression nesting": lambda text: _mutate(text, lambda o: o["nodes"].extend(
        ["exp", [len(o["nodes"]) + k - 1]] for k in range(5000))),
    "huge integer": lambda text: _mutate(text, _set_node("Integer", ["Integer", "9" * 100_000])),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_entries_are_misses(name, gim2_entry):
    text = MALFORMED[name](gim2_entry)
    assert derivation_cache.decode(text, ClosedForms) is None
    model = model_from_spec(GIM_2)
    path = entry(model)
    path.write_text(text)
    assert derivation_cache.closed_forms(model) == derived(GIM_2)  # derived again ...
    assert derivation_cache.decode(path.read_text(), ClosedForms) is not None  # ... and rewritten


def test_huge_expression_nesting_is_refused_even_when_used():
    obj = json.loads(derivation_cache.encode(derived(GIM_2)))
    start = len(obj["nodes"])
    obj["nodes"].append(["Symbol", "x", {}])
    obj["nodes"].extend(["exp", [start + k]] for k in range(derivation_cache.MAX_DEPTH + 5))
    obj["value"]["empty"] = len(obj["nodes"]) - 1
    assert derivation_cache.decode(json.dumps(obj), ClosedForms) is None


def test_unsupported_node_is_not_cached(tmp_path):
    cf = derived(GIM_2)
    odd = ClosedForms(**{**{f: getattr(cf, f) for f in cf.__dataclass_fields__}, "empty": sp.Function("f")(1)})
    with pytest.raises(ValueError):
        derivation_cache.encode(odd)
    path = tmp_path / "cache" / "derivations" / "odd.json"
    derivation_cache._store(path, odd)
    assert not path.exists()


# ------------------------------------------------------------------ exact round trip


@pytest.mark.parametrize("name", list(FAMILIES))
def test_round_trip_is_exact(name):
    original = derived(FAMILIES[name])
    text = derivation_cache.encode(original)
    decoded = derivation_cache.decode(text, ClosedForms)
    assert decoded is not None and decoded == original
    assert decoded.spec == original.spec == model_from_spec(FAMILIES[name]).spec()
    for field in FIELDS:
        assert sp.srepr(getattr(decoded, field)) == sp.srepr(getattr(original, field)), field
        assert type(getattr(decoded, field)) is type(getattr(original, field)), field
    assert decoded.hessian == original.hessian and "hessian" in vars(decoded)
    for mine, theirs in zip(decoded.theta + decoded.spins, original.theta + original.spins):
        assert mine._assumptions_orig == theirs._assumptions_orig and mine.is_real == theirs.is_real
    assert decoded.theta[0].is_real
    assert derivation_cache.encode(decoded) == text


def test_round_trip_through_the_disk():
    spec = FAMILIES["rbm-bernoulli"]
    model = model_from_spec(spec)
    first = derivation_cache.closed_forms(model)
    path = derivation_cache.entry_path(model, "closed-forms")
    assert path.suffix == ".json" and path.exists()
    again = derivation_cache.closed_forms(model)
    assert again is not first and again == first and sp.srepr(again.hessian) == sp.srepr(first.hessian)


def test_documents_are_stored_as_json_strings():
    model = model_from_spec(GIM_2)
    text = derivation_document(model, prove=False)
    stored = json.loads(derivation_cache.entry_path(model, "document").read_text())
    assert len(stored.pop("hmac")) == 64
    assert stored == {"format": derivation_cache.FORMAT, "type": "str", "value": text}
    assert derivation_document(model, prove=False) == text


# ------------------------------------------------------------------ keys


def _edited(monkeypatch, name):
    """Pretend ``name`` (a path under the project root) was edited."""
    real = derivation_cache._source_bytes

    def source(path):
        data = real(path)
        return data + b"\n# edited\n" if path.as_posix().endswith(name) else data

    derivation_cache.theory_source_hash.cache_clear()
    derivation_cache.producer_source_hash.cache_clear()
    monkeypatch.setattr(derivation_cache, "_source_bytes", source)


def test_document_key_covers_the_document_code(monkeypatch):
    model = model_from_spec(GIM_2)
    keys = {what: derivation_cache.cache_key(model, what) for what in ("closed-forms", "document", "document-proofs")}
    assert len(set(keys.values())) == 3
    _edited(monkeypatch, "verify/document.py")
    assert derivation_cache.cache_key(model, "document") != keys["document"]
    assert derivation_cache.cache_key(model, "document-proofs") != keys["document-proofs"]
    assert derivation_cache.cache_key(model, "closed-forms") == keys["closed-forms"]  # formulas did not change


def test_document_key_covers_what_the_document_imports(monkeypatch):
    def files(module):
        return {p.relative_to(derivation_cache._ROOT).as_posix() for p in derivation_cache.producer_files(module)}

    assert {"verify/document.py", "verify/identities.py", "verify/registry.py", "theory/latex.py"} <= files(
        "verify.document")
    assert not any(name.startswith("verify/") for name in files("theory.closed_forms"))
    model = model_from_spec(GIM_2)
    key = derivation_cache.cache_key(model, "document")
    _edited(monkeypatch, "verify/identities.py")
    assert derivation_cache.cache_key(model, "document") != key


def test_document_key_covers_every_proposition_module(monkeypatch):
    """verify/propositions/ imports its modules automatically; editing one still invalidates documents."""
    assert "verify/propositions/s2_spurious.py" in {
        p.relative_to(derivation_cache._ROOT).as_posix() for p in derivation_cache.producer_files("verify.document")}
    model = model_from_spec(GIM_2)
    key = derivation_cache.cache_key(model, "document")
    _edited(monkeypatch, "verify/propositions/s2_spurious.py")
    assert derivation_cache.cache_key(model, "document") != key


def _ast_closure(start):
    """The same closure as :func:`derivation_cache.producer_files`, from the parsed sources."""
    seen = {start: derivation_cache._module_file(start)}
    todo = [start]
    while todo:
        name = todo.pop()
        path = seen[name]
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_bytes())):
            if (path.name == "__init__.py" and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "iter_modules"):  # a package importing every module of its folder
                modules = [f"{name}.{p.stem}" for p in path.parent.glob("*.py") if p.name != "__init__.py"]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - (node.level - 1)] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                modules = [module] + [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                for k in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:k])
                    found = derivation_cache._module_file(prefix)
                    if found is not None and prefix not in seen:
                        seen[prefix] = found
                        todo.append(prefix)
    return set(seen.values())


@pytest.mark.parametrize("module", sorted(set(derivation_cache.PRODUCERS.values())))
def test_import_scan_finds_what_the_parser_finds(module):
    assert set(derivation_cache.producer_files(module)) == _ast_closure(module)


def test_document_key_changes_with_a_monkeypatched_source_hash(monkeypatch):
    model = model_from_spec(GIM_2)
    key, closed = derivation_cache.cache_key(model, "document"), derivation_cache.cache_key(model)
    real = derivation_cache.producer_source_hash
    monkeypatch.setattr(derivation_cache, "producer_source_hash",
                        lambda module: "0" * 64 if module == "verify.document" else real(module))
    assert derivation_cache.cache_key(model, "document") != key
    assert derivation_cache.cache_key(model) == closed


def test_stale_document_is_not_served(monkeypatch):
    model = model_from_spec(GIM_2)
    text = derivation_document(model, prove=False)
    derivation_cache.entry_path(model, "document").write_text(derivation_cache.signed(derivation_cache.encode("stale")))
    assert derivation_document(model, prove=False) == "stale"  # same code: the (signed) entry is served
    _edited(monkeypatch, "verify/document.py")
    assert derivation_document(model, prove=False) == text  # edited code: derived again


def test_key_covers_sympy_version_and_spec(monkeypatch):
    model = model_from_spec(FAMILIES["product-subsets"])
    key = derivation_cache.cache_key(model)
    assert key != derivation_cache.cache_key(model_from_spec(FAMILIES["product-fields"]))
    monkeypatch.setattr(sp, "__version__", "0.0")
    assert derivation_cache.cache_key(model) != key


# ------------------------------------------------------------------ the folder


def test_empty_cache_variable_creates_nothing(tmp_path, monkeypatch):
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    for value in ("", "  "):
        monkeypatch.setenv("EBM_VERIFY_CACHE", value)
        assert derivation_cache.cache_dir() is None and derivation_cache.entry_path(model_from_spec(GIM_2), "x") is None
        model = model_from_spec(GIM_2)
        assert derivation_cache.closed_forms(model) == derived(GIM_2)
        assert derivation_document(model, prove=False).startswith("\\documentclass")
    assert list(cwd.iterdir()) == [] and list(home.iterdir()) == []


def test_stray_temporary_files_are_cleaned(tmp_path):
    folder = tmp_path / "cache" / "derivations"
    folder.mkdir(parents=True)
    old, fresh = folder / "abc-closed-forms.json.x1.tmp", folder / "def-closed-forms.json.x2.tmp"
    old.write_text("{")
    fresh.write_text("{")
    past = time.time() - 2 * derivation_cache.STALE_TMP_SECONDS
    os.utime(old, (past, past))
    derivation_cache.closed_forms(model_from_spec(GIM_2))
    assert not old.exists() and fresh.exists()  # a fresh one may belong to a worker still writing
    assert not [p for p in folder.iterdir() if p.suffix == ".tmp" and p != fresh]


def test_old_pickle_entries_are_ignored():
    model = model_from_spec(GIM_2)
    path = entry(model)
    old = path.with_suffix(".pickle")
    old.write_bytes(pickle.dumps("hello"))
    assert derivation_cache.closed_forms(model) == derived(GIM_2)
    assert old.read_bytes() == pickle.dumps("hello") and path.exists()


# ------------------------------------------------------------------ signatures


def test_a_well_formed_but_unsigned_or_foreign_entry_is_not_believed(tmp_path):
    # a planted derivation can be well formed and wrong: without this user's signature it is a miss
    model = model_from_spec(GIM_2)
    path = derivation_cache.entry_path(model, "document")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = derivation_document(model, prove=False)
    for planted in (derivation_cache.encode("wrong"),  # unsigned
                    derivation_cache.signed(derivation_cache.encode("wrong"), key=b"k" * 32)):  # someone else's key
        path.write_text(planted)
        assert derivation_document(model, prove=False) == text
    signed = json.loads(path.read_text())
    signed["value"] = "edited"  # a signed entry edited afterwards
    path.write_text(json.dumps(signed))
    assert derivation_document(model, prove=False) == text


def test_the_key_lives_outside_the_cache_and_is_private():
    import os
    import stat

    key = derivation_cache.signing_key()
    path = os.environ["EBM_VERIFY_KEY"]
    assert key is not None and len(key) >= 32 and open(path, "rb").read() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not path.startswith(str(derivation_cache.cache_dir()))
