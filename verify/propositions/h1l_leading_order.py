r"""H1L — the exact leading order of every coupling of the hidden-layer families, for every :math:`N`.

For :math:`F = \sum_i a_i s_i + \sum_\mu c_\mu\,\sigma(b_\mu + w_\mu\cdot s)` (``rbm``: :math:`c_\mu = 1`,
:math:`\sigma = \varphi`) and :math:`|A| = k \ge 2` (THEORY.md §4 H1):

.. math:: J_A = \sum_\mu c_\mu\,\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + O(\|w\|^{k+2}),

the :math:`\|w\|^{k+1}` term being identically zero.

**Lemma** (:func:`walsh_power_lemma`). :math:`W_{n,A}(w) = 2^{-N}\sum_s\chi_A(s)(w\cdot s)^n` is :math:`0` for
:math:`n < k` and for :math:`n \not\equiv k \pmod 2`, :math:`k!\prod_{i\in A}w_i` for :math:`n = k`, and
:math:`(k+2)!\prod_{i\in A}w_i\,\bigl(\sum_{i\in A}w_i^2/6 + \sum_{j\notin A}w_j^2/2\bigr)` for :math:`n = k+2`.
*Proof.* By the multinomial theorem :math:`(w\cdot s)^n = \sum_{|e| = n}\binom{n}{e}\prod_i w_i^{e_i}s_i^{e_i}`, and
the average over the spins factorises: :math:`2^{-N}\sum_s\chi_A(s)\prod_i s_i^{e_i} = \prod_i[e_i + 1_A(i)\ \text{even}]`.
So :math:`e_i` is odd on :math:`A` and even off :math:`A`: :math:`|e| \ge k`, :math:`|e| \equiv k`; at :math:`n = k`,
:math:`e = 1_A` with coefficient :math:`k!`; at :math:`n = k + 2` one exponent in :math:`A` is 3 (coefficient
:math:`(k+2)!/3!`) or one off :math:`A` is 2 (:math:`(k+2)!/2!`). A coordinate with :math:`e_i = 0` off :math:`A`
contributes the factor 1, so the coefficient of a monomial does not depend on :math:`N`; a monomial of degree
:math:`n` has at most :math:`n - k` coordinates off :math:`A`, so :math:`N = n` spins show every kind of monomial (up to
relabelling the coordinates off :math:`A`, under which the claimed values are symmetric). The lemma is checked
here in sympy, exactly, for every :math:`n \le 8` at :math:`N = n` (and :math:`N = n+1, n+2` for :math:`n \le 6`) and
every :math:`A \subseteq \{1..N\}`: the expansion is sympy's, the spin averages are enumerated over the
:math:`2^N` configurations.

**Theorem from the lemma.** Taylor: :math:`\sigma(b + x) = \sum_n\sigma^{(n)}(b)x^n/n!`, so
:math:`J_A = \sum_\mu c_\mu\sum_n \sigma^{(n)}(b_\mu)W_{n,A}(w_\mu)/n!`; only :math:`n = k, k+2, \ldots` survive.
With :math:`w = \varepsilon\tilde w`: :math:`J_A = \varepsilon^k L_A + \varepsilon^{k+2}\alpha_A + O(\varepsilon^{k+4})`,
:math:`L_A = \sum_\mu c_\mu\sigma^{(k)}(b_\mu)\prod_A\tilde w_{i\mu}` and
:math:`\alpha_A = \sum_\mu c_\mu\sigma^{(k+2)}(b_\mu)\prod_A\tilde w_{i\mu}(\sum_A\tilde w_{i\mu}^2/6 + \sum_{j\notin A}\tilde w_{j\mu}^2/2)`.

**Numeric check** (:func:`check_h1l`), for every order :math:`k \ge 2` at :math:`\varepsilon = 10^{-2},\ldots,10^{-6}`,
at ``dps`` and at ``2·dps`` digits plus the digits the powers of :math:`\varepsilon` cost: the remainder
:math:`R_A = J_A - \varepsilon^kL_A` divided by :math:`\varepsilon^{k+2}` converges (successive ratios differ by
:math:`O(\varepsilon^2)`: fitted slope :math:`\ge 2`) to :math:`\alpha_A` (slope :math:`\ge 2`), divided by
:math:`\varepsilon^{k+1}` it goes to 0 (slope :math:`\ge 1`), and :math:`\max_A|J_A|` has the slope the family's
:meth:`~theory.families.hidden_laws.HiddenLayerLaws.leading_orders` predicts (``None``: zero at working
precision). A slope is a fact decided at each precision; the two must agree, else the requirement is
undecided and the verdict ``inconclusive``. The identity behind the missing :math:`\varepsilon^{k+1}` term,
:math:`J_A(-w) = (-1)^{|A|}J_A(w)` for :math:`|A| \ge 2` (flipping every spin), is decided zero at both precisions. Cases: generic
biases; :math:`b = 0` (where a parity of :math:`\sigma` switches orders off); and every bias at a root of
:math:`\sigma^{(k)}` (found numerically, :func:`derivative_root`), where order :math:`k` starts at
:math:`\varepsilon^{k+2}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import factorial

import mpmath
import numpy as np
from sympy.polys.rings import ring

from theory.lazy_sympy import sp
from theory.activations import ACTIVATIONS, X
from theory.arith import MP
from theory.closed_forms import tanh_form
from theory.conventions import latex_subset, spin_table, subsets
from theory.families import model_from_spec
from theory.latex import equation_lines, to_latex
from theory.walsh import spin_couplings

from ..cases import Case, random_params, scaling_models
from ..document_blocks import align_rows
from ..numeric import at_two_precisions, case_guard, noise_floor
from ..registry import Proposition, register, reproduce_line
from ..scaling import fit_slope
from ..verdict import Requirement, judge

__all__ = ["MAX_POWER", "walsh_power", "walsh_power_lemma", "LemmaRow", "h1l_cases", "check_h1l", "predicted_terms",
           "derivative_root", "leading_order_section"]

#: the lemma is proved for every power n <= MAX_POWER
MAX_POWER = 8
#: ... and, for n <= EXTRA_SPINS_UP_TO, also with N = n + 1 and n + 2 spins
EXTRA_SPINS_UP_TO = 6
#: decades of epsilon: 10^-2 ... 10^-6
DECADES = (2, 3, 4, 5, 6)
#: a fitted slope that must be at least p (an O(eps^p) bound) may fall short of p by this much
SLOPE_TOLERANCE = 0.05
#: sigma^(k+2) at a root of sigma^(k) must exceed this for the order to start exactly two powers later
ROOT_SEPARATION = mpmath.mpf("1e-10")
#: the spins of the enumerated cases (beyond those the run asks for) and their hidden units
CASE_SPINS_EXTRA = (4,)
HIDDEN = 2


# --------------------------------------------------------------------------------------------- the lemma


def walsh_power(n: int, N: int) -> dict[int, dict[tuple, Fraction]]:
    r""":math:`W_{n,A} = 2^{-N}\sum_s\chi_A(s)(w\cdot s)^n` for every subset ``A`` of ``{1..N}`` (bit mask, bit ``i-1``
    for spin ``i``), as ``{exponent tuple: coefficient}``: sympy expands :math:`(w_1+\dots+w_N)^n` (the values at
    the configurations are :math:`\prod_i (s_iw_i)^{e_i}`), the character sums are enumerated over the :math:`2^N`
    spin configurations of :func:`theory.conventions.spin_table`."""
    R, *w = ring(",".join(f"w{i}" for i in range(1, N + 1)), sp.ZZ)
    terms = list((sum(w, R.zero) ** n).terms())
    S = spin_table(N).astype(np.int64)  # (2^N, N)
    masks = np.arange(2**N)
    # chi[x, m] = prod_{i in m} s_i(x): the character of subset m at configuration x
    chi = np.ones((2**N, 2**N), dtype=np.int64)
    for i in range(N):
        chi *= np.where((masks[None, :] >> i) & 1, S[:, i][:, None], 1)
    exps = np.array([e for e, _ in terms], dtype=np.int64).reshape(len(terms), N)
    # s(x)^e = chi[x, odd(e)] (s_i^2 = 1); the average of chi_A s^e over x is chi's column sum at A xor odd(e)
    odd = (exps % 2) @ (1 << np.arange(N))
    column = chi.sum(axis=0)
    out = {}
    for A in range(2**N):
        sums = column[A ^ odd]
        out[A] = {e: Fraction(int(c) * int(t), 2**N) for (e, c), t in zip(terms, sums) if t}
    return out


def _claimed(n: int, N: int, A: int) -> dict | None:
    """The lemma's value of :math:`W_{n,A}` (``None``: the lemma says nothing, :math:`n \\ge k + 4`)."""
    inside = [i for i in range(N) if (A >> i) & 1]
    k = len(inside)
    if n < k or (n - k) % 2:
        return {}
    one = tuple(1 if i in inside else 0 for i in range(N))
    if n == k:
        return {one: Fraction(factorial(k))}
    if n == k + 2:
        out = {}
        for j in range(N):
            e = list(one)
            e[j] += 2
            out[tuple(e)] = Fraction(factorial(k + 2), 6 if j in inside else 2)
        return out
    return None


