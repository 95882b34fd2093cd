"""The FLINT engine of verify.linalg against mpmath's eigsy / svd_r and against the defining identities."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from verify import linalg as L


def _rational_matrix(rng, shape, scale=97):
    return np.array([[mpmath.mpf(int(x)) / scale for x in row] for row in rng.integers(-50, 50, size=shape)],
                    dtype=object)


def _eye(n):
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            out[i, j] = mpmath.mpf(1 if i == j else 0)
    return out


@pytest.mark.parametrize("dps", [30, 80])
@pytest.mark.parametrize("rank", [7, 19])
def test_symmetric_eigen_on_a_rank_deficient_matrix(dps, rank):
    """H = B Bᵀ with B of rank r (exact rationals): residual HQ - QΛ and QᵀQ - I at the working precision, the
    eigenvalues equal mpmath's, and the 19 - r zero eigenvalues are zero to the working precision."""
    rng = np.random.default_rng(rank)
    with mpmath.workdps(dps):
        B = _rational_matrix(rng, (19, rank))
        H = B @ B.T
        E, Q = L.symmetric_eigen(H)
        E_ref, _ = L.mpmath_symmetric_eigen(H)
        eps = mpmath.mpf(10) ** (-dps + 3) * (1 + L.max_abs(H))
        assert L.max_abs(H @ Q - Q * np.array(E, dtype=object)[None, :]) < eps
        assert L.max_abs(Q.T @ Q - _eye(19)) < mpmath.mpf(10) ** (-dps + 3)
        assert max(abs(a - b) for a, b in zip(E, E_ref)) < eps
        assert sum(1 for e in E if abs(e) < eps) == 19 - rank
        assert all(a <= b for a, b in zip(E, E[1:]))


def test_symmetric_eigenvalues_alone_match_eigsy_with_a_kernel_and_repeated_values():
    """Values only (no vectors): a kernel of dimension 4 and a doubly repeated eigenvalue are no obstacle."""
    rng = np.random.default_rng(11)
    with mpmath.workdps(40):
        B = _rational_matrix(rng, (12, 8))
        H = B @ B.T
        H = H + H @ H  # same eigenvectors; kernel of dimension 4
        D = np.zeros((14, 14), dtype=object)
        D[:12, :12] = H
        D[12, 12] = D[13, 13] = mpmath.mpf(3)  # a repeated eigenvalue 3
        for i in range(14):
            for j in range(14):
                D[i, j] = mpmath.mpf(D[i, j])
        E = L.symmetric_eigenvalues(D)
        E_ref, _ = L.mpmath_symmetric_eigen(D)
        eps = mpmath.mpf(10) ** -37 * (1 + L.max_abs(D))
        assert len(E) == 14 and max(abs(a - b) for a, b in zip(E, E_ref)) < eps
        assert sum(1 for e in E if abs(e) < eps) == 4 and sum(1 for e in E if abs(e - 3) < eps) == 2


@pytest.mark.parametrize("shape", [(23, 11), (11, 23)])
def test_right_singular_matches_an_svd(shape):
    """σ from AᵀA at twice the bits agree with mpmath's SVD of A to the working precision, small ones included
    (a column scaled by 1e-20 keeps its singular value's digits); the zero ones span ker A."""
    rng = np.random.default_rng(5)
    with mpmath.workdps(40):
        A = _rational_matrix(rng, shape)
        M = A if shape[0] >= shape[1] else A.T  # near-dependent columns of a tall matrix, rows of a wide one
        M[:, 0] = M[:, 3] + M[:, 0] * mpmath.mpf(10) ** -20  # a small singular value
        M[:, 1] = M[:, 2] * 3  # a zero one
        s, V = L.right_singular(A)
        s_ref, _ = L.mpmath_right_singular(A)
        assert len(s) == shape[1]
        big = max(s_ref)
        assert max(abs(a - b) for a, b in zip(s, s_ref)) < mpmath.mpf(10) ** -37 * big
        small = min(x for x in s_ref if x > mpmath.mpf(10) ** -30)
        ours = min(x for x in s if x > mpmath.mpf(10) ** -30)
        assert abs(ours - small) < mpmath.mpf(10) ** -37 * big and small < mpmath.mpf(10) ** -15
        kernel = [k for k, x in enumerate(s) if x < mpmath.mpf(10) ** -35]
        assert len(kernel) == shape[1] - min(shape) + 1
        assert L.max_abs(A @ V[:, kernel]) < mpmath.mpf(10) ** -36
        assert L.max_abs(V.T @ V - _eye(shape[1])) < mpmath.mpf(10) ** -37
        assert max(abs(a - b) for a, b in zip(L.singular_values(A), s[: min(shape)])) < mpmath.mpf(10) ** -37 * big


