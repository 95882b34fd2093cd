"""Checks the command line makes before it computes anything: output paths that can be written, and
work that fits (an estimate refused beyond :data:`LARGE_SECONDS` unless ``--allow-large``, models too
large for a verb refused before they are built); and writing outputs atomically with a fallback.
Every refusal is a one-line :class:`~theory.errors.SpecError`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from theory.errors import SpecError

#: wall time beyond which ``run``, ``baseline save``, ``sweep`` and ``derive`` refuse to start without --allow-large
LARGE_SECONDS = 30 * 60


# --- output files: checked before computing, written with a fallback --------------------------------------


def _check_output(path: str | None, flag: str) -> None:
    """Refuse, before anything is computed, an output path whose folder is missing, that is a folder, or
    that cannot be opened for writing (tried in append mode, so an existing file is not truncated)."""
    if path is None:
        return
    if not str(path).strip():
        raise SpecError(f"{flag} needs a file name")
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"{flag} {path!r} is a folder; name a file in it")
    parent = p.parent
    if not parent.exists():
        raise SpecError(f"{flag} {path!r}: the folder {str(parent)!r} does not exist; create it or choose another path")
    if not parent.is_dir():
        raise SpecError(f"{flag} {path!r}: {str(parent)!r} is not a folder")
    existed = p.exists() or p.is_symlink()
    try:
        with open(p, "a"):
            pass
    except OSError as err:
        raise SpecError(f"{flag} {path!r} cannot be written ({err.strerror}); choose another path") from None
    if not existed:
        try:
            p.unlink()
        except OSError:
            pass


def _check_plot(path: str | None, flag: str = "--plot") -> None:
    if path is None:
        return
    from .plots import check_plot_path

    check_plot_path(path, flag)
    _check_output(path, flag)


def _replace_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path``; a regular file is replaced atomically (a failed write leaves the old one)."""
    p = Path(path)
    if p.exists() and not p.is_file():  # /dev/stdout, a pipe: write through
        with open(p, "w") as fh:
            fh.write(text)
        return
    target = p.resolve() if p.is_symlink() else p
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def _write_output(path: str, text: str, flag: str) -> bool:
    """Write an output file; when that fails (a full disk), keep the text in a fallback file in the
    temporary folder (or print it to stdout when even that fails) and say so in one line. ``False`` on failure."""
    try:
        _replace_atomically(path, text)
        return True
    except OSError as err:
        import tempfile

        try:
            suffix = Path(path).suffix or (".json" if text.lstrip().startswith("{") else ".txt")
            fd, fallback = tempfile.mkstemp(prefix="ebm-verify-", suffix=suffix)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            kept = f"it was saved to {fallback} instead"
        except OSError:
            print(text)
            kept = "it was printed to stdout instead"
        print(f"ebm-verify: error: cannot write {flag} {path!r} ({err.strerror or err}); {kept}", file=sys.stderr)
        return False


# --- estimates of the work -------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size or (unit in ("h", "min") and seconds >= size):
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.0f} s"


def _check_work(cpu_seconds: float, workers: int, what: str, allow_large: bool, hint: str) -> None:
    """Refuse, in one line, work estimated beyond :data:`LARGE_SECONDS` of wall time unless ``--allow-large``;
    announce long work that starts."""
    wall = cpu_seconds / max(1, workers)
    on = f" on {workers} processes" if workers > 1 else ""
    if wall > LARGE_SECONDS and not allow_large:
        raise SpecError(f"{what} is estimated at about {_duration(wall)}{on} (more than {LARGE_SECONDS // 60} min); "
                        f"{hint}, or pass --allow-large to start it anyway")
    if wall > 2 * 60:
        print(f"note: {what} is estimated at about {_duration(wall)}{on}", file=sys.stderr)


def _peek_model_spec(path: str) -> dict | None:
    """The model spec of a case file (or of a file holding only a spec), read without building anything;
    ``None`` when the file cannot be read (the loader then says why)."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and "family" in obj:
        return obj
    spec = obj.get("model") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else None


def _spec_size(spec: dict) -> tuple[int, int] | None:
    """``(N, P)`` of a model spec whose family counts its parameters without being built
    (:meth:`~theory.families.base.Model.count_parameters`: hidden layers, custom); else ``None``."""
    from theory.families import FAMILIES

    n = spec.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        return None
    cls = FAMILIES.get(spec.get("family")) if isinstance(spec.get("family"), str) else None
    P = cls.count_parameters(spec) if cls is not None else None
    return None if P is None else (n, P)


#: seconds per second derivative ``∂_k∂_l J_A`` (there are ``D P^2``) derived, and per one proved
#: (``rbm`` N = 2: M = 8 in 6 s, M = 32 in 35 s; N = 4, M = 3 in 10 s; with the proofs M = 8 in 1 min)
DERIVE_UNIT_SECONDS = 3e-3
PROOF_UNIT_SECONDS = 25e-3


def _check_derive_size(n: int, P: int, family, args) -> None:
    work = (2**n - 1) * P * P
    seconds = 2 + work * (DERIVE_UNIT_SECONDS + (0 if args.no_proofs else PROOF_UNIT_SECONDS))
    _check_work(seconds, 1, f"deriving the closed forms of this {family} model (N = {n}, P = {P} parameters: "
                            f"D·P² = {work:.3g} second derivatives of J)", args.allow_large,
                "use fewer hidden units or parameters" + ("" if args.no_proofs else ", or --no-proofs"))


#: the largest number of parameters the high-precision verbs accept: ``classify`` and ``fixed-points``
#: decompose P×P matrices at ``dps`` and ``2·dps`` digits, the others hold 2^N×P arrays of mpmath numbers
MAX_PARAMETERS = {"classify": 300, "fixed-points": 300, "couplings": 5000, "flow": 5000, "scaling": 5000}


def _check_model_size(path: str, verb: str) -> None:
    """Refuse, before the model is built, a hidden layer or custom model with more parameters than the verb
    can handle (``hidden = 100000`` would otherwise run for hours or exhaust memory)."""
    spec = _peek_model_spec(path)
    size = _spec_size(spec) if spec else None
    if size is not None and size[1] > MAX_PARAMETERS[verb]:
        raise SpecError(f"the model has P = {size[1]} parameters; {verb} handles at most {MAX_PARAMETERS[verb]} "
                        "(use fewer hidden units)")