@dataclass(frozen=True)
class LemmaRow:
    """One power ``n`` at ``N`` spins: how many subsets were checked against each clause, and the failures."""

    n: int
    N: int
    zero: int  # subsets with n < k or n - k odd: W = 0
    leading: int  # n = k: W = k! prod w
    next_term: int  # n = k + 2
    failures: tuple


@lru_cache(maxsize=None)
def walsh_power_lemma(max_power: int = MAX_POWER) -> tuple[LemmaRow, ...]:
    """The lemma checked for every ``n <= max_power`` (see the module docstring); cached per process."""
    rows = []
    for n in range(max_power + 1):
        for N in sorted({max(n, 1)} | ({n + 1, n + 2} if n <= EXTRA_SPINS_UP_TO else set())):
            counts = {"zero": 0, "leading": 0, "next_term": 0}
            failures = []
            for A, value in walsh_power(n, N).items():
                claim = _claimed(n, N, A)
                if claim is None:
                    continue
                k = A.bit_count()
                counts["zero" if not claim else ("leading" if n == k else "next_term")] += 1
                if value != claim:
                    failures.append((n, N, A))
            rows.append(LemmaRow(n, N, counts["zero"], counts["leading"], counts["next_term"], tuple(failures)))
    return tuple(rows)


def _lemma_requirement(dps: int) -> Requirement:
    rows = walsh_power_lemma()
    failures = [f for r in rows for f in r.failures]
    total = sum(r.zero + r.leading + r.next_term for r in rows)
    detail = (f"exact (sympy): {total} Walsh coefficients W_(n,A), n <= {MAX_POWER}, N = n (and n+1, n+2 for "
              f"n <= {EXTRA_SPINS_UP_TO}), {len(failures)} failures")
    return Requirement.fact("walsh_power_lemma", not failures, dps, detail)


