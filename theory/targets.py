r"""Targets: strictly positive distributions :math:`p_D` on :math:`\{\pm1\}^N`, held exactly.

A target is stored either by its probabilities (exact rationals) or by its spin-gauge couplings
(exact rationals, :math:`p_D \propto e^{\sum_A J^D_A\chi_A}`); every number system reads the
other representation at its own precision. Constructors validate their input and raise a
one-line :class:`~theory.errors.SpecError`:

* :func:`from_probabilities` — ``2^N`` values in configuration order; a zero is refused unless a
  pseudocount :math:`\alpha` is given, then :math:`p \leftarrow (p+\alpha)/(1+2^N\alpha)`;
* :func:`from_couplings` — ``{"1,2": value}`` in the spin or Boolean gauge;
* :func:`from_samples` — rows of :math:`\pm1` or of :math:`0/1` (:math:`v=1 \iff s=+1`); every
  configuration must be observed, unless a pseudocount is added to every count;
* :func:`named` — seeded families ``independent``, ``pairwise``, ``random-couplings``, ``parity``, and the
  targets with structure at every order ``decaying-couplings`` and ``teacher-rbm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .arith import Arith
from .conventions import (
    check_n,
    format_subset,
    parse_number,
    parse_subset_keys,
    short_number,
    show_value,
    subset_index,
    subsets,
)
from .effective import log_probabilities as _log_probabilities_from_couplings
from .effective import moments, moments_by_mask
from .errors import SpecError
from .walsh import boolean_to_spin, spin_couplings

__all__ = ["Target", "from_probabilities", "from_couplings", "from_samples", "named", "NAMED_TARGETS"]

NAMED_TARGETS = ("independent", "pairwise", "random-couplings", "parity", "decaying-couplings", "teacher-rbm")
#: defaults of the targets with structure at every order
DECAY_DEFAULT = 0.5
TEACHER_SCALE_DEFAULT = 1.0


@dataclass(frozen=True)
class Target:
    """A strictly positive target, exact; ``spec`` is the JSON that rebuilds it."""

    n: int
    probabilities: tuple[Fraction, ...] | None = None
    couplings: tuple[Fraction, ...] | None = None
    spec: dict = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def log_probability_array(self, arith: Arith) -> np.ndarray:
        r""":math:`\log p_D(s)` on all configurations."""
        if self.probabilities is not None:
            return arith.log(arith.array(self.probabilities))
        return _log_probabilities_from_couplings(arith.array(self.couplings), self.n, arith)

    def probability_array(self, arith: Arith) -> np.ndarray:
        r""":math:`p_D(s)` on all configurations."""
        if self.probabilities is not None:
            return arith.array(self.probabilities)
        return arith.exp(self.log_probability_array(arith))

    def coupling_array(self, arith: Arith) -> np.ndarray:
        r""":math:`J^D_A = 2^{-N}\sum_s \log p_D(s)\chi_A(s)` (canonical order)."""
        if self.couplings is not None:
            return arith.array(self.couplings)
        return spin_couplings(self.log_probability_array(arith), self.n)

    def moment_array(self, arith: Arith) -> np.ndarray:
        r""":math:`m^D_A = E_D[\chi_A]` (canonical order)."""
        return moments(self.probability_array(arith), self.n)

    def moments_by_mask(self, arith: Arith) -> np.ndarray:
        return moments_by_mask(self.probability_array(arith))


def _pseudocount(value) -> Fraction | None:
    if value is None:
        return None
    alpha = parse_number(value, "target.pseudocount")
    if alpha <= 0:
        raise SpecError(f"target.pseudocount must be positive, got {show_value(value)}")
    return alpha


def from_probabilities(values, n: int, pseudocount=None, spec: dict | None = None) -> Target:
    """Target from ``2^n`` probabilities in configuration order (they must sum to 1 within 1e-9)."""
    check_n(n)
    if not isinstance(values, (list, tuple)) or len(values) != 2**n:
        got = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise SpecError(f"target.probabilities must list 2^n = {2**n} values in configuration order, got {got}")
    probs, problems = [], []
    for x, v in enumerate(values):
        try:
            q = parse_number(v, f"target.probabilities[{x}]")
        except SpecError as err:
            problems.append(str(err))
            continue
        if q < 0:
            problems.append(f"target.probabilities[{x}] = {show_value(v)} is negative")
        probs.append(q)
    if problems:
        raise SpecError(problems)
    total = sum(probs)
    if abs(total - 1) > Fraction(1, 10**9):
        raise SpecError(f"target.probabilities sum to {float(total):.12g}, not 1; normalise them")
    probs = [q / total for q in probs]
    alpha = _pseudocount(pseudocount)
    zeros = [x for x, q in enumerate(probs) if q == 0]
    notes = ()
    if zeros and alpha is None:
        raise SpecError(
            f"target has zero probability at configuration(s) {zeros[:5]}: its couplings are infinite and no "
            "data-consistent point exists; give a strictly positive target or add \"pseudocount\": 1e-3"
        )
    if alpha is not None:
        probs = [(q + alpha) / (1 + 2**n * alpha) for q in probs]
        notes = (f"pseudocount {short_number(alpha)} added to every probability, p <- (p + a)/(1 + 2^n a)",)
    return Target(n, probabilities=tuple(probs), spec=spec or {"probabilities": [str(q) for q in values]}, notes=notes)


def from_couplings(values, n: int, gauge: str = "spin", spec: dict | None = None) -> Target:
    """Target from couplings ``{"1,2": value}`` (absent subsets are 0) in the spin or Boolean gauge."""
    check_n(n)
    if gauge not in ("spin", "boolean"):
        raise SpecError(f"target.gauge must be \"spin\" or \"boolean\", got {show_value(gauge)}")
    if not isinstance(values, dict):
        raise SpecError("target.couplings must be an object {\"1\": value, \"1,2\": value, ...}")
    index = subset_index(n)
    J = [Fraction(0)] * len(index)
    problems = []
    for A, text, v in parse_subset_keys(values, n, "target.couplings", problems):
        try:
            q = parse_number(v, f"target.couplings[{show_value(text)}]")
        except SpecError as err:
            problems.append(str(err))
            continue
        if A != ():  # the constant only shifts log Z
            J[index[A]] = q
    if problems:
        raise SpecError(problems)
    if gauge == "boolean":
        J = list(boolean_to_spin(np.array(J, dtype=object), n))
    default_spec = {"couplings": {format_subset(A): str(v) for A, v in zip(subsets(n), J) if v}, "gauge": "spin"}
    return Target(n, couplings=tuple(J), spec=spec or default_spec)


def from_samples(rows, n: int, pseudocount=None, spec: dict | None = None) -> Target:
    """Empirical target of rows of ±1 (or 0/1, with v = 1 meaning s = +1)."""
    check_n(n)
    if not isinstance(rows, list) or not rows:
        raise SpecError("target.samples must be a non-empty list of rows of spins")
    lengths = {len(r) if isinstance(r, list) else -1 for r in rows}
    if lengths != {n}:
        bad = next(k for k, r in enumerate(rows) if not isinstance(r, list) or len(r) != n)
        raise SpecError(f"target.samples is ragged or has the wrong width: row {bad} does not have n = {n} entries")
    bad = next((v for r in rows for v in r if isinstance(v, bool) or v not in (-1, 0, 1) or not isinstance(v, int)),
               None)
    if bad is not None:
        raise SpecError(f"target.samples is not binary: found the value {show_value(bad)}; use rows of -1/+1 or of 0/1")
    values = {v for r in rows for v in r}
    if not (values <= {-1, 1} or values <= {0, 1}):
        raise SpecError(
            f"target.samples is not binary: found values {sorted(map(str, values))[:6]}; use rows of -1/+1 or of 0/1"
        )
    boolean = values <= {0, 1} and 0 in values
    counts = [0] * 2**n
    for r in rows:
        spins = [2 * v - 1 for v in r] if boolean else r
        counts[sum(1 << i for i, s in enumerate(spins) if s == -1)] += 1
    alpha = _pseudocount(pseudocount)
    missing = [x for x, c in enumerate(counts) if c == 0]
    if missing and alpha is None:
        raise SpecError(
            f"{len(missing)} of the {2**n} configurations never occur in target.samples (first: index {missing[0]}); "
            "the empirical target has zero probabilities: add \"pseudocount\": 1 or give more samples"
        )
    a = alpha or Fraction(0)
    total = len(rows) + a * 2**n
    probs = tuple((c + a) / total for c in counts)
    notes = (f"pseudocount {short_number(a)} added to every configuration count",) if alpha is not None else ()
    return Target(n, probabilities=probs, spec=spec or {"samples": rows}, notes=notes)


def _round(x: float, digits: int = 4) -> Fraction:
    return Fraction(f"{x:.{digits}f}")


def _decay(value) -> float:
    if value is None:
        return DECAY_DEFAULT
    d = float(parse_number(value, "target.decay"))
    if not 0 < d <= 1:
        raise SpecError(f"target.decay must lie in (0, 1], got {show_value(value)}")
    return d


def _hidden(value, n: int) -> int:
    if value is None:
        return 2 * n
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 64:
        raise SpecError(f"target.hidden must be an integer in 1..64 (the teacher's hidden units), got {show_value(value)}")
    return value


def decaying_scales(n: int, scale: float = 1.0, decay: float = DECAY_DEFAULT) -> np.ndarray:
    r"""Standard deviation of one coupling of order :math:`k = 1..n` of ``decaying-couplings``:
    :math:`\sigma_k = s\,d^{\,k-1}/\sqrt{\binom nk}`, so that :math:`E\|J_k\|^2 = (s\,d^{\,k-1})^2`."""
    from math import comb

    return np.array([scale * decay ** (k - 1) / np.sqrt(comb(n, k)) for k in range(1, n + 1)])


def teacher_log_probabilities(n: int, seed: int, hidden: int, scale: float) -> np.ndarray:
    r"""Unnormalised :math:`\log p` of the teacher RBM of ``teacher-rbm`` on the :math:`2^n` configurations:
    :math:`\sum_i a_is_i + \sum_\mu \log\cosh(b_\mu + \sum_i w_{i\mu}s_i)` with
    :math:`w \sim s\,N(0,1)/\sqrt n`, :math:`a \sim 0.2\,N(0,1)`, :math:`b \sim 0.5\,N(0,1)` (seeded)."""
    from .conventions import spin_table

    rng = np.random.default_rng(seed)
    w = scale * rng.standard_normal((n, hidden)) / np.sqrt(n)
    a = 0.2 * rng.standard_normal(n)
    b = 0.5 * rng.standard_normal(hidden)
    S = spin_table(n).astype(np.float64)
    x = b + S @ w
    return S @ a + (np.abs(x) + np.log1p(np.exp(-2 * np.abs(x))) - np.log(2.0)).sum(axis=1)


def named(name: str, n: int, seed: int = 0, scale=None, max_order: int | None = None, decay=None,
          hidden: int | None = None) -> Target:
    r"""Seeded synthetic targets, couplings rounded to 4 decimals (6 for the last two; exact rationals):

    * ``independent``: fields :math:`J_i \sim \mathcal U(-s, s)`, :math:`s` = scale (default 1);
    * ``pairwise``: fields and pair couplings :math:`\sim s\,\mathcal N(0,1)` (default :math:`s = 0.5`);
    * ``random-couplings``: every :math:`J_A` with :math:`|A| \le` ``max_order`` (default ``n``)
      :math:`\sim s\,\mathcal N(0,1)` (default :math:`s = 0.5`);
    * ``parity``: :math:`J_{1..N} = s` (default 1) plus fields :math:`\sim 0.1\,\mathcal N(0,1)`;
    * ``decaying-couplings``: every :math:`J_A \sim \sigma_{|A|}\mathcal N(0,1)` with
      :math:`\sigma_k = s\,d^{\,k-1}/\sqrt{\binom nk}` (:func:`decaying_scales`; default :math:`s = 1`,
      ``decay`` :math:`d = 0.5`): the order-:math:`k` couplings have norm about :math:`s\,d^{\,k-1}` at every :math:`n`;
    * ``teacher-rbm``: the distribution of a random RBM with ``hidden`` (default :math:`2n`) spin hidden units
      (:func:`teacher_log_probabilities`, weight scale :math:`s`, default 1), stored by its spin-gauge couplings.
    """
    check_n(n)
    if not isinstance(name, str) or name not in NAMED_TARGETS:
        raise SpecError(f"unknown named target {show_value(name)}; choose one of {', '.join(NAMED_TARGETS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
        raise SpecError(f"target.seed must be an integer in 0..2^64-1, got {show_value(seed)}")
    if max_order is not None and name != "random-couplings":
        raise SpecError(f"target.max_order applies to the random-couplings target only, not to {name!r}")
    if decay is not None and name != "decaying-couplings":
        raise SpecError(f"target.decay applies to the decaying-couplings target only, not to {name!r}")
    if hidden is not None and name != "teacher-rbm":
        raise SpecError(f"target.hidden applies to the teacher-rbm target only, not to {name!r}")
    rng = np.random.default_rng(seed)
    if scale is not None:
        sc = float(parse_number(scale, "target.scale"))
    else:
        sc = {"independent": 1.0, "parity": 1.0, "decaying-couplings": 1.0, "teacher-rbm": TEACHER_SCALE_DEFAULT}.get(name, 0.5)
    J = {}
    if name == "independent":
        for i in range(1, n + 1):
            J[(i,)] = _round(rng.uniform(-sc, sc))
    elif name in ("pairwise", "random-couplings"):
        K = min(2, n) if name == "pairwise" else (n if max_order is None else max_order)
        if not isinstance(K, int) or isinstance(K, bool) or not 1 <= K <= n:
            raise SpecError(f"target.max_order must be an integer in 1..{n}, got {show_value(max_order)}")
        for A in subsets(n, min(K, n)):
            J[A] = _round(sc * rng.standard_normal())
    elif name == "decaying-couplings":
        sigma = decaying_scales(n, sc, _decay(decay))
        for A in subsets(n, n):
            J[A] = _round(sigma[len(A) - 1] * rng.standard_normal(), 6)
    elif name == "teacher-rbm":
        M = _hidden(hidden, n)
        Jt = spin_couplings(teacher_log_probabilities(n, seed, M, sc), n)
        for A, v in zip(subsets(n), Jt):
            J[A] = _round(float(v), 6)
    else:
        for i in range(1, n + 1):
            J[(i,)] = _round(0.1 * rng.standard_normal())
        J[tuple(range(1, n + 1))] = _round(sc)
    spec = {"named": name, "seed": seed}
    if scale is not None:
        spec["scale"] = str(scale)
    if max_order is not None:
        spec["max_order"] = max_order
    if decay is not None:
        spec["decay"] = str(decay)
    if hidden is not None:
        spec["hidden"] = hidden
    index = subset_index(n)
    values = [Fraction(0)] * len(index)
    for A, v in J.items():
        values[index[A]] = v
    return Target(n, couplings=tuple(values), spec=spec)
