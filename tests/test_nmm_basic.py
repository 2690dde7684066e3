"""NMM verification: patch test, equality with P1 FEM, cantilever (design.md §5)."""

from __future__ import annotations

import numpy as np
import pytest

import nmm
from learned import LinearElastic

LAW = LinearElastic(1e9, 0.25, "stress")
A = np.array([[1e-3, 2e-3], [-5e-4, 3e-3]])
C0 = np.array([1e-3, -2e-3])


def linear_field(x):
    return C0 + x @ A.T


def _patch_model(domain, order, cracks=()):
    mesh = nmm.CoverMesh.rectangle(0, 0, 1, 1, 8, 8)
    m = nmm.ManifoldModel(domain, mesh, cracks=cracks, law=LAW, order=order)
    eps = np.array([A[0, 0], A[1, 1], A[0, 1] + A[1, 0]])
    s = LAW.stress(eps[None])[0]
    S = np.array([[s[0], s[2]], [s[2], s[1]]])
    outer = len(domain.outer)
    for k, (a, b) in enumerate(domain.segments):
        if k < outer:
            m.add(nmm.Dirichlet((a, b), ux=lambda x: linear_field(np.stack(x, 1))[:, 0],
                              uy=lambda x: linear_field(np.stack(x, 1))[:, 1]))
        else:  # hole: exact traction σ·n (outward normal of Ω)
            e = b - a
            m.add(nmm.Traction((a, b), value=S @ (np.array([e[1], -e[0]]) / np.linalg.norm(e))))
    return m, eps


DOMAINS = {
    "uncut": nmm.Domain.rectangle(0, 0, 1, 1),
    "cut": nmm.Domain(
        np.array([[0.03, 0.05], [0.91, 0.11], [0.95, 0.8], [0.5, 0.97], [0.07, 0.9]]),
        holes=[nmm.circle_polygon((0.5, 0.5), 0.2, 32)],
    ),
}


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("name", ["uncut", "cut"])
def test_patch_linear_field(order, name):
    dom = DOMAINS[name]
    m, eps = _patch_model(dom, order)
    r = m.solve()
    pts = np.random.default_rng(1).random((400, 2))
    pts = pts[dom.contains(pts)]
    ue = linear_field(pts)
    err = np.abs(r.displacement(pts) - ue).max() / np.abs(ue).max()
    assert err < 1e-10
    assert np.abs(r.strain(pts) - eps).max() / np.abs(eps).max() < 1e-8


def test_patch_with_interior_crack():
    """A crack inside a body under a uniform field parallel to it changes nothing."""
    dom = DOMAINS["uncut"]
    global A
    saved = A.copy()
    A = np.array([[2e-3, 0.0], [0.0, -0.5e-3]])  # σ_yy = 0 → faces of a horizontal crack stay free
    try:
        eps = np.array([A[0, 0], A[1, 1], 0.0])
        A[1, 1] = -LAW.nu * A[0, 0]  # plane stress, σ_yy = 0
        crack = nmm.Crack(np.array([[0.23, 0.47], [0.71, 0.47]]))
        m, eps = _patch_model(dom, 1, cracks=[crack])
        r = m.solve()
        pts = np.random.default_rng(2).random((300, 2))
        ue = linear_field(pts)
        assert np.abs(r.displacement(pts) - ue).max() / np.abs(ue).max() < 1e-10
    finally:
        A = saved


def _p1_fem_stiffness(points, tris, C):
    n = len(points)
    K = np.zeros((2 * n, 2 * n))
    for t in tris:
        v = points[t]
        e1, e2 = v[1] - v[0], v[2] - v[0]
        area = 0.5 * abs(e1[0] * e2[1] - e1[1] * e2[0])
        M = np.c_[np.ones(3), v]
        g = np.linalg.inv(M)[1:].T  # gradients of the hat functions (3,2)
        B = np.zeros((3, 6))
        B[0, 0::2], B[1, 1::2], B[2, 0::2], B[2, 1::2] = g[:, 0], g[:, 1], g[:, 1], g[:, 0]
        idx = np.c_[2 * t, 2 * t + 1].ravel()
        K[np.ix_(idx, idx)] += area * B.T @ C @ B
    return K