# --------------------------------------------------------------------------------------------- predictions


def _derivatives(model, k: int, biases) -> list:
    r""":math:`\sigma^{(k)}(b_\mu)` at the working precision."""
    values = model.activation.derivative(k, MP.array(biases), MP)
    return [mpmath.mpf(v) for v in np.asarray(values).reshape(-1)]


def predicted_terms(model, base, A: tuple) -> tuple:
    r"""``(L_A, alpha_A)`` of the module docstring at the working precision, for the base point ``base``."""
    units = model.units(MP.array(base))
    k = len(A)
    biases = [b for _, b, _ in units]
    dk, dk2 = _derivatives(model, k, biases), _derivatives(model, k + 2, biases)
    lead, nxt = mpmath.mpf(0), mpmath.mpf(0)
    for (c, _, w), d1, d2 in zip(units, dk, dk2):
        prod = mpmath.fprod([w[i - 1] for i in A])
        inside = sum(w[i - 1] ** 2 for i in A) / 6
        outside = sum(w[j] ** 2 for j in range(model.n) if j + 1 not in A) / 2
        lead += c * d1 * prod
        nxt += c * d2 * prod * (inside + outside)
    return lead, nxt


def _couplings(model, theta) -> np.ndarray:
    return spin_couplings(model.energy(MP.array(theta), MP), model.n)


