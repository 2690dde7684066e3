"""Blocks resting on blocks stay put: sliding friction follows the normal force of the solve.

A sliding contact's friction F_f = μ N must use the normal force of the solution it acts
in, not the one of the previous solve: with the lagged force a column of blocks whose
joints slide (the Poisson expansion of a loaded block slides its corners) rocks with a
growing amplitude (round-off grew ×6 per step in a 1 × 20 column until it fell).
"""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned
from dda.contact_law import LOCKED, OPEN, SLIDING, contact_system

E, NU, RHO = 10e9, 0.25, 2500.0


def stack(nx: int, ny: int, phi: float = 30.0) -> dda.BlockSystem:
    """nx × ny blocks of 1 m on a fixed base (−1 … nx+1) × (−1 … 0)."""
    polys = [np.array([[-1, -1], [nx + 1, -1], [nx + 1, 0], [-1, 0]], float)]
    for j in range(ny):
        for i in range(nx):
            polys.append(np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float))
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=phi))
    return s


def settings(n: int, steps: int) -> dda.Settings:
    """The settings of benchmarks/dda_vs_ntdda.py: Δt = 1 ms, p_n = 5e11 N/m, d0 = 0.1 m."""
    w0 = (n + 2) / 2.0
    return dda.Settings(duration=steps * 1e-3, dt=1e-3, penalty=5e11, length_scale=w0, max_displacement_ratio=0.04 / w0)


def test_sliding_friction_is_linear_in_the_solved_normal_force():
    """−(K D − F) of a sliding contact = −p_n d_n w_n − σ (F₀ + μ (N(D) − N₀)) w_s, N = −p_n d_n."""
    rng = np.random.default_rng(3)
    nc = 4
    wn, ws, D = rng.normal(size=(nc, 12)), rng.normal(size=(nc, 12)), 1e-6 * rng.normal(size=(nc, 12))
    gap = -1e-6 * rng.random(nc)
    state = np.array([SLIDING, SLIDING, LOCKED, OPEN], dtype=np.int8)
    sign = np.array([1.0, -1.0, 1.0, 1.0])
    stretch = 1e-7 * rng.normal(size=nc)
    pn, ps, mu = 1e10, 4e9, np.full(nc, 0.6)
    N0 = np.array([1e4, 2e4, 3e4, 0.0])
    F0 = mu * N0
    K, F = contact_system(wn, ws, state, gap, stretch, sign, F0, pn, ps, mu, N0)
    force = -(np.einsum("cij,cj->ci", K, D) - F)
    dn = gap + np.sum(wn * D, axis=1)
    ds = np.sum(ws * D, axis=1)
    N = -pn * dn
    expect = np.zeros((nc, 12))
    for c in range(2):  # sliding
        expect[c] = -pn * dn[c] * wn[c] - sign[c] * (F0[c] + mu[c] * (N[c] - N0[c])) * ws[c]
    expect[2] = -pn * dn[2] * wn[2] - ps * (stretch[2] + ds[2]) * ws[2]  # locked: normal and shear springs
    scale = np.abs(expect).max()
    np.testing.assert_allclose(force, expect, rtol=0, atol=1e-9 * scale)
    # without the slope the friction force is the fixed F₀ (the lagged form)
    K0, F0v = contact_system(wn, ws, state, gap, stretch, sign, F0, pn, ps)
    f0 = -(np.einsum("cij,cj->ci", K0, D) - F0v)
    np.testing.assert_allclose(f0[0], -pn * dn[0] * wn[0] - F0[0] * ws[0], rtol=0, atol=1e-9 * scale)


def test_a_column_of_blocks_stays_upright():
    """A 1 × 12 column released at rest: lateral motion < 1e-5 of its width after 60 ms.
    Measured 1.3e-9 m; with the lagged friction force 5.7e-5 m and growing (a 1 × 20
    column fell within 30 steps)."""
    n = 12
    sim = dda.Simulation(stack(1, n), settings(n, 60))
    res = sim.solve()
    d = res.displacement[-1, 1:]
    assert res.stats["n_nonconverged_steps"] == 0
    assert np.abs(d[:, 1]).max() > 1e-5  # it settles under its weight (elastic, ~0.2 mm)
    assert np.abs(d[:, 0]).max() < 1e-5 * 1.0


