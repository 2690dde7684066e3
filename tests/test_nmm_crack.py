"""NMM cracks: a through crack separates a body; edge-crack K_I on a non-conforming mesh."""

from __future__ import annotations

import numpy as np
import pytest

import nmm
from learned import LinearElastic
from nmm.mesh import graded_coordinates


@pytest.mark.parametrize("order", [0, 1])
def test_through_crack_separates_rigidly(order):
    law = LinearElastic(1e9, 0.25, "strain")
    dom = nmm.Domain.rectangle(0, 0, 1, 1)
    mesh = nmm.CoverMesh.rectangle(0, 0, 1, 1, 7, 7)
    crack = nmm.Crack(np.array([[0.0, 0.43], [0.6, 0.5], [1.0, 0.47]]))  # polyline, mesh not conforming
    m = nmm.ManifoldModel(dom, mesh, cracks=[crack], law=law, order=order)
    d = np.array([0.02, 0.05])
    m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0))
    m.add(nmm.Dirichlet(((0, 1), (1, 1)), ux=d[0], uy=d[1]))
    r = m.solve()
    x = np.linspace(0.02, 0.98, 25)
    below = np.c_[x, np.full_like(x, 0.3)]
    above = np.c_[x, np.full_like(x, 0.7)]
    near_lo = np.c_[[0.3, 0.8], [0.465 - 1e-6, 0.485 - 1e-6]]
    near_hi = near_lo + [0, 2e-6]
    assert np.abs(r.displacement(below)).max() < 1e-10 * np.abs(d).max()
    assert np.abs(r.displacement(above) - d).max() < 1e-10 * np.abs(d).max()
    jump = r.displacement(near_hi) - r.displacement(near_lo)
    assert np.allclose(jump, d, rtol=1e-8)  # the jump is carried across the crack
    assert np.abs(r.strain(np.r_[below, above])).max() < 1e-10 * np.abs(d).max()
    assert np.abs(r.stress_qp).max() < 1e-6 * law.E * np.abs(d).max()


def edge_crack_KI(ab: float, order: int = 1, h_tip: float = 0.0125):
    """SENT plate b × H (H = 4b), crack a = (a/b)·b at mid-height, traction σ top/bottom."""
    law = LinearElastic(70e9, 0.3, "strain")
    b, H, sig = 1.0, 4.0, 1e6
    a, yc = ab * b, H / 2
    hmin = h_tip * a
    xs = graded_coordinates(0, b, a + 0.37 * hmin, hmin, 0.1, 1.2)
    ys = graded_coordinates(0, H, yc + 0.41 * hmin, hmin, 0.1, 1.2)  # crack and tip off the grid lines
    mesh = nmm.CoverMesh.from_grid(xs, ys)
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, b, H), mesh, cracks=[nmm.Crack([[0, yc], [a, yc]])], law=law, order=order)
    m.add(nmm.Traction(((0, H), (b, H)), value=(0, sig)), nmm.Traction(((0, 0), (b, 0)), value=(0, -sig)))
    m.add(nmm.PointConstraint((b, 0), ux=0, uy=0), nmm.PointConstraint((b, H), ux=0))
    res = m.solve()
    s = res.compute_sif()
    f = 1.12 - 0.231 * ab + 10.55 * ab**2 - 21.72 * ab**3 + 30.39 * ab**4
    return s[0], f * sig * np.sqrt(np.pi * a)


@pytest.mark.parametrize("ab", [0.3, 0.5])
def test_edge_crack_KI(ab):
    s, ref = edge_crack_KI(ab)
    print(f"a/b={ab}: K_I/ref = {s['KI'] / ref:.4f}, K_II/ref = {s['KII'] / ref:.4f}")
    assert abs(s["KI"] / ref - 1) < 0.05
    assert abs(s["KII"] / ref) < 0.02


def test_deformed_plot_names_where_the_largest_stress_is(tmp_path, monkeypatch):
    """deformed.png's title gives the largest element stress "near (x, y) m": the element's place
    in the body, as the FEM plot does; it gave the place of the magnified drawing (nmm_edge_crack:
    (0.189, 2.08) for the element at the crack tip (0.3, 2))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nmm.output import _triangles, element_von_mises, plot_deformed

    domain = nmm.Domain.rectangle(0, 0, 1, 2)
    cover = nmm.CoverMesh.rectangle(0, 0, 1, 2, 10, 20)
    model = nmm.ManifoldModel(domain, cover, cracks=[nmm.Crack([[0, 1], [0.3, 1]])],
                              law=LinearElastic(70e9, 0.3, "stress"), order=1)
    model.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Traction(((0, 2), (1, 2)), value=(0.0, 1e6)))
    result = model.solve()
    kept = []
    monkeypatch.setattr(plt, "close", lambda fig=None: kept.append(fig))
    plot_deformed(result, tmp_path / "deformed.png")
    title = kept[0].axes[0].get_title()
    x, _, sub_elem = _triangles(result)
    k = int(np.argmax(element_von_mises(result)[sub_elem]))
    where = x.reshape(-1, 3, 2)[k].mean(axis=0)
    assert np.hypot(where[0] - 0.3, where[1] - 1.0) < 0.1  # an element at the tip
    assert f"near ({where[0]:.3g}, {where[1]:.3g}) m" in title, title
