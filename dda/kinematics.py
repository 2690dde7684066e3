"""Block kinematics: the first-order DDA displacement field and the exact geometric update.

Block unknowns D = (u0, v0, r0, εx, εy, γxy) about the centroid (x0, y0); with X = x − x0,
Y = y − y0 a point moves by

    u = T(x, y) D,   T = [[1, 0, −Y, X, 0, Y/2],
                          [0, 1,  X, 0, Y, X/2]].

After a step the vertices are moved with the *exact* rotation R(r0) instead of the
linearised one, x' = x0 + (u0, v0) + R(r0)(I + ε)(x − x0), so a spinning block keeps its
area (the first-order map inflates it by 1 + r0² per step).
"""

from __future__ import annotations

import numpy as np

from dda.geometry import BlockProps

# T as coefficients over the monomials (1, X, Y): _TC[k, dof, m]
_TC = np.zeros((2, 6, 3))
_TC[0, 0, 0] = 1.0
_TC[0, 2, 2] = -1.0
_TC[0, 3, 1] = 1.0
_TC[0, 5, 2] = 0.5
_TC[1, 1, 0] = 1.0
_TC[1, 2, 1] = 1.0
_TC[1, 4, 2] = 1.0
_TC[1, 5, 1] = 0.5


def tmat(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """T (N, 2, 6) at points with centroid offsets X, Y [m]."""
    n = X.shape[0]
    T = np.zeros((n, 2, 6))
    T[:, 0, 0] = 1.0
    T[:, 0, 2] = -Y
    T[:, 0, 3] = X
    T[:, 0, 5] = 0.5 * Y
    T[:, 1, 1] = 1.0
    T[:, 1, 2] = X
    T[:, 1, 4] = Y
    T[:, 1, 5] = 0.5 * X
    return T


def tt_vec(X: np.ndarray, Y: np.ndarray, v: np.ndarray, out: np.ndarray | None = None, negate: bool = False) -> np.ndarray:
    """Tᵀ v (N, 6) for vectors v (N, 2) applied at points with offsets X, Y (−Tᵀ v with ``negate``).

    For a force v [N] this is the generalised force on D; for a unit direction it is the
    gradient of the displacement component along v with respect to D. ``out`` (N, 6), e.g. a
    column block of a wider array, receives the result column by column (no temporary).
    """
    vx, vy = v[:, 0], v[:, 1]
    cols = (vx, vy, -Y * vx + X * vy, X * vx, Y * vy, 0.5 * (Y * vx + X * vy))
    if out is None:
        out = np.stack(cols, axis=1)
        return np.negative(out, out=out) if negate else out
    for k, col in enumerate(cols):
        if negate:
            np.negative(col, out=out[:, k])
        else:
            out[:, k] = col
    return out


def point_displacement(D: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """First-order displacement T D (N, 2) [m]; D is (N, 6) (the owning block's unknowns)."""
    u = D[:, 0] - Y * D[:, 2] + X * D[:, 3] + 0.5 * Y * D[:, 5]
    v = D[:, 1] + X * D[:, 2] + Y * D[:, 4] + 0.5 * X * D[:, 5]
    return np.stack([u, v], axis=1)


def move_points(pts: np.ndarray, centroid: np.ndarray, D: np.ndarray) -> np.ndarray:
    """New positions (N, 2) under the exact map x0 + u0 + R(r0)(I + ε)(x − x0).

    ``centroid`` (N, 2) and ``D`` (N, 6) are those of each point's block.
    """
    d = pts - centroid
    ex, ey, g = D[:, 3], D[:, 4], 0.5 * D[:, 5]
    sx = d[:, 0] * (1 + ex) + d[:, 1] * g
    sy = d[:, 0] * g + d[:, 1] * (1 + ey)
    c, s = np.cos(D[:, 2]), np.sin(D[:, 2])
    return np.stack([centroid[:, 0] + D[:, 0] + c * sx - s * sy, centroid[:, 1] + D[:, 1] + s * sx + c * sy], axis=1)


def move_points_first_order(pts: np.ndarray, centroid: np.ndarray, D: np.ndarray) -> np.ndarray:
    """x + T D: Shi's original linear update (kept to demonstrate the area inflation)."""
    d = pts - centroid
    return pts + point_displacement(D, d[:, 0], d[:, 1])


def moment_matrix(props: BlockProps) -> np.ndarray:
    """∫ (1, X, Y)ᵀ(1, X, Y) dA (nb, 3, 3) [m², m⁴]; first moments vanish about the centroid."""
    nb = props.area.shape[0]
    I = np.zeros((nb, 3, 3))
    I[:, 0, 0] = props.area
    I[:, 1, 1] = props.sxx
    I[:, 2, 2] = props.syy
    I[:, 1, 2] = I[:, 2, 1] = props.sxy
    return I


def mass_matrix(props: BlockProps, density: np.ndarray) -> np.ndarray:
    """Consistent block mass M = ρ ∫ TᵀT dA (nb, 6, 6) [kg, kg·m, kg·m²] (unit thickness)."""
    nb = props.area.shape[0]
    if nb <= _MASS_EINSUM_MAX_BLOCKS:
        I = moment_matrix(props)
        M = np.einsum("kam,bmn,kcn->bac", _TC, I, _TC)
        return density[:, None, None] * M
    # the same floats, entry by entry: every entry of _TC ⊗ _TC is 0, ±1, ±1/2 or 1/4 (exact
    # scalings) and at most two products of an entry are not zero, so einsum's sum from +0.0 is
    # (0.0 + t₁) + t₂ (24× faster at 901 blocks: einsum's 3-operand loop is generic)
    mom = {(0, 0): props.area, (1, 1): props.sxx, (2, 2): props.syy, (1, 2): props.sxy, (2, 1): props.sxy}
    M = np.zeros((nb, 6, 6))
    for a, c, terms in _MASS_TERMS:
        s = None
        for coef, m, n in terms:
            v = coef * mom[(m, n)]
            s = v + 0.0 if s is None else s + v
        M[:, a, c] = s
    return density[:, None, None] * M


#: up to this many blocks mass_matrix takes einsum (its fixed cost is lower), above it the terms
_MASS_EINSUM_MAX_BLOCKS = 32
#: (a, c, ((coefficient, m, n), ...)) of M[a, c] = Σ_k Σ_m Σ_n _TC[k, a, m] I[m, n] _TC[k, c, n]:
#: the products that are not identically zero (the first moments I[0, 1], I[0, 2] vanish about the centroid)
_MASS_TERMS = tuple(
    (a, c, tuple((float(_TC[k, a, m] * _TC[k, c, n]), m, n) for k in range(2) for m in range(3) for n in range(3)
                 if _TC[k, a, m] * _TC[k, c, n] != 0 and (m, n) not in ((0, 1), (1, 0), (0, 2), (2, 0))))
    for a in range(6) for c in range(6)
)
_MASS_TERMS = tuple(t for t in _MASS_TERMS if t[2])