def _flipped(model, theta) -> tuple:
    """``theta`` with every weight negated (:meth:`small_weight_scaled` by -1)."""
    return tuple(model.small_weight_scaled(theta, Fraction(-1)))


def _slope_fact(eps, values, floor, at_least: float, exact: float | None = None) -> tuple:
    """``(ok, detail)`` of one sequence: all at the noise floor (zero: ``ok`` unless a slope is required exactly),
    else the fitted slope over the entries above it is at least ``at_least`` (or within the tolerance of ``exact``)."""
    keep = [(e, v) for e, v in zip(eps, values) if v > floor]
    if len(keep) < 2:
        return exact is None, "zero at working precision"
    slope = fit_slope([e for e, _ in keep], [v for _, v in keep])
    ok = abs(slope - exact) <= SLOPE_TOLERANCE if exact is not None else slope >= at_least - SLOPE_TOLERANCE
    return ok, f"fitted {slope:.3f}"


def _measurements(model, base, work: int) -> dict:
    """At the current precision plus ``work`` digits, per order ``k >= 2``: the per-epsilon maxima over
    :math:`|A| = k` of :math:`|J_A|`, :math:`|q_A(\varepsilon_{j+1}) - q_A(\varepsilon_j)|`, :math:`\varepsilon|q_A|` and
    :math:`|q_A - \alpha_A|`, with :math:`q_A = (J_A - \varepsilon^kL_A)/\varepsilon^{k+2}`."""
    every = subsets(model.n)
    order = {k: [a for a, A in enumerate(every) if len(A) == k] for k in range(2, model.n + 1)}
    rows = {k: {"J": [], "q_step": [], "to_zero": [], "to_limit": []} for k in order}
    previous: dict = {}
    with mpmath.workdps(mpmath.mp.dps + work):
        terms = [predicted_terms(model, base, A) if len(A) >= 2 else None for A in every]
        eps = [mpmath.mpf(1) / 10**j for j in DECADES]
        for j, e in zip(DECADES, eps):
            J = _couplings(model, model.small_weight_scaled(base, Fraction(1, 10**j)))
            for k, index in order.items():
                q = {a: (J[a] - e**k * terms[a][0]) / e ** (k + 2) for a in index}
                row = rows[k]
                row["J"].append(max(abs(J[a]) for a in index))
                row["to_zero"].append(max(abs(q[a]) * e for a in index))
                row["to_limit"].append(max(abs(q[a] - terms[a][1]) for a in index))
                if k in previous:
                    row["q_step"].append(max(abs(q[a] - previous[k][a]) for a in index))
                previous[k] = q
    for k, index in order.items():
        first = index[0]
        rows[k]["example"] = {"A": ",".join(map(str, every[first])), "L_A": mpmath.nstr(terms[first][0], 8),
                              "alpha_A": mpmath.nstr(terms[first][1], 8)}
        rows[k]["eps"] = eps
    return rows