def test_corner_contacts_of_a_grid_do_not_follow_the_block_numbering():
    """Issue 14, item 6: where four blocks of a grid meet, the two diagonal pairs touch only at
    the corner and every entrance edge ties (sep = 0). The tie went to the first candidate, so
    with row-major numbering one diagonal's contact pushed vertically and the other's
    horizontally: a contact set without the grid's mirror symmetry, and a resting 30 × 30
    stack spread sideways (top corner 1.3-1.5 mm at 50 ms; 0.4-0.6 mm after this fix, the
    rest is the open-close tolerance, see the report of issue 14). The tie now goes to the
    edge whose normal is nearest the vertical (−ĝ): both diagonals push vertically, and the
    contact normals are the same for a grid numbered from the left or from the right."""
    n = 3
    normals = []
    for mirrored in (False, True):
        sy = stack(n, n)
        if mirrored:  # the same grid numbered from the right: x -> n - x, polygons kept CCW
            polys = [np.array([[n - x, y] for x, y in p[::-1]]) for p in (sy.polys.xy[sy.polys.voff[b]:sy.polys.voff[b + 1]]
                                                                         for b in range(sy.nb))]
            sy = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
            sy.add_material(0, learned.LinearElastic(E, NU), RHO)
            sy.set_joint_law(learned.CoulombFriction(phi=30.0))
        sim = dda.Simulation(sy, settings(n, 1))
        con = sim.detect_contacts(sim.polygons())
        P = con.P.copy()
        nrm = con.n.copy()
        if mirrored:
            P[:, 0], nrm[:, 0] = n - P[:, 0], -nrm[:, 0]
        free = ~sy.fixed[con.i] & ~sy.fixed[con.j]
        # corner contacts: blocks whose centroids differ in both x and y (diagonal neighbours)
        c = sy.polys.props().centroid
        if mirrored:
            c = c.copy()
            c[:, 0] = n - c[:, 0]
        diag = free & (np.abs(c[con.i, 0] - c[con.j, 0]) > 0.5) & (np.abs(c[con.i, 1] - c[con.j, 1]) > 0.5)
        assert np.count_nonzero(diag) == 2 * (n - 1) ** 2
        normals.append(sorted(tuple(np.round(np.r_[P[k], np.abs(nrm[k])], 9)) for k in np.flatnonzero(diag)))
        assert np.allclose(np.abs(nrm[diag, 1]), 1.0), nrm[diag]  # every corner contact pushes vertically
    assert normals[0] == normals[1]


@pytest.mark.slow
def test_a_resting_stack_of_blocks_does_not_spread():
    """Issue 14, item 6: a 30 × 30 grid of 1 m blocks on a fixed base (φ = 30°, E = 10 GPa,
    ν = 0.25, ρ = 2500, Δt = 1 ms, the ntdda peer's settings) released at rest: the top
    corners move sideways less than 1e-5 of the stack's width (0.3 mm) in 0.2 s, with the
    default open–close tolerance.

    Measured: 0.165 mm (left −1.65e-4 m, right +1.53e-4 m: 5.5e-6 of the width, margin 1.8x);
    ntdda 0.021 mm. The open–close tolerance is weighed against the force
    scale of each contact's own blocks (dda.openclose); against the total normal force of
    the whole stack (the former criterion), state errors of the lightly loaded top blocks
    passed as insignificant: 0.93 mm (3.1e-5 of the width); before the corner-contact
    tie-break (test above) 1.52 mm."""
    n = 30
    sim = dda.Simulation(stack(n, n), settings(n, 200))
    res = sim.solve()
    d = res.displacement[-1, 1:]
    top = d[-n:]
    assert res.stats["n_nonconverged_steps"] == 0
    assert np.abs(d[:, 1]).max() > 1e-4  # it settles under its weight (~1.5 mm)
    assert max(abs(top[0, 0]), abs(top[-1, 0])) < 1e-5 * n
