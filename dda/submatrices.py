"""Per-block DDA submatrices (6×6 stiffness, 6-vector loads) for D = (u0, v0, r0, εx, εy, γxy).

Unit thickness; SI units: K in N/m (u, v), N·m (r, ε); F in N, N·m.

* elastic:          K[3:6, 3:6] += A C            (C = the law's tangent at the block strain)
* initial stress:   F[3:6]      −= A σ            (σ: the block stress at the step start)
* inertia:          K += 2M/Δt²,  F += 2M v/Δt    (M = ρ ∫TᵀT; v the velocity at step start)
* body force:       F[0:2]      += ρ A g
* point load f at (x, y):  F += T(x, y)ᵀ f
* line load, traction q over a segment:  F += ∫ Tᵀ q ds (2-point Gauss, exact for linear q)
* fixed point (penalty p at (x, y), offset δ from its anchor):  K += p TᵀT,  F −= p Tᵀ δ
"""

from __future__ import annotations

import numpy as np

from dda.kinematics import tmat, tt_vec

_GAUSS2 = (np.array([0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0)]), np.array([0.5, 0.5]))


def elastic(area: np.ndarray, tangent: np.ndarray, K: np.ndarray) -> None:
    """K[b, 3:6, 3:6] += A_b C_b; tangent (nb, 3, 3) [Pa]."""
    K[:, 3:6, 3:6] += area[:, None, None] * tangent


def initial_stress(area: np.ndarray, stress: np.ndarray, F: np.ndarray) -> None:
    """F[b, 3:6] −= A_b σ_b; stress (nb, 3) [Pa] (Voigt xx, yy, xy)."""
    F[:, 3:6] -= area[:, None] * stress


def inertia(M: np.ndarray, velocity: np.ndarray, dt: float, K: np.ndarray, F: np.ndarray) -> None:
    """Implicit DDA inertia: K += 2M/Δt², F += 2M v/Δt (velocity (nb, 6) at the step start)."""
    K += (2.0 / dt**2) * M
    F += (2.0 / dt) * np.einsum("bij,bj->bi", M, velocity)


def body_force(area: np.ndarray, density: np.ndarray, g: np.ndarray, F: np.ndarray) -> None:
    """F[b, 0:2] += ρ_b A_b g (g (2,) [m/s²]); rotation/strain terms vanish about the centroid."""
    F[:, 0:2] += (density * area)[:, None] * np.asarray(g)[None, :]


def point_loads(block: np.ndarray, pts: np.ndarray, force: np.ndarray, centroid: np.ndarray, F: np.ndarray) -> None:
    """F[b] += T(x, y)ᵀ f for point loads (block (N,), pts (N,2) [m], force (N,2) [N])."""
    if block.size == 0:
        return
    d = pts - centroid[block]
    np.add.at(F, block, tt_vec(d[:, 0], d[:, 1], force))


def line_loads(
    block: np.ndarray, p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, centroid: np.ndarray, F: np.ndarray
) -> None:
    """F[b] += ∫ Tᵀ q ds along segments p0→p1 with traction q varying linearly q0→q1 [N/m]."""
    if block.size == 0:
        return
    L = np.linalg.norm(p1 - p0, axis=1)
    for xi, w in zip(*_GAUSS2):
        x = p0 + xi * (p1 - p0)
        q = q0 + xi * (q1 - q0)
        d = x - centroid[block]
        np.add.at(F, block, (w * L)[:, None] * tt_vec(d[:, 0], d[:, 1], q))


def fixed_points(
    block: np.ndarray, pts: np.ndarray, offset: np.ndarray, penalty: float, centroid: np.ndarray, K: np.ndarray, F: np.ndarray
) -> None:
    """Penalty springs holding points: K += p TᵀT, F −= p Tᵀ δ (δ = current − anchor [m])."""
    if block.size == 0:
        return
    d = pts - centroid[block]
    T = tmat(d[:, 0], d[:, 1])
    np.add.at(K, block, penalty * np.einsum("nki,nkj->nij", T, T))
    np.add.at(F, block, -penalty * tt_vec(d[:, 0], d[:, 1], offset))
