r"""Float64 flow engine for N up to 12–14: :math:`\nabla\ell`, the exact Jacobian :math:`H`, the flow, per-order errors.

Everything is computed on the :math:`2^N` configurations at once (numpy); no Python loop runs over
configurations or parameters. With :math:`p_\theta = e^{F_\theta}/Z` (log-sum-exp) and
:math:`q = p_D - p_\theta`:

.. math::

   \nabla\ell = E_D[\partial F] - E_\theta[\partial F] = \textstyle\sum_s q(s)\,\partial F(s), \qquad
   H = \textstyle\sum_s q(s)\,\partial^2F(s) - R^\top R,\quad
   R = \mathrm{diag}(\sqrt{p_\theta})\,(\partial F - E_\theta[\partial F]),

the Jacobian of the flow :math:`\dot\theta = \nabla\ell` (ascent of :math:`\ell`), equal to
:math:`\sum_A r_A\nabla^2J_A - G^\top CG` of :mod:`theory.flow`. Hidden-layer families, with
:math:`x_\mu(s) = b_\mu + \sum_i w_{i\mu}s_i` and :math:`t(s) = (1, s_1, \dots, s_N)`:
``rbm`` :math:`F = \sum_i a_is_i + \sum_\mu\varphi(x_\mu)`, ``mlp`` :math:`F = \sum_i a_is_i + \sum_\mu c_\mu\sigma(x_\mu)`;
with :math:`u_\mu = \varphi` or :math:`c_\mu\sigma`, :math:`\partial F = (s_i;\ u'_\mu;\ u'_\mu s_i;\ \sigma(x_\mu))`
for :math:`(a, b, w, c)`, and :math:`\partial^2F` is block diagonal over hidden units: on
:math:`\theta_\mu = (b_\mu, w_{1\mu}, \dots, w_{N\mu})`,

.. math::

   \textstyle\sum_s q\,\partial^2_{\theta_\mu\theta_\mu}F = \sum_s q(s)\,u''_\mu(x_\mu(s))\,t(s)t(s)^\top
   \ \text{(one matmul for all } \mu\text{)}, \qquad
   \sum_s q\,\partial^2_{c_\mu\theta_\mu}F = \sum_s q(s)\,\sigma'(x_\mu(s))\,t(s).

Other families use the model's own evaluators at float64 (``energy_hessian`` is ``(2^N, P, P)``: small N).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from theory.arith import FLOAT64
from theory.families import HiddenLayer
from theory.conventions import canonical_masks, spin_table

from .learning import METRICS, Trajectory
from .orders64 import connected64, logsumexp, maxent_errors, moebius, per_order_errors, wht

__all__ = ["State64", "engine_for", "data_distribution", "gradient64", "jacobian64", "integrate64",
           "trajectory_energies", "all_order_errors64", "order_errors64", "ENGINES"]


class _Generic:
    """Any family: the model's structured evaluators at float64 (``aux`` is :math:`\\partial F`)."""

    def __init__(self, model):
        self.model = model

    def energy(self, theta):
        return self.model.energy(theta, FLOAT64)

    def evaluate(self, theta):
        return self.energy(theta), self.model.energy_grad(theta, FLOAT64)

    def gradient(self, theta, dF, q):
        return q @ dF

    def rows(self, theta, dF):
        return dF

    def curvature(self, theta, dF, q):
        return self.model.weighted_energy_hessian(theta, q, FLOAT64)