def test_order0_equals_p1_fem():
    rng = np.random.default_rng(3)
    mesh = nmm.CoverMesh.rectangle(0, 0, 2, 1, 6, 4)
    p = mesh.points.copy()
    inner = (p[:, 0] > 0) & (p[:, 0] < 2) & (p[:, 1] > 0) & (p[:, 1] < 1)
    p[inner] += 0.04 * rng.standard_normal((inner.sum(), 2))
    mesh = nmm.CoverMesh(p, mesh.triangles)
    dom = nmm.Domain.rectangle(0, 0, 2, 1)
    m = nmm.ManifoldModel(dom, mesh, law=LAW, order=0)
    assert m.man.n_covers == mesh.n_vertices
    K = m.stiffness_matrix().toarray()
    perm = np.empty(mesh.n_vertices, int)
    perm[m.man.cover_vertex] = np.arange(m.man.n_covers)
    idx = np.c_[2 * perm, 2 * perm + 1].ravel()
    Kfem = _p1_fem_stiffness(mesh.points, mesh.triangles, LAW.reference_stiffness())
    assert np.abs(K[np.ix_(idx, idx)] - Kfem).max() <= 1e-12 * np.abs(Kfem).max()


E, NU, L, D, P = 1e9, 0.3, 10.0, 1.0, 1e3
I = D**3 / 12


def timoshenko(x):
    """Timoshenko–Goodier cantilever (clamped x = 0, shear load P at x = L, plane stress)."""
    X, Y = x[:, 0], x[:, 1]
    ux = -P * Y / (6 * E * I) * ((6 * L - 3 * X) * X + (2 + NU) * (Y**2 - D**2 / 4))
    uy = P / (6 * E * I) * (3 * NU * Y**2 * (L - X) + (4 + 5 * NU) * D**2 * X / 4 + (3 * L - X) * X**2)
    return np.c_[ux, uy]


def cantilever_tip(order, n):
    law = LinearElastic(E, NU, "stress")
    mesh = nmm.CoverMesh.rectangle(0, -D / 2, L, D / 2, 20 * n, 2 * n)
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, -D / 2, L, D / 2), mesh, law=law, order=order)
    m.add(nmm.Dirichlet(((0, -D / 2), (0, D / 2)), ux=lambda x: timoshenko(np.stack(x, 1))[:, 0], uy=lambda x: timoshenko(np.stack(x, 1))[:, 1]))
    m.add(nmm.Traction(((L, -D / 2), (L, D / 2)), value=lambda x: (0 * x[1], P / (2 * I) * (D**2 / 4 - x[1] ** 2))))
    return m.solve().displacement(np.array([[L, 0.0]]))[0, 1]


def test_cantilever_tip_deflection_and_rates():
    ref = timoshenko(np.array([[L, 0.0]]))[0, 1]  # PL³/3EI + shear term
    assert abs(ref / (P * L**3 / (3 * E * I)) - 1) < 0.01  # the shear term is small, but there
    errs = {o: [abs(cantilever_tip(o, n) / ref - 1) for n in (1, 2, 4)] for o in (0, 1)}
    rates = {o: np.log2(np.array(e[:-1]) / np.array(e[1:])) for o, e in errs.items()}
    print("cantilever tip errors", errs, "rates", rates)
    assert errs[1][0] < 0.01  # order 1, coarsest mesh (20x2 squares)
    assert errs[0][-1] < 0.05
    assert all(e1 < e0 for e0, e1 in zip(errs[0], errs[1]))  # order 1 beats order 0 on every mesh
    assert rates[1][0] > rates[0][0]