def _facts(model, base, lead: dict, work: int, d: int) -> dict:
    """Per order: ``(ok, detail)`` of each judged sequence at this precision (``d`` digits). The family's leading
    power is an equality for weights without zeros, and a lower bound otherwise (a zero weight removes terms)."""
    generic = all(w != 0 for _, _, ws in model.units(base) for w in ws)
    out = {}
    for k, m in _measurements(model, base, work).items():
        eps, floor = m["eps"], noise_floor(d)
        above = [(e, v) for e, v in zip(eps, m["J"]) if v > floor * e**k]
        if len(above) < 2:
            starts = (lead[k] is None or not generic, "zero at working precision")
        else:
            slope = fit_slope([e for e, _ in above], [v for _, v in above])
            ok = lead[k] is not None and (abs(slope - lead[k]) <= SLOPE_TOLERANCE if generic
                                          else slope >= lead[k] - SLOPE_TOLERANCE)
            starts = (ok, f"fitted {slope:.3f}")
        out[k] = {
            "starts": starts,
            "converges": _slope_fact(eps[:-1], m["q_step"], floor, 2.0),
            "limit": _slope_fact(eps, m["to_limit"], floor, 2.0),
            "to_zero": _slope_fact(eps, m["to_zero"], floor, 1.0),
            "example": m["example"],
        }
    return out


def epsilon_digits(n: int) -> int:
    r"""Digits the powers of :math:`\varepsilon` cost on ``n`` spins: :math:`q_A - \alpha_A` is :math:`O(\varepsilon^2)` while
    :math:`J_A - \varepsilon^kL_A = O(\varepsilon^{k+2})`, so :math:`J_A` is resolved to :math:`\varepsilon_{\min}^{n+4}`."""
    return (n + 4) * max(DECADES)


#: the four facts judged per order, and their requirement names (``order_<k>_<name>``)
_NAMES = {"starts": "starts_at_predicted_power", "converges": "remainder_over_eps_k2_converges",
          "limit": "remainder_over_eps_k2_limit_is_next_term", "to_zero": "remainder_over_eps_k1_to_zero"}


def _decided(low: tuple, high: tuple) -> bool | None:
    return low[0] if low[0] == high[0] else None


def check_h1l(case: Case, dps: int):
    model, base = case.model, case.params
    lead = model.leading_orders(base)
    work = epsilon_digits(model.n)
    reqs = [_lemma_requirement(dps)]
    with case_guard(case):
        def parity(d):
            J = _couplings(model, base)
            flipped = _couplings(model, _flipped(model, base))
            return {"parity": max(abs(f - (-1) ** len(A) * j) for A, f, j in zip(subsets(model.n), flipped, J)
                                  if len(A) >= 2)}

        low, high = at_two_precisions(parity, dps)
        reqs.append(Requirement.zero("parity_under_w_to_minus_w", low["parity"], high["parity"], dps))
        low, high = at_two_precisions(lambda d: _facts(model, base, lead, work, d), dps)
        orders = {}
        for k in range(2, model.n + 1):
            for what, name in _NAMES.items():
                detail = f"dps: {low[k][what][1]}; 2dps: {high[k][what][1]}" + (
                    f"; predicted {lead[k]}" if what == "starts" else "")
                reqs.append(Requirement.fact(f"order_{k}_{name}", _decided(low[k][what], high[k][what]), dps, detail))
            orders[str(k)] = {"leading_power": lead[k], **high[k]["example"]}
    expected = ["walsh_power_lemma", "parity_under_w_to_minus_w"] + [
        f"order_{k}_{name}" for k in range(2, model.n + 1) for name in _NAMES.values()]
    extra = {"mode": case.meta.get("mode", "given"), "epsilons": [f"1e-{j}" for j in DECADES], "orders": orders}
    return judge("H1L", case.name, reqs, dps, reproduce_line("H1L", case, dps), extra=extra, expected=expected)


# --------------------------------------------------------------------------------------------- cases