class _HiddenLayer:
    r"""``rbm`` and ``mlp``: parameters ``a (N), b (M), w (N×M row-major), c (M, mlp)``; ``aux = (x, u, c·u')``."""

    def __init__(self, model):
        n, M = model.n, model.M
        self.n, self.M, self.P = n, M, model.P
        self.mlp = bool(model.output_weights)
        act = model.activation  # an Activation object, with its accurate float64 forms where it declares them
        if act.float64 is not None:
            self.units, self.d2u = act.float64
        else:
            self.units = lambda x: (act.value(x, FLOAT64), act.first(x, FLOAT64))
            self.d2u = lambda x: act.second(x, FLOAT64)
        self.S = spin_table(n).astype(np.float64)
        self.t = np.hstack([np.ones((2**n, 1)), self.S])
        self.tt = (self.t[:, :, None] * self.t[:, None, :]).reshape(2**n, (n + 1) ** 2)
        mu = np.arange(M)
        # block[mu] = indices of (b_mu, w_1mu, ..., w_Nmu); ic[mu] = index of c_mu
        self.block = np.hstack([(n + mu)[:, None], n + M + np.arange(n)[None, :] * M + mu[:, None]])
        self.ic = n + M + n * M + mu

    def _x(self, theta):
        n, M = self.n, self.M
        return theta[n : n + M] + self.S @ theta[n + M : n + M + n * M].reshape(n, M)

    def _F(self, theta, u):
        return self.S @ theta[: self.n] + (u @ theta[self.ic] if self.mlp else u.sum(axis=1))

    def energy(self, theta):
        return self._F(theta, self.units(self._x(theta))[0])

    def evaluate(self, theta):
        X = self._x(theta)
        u, g1 = self.units(X)
        if self.mlp:
            g1 = g1 * theta[self.ic]
        return self._F(theta, u), (X, u, g1)

    def gradient(self, theta, aux, q):
        r""":math:`\sum_s q\,\partial F = (S^\top q;\ g_1^\top q;\ S^\top(q\,g_1);\ u^\top q)` (no :math:`2^N\times P` array)."""
        _, u, g1 = aux
        parts = [q @ self.S, q @ g1, (self.S.T @ (q[:, None] * g1)).reshape(-1)]
        return np.concatenate(parts + ([q @ u] if self.mlp else []))

    def rows(self, theta, aux):
        """:math:`\\partial F`, shape ``(2^N, P)``."""
        _, u, g1 = aux
        cols = [self.S, g1, (self.S[:, :, None] * g1[:, None, :]).reshape(len(u), -1)]
        return np.hstack(cols + ([u] if self.mlp else []))

    def curvature(self, theta, aux, q):
        X = aux[0]
        g2 = self.d2u(X) * theta[self.ic] if self.mlp else self.d2u(X)
        n = self.n
        out = np.zeros((self.P, self.P))
        blocks = ((q[:, None] * g2).T @ self.tt).reshape(self.M, n + 1, n + 1)
        out[self.block[:, :, None], self.block[:, None, :]] = blocks
        if self.mlp:
            cross = (q[:, None] * self.units(X)[1]).T @ self.t
            out[self.ic[:, None], self.block] = cross
            out[self.block, self.ic[:, None]] = cross
        return out


ENGINES = {HiddenLayer: _HiddenLayer}  # by family class: subclasses (rbm, mlp, a new hidden layer) included


@lru_cache(maxsize=16)
def engine_for(model):
    """The float64 evaluator of ``model``'s family (``ENGINES``; any other hidden-layer family, i.e. one with
    ``preactivations``, as ``rbm``/``mlp``), the generic one otherwise."""
    engine = next((e for cls, e in ENGINES.items() if isinstance(model, cls)), _Generic)
    return engine(model)


def data_distribution(data, n: int) -> np.ndarray:
    r""":math:`p_D` on the ``2^N`` configurations from a target, its ``2^N`` probabilities, or its ``2^N - 1``
    moments (canonical order): :math:`p_D = 2^{-N}\sum_A m_A\chi_A` with :math:`m_\emptyset = 1`."""
    if hasattr(data, "probability_array"):
        return data.probability_array(FLOAT64)
    arr = np.array(data, dtype=np.float64).reshape(-1)
    if arr.size == 2**n:
        return arr
    if arr.size == 2**n - 1:
        full = np.ones(2**n)
        full[canonical_masks(n)] = arr
        return wht(full) / 2**n
    raise ValueError(f"data for n = {n} must be a target, 2^n = {2**n} probabilities or {2**n - 1} moments, "
                     f"got {arr.size} values")


class State64:
    r"""One point: :math:`\log p_\theta, p_\theta, q = p_D - p_\theta`, :math:`\nabla\ell = \partial F^\top q`; :math:`H` on demand."""

    def __init__(self, model, theta, data, engine=None):
        self.engine = engine or engine_for(model)
        self.theta = np.array(theta, dtype=np.float64).reshape(-1)
        self.p_data = data_distribution(data, model.n)
        F, self._aux = self.engine.evaluate(self.theta)
        self.log_p = F - logsumexp(F)
        self.p = np.exp(self.log_p)
        self.q = self.p_data - self.p
        self.gradient = self.engine.gradient(self.theta, self._aux, self.q)

    @property
    def dF(self) -> np.ndarray:
        r""":math:`\partial F/\partial\theta` on every configuration, ``(2^N, P)``."""
        return self.engine.rows(self.theta, self._aux)

    def hessian(self) -> np.ndarray:
        r""":math:`H = \sum_s q\,\partial^2F - \mathrm{Cov}_\theta(\partial F)` (symmetrised)."""
        dF = self.dF
        R = (dF - self.p @ dF) * np.sqrt(self.p)[:, None]
        H = self.engine.curvature(self.theta, self._aux, self.q) - R.T @ R
        return 0.5 * (H + H.T)


