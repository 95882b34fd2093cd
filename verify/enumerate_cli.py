r"""The ``enumerate`` verb: ``--box`` (one interval, or one per parameter group), the option checks, the case.

``--box R`` is :math:`[-R, R]` and ``--box LO,HI`` is :math:`[LO, HI]` for every parameter; ``--box
"GROUP=LO,HI;GROUP=R;..."`` gives the bounds of each parameter group the model names (:attr:`Param.group
<theory.families.base.Param>`: ``a``, ``b``, ``w`` for ``rbm``; ``u``, ``v`` for ``product``; ...), and a bare ``R`` or
``LO,HI`` among them is the default of the groups not named. Every problem is one line (exit 2).
"""

from __future__ import annotations

from fractions import Fraction

from theory.errors import SpecError

__all__ = ["parse_box", "parse_interval", "enumerate_document", "MAX_N", "MAX_P"]

#: the largest models the enumeration accepts (each box costs O(4^N P^2) ball operations)
MAX_N, MAX_P = 6, 24
#: no bound beyond this (the ball arithmetic of exp(F) overflows long before)
LIMIT = 1000


def _exact(text: str, flag: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{flag} expects numbers, got {text!r}") from None
    return value


def parse_interval(text: str, where: str = "--box") -> tuple[Fraction, Fraction]:
    """``"R"`` is ``[-R, R]``; ``"LO,HI"`` is ``[LO, HI]``."""
    parts = [t.strip() for t in str(text).split(",")]
    if len(parts) not in (1, 2) or not all(parts):
        raise SpecError(f"{where} must be R (for [-R, R]) or LO,HI, got {text!r}")
    values = [_exact(t, where) for t in parts]
    lo, hi = (-values[0], values[0]) if len(values) == 1 else tuple(values)
    if not lo < hi:
        raise SpecError(f"{where} must have LO < HI (R > 0), got {text!r}")
    if max(abs(lo), abs(hi)) > LIMIT:
        raise SpecError(f"{where} bounds must lie in [-{LIMIT}, {LIMIT}], got {text!r}")
    return lo, hi


def parse_box(text: str, model=None) -> tuple:
    """``(lo, hi)``: two numbers for one interval, or (with the ``model``) two tuples of ``P`` bounds for
    ``GROUP=LO,HI;...`` (see the module docstring)."""
    text = str(text)
    if "=" not in text:
        return parse_interval(text)
    if model is None:
        raise SpecError("--box with parameter groups needs the model")
    groups = list(dict.fromkeys(p.group for p in model.params))
    bounds, default, default_text = {}, None, ""
    for item in (t.strip() for t in text.split(";")):
        if not item:
            continue
        if "=" not in item:
            if default is not None:
                raise SpecError(f"--box gives two default intervals ({default_text!r} and {item!r}); give one")
            default, default_text = parse_interval(item), item
            continue
        name, _, interval = (t.strip() for t in item.partition("="))
        if name not in groups:
            raise SpecError(f"--box: unknown parameter group {name!r}; this model's groups are {', '.join(groups)}")
        if name in bounds:
            raise SpecError(f"--box names the group {name!r} twice")
        bounds[name] = parse_interval(interval, f"--box {name}=")
    missing = [g for g in groups if g not in bounds]
    if missing and default is None:
        raise SpecError(f"--box has no bounds for the parameter group{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}; name {'them' if len(missing) > 1 else 'it'} or add a default R or LO,HI")
    pick = [bounds.get(p.group, default) for p in model.params]
    return tuple(b[0] for b in pick), tuple(b[1] for b in pick)


def enumerate_document(case_file: str, box: str, dps: int, min_width: str | None, max_boxes: int,
                       store: str | None, progress: bool, jobs: int = 1) -> dict:
    """The ``enumerate`` verb: load the case, check the options, run
    :func:`~verify.enumerate_store.enumerate_fixed_points`."""
    from .cases import load_case
    from .enumerate_store import enumerate_fixed_points

    if "=" not in str(box):
        parse_interval(box)  # a malformed box is reported before the case is read
    if max_boxes < 1:
        raise SpecError(f"--max-boxes must be at least 1, got {max_boxes}")
    case = load_case(case_file)
    case.require("model", "target")
    model = case.model
    if model.n > MAX_N or model.P > MAX_P:
        raise SpecError(f"enumerate handles N <= {MAX_N} spins and P <= {MAX_P} parameters; the case has N = {model.n}, "
                        f"P = {model.P}")
    lo, hi = parse_box(box, model)
    widest = max(b - a for a, b in zip(lo, hi)) if isinstance(lo, tuple) else hi - lo
    width = None
    if min_width is not None:
        width = _exact(min_width, "--min-width")
        if not 0 < width <= widest:
            raise SpecError(f"--min-width must lie in (0, {widest}], got {min_width!r}")
    spec = case.to_json()
    spec.pop("params", None)
    return enumerate_fixed_points(model, case.target, lo, hi, dps, width, max_boxes, store, spec, progress, jobs=jobs)
