r"""Numeric evaluators compiled from the closed forms (``lambdify`` with common-subexpression elimination).

The structured evaluators of :mod:`theory.effective` and :mod:`theory.flow` stay the fast path; these
are their independent cross-check: :math:`J(\theta)`, :math:`G(\theta)`, the moments
:math:`m_A(\theta) = \sum_x\chi_A(x)e^{F_x}/\sum_x e^{F_x}` and :math:`H(\theta)` evaluated from the sympy
expressions alone. Each expression list is passed to ``lambdify`` as a flat list (``cse`` is
ignored on nested lists) and contains only exact rationals, so mpmath evaluates it at the
caller's working precision.

>>> import mpmath
>>> from theory.models import GIM
>>> from verify.derivation_cache import closed_forms
>>> ev = ClosedFormEvaluators(closed_forms(GIM(2), cache=False), "mpmath")
>>> [float(v) for v in ev.couplings([1, 2, 3])]
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property, lru_cache

import mpmath
import numpy as np

from theory.lazy_sympy import sp
from theory.closed_forms import ClosedForms

from .derivation_cache import cached, closed_forms

__all__ = ["ClosedFormEvaluators", "CLOSED_FORM_MAX_N", "has_closed_forms", "evaluators_for", "closed_form_digest",
           "printed_closed_forms"]

#: ``run`` derives closed forms (and cross-checks them in E1) for models with at most this many spins
CLOSED_FORM_MAX_N = 3


class ClosedFormEvaluators:
    """``couplings``, ``jacobian``, ``moments``, ``hessian`` of one closed form in ``mpmath`` or ``numpy``."""

    def __init__(self, cf: ClosedForms, backend: str = "mpmath"):
        if backend not in ("mpmath", "numpy"):
            raise ValueError(f"backend must be 'mpmath' or 'numpy', got {backend!r}")
        self.cf = cf
        self.backend = backend

    def _compile(self, args, exprs):
        return sp.lambdify(list(args), list(exprs), modules=self.backend, cse=True)

    def _array(self, values, shape):
        dtype = object if self.backend == "mpmath" else float
        return np.array(values, dtype=dtype).reshape(shape)

    def _point(self, theta):
        if self.backend == "mpmath":
            return [mpmath.mpf(t) if not isinstance(t, mpmath.mpf) else t for t in theta]
        return [float(t) for t in theta]

    @cached_property
    def _couplings(self):
        return self._compile(self.cf.theta, self.cf.couplings)

    @cached_property
    def _jacobian(self):
        return self._compile(self.cf.theta, self.cf.jacobian)

    @cached_property
    def _moments(self):
        return self._compile(self.cf.theta, self.cf.moment_expressions())

    @cached_property
    def _hessian(self):
        cf = self.cf
        return self._compile(cf.theta + cf.moments + cf.data_moments, cf.hessian)

    def couplings(self, theta) -> np.ndarray:
        r""":math:`J(\theta)` (canonical order)."""
        return self._array(self._couplings(*self._point(theta)), (self.cf.D,))

    def jacobian(self, theta) -> np.ndarray:
        r""":math:`G(\theta)`, ``D x P``."""
        return self._array(self._jacobian(*self._point(theta)), (self.cf.D, self.cf.P))

    def moments(self, theta) -> np.ndarray:
        r""":math:`m_A(\theta)` from the Boltzmann weights of the closed-form energy."""
        return self._array(self._moments(*self._point(theta)), (self.cf.D,))

    def gradient(self, theta, m_data) -> np.ndarray:
        r""":math:`\nabla\ell = G^\top(m^D - m(\theta))`."""
        return self.jacobian(theta).T @ (np.asarray(m_data) - self.moments(theta))

    def hessian(self, theta, m_data) -> np.ndarray:
        r""":math:`H(\theta) = \sum_A r_A\nabla^2J_A - G^\top CG` with :math:`m = m(\theta)`."""
        point = self._point(theta) + list(self.moments(theta)) + self._point(m_data)
        P = self.cf.P
        return self._array(self._hessian(*point), (P, P))


def has_closed_forms(model) -> bool:
    """Whether ``run`` derives this model's closed forms (N ≤ :data:`CLOSED_FORM_MAX_N`)."""
    return model.n <= CLOSED_FORM_MAX_N


@lru_cache(maxsize=64)
def evaluators_for(model) -> ClosedFormEvaluators:
    """mpmath evaluators of the model's closed forms (derivation from the disk cache; compiled once per process)."""
    return ClosedFormEvaluators(closed_forms(model), "mpmath")


def printed_closed_forms(model) -> str:
    r"""The printed form of the model's :math:`J` and :math:`G`: the LaTeX lines a derivation document shows for every
    coupling and every entry of :math:`G` (in the notation of :data:`theory.latex.NOTATION`), after the spec."""
    from theory.conventions import latex_subset
    from theory.latex import equation_lines, notation

    cf = closed_forms(model)
    lines = [json.dumps(model.spec(), sort_keys=True)]
    with notation(model.params):
        for A, j in zip(cf.subsets, cf.couplings):
            lines += equation_lines(f"J_{{{latex_subset(A)}}}", j)
        for a, A in enumerate(cf.subsets):
            for k in range(cf.P):
                if cf.jacobian[a, k] != 0:
                    lines += equation_lines(f"G_{{{latex_subset(A)},{k}}}", cf.jacobian[a, k])
    return "\n".join(lines) + "\n"


def closed_form_digest(model) -> str:
    """SHA-256 of the printed :math:`J` and :math:`G` of the model (:func:`printed_closed_forms`, cached with the
    derivation): a baseline records it, so that any change to a derivation, to its printed form (notation, line
    breaking) or to sympy's canonical form is reported by ``ebm-verify diff`` like any other regression."""

    def compute():
        return hashlib.sha256(printed_closed_forms(model).encode()).hexdigest()

    return cached(model, "digest", compute, str)