def derivative_root(activation, k: int, digits: int = 200) -> Fraction | None:
    r"""A positive root :math:`r \in (0, 5]` of :math:`\sigma^{(k)}` at which :math:`\sigma^{(k+2)}(r) \ne 0` (the order
    starts exactly two powers later), to ``digits`` digits as an exact fraction; ``None`` when there is none."""
    grid = [Fraction(j, 50) for j in range(1, 251)]
    with mpmath.workdps(30):
        values = [mpmath.mpf(v) for v in np.asarray(activation.derivative(k, MP.array(grid), MP)).reshape(-1)]
    for (x0, v0), (x1, v1) in zip(zip(grid, values), zip(grid[1:], values[1:])):
        if v0 * v1 < 0:
            f = sp.lambdify(X, activation.derivative_expr(k), modules="mpmath")
            with mpmath.workdps(2 * digits):
                root = mpmath.findroot(f, (mpmath.mpf(x0.numerator) / x0.denominator,
                                           mpmath.mpf(x1.numerator) / x1.denominator), solver="anderson")
                after = sp.lambdify(X, activation.derivative_expr(k + 2), modules="mpmath")(root)
                if abs(after) < ROOT_SEPARATION:
                    continue
                m, e = mpmath.frexp(root)
                return Fraction(int(m * 2 ** (4 * digits))) / 2 ** (4 * digits - e)
    return None


def _root_order(activation, n: int) -> tuple | None:
    """The lowest order ``2 <= k <= n`` with a root of :math:`\\sigma^{(k)}` (see :func:`derivative_root`)."""
    if activation.polynomial:
        return None
    for k in range(2, n + 1):
        root = derivative_root(activation, k)
        if root is not None:
            return k, root
    return None


def _specs(n: int) -> list[tuple[str, dict]]:
    """H1's generic models on ``n`` spins, and for ``n`` beyond the run's closed forms the networks of every other
    non-polynomial activation (named from the activation table, never by hand)."""
    out = [(tag.split("/")[0], dict(spec, hidden=HIDDEN))
           for tag, spec, mode in scaling_models(n) if mode == "scaling"]
    network = next((spec for _, spec in out if "activation" in spec), None)
    if network is not None and n >= 4:
        for name, act in ACTIVATIONS.items():
            if not act.polynomial and name != network["activation"]:
                out.append((f"{network['family']}-{name}-n{n}-m{HIDDEN}", dict(network, activation=name)))
    return out


def h1l_cases(ns=(2, 3), families=None, quick: bool = False) -> list[Case]:
    r"""Generic biases for every model of :func:`_specs`; :math:`b = 0` and biases at a root of :math:`\sigma^{(k)}`
    (:func:`derivative_root`) for each of them. ``quick``: the first model and the first network with generic
    biases, and the network at a root. Spins: ``ns``, and :data:`CASE_SPINS_EXTRA` unless ``quick``."""
    out = []
    for n in sorted(set(ns) | (set() if quick else set(CASE_SPINS_EXTRA))):
        specs = _specs(n)
        network = [s for s in specs if "activation" in s[1]][:1]
        for tag, spec in (specs[:1] + network if quick else specs):
            if families and spec["family"] not in families:
                continue
            model = model_from_spec(spec)
            params = random_params(model, seed=11 + n, scale=0.8)
            out.append(Case(f"h1l/{tag}/generic", model, params, None, {"mode": "generic"}))
            if not quick:
                zero = tuple(Fraction(0) if p.group == "b" else q for q, p in zip(params, model.params))
                out.append(Case(f"h1l/{tag}/zero-bias", model, zero, None, {"mode": "zero-bias"}))
            found = _root_order(model.activation, n) if (not quick or (tag, spec) in network) else None
            if found is not None:
                order, root = found
                at_root = tuple(root if p.group == "b" else q for q, p in zip(params, model.params))
                out.append(Case(f"h1l/{tag}/root-of-order-{order}", model, at_root, None, {"mode": f"root-{order}"}))
    return out


def h1l_cases_for(model, params, target, target_spec) -> list[Case]:
    """The theorem at the point the user gives (its biases, its weights as the direction of the rescaling)."""
    return [Case(f"h1l/{model.family}-n{model.n}/given", model, params, None, {"mode": "given"})]


