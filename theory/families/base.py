r"""What every model family is and declares: the base class :class:`Model`, its parameters and symmetries.

A family gives :math:`F_\theta(s) = -E_\theta(s)` symbolically (:meth:`Model.energy_expr`) and on all
:math:`2^N` configurations in any number system of :mod:`theory.arith` (:meth:`Model.energy`,
:meth:`Model.energy_grad` of shape ``(2^N, P)``, :meth:`Model.energy_hessian` of shape ``(2^N, P, P)``), and
declares the structure the verification needs, so that nothing outside the family switches on its name:

* :attr:`Model.polynomial` — :math:`F` is a polynomial in spins and parameters (exact expansions);
* :meth:`Model.direct_parameters` — parameters entering one coupling additively (F3);
* :meth:`Model.symmetries` — transformations of :math:`\theta` that leave :math:`J(\theta)` unchanged;
* :meth:`Model.small_weight_start` and :meth:`Model.h1_law` — the small-weight regime of H1–H3;
* :meth:`Model.special_point_constructors` (and :meth:`Model.special_points`, their kinds) — exact spurious
  points with closed-form spectra (S2), each a function that builds the point and its predicted eigenvalues
  from a target with the numerical services of :class:`PointTools`;
* :attr:`Model.closed_form_max_n` and :meth:`Model.normal_form` — how far and how sympy derives it;
* :meth:`Model.from_spec`, :meth:`Model.spec`, :meth:`Model.parse_params`, :meth:`Model.params_to_json` —
  case files.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Protocol

import numpy as np

from ..lazy_sympy import sp
from ..arith import Arith
from ..conventions import parse_number, parse_subset_keys, show_value, spin_table
from ..errors import SpecError
from ..expression import spin_symbols
from ..fixedpoint import matmul

__all__ = ["Param", "Symmetry", "ConstructedPoint", "PointTools", "Model", "spin_linear", "times_spin", "int_at_least", "number", "vector", "matrix",
           "subset_dict", "check_params_object", "characters"]


@dataclass(frozen=True)
class Param:
    """One scalar parameter: its label in JSON/reports (``w[1,2]``), LaTeX name, group and index."""

    label: str
    latex: str
    group: str
    index: tuple

    @property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.latex, real=True)


@dataclass(frozen=True)
class Symmetry:
    r"""A transformation of the parameters that leaves every coupling :math:`J_A(\theta)` unchanged.

    ``act(theta, g)`` applies the element ``g`` (a permutation, a unit index, a factor :math:`\lambda`) to an
    exact parameter tuple. A ``continuous`` symmetry also gives ``tangents(theta)``: the generators at
    ``theta`` (exact vectors :math:`v` with :math:`Gv = 0`), so its orbits are manifolds of equal :math:`J`.
    ``example`` is an element to test with.
    """

    name: str
    statement: str  # LaTeX
    act: Callable
    example: object
    continuous: bool = False
    tangents: Callable | None = None


@dataclass(frozen=True)
class ConstructedPoint:
    r"""An exact spurious point a family constructs for a target (S2) and what its closed form predicts there.

    ``theta`` is exact (Fractions); ``predicted_eigenvalues`` are mpf values that must appear in
    :math:`\operatorname{spec} H` with multiplicity (computed at the constructor's working precision); ``free`` and
    ``matched`` (canonical coupling indices) name the slice a certificate may use when the point is only fitted on
    a support (:func:`verify.certify.certify_support`)."""

    theta: tuple
    predicted_eigenvalues: tuple
    description: str
    free: tuple = ()
    matched: tuple = ()


class PointTools(Protocol):
    r"""The numerical services a special-point constructor receives (``verify.spurious`` provides them for a
    target at a precision): the family states the mathematics, the tools fit and convert.

    * ``working()`` — a context at the construction's working precision (every mpf computation inside it);
    * ``data_moments()`` — the target's moments :math:`m^D_A` (canonical order, mpf);
    * ``maxent_fit(support)`` — couplings :math:`J^*` supported on ``support`` (canonical indices) with
      :math:`m_A(J^*) = m^D_A` there; ``residual(J)`` — :math:`r = m^D - m(J)`;
    * ``exact(values)`` — mpf values as the exact rationals of a point (Fractions);
    * ``fixed_point(model, seed)`` — an exact fixed point of ``model`` for the target reached by a seeded flow
      from a small random start and polished (``None`` when the flow reaches none);
    * ``model_moments_by_mask(model, theta)`` — the moments of :math:`p_\theta` by subset mask;
    * ``pair_eigenvalues(moments_by_mask)`` — the eigenvalues of :math:`R_{ij} = m^D_{ij} - m_{ij}` (:math:`i \ne j`),
      :math:`R_{ii} = 0`, against the given moments by mask.
    """

    def working(self): ...
    def data_moments(self): ...
    def maxent_fit(self, support): ...
    def residual(self, J): ...
    def exact(self, values): ...
    def fixed_point(self, model, seed: int): ...
    def model_moments_by_mask(self, model, theta): ...
    def pair_eigenvalues(self, moments_by_mask): ...


class Model:
    """Base class of the families; subclasses define ``params``, the four evaluators and their declarations."""

    family: str = ""
    #: keys of the case file's ``"model"`` object besides ``family`` and ``n``
    spec_keys: frozenset = frozenset()
    #: the model has a small-weight regime with an order hierarchy (THEORY.md H1–H3)
    hierarchy: bool = False
    #: :meth:`small_weight_scaled` multiplies every parameter by epsilon
    rescales_every_parameter: bool = True
    #: sympy decides the identities of the closed forms exactly in reasonable time (else: numerically)
    simplifies_exactly: bool = True
    #: the largest N whose closed forms ``derive`` writes (each coupling is a sum of up to 2^N terms)
    closed_form_max_n: int = 4
    n: int
    params: tuple[Param, ...]

    @property
    def P(self) -> int:
        """Number of scalar parameters."""
        return len(self.params)

    @property
    def symbols(self) -> list[sp.Symbol]:
        return [p.symbol for p in self.params]

    @property
    def spins(self) -> tuple[sp.Symbol, ...]:
        return spin_symbols(self.n)

    # --- case files ----------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict) -> "Model":
        """The model of a case file's ``"model"`` object (``family`` and ``n`` already checked)."""
        raise NotImplementedError

    @classmethod
    def count_parameters(cls, spec: dict) -> int | None:
        """:math:`P` from the ``"model"`` object without building the model (``None`` when not known)."""
        return None

    @classmethod
    def closed_form_limit(cls, spec: dict) -> int:
        """:attr:`closed_form_max_n` of the model ``spec`` describes, without building it."""
        return cls.closed_form_max_n

    def spec(self) -> dict:
        """The model part of a case file (JSON-ready)."""
        raise NotImplementedError

    def parse_params(self, obj) -> tuple[Fraction, ...]:
        """Exact parameter vector from the ``"params"`` object of a case file."""
        raise NotImplementedError

    def params_to_json(self, theta) -> dict:
        raise NotImplementedError

    def zero_params(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(0) for _ in self.params)

    # --- the energy -------------------------------------------------------------------------------------
    def energy_expr(self) -> sp.Expr:
        raise NotImplementedError

    def energy(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def energy_grad(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def energy_hessian(self, theta: np.ndarray, arith: Arith) -> np.ndarray:
        raise NotImplementedError

    def weighted_energy_hessian(self, theta: np.ndarray, weights: np.ndarray, arith: Arith) -> np.ndarray:
        r""":math:`\sum_s w(s)\,\partial^2_\theta F_\theta(s)`, shape ``(P, P)``, for weights ``w`` on the
        :math:`2^N` configurations (the curvature term of :math:`H` has :math:`w = 2^{-N}\sum_A r_A\chi_A`).

        This default contracts the full :math:`\partial^2F` (shape :math:`(2^N, P, P)`); a family whose
        :math:`\partial^2F` is sparse or structured overrides it.
        """
        d2F = self.energy_hessian(theta, arith)
        P = d2F.shape[1]
        return matmul(weights[None, :], d2F.reshape(d2F.shape[0], P * P)).reshape(P, P)

    # --- declared structure ---------------------------------------------------------------------------
    @property
    def polynomial(self) -> bool:
        """Whether :math:`F_\\theta(s)` is a polynomial in the spins and the parameters (exact expansion)."""
        return bool(self.energy_expr().is_polynomial(*self.spins, *self.symbols))

    def normal_form(self, expr: sp.Expr) -> sp.Expr:
        """One configuration value :math:`F_\\theta(s(x))` rewritten by an identity sympy simplifies well."""
        return sp.expand(expr) if self.polynomial else expr

    def direct_parameters(self) -> dict[int, tuple]:
        """``{k: A}`` for parameters entering :math:`J_A` only additively (:math:`J_A = \\theta_k + g`), F3."""
        return {}

    def symmetries(self) -> tuple[Symmetry, ...]:
        """The transformations of :math:`\\theta` under which :math:`J(\\theta)` is invariant (known ones)."""
        return ()

    def small_weight_start(self, eps: float, seed: int, bias_scale: float = 0.5) -> tuple[Fraction, ...]:
        """The seeded start of a flow near the origin: every parameter :math:`\\sim\\varepsilon\\,N(0,1)`."""
        rng = np.random.default_rng(seed)
        return tuple(Fraction(f"{eps * rng.standard_normal():.6e}") for _ in self.params)

    def small_weight_scaled(self, base, eps: Fraction) -> tuple[Fraction, ...]:
        """The point of H1's rescaling :math:`\\theta(\\varepsilon)`; here every parameter times :math:`\\varepsilon`."""
        return tuple(eps * q for q in base)

    def h1_law(self, base) -> dict | None:
        """Predicted log–log slopes of :math:`\\|J_k\\|`, :math:`\\|G_k\\|`, :math:`\\|K_{kl}\\|` against
        :math:`\\varepsilon` along :meth:`small_weight_scaled` from ``base`` (``None``: no law declared)."""
        return None

    def special_point_constructors(self) -> dict[str, Callable]:
        """``{kind: constructor}`` of the exact spurious points with closed-form spectra this model has (S2).

        ``constructor(tools, **options)`` (``tools`` a :class:`PointTools`) returns the :class:`ConstructedPoint`
        for the tools' target, or ``None`` when it cannot be built (a fit that does not converge). A new kind of
        special point is one entry here: ``verify.spurious.construct`` calls it by its kind."""
        return {}

    def special_points(self) -> tuple[str, ...]:
        """Kinds of exact spurious points with closed-form spectra this model has (S2): the keys of
        :meth:`special_point_constructors`."""
        return tuple(self.special_point_constructors())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(self.spec()))


# --- helpers of the families' case-file parsing -------------------------------------------------------


def number(value, where: str, problems: list) -> Fraction:
    try:
        return parse_number(value, where)
    except SpecError as err:
        problems.append(str(err))
        return Fraction(0)


def vector(obj: dict, key: str, length: int, problems: list, what: str) -> list[Fraction]:
    if key not in obj:
        problems.append(f"params.{key} is missing: give {length} values ({what})")
        return [Fraction(0)] * length
    values = obj[key]
    if not isinstance(values, list) or len(values) != length:
        got = len(values) if isinstance(values, list) else type(values).__name__
        problems.append(f"params.{key} must be a list of {length} values ({what}), got {got}")
        return [Fraction(0)] * length
    return [number(v, f"params.{key}[{k}]", problems) for k, v in enumerate(values)]


def matrix(obj: dict, key: str, rows: int, cols: int, problems: list) -> list[Fraction]:
    if key not in obj:
        problems.append(f"params.{key} is missing: give {rows} rows of {cols} values (one row per spin)")
        return [Fraction(0)] * (rows * cols)
    values = obj[key]
    ok = isinstance(values, list) and len(values) == rows and all(isinstance(r, list) and len(r) == cols for r in values)
    if not ok:
        problems.append(f"params.{key} must be {rows} rows (one per spin) of {cols} values (one per hidden unit)")
        return [Fraction(0)] * (rows * cols)
    return [number(v, f"params.{key}[{i}][{j}]", problems) for i, r in enumerate(values) for j, v in enumerate(r)]


def subset_dict(obj: dict, key: str, allowed: tuple, n: int, problems: list, required: bool = False) -> dict:
    if key not in obj:
        if required:
            problems.append(f"params.{key} is missing")
        return {}
    values = obj[key]
    if not isinstance(values, dict):
        problems.append(f"params.{key} must be an object {{\"1,2\": value, ...}}")
        return {}
    out = {}
    for A, text, v in parse_subset_keys(values, n, f"params.{key}", problems):
        if A not in allowed:
            problems.append(f"params.{key}: subset {show_value(text)} is not a parameter of this model")
            continue
        out[A] = number(v, f"params.{key}[{show_value(text)}]", problems)
    return out


def check_params_object(obj, allowed_keys: set) -> list:
    if not isinstance(obj, dict):
        raise SpecError("\"params\" must be a JSON object")
    extra = sorted(set(obj) - allowed_keys)
    if extra:
        return [f"params has unknown keys {extra}; this model takes {sorted(allowed_keys)}"]
    return []


def characters(n: int, family_subsets: tuple) -> np.ndarray:
    """Integer matrix ``chi[x, k] = χ_{A_k}(s(x))``."""
    table = spin_table(n)
    chi = np.ones((2**n, len(family_subsets)), dtype=np.int64)
    for k, A in enumerate(family_subsets):
        for i in A:
            chi[:, k] *= table[:, i - 1]
    return chi


def spin_linear(offset, coeffs: np.ndarray) -> np.ndarray:
    r"""Values of :math:`c_0 + \sum_i c_i s_i(x)` on all ``2^N`` configurations (axis 0), by doubling.

    ``coeffs`` has shape ``(N, ...)`` and ``offset`` broadcasts against ``coeffs[0]``. Starting from
    ``x = 0`` (all spins :math:`+1`), flipping spin ``i`` subtracts :math:`2c_i`; ``2^N`` additions per
    trailing entry, no multiplications.
    """
    values = np.asarray(offset + coeffs.sum(axis=0))[None, ...]
    for i in range(coeffs.shape[0]):
        values = np.concatenate([values, values - 2 * coeffs[i]], axis=0)
    return values


def times_spin(values: np.ndarray, i: int) -> np.ndarray:
    """``values * s_{i+1}(x)`` along axis 0 (length ``2^N``): negates the configurations with bit ``i`` set."""
    out = values.copy()
    length = values.shape[0]
    view = out.reshape(length // (2 << i), 2, 1 << i, *values.shape[1:])
    view[:, 1] = -view[:, 1]
    return out


def int_at_least(value, name: str, lo: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise SpecError(f"model.{name} must be an integer >= {lo}, got {show_value(value)}")
    return value


