"""DDA verification against analytical references (design.md §5)."""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned

G = 9.81
RHO = 2500.0
THETA = np.radians(30.0)


def _material(s: dda.BlockSystem, E: float = 1e9, nu: float = 0.25) -> None:
    s.add_material(0, learned.LinearElastic(E, nu), RHO)


def _incline_system(w: float, h: float, phi: float) -> dda.BlockSystem:
    L = 20.0
    base = np.array([[0.0, 0.0], [L * np.cos(THETA), 0.0], [L * np.cos(THETA), L * np.sin(THETA)]])
    d = np.array([np.cos(THETA), np.sin(THETA)])
    n = np.array([-np.sin(THETA), np.cos(THETA)])
    p0 = 10.0 * d
    block = np.array([p0, p0 + w * d, p0 + w * d + h * n, p0 + h * n])
    s = dda.BlockSystem([base, block], fixed=[0])
    _material(s)
    s.set_joint_law(learned.CoulombFriction(phi=phi))
    return s


def test_block_on_incline_slides_as_analytical():
    phi = 20.0
    res = dda.Simulation(_incline_system(1.0, 0.5, phi), dda.Settings(duration=1.0, dt=0.01)).solve()
    d = np.linalg.norm(res.displacement[-1, 1])
    ref = 0.5 * G * (np.sin(THETA) - np.cos(THETA) * np.tan(np.radians(phi))) * 1.0**2
    assert res.time[-1] == pytest.approx(1.0)
    assert d == pytest.approx(ref, rel=5e-6)  # measured 5.1e-7 (Δt = 0.01 s); ~10x
    # it moves down the slope
    assert res.displacement[-1, 1, 1] < 0
    assert res.stats["n_nonconverged_steps"] == 0


@pytest.mark.parametrize("phi", [30.5, 40.0])
def test_block_on_incline_stays_when_friction_suffices(phi):
    res = dda.Simulation(_incline_system(1.0, 0.5, phi), dda.Settings(duration=1.0, dt=0.01)).solve()
    assert np.abs(res.displacement[:, 1]).max() < 1e-4 * 1.0


def test_free_fall():
    s = dda.BlockSystem([np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)])
    _material(s)
    res = dda.Simulation(s, dda.Settings(duration=1.0, dt=0.01, max_displacement_ratio=0.05)).solve()
    # the DDA time scheme is exact for constant acceleration: measured 6e-15 / 1.4e-14 (round-off);
    # tolerance 1e-12, far from round-off
    assert res.displacement[-1, 0, 1] == pytest.approx(-0.5 * G, rel=1e-12)
    assert res.velocity[-1, 0, 1] == pytest.approx(-G, rel=1e-12)
    assert abs(res.displacement[-1, 0, 0]) < 1e-12


def test_column_at_rest_base_stress():
    W, H, n = 1.0, 0.5, 6
    base = np.array([[-1, -1], [2, -1], [2, 0], [-1, 0]], float)
    polys = [base] + [np.array([[0, k * H], [W, k * H], [W, (k + 1) * H], [0, (k + 1) * H]], float) for k in range(n)]
    s = dda.BlockSystem(polys, fixed=[0])
    _material(s)
    s.set_joint_law(learned.CoulombFriction(30.0))
    sim = dda.Simulation(s, dda.Settings(duration=0.5, dt=0.01, dynamic=0.0))
    res = sim.solve()
    h = n * H
    # contact resultant on the base / width = ρ g h
    con, cs = sim.last_contacts, res.state.contacts
    on_base = (con.i == 0) | (con.j == 0)
    # measured 2.7e-5 (penalty springs, static relaxation); tolerances ~10x the measured errors
    assert cs.normal_force[on_base].sum() / W == pytest.approx(RHO * G * h, rel=3e-4)
    # block stresses: σ_yy = −ρ g (h − y_c) (the block mean of the linear distribution)
    yc = (np.arange(n) + 0.5) * H
    np.testing.assert_allclose(res.stress[1:, 1], -RHO * G * (h - yc), rtol=3e-4)  # measured 2.9e-5
    # the base (bottom) block's stress extrapolated to its base
    syy = res.stress[1:, 1]
    base_stress = syy[0] + (syy[0] - syy[1]) / 2
    assert -base_stress == pytest.approx(RHO * G * h, rel=3e-4)  # measured 3.0e-5