# --------------------------------------------------------------------------------------------- document


def _leading_table(model) -> list[str]:
    """Which orders start later than :math:`\\varepsilon^k` at :math:`b = 0`, from the activation's values at 0."""
    act = model.activation
    at_zero = model.leading_orders(model.zero_params())
    rows = []
    for k in range(2, model.n + 1):
        start = at_zero[k]
        where = r"$\|w\|^{" + str(start) + "}$" if start is not None else r"never (identically $0$)"
        rows.append(f"${k}$ & ${to_latex(act.at_zero(k))}$ & {where} \\\\")
    return [r"\begin{center}\begin{tabular}{ccl}",
            r"$k$ & $\sigma^{(k)}(0)$ & order $k$ at $b = 0$ starts at \\ \hline", *rows,
            r"\end{tabular}\end{center}"]


def _first_couplings(model) -> str:
    r""":math:`J_{1\ldots k}` to leading order with the model's own symbols, for each order ``k >= 2``."""
    units = model.units(model.symbols)
    rows = []
    for k in range(2, model.n + 1):
        A = tuple(range(1, k + 1))
        dk = tanh_form(model.activation.derivative_expr(k))
        terms = [c * dk.xreplace({X: bias}) * sp.Mul(*[w[i - 1] for i in A]) for c, bias, w in units]
        lines = equation_lines(f"J_{{{latex_subset(A)}}}", sp.Add(*terms))
        lines[-1] += rf" + O(\|w\|^{{{k + 2}}})"
        rows.append(lines)
    return align_rows(rows)


def _roots(model) -> list[str]:
    out = []
    for k in range(2, model.n + 1):
        root = derivative_root(model.activation, k, digits=12)
        if root is not None:
            out.append(rf"$\sigma^{{({k})}}(\pm{float(root):.4f}) = 0$" if model.activation.parity is not None
                       else rf"$\sigma^{{({k})}}({float(root):.4f}) = 0$")
    return out


