"""NMM plate with a circular hole: stress concentration on a mesh that ignores the hole."""

from __future__ import annotations

import numpy as np

import nmm
from learned import LinearElastic
from nmm.mesh import graded_coordinates


def test_plate_with_hole_kt():
    """Quarter of a 2 × 4 plate, hole radius 0.1 (a/W = 0.1): Kt ≈ 3.04 (design.md §5)."""
    law = LinearElastic(70e9, 0.33, "stress")
    R, S = 0.1, 1e6
    th = np.linspace(np.pi / 2, 0, 65)[1:-1]
    outer = np.r_[[[R, 0], [1, 0], [1, 2], [0, 2], [0, R]], np.c_[R * np.cos(th), R * np.sin(th)]]
    mesh = nmm.CoverMesh.from_grid(graded_coordinates(0, 1, R, 0.005, 0.1, 1.2), graded_coordinates(0, 2, 0, 0.005, 0.1, 1.2))
    m = nmm.ManifoldModel(nmm.Domain(outer), mesh, law=law, order=1)
    m.add(nmm.Dirichlet(((0, R), (0, 2)), ux=0.0), nmm.Dirichlet(((R, 0), (1, 0)), uy=0.0))
    m.add(nmm.Traction(((0, 2), (1, 2)), value=(0, S)))
    r = m.solve()
    kt = r.stress(np.array([[R + 1e-7, 1e-7]]))[0, 1] / S
    print(f"Kt = {kt:.4f} (reference 3.04)")
    assert abs(kt / 3.04 - 1) < 0.03
