"""A 3 × 3 stack of 1 m blocks (9 free blocks) settling on a fixed base: the small DDA system of
the solver-path and rank-rule tests (a helper module, not collected)."""

from __future__ import annotations

import numpy as np


def stack_3x3(duration: float, comm=None, **settings):
    """dda.Simulation of the stack (E = 10 GPa, ν = 0.25, ρ = 2500, φ = 30°, Δt = 1 ms, p_n = 5e11 N/m)."""
    import dda
    import learned

    polys = [np.array([[-1, -1], [4, -1], [4, 0], [-1, 0]], float)]
    polys += [np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float) for j in range(3) for i in range(3)]
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    return dda.Simulation(s, dda.Settings(duration=duration, dt=1e-3, length_scale=2.5, max_displacement_ratio=0.016,
                                          penalty=5e11, **settings), comm=comm)