def leading_order_section(model, cf) -> list[str]:
    """H1L in a derivation document: the lemma and its proof, the theorem, and what they say about this model."""
    rows = walsh_power_lemma()
    total = sum(r.zero + r.leading + r.next_term for r in rows)
    failures = sum(len(r.failures) for r in rows)
    act = model.activation
    out = [
        r"\paragraph{Lemma.} For $A \subseteq \{1,\dots,N\}$ with $|A| = k$ and $W_{n,A}(w) = 2^{-N}\sum_s \chi_A(s)"
        r"(w\cdot s)^n$:",
        r"\[W_{n,A}(w) = \begin{cases} 0, & n < k \text{ or } n \not\equiv k \pmod 2,\\ k!\prod_{i\in A} w_i, & n = k,\\"
        r" (k+2)!\prod_{i\in A} w_i\Bigl(\tfrac16\sum_{i\in A} w_i^2 + \tfrac12\sum_{j\notin A} w_j^2\Bigr), & n = k+2."
        r"\end{cases}\]",
        r"\emph{Proof.} By the multinomial theorem $(w\cdot s)^n = \sum_{|e| = n}\binom{n}{e}\prod_i w_i^{e_i}s_i^{e_i}$, "
        r"and the average over the spins factorises, $2^{-N}\sum_s\chi_A(s)\prod_i s_i^{e_i} = \prod_i "
        r"\tfrac12\sum_{s_i=\pm1} s_i^{e_i + [i\in A]}$, which is $1$ when $e_i$ is odd for every $i \in A$ and even for "
        r"every $i \notin A$, and $0$ otherwise. Hence $n = |e| \ge k$ and $n \equiv k \pmod 2$; at $n = k$ the only "
        r"exponent is $e = 1_A$, with coefficient $k!$; at $n = k + 2$ one exponent in $A$ is $3$ (coefficient "
        r"$(k+2)!/3!$) or one outside $A$ is $2$ (coefficient $(k+2)!/2!$). A coordinate outside $A$ with $e_i = 0$ "
        r"contributes the factor $1$, so no coefficient depends on $N$. $\square$",
        "",
        r"\emph{Checked in sympy, exactly:} every $n \le " + str(MAX_POWER) + r"$ at $N = n$ spins (and $N = n+1, n+2$ "
        r"for $n \le " + str(EXTRA_SPINS_UP_TO) + r"$; a monomial of degree $n$ involves at most $n - k$ coordinates "
        r"outside $A$, so $N = n$ shows every kind of monomial), every $A \subseteq \{1,\dots,N\}$: " + str(total)
        + r" coefficients, the expansion by sympy and the spin averages enumerated over the $2^N$ configurations; "
        + (r"all agree." if not failures else r"\textbf{" + str(failures) + r" disagree}."),
        "",
        r"\paragraph{Theorem.} Expanding $\sigma(b_\mu + x) = \sum_n \sigma^{(n)}(b_\mu)x^n/n!$ at $x = w_\mu\cdot s$, "
        r"$J_A = \sum_\mu c_\mu\sum_n \sigma^{(n)}(b_\mu)W_{n,A}(w_\mu)/n!$, so for $|A| = k \ge 2$",
        r"\[J_A = \sum_\mu c_\mu\,\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + \sum_\mu c_\mu\,\sigma^{(k+2)}(b_\mu)"
        r"\prod_{i\in A}w_{i\mu}\Bigl(\tfrac16\sum_{i\in A}w_{i\mu}^2 + \tfrac12\sum_{j\notin A}w_{j\mu}^2\Bigr) + "
        r"O(\|w\|^{k+4}),\]",
        r"and the terms of order $\|w\|^{k+1}$ and $\|w\|^{k+3}$ vanish identically. Order $k$ is switched on at the "
        r"rate $\sigma^{(k)}(b_\mu)$: where it vanishes for every $\mu$ the coupling starts at $\|w\|^{k+2}$ or later. "
        r"$\square$",
        "",
        r"\paragraph{For this model} ($\sigma(x) = " + act.latex + r"$" + ("" if model.output_weights
                                                                         else r", $c_\mu = 1$") + r"): the first coupling "
        r"of each order,",
        _first_couplings(model),
        r"With generic biases every order $k$ starts at $\|w\|^k$. At $b = 0$ (from $\sigma^{(k)}(0)$ and the family's "
        r"leading orders):",
        *_leading_table(model),
    ]
    roots = _roots(model)
    if roots:
        out.append(r"Order $k$ starts at $\|w\|^{k+2}$ when every bias sits at a root of $\sigma^{(k)}$ where "
                   r"$\sigma^{(k+2)} \ne 0$: " + ", ".join(roots) + ".")
    return out


register(
    Proposition(
        id="H1L",
        title=r"exact leading order of every coupling: $J_A = \sum_\mu c_\mu\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + "
              r"O(\|w\|^{k+2})$",
        statement=r"|A| = k \ge 2:\ J_A = \sum_\mu c_\mu\,\sigma^{(k)}(b_\mu)\prod_{i\in A}w_{i\mu} + O(\|w\|^{k+2}),\quad "
                  r"2^{-N}\sum_s\chi_A(s)(w\cdot s)^n = k!\prod_{i\in A}w_i\,\delta_{nk}\ (n \le k)",
        hypotheses=r"rbm or mlp, $F = \sum_i a_i s_i + \sum_\mu c_\mu\sigma(b_\mu + w_\mu\cdot s)$ with $\sigma$ analytic at the "
                   r"biases; $w = \varepsilon\tilde w \to 0$",
        check=check_h1l,
        cases=h1l_cases,
        order=85,
        applies=lambda model: model.hierarchy,
        document=leading_order_section,
        cases_for=h1l_cases_for,
    )
)