def test_tall_block_topples():
    # base 0.3 m < h tan θ = 0.577 m: topples; friction 45° > 30° prevents sliding
    res = dda.Simulation(_incline_system(0.3, 1.0, 45.0), dda.Settings(duration=1.0, dt=0.01)).solve()
    rot = np.degrees(res.rotation[:, 1])
    assert rot.max() > 20.0  # counter-clockwise: it falls over its downhill corner
    # the downhill corner pivots; the block does not slide away before it has toppled
    k = int(np.argmax(rot > 20.0))
    slide = np.dot(res.displacement[k, 1], [np.cos(THETA), np.sin(THETA)])
    assert abs(slide) < 0.3


def test_wide_block_neither_topples_nor_slides():
    res = dda.Simulation(_incline_system(0.8, 1.0, 45.0), dda.Settings(duration=1.0, dt=0.01)).solve()
    assert abs(np.degrees(res.rotation[-1, 1])) < 0.01
    assert np.abs(res.displacement[:, 1]).max() < 1e-4


@pytest.mark.parametrize("exact", [True, False])
def test_spinning_block_keeps_area(exact):
    blk = np.array([[0, 0], [2, 0], [2, 1], [0, 1]], float)
    s = dda.BlockSystem([blk])
    _material(s)
    s.set_velocity(0, omega=2 * np.pi)
    sim = dda.Simulation(
        s, dda.Settings(duration=1.0, dt=0.01, gravity=(0, 0), exact_rotation=exact, max_displacement_ratio=0.03)
    )
    res = sim.solve()
    assert np.degrees(res.rotation[-1, 0]) == pytest.approx(360.0, rel=1e-6)
    area = sim.polygons().props().area[0]
    if exact:
        assert area == pytest.approx(2.0, rel=1e-3)
        np.testing.assert_allclose(res.polygons()[0], blk, atol=1e-6)  # back where it started
    else:  # Shi's first-order update inflates the area by (1 + r0²) per step
        assert area > 2.0 * 1.001


def test_joint_law_selected_by_edge_tag_and_velocity_weakening():
    L = 20.0
    base = np.array([[0.0, 0.0], [L * np.cos(THETA), 0.0], [L * np.cos(THETA), L * np.sin(THETA)]])
    d = np.array([np.cos(THETA), np.sin(THETA)])
    n = np.array([-np.sin(THETA), np.cos(THETA)])
    p0 = 10.0 * d
    block = np.array([p0, p0 + d, p0 + d + 0.5 * n, p0 + 0.5 * n])
    # the incline face (edge 2 of the base, from its top corner to the origin) carries tag 7
    tags = [[-1, -1, 7], [-1, -1, -1, -1]]

    def run(law):
        s = dda.BlockSystem([base, block], fixed=[0], edge_tags=tags)
        _material(s)
        s.set_joint_law(learned.CoulombFriction(45.0))  # default: would hold the block
        s.set_joint_law(law, tag=7)
        return dda.Simulation(s, dda.Settings(duration=1.0, dt=0.01)).solve()

    res = run(learned.CoulombFriction(20.0))
    ref = 0.5 * G * (np.sin(THETA) - np.cos(THETA) * np.tan(np.radians(20.0)))
    assert np.linalg.norm(res.displacement[-1, 1]) == pytest.approx(ref, rel=0.02)
    # velocity weakening from 20° towards 10°: faster than constant 20°, slower than constant 10°
    vw = run(learned.VelocityWeakeningFriction(phi_peak=20.0, phi_residual=10.0, v_c=0.5))
    d_vw = np.linalg.norm(vw.displacement[-1, 1])
    ref10 = 0.5 * G * (np.sin(THETA) - np.cos(THETA) * np.tan(np.radians(10.0)))
    assert ref * 1.05 < d_vw < ref10