def gradient64(model, theta, data) -> np.ndarray:
    r""":math:`\nabla\ell = E_D[\partial F] - E_\theta[\partial F]` (``data``: target, :math:`p_D` or :math:`m^D`)."""
    return State64(model, theta, data).gradient


def jacobian64(model, theta, data) -> np.ndarray:
    r""":math:`H = \partial^2\ell/\partial\theta^2 = E_D[\partial^2F] - E_\theta[\partial^2F] - \mathrm{Cov}_\theta(\partial F)`."""
    return State64(model, theta, data).hessian()


def integrate64(model, target, theta0, t_max: float = 1e6, t_min: float = 1e-2, points: int = 321,
                rtol: float = 1e-9, atol: float = 1e-11, method: str = "LSODA") -> Trajectory:
    r""":math:`\dot\theta = \nabla\ell(\theta)` from ``theta0`` (scipy ``method`` with the exact Jacobian :math:`H`),
    output at ``points`` log-spaced times in ``[t_min, t_max]``; as :func:`verify.learning.integrate`."""
    from scipy.integrate import solve_ivp

    engine, p_data = engine_for(model), data_distribution(target, model.n)
    last = {}

    def state(theta):
        key = theta.tobytes()
        if last.get("key") != key:
            last.update(key=key, state=State64(model, theta, p_data, engine))
        return last["state"]

    times = np.clip(np.logspace(np.log10(t_min), np.log10(t_max), points), t_min, t_max)  # 10**log10(300) > 300
    sol = solve_ivp(lambda t, th: state(th).gradient, (0.0, t_max), np.array(theta0, dtype=np.float64),
                    method=method, t_eval=times, jac=lambda t, th: state(th).hessian(), rtol=rtol, atol=atol)
    return Trajectory(sol.t, sol.y.T, bool(sol.success), str(sol.message))


# --- per-order errors along a trajectory (columns = times; the numerics in :mod:`verify.orders64`) ----------


def trajectory_energies(model, thetas) -> np.ndarray:
    r""":math:`F_{\theta(t)}(s)`, shape ``(2^N, T)`` (one vectorised evaluation per time)."""
    engine = engine_for(model)
    return np.stack([engine.energy(np.asarray(th, dtype=np.float64)) for th in thetas], axis=1)


def all_order_errors64(model, target, thetas, metrics=METRICS) -> dict:
    r"""``{metric: (errors[t_index, k-1], absolute flags)}`` as :func:`verify.learning.order_errors`, every metric
    from one evaluation of :math:`F_{\theta(t)}` on all configurations and times."""
    n = model.n
    F = trajectory_energies(model, thetas)
    masks = canonical_masks(n)
    log_p = F - logsumexp(F)
    p = np.exp(log_p)
    out = {}
    for metric in metrics:
        if metric == "coupling":
            x, ref = wht(F)[masks] / 2**n, target.coupling_array(FLOAT64)
        elif metric == "coupling-boolean":
            x, ref = moebius(F[::-1])[masks], moebius(target.log_probability_array(FLOAT64)[::-1])[masks]
        elif metric in ("moment", "connected"):
            mbm, mD = wht(p), wht(target.probability_array(FLOAT64))
            x, ref = (mbm[masks], mD[masks]) if metric == "moment" else (connected64(mbm, n), connected64(mD, n))
        elif metric == "maxent":
            out[metric] = maxent_errors(target, log_p, n)
            continue
        else:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        out[metric] = per_order_errors(x, ref, n)
    return out


def order_errors64(model, target, thetas, metric: str):
    """``errors[t_index, k-1]`` of ``metric`` and the absolute-error flags (as :func:`verify.learning.order_errors`)."""
    return all_order_errors64(model, target, thetas, (metric,))[metric]