def test_pseudo_inverse_solves_the_normal_equations():
    rng = np.random.default_rng(9)
    with mpmath.workdps(40):
        A = _rational_matrix(rng, (17, 9))
        A[:, 3] = A[:, 4] - A[:, 5]  # rank 8
        b = _rational_matrix(rng, (17, 1))[:, 0]
        x = L.pseudo_inverse_solve(A, b, mpmath.mpf(10) ** -20)
        assert L.max_abs(A.T @ (A @ x - b)) < mpmath.mpf(10) ** -35
        # minimal norm: x is orthogonal to the kernel direction e3 - e4 + e5
        assert abs(x[3] - x[4] + x[5]) < mpmath.mpf(10) ** -35


def test_principal_angles_of_a_rotated_plane():
    """The spans of (e1, e2) and (e1, cos t e2 + sin t e3) meet at angles 0 and t: sines 0 and sin t (t = 1e-30)."""
    with mpmath.workdps(60):
        t = mpmath.mpf(10) ** -30
        U = np.array([[1, 0], [0, 1], [0, 0]], dtype=object) * mpmath.mpf(1)
        V = np.array([[1, 0], [0, mpmath.cos(t)], [0, mpmath.sin(t)]], dtype=object)
        sines = L.principal_angle_sines(U, V)
        assert abs(sines[0] - mpmath.sin(t)) < mpmath.mpf(10) ** -55 and abs(sines[1]) < mpmath.mpf(10) ** -55


def test_a_kernel_gets_the_same_basis_at_both_precisions():
    """A cluster (here a kernel of dimension 6 and a repeated value) is resolved by Rayleigh–Ritz on the complement
    of the separated eigenvectors and given a basis that depends on its span only: the fibre tests read the
    kernel's vectors at dps and at 2·dps, so the two bases must agree to the lower precision."""
    bases = []
    for dps in (30, 60):
        with mpmath.workdps(dps):
            B = _rational_matrix(np.random.default_rng(23), (14, 8))  # exact rationals: the same matrix at both
            H = B @ B.T
            E, Q = L.symmetric_eigen(H)
            eps = mpmath.mpf(10) ** (-dps + 3) * (1 + L.max_abs(H))
            assert L.max_abs(H @ Q - Q * np.array(E, dtype=object)[None, :]) < eps
            assert L.max_abs(Q.T @ Q - _eye(14)) < mpmath.mpf(10) ** (-dps + 3)
            kernel = [k for k, e in enumerate(E) if abs(e) < eps]
            assert len(kernel) == 6
            bases.append(Q[:, kernel])
    with mpmath.workdps(30):
        assert L.max_abs(bases[0] - bases[1]) < mpmath.mpf(10) ** -25


def test_a_wrong_answer_of_the_approximate_solver_is_caught():
    """Arb's approximate eigensolver is not guaranteed: on H at the paramagnetic rbm N = 3, M = 3 (three triple
    eigenvalues and a triple zero) at 61 digits it returned -0.99960572 and -0.94747037 for -0.99981017 and
    -0.94726591 (same sum). The residual check sends such a case to mpmath: values and vectors agree with eigsy."""
    from theory.arith import MP
    from theory.families import model_from_spec
    from theory.flow import FlowState
    from verify.cases import parse_target
    from verify.spurious import construct

    model = model_from_spec({"family": "rbm", "n": 3, "hidden": 3})
    target = parse_target({"named": "random-couplings", "seed": 1}, 3)
    point = construct("paramagnetic", model, target, 30)
    with mpmath.workdps(61):
        H = FlowState(model, MP.array(point.theta), target.moment_array(MP), MP).hessian()
        E, Q = L.symmetric_eigen(H)
        E_ref, _ = L.mpmath_symmetric_eigen(H)
        assert max(abs(a - b) for a, b in zip(E, E_ref)) < mpmath.mpf(10) ** -55
        assert L.max_abs(H @ Q - Q * np.array(E, dtype=object)[None, :]) < mpmath.mpf(10) ** -55
        assert max(abs(a - b) for a, b in zip(L.symmetric_eigenvalues(H), E_ref)) < mpmath.mpf(10) ** -55
