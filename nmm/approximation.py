"""NMM approximation u(x) = Σ_i w_i(x) u_i(x) on physical covers.

w_i is the P1 hat function of the cover's mesh vertex x_i (barycentric coordinate λ_k in
the element's background triangle). Cover functions, in local scaled coordinates
ξ = (x − x_i)/h_i, η = (y − y_i)/h_i (h_i: cover size [m]):

    order 0:  u_i = a_i                         (2 dofs per cover)
    order 1:  u_i = a_i + b_i ξ + c_i η         (6 dofs per cover)

Dof layout: cover p, function f ∈ {1, ξ, η}, component c ∈ {x, y} → p·2nf + 2f + c.
Element dof vector (nd = 6 nf): local (k, f, c) → (k·nf + f)·2 + c.
"""

from __future__ import annotations

import numpy as np

from nmm.covers import Manifold
from nmm.errors import InputError

ORDERS = (0, 1)


def n_functions(order: int) -> int:
    """Cover functions per component: 1 (order 0) or 3 (order 1)."""
    if order not in ORDERS:
        raise InputError("order", repr(order), "0 (constant covers) or 1 (linear covers)")
    return 1 if order == 0 else 3


def element_dofs(man: Manifold, order: int) -> np.ndarray:
    """Global dof indices of every element (nE, nd)."""
    nf = n_functions(order)
    f = np.arange(nf)
    c = np.arange(2)
    d = man.elem_cover[:, :, None, None] * (2 * nf) + 2 * f[None, None, :, None] + c[None, None, None, :]
    return d.reshape(man.n_elements, -1)


def shape_functions(man: Manifold, order: int, x: np.ndarray, elem: np.ndarray):
    """Scalar shape functions at points x (n,2) in elements ``elem`` (n,).

    Returns N (n, 3·nf) and their gradients dN (n, 3·nf, 2) [1/m]; local index k·nf + f.
    """
    nf = n_functions(order)
    mesh = man.mesh
    tri = man.elem_tri[elem]
    lam = mesh.barycentric(tri, x)  # (n,3)
    glam = mesh.grad_lambda[tri]  # (n,3,2)
    if nf == 1:
        return lam, glam
    verts = mesh.triangles[tri]  # (n,3)
    h = mesh.vertex_scale[verts]  # (n,3)
    rel = (x[:, None, :] - mesh.points[verts]) / h[..., None]  # (n,3,2): ξ, η
    n = len(x)
    N = np.empty((n, 3, 3))
    dN = np.empty((n, 3, 3, 2))
    N[:, :, 0] = lam
    N[:, :, 1] = lam * rel[..., 0]
    N[:, :, 2] = lam * rel[..., 1]
    dN[:, :, 0] = glam
    dN[:, :, 1] = glam * rel[..., 0:1]
    dN[:, :, 1, 0] += lam / h
    dN[:, :, 2] = glam * rel[..., 1:2]
    dN[:, :, 2, 1] += lam / h
    return N.reshape(n, 9), dN.reshape(n, 9, 2)


def strain_matrix(dN: np.ndarray) -> np.ndarray:
    """B (n, 3, 2m) mapping element dofs to Voigt strain (ε_xx, ε_yy, γ_xy)."""
    n, m, _ = dN.shape
    B = np.zeros((n, 3, m, 2))
    B[:, 0, :, 0] = dN[..., 0]
    B[:, 1, :, 1] = dN[..., 1]
    B[:, 2, :, 0] = dN[..., 1]
    B[:, 2, :, 1] = dN[..., 0]
    return B.reshape(n, 3, 2 * m)


def value_matrix(N: np.ndarray) -> np.ndarray:
    """Nmat (n, 2, 2m) mapping element dofs to displacement (u_x, u_y)."""
    n, m = N.shape
    M = np.zeros((n, 2, m, 2))
    M[:, 0, :, 0] = N
    M[:, 1, :, 1] = N
    return M.reshape(n, 2, 2 * m)


def gradient(dN: np.ndarray, ue: np.ndarray) -> np.ndarray:
    """Displacement gradient ∂u_a/∂x_b (n,2,2) from element dofs ue (n, 2m)."""
    u = ue.reshape(len(ue), -1, 2)  # (n, m, comp)
    return np.einsum("nma,nmb->nab", u, dN)
