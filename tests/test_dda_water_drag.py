"""Hydrodynamic drag of the reservoir water on submerged block faces (dda/water_drag.py)."""

from __future__ import annotations

import numpy as np
import pytest

import coupling
import dda
import learned
from dda.geometry import Polygons
from dda.water import WaterLevel
from dda.water_drag import water_drag_loads

RHO_W = 1000.0
SQ = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)


def _drag(polys, velocity, level=10.0, cd=1.0, cf=0.0, free=None, eps=1e-3):
    free = np.ones(polys.nb, bool) if free is None else np.asarray(free, bool)
    F = np.zeros((polys.nb, 6))
    power = water_drag_loads(polys, free, level, RHO_W, cd, cf, polys.props().centroid, np.asarray(velocity, float), F, eps)
    return F, power


def test_translating_square_closed_form():
    """Translation at u: front face −½ρC_d u² a, top and bottom faces −½ρC_f u² a each."""
    u, cd, cf = 3.0, 1.2, 0.004
    F, power = _drag(Polygons.from_list([SQ]), [[u, 0, 0, 0, 0, 0]], cd=cd, cf=cf)
    fx = -0.5 * RHO_W * (cd + 2 * cf) * u**2
    assert F[0, 0] == pytest.approx(fx, rel=1e-12)
    assert F[0, 1] == pytest.approx(0.0, abs=1e-9) and F[0, 2] == pytest.approx(0.0, abs=1e-9)
    assert power == pytest.approx(fx * u, rel=1e-12)


def test_spinning_square_closed_form():
    """Spin ω about the centroid: on each face v·n changes sign at its middle (the quadrature
    splits there): moment −ρ C_d ω² a⁴/32 − ρ C_f ω² a⁴/4 (a = 1), no net force."""
    w, cd, cf = 2.0, 1.0, 0.01
    F, power = _drag(Polygons.from_list([SQ]), [[0, 0, w, 0, 0, 0]], cd=cd, cf=cf)
    m = -RHO_W * cd * w**2 / 32 - RHO_W * cf * w**2 / 4
    assert F[0, 2] == pytest.approx(m, rel=1e-12)
    assert np.abs(F[0, :2]).max() < 1e-9
    assert power == pytest.approx(m * w, rel=1e-12)


def test_partly_submerged_and_shielded_faces():
    """Only the submerged part of a face drags; faces touching another block do not."""
    u, cd, cf = 2.0, 1.0, 0.005
    F, _ = _drag(Polygons.from_list([SQ]), [[u, 0, 0, 0, 0, 0]], level=0.25, cd=cd, cf=cf)
    assert F[0, 0] == pytest.approx(-0.5 * RHO_W * u**2 * (cd * 0.25 + cf * 1.0), rel=1e-12)
    # two squares in a row on a fixed base, moving together: only the leading face and the tops drag
    ground = np.array([[-2, -1], [4, -1], [4, 0], [-2, 0]], float)
    polys = Polygons.from_list([ground, SQ, SQ + [1, 0]])
    V = np.array([[0] * 6, [u, 0, 0, 0, 0, 0], [u, 0, 0, 0, 0, 0]], float)
    F, _ = _drag(polys, V, cd=cd, cf=cf, free=[False, True, True])
    top = -0.5 * RHO_W * cf * u**2
    assert F[1, 0] == pytest.approx(top, rel=1e-12)  # rear block: its front face is against the front block
    assert F[2, 0] == pytest.approx(top - 0.5 * RHO_W * cd * u**2, rel=1e-12)
    assert np.all(F[0] == 0.0)


def test_bad_coefficients_name_the_key():
    with pytest.raises(dda.InputError, match=r"^water\.drag_coefficient: found -1"):
        WaterLevel(1.0, drag_coefficient=-1)
    with pytest.raises(dda.InputError, match=r"^water\.skin_friction: found nan"):
        WaterLevel(1.0, skin_friction=float("nan"))
    with pytest.raises(coupling.CaseError) as err:
        coupling.load_case("cases/vajont.toml", {"water.drag_coefficient": -1.0})
    msg = str(err.value)
    assert "water.drag_coefficient" in msg and "\n" not in msg.strip()


TH = np.radians(30.0)
_R = np.array([[np.cos(TH), np.sin(TH)], [-np.sin(TH), np.cos(TH)]])  # (s, n) -> (x, y), +s downhill


def _incline_run(cd: float, level: float, duration: float):
    """A 1 m square (ρ = 2500) on a frictionless 30° incline under water at ``level``."""
    base = np.array([[-5, -2], [60, -2], [60, 0], [-5, 0]], float) @ _R.T
    s = dda.BlockSystem([base, SQ @ _R.T], fixed=[True, False])
    s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(0.0))
    s.set_water(level, RHO_W, drag_coefficient=cd)
    res = dda.Simulation(s, dda.Settings(duration=duration, dt=0.01, max_displacement_ratio=1e-3)).solve()
    return np.asarray(res.time), np.asarray(res.velocity)[:, 1, :2] @ _R  # (along, across) the slope


def test_submerged_block_reaches_terminal_velocity():
    """v(t) = v_t tanh(t/τ), v_t = √(2(m − ρ_w V) g sinθ/(ρ_w C_d L)), τ = v_t/((1 − ρ_w/ρ) g sinθ):
    buoyancy (dda.water) and drag on the 1 m front face; the base is shielded by the incline.
    Tolerances: the explicit drag lags one step, an error first order in Δt/τ (Δt/τ = 7.7e-3):
    measured 1.4e-3 of v_t at Δt = 0.01 s, 6.8e-4 at Δt/2, so 5e-3; at the terminal velocity the
    lag vanishes (measured −1.1e-4 at t = 8 s = 6.1τ, the same at Δt/2, tanh = 1 − 1e-5), so 1e-3.
    A factor 2 in the drag would move v_t by 41 %."""
    g, rho = 9.81, 2500.0
    vt = np.sqrt(2 * (rho - RHO_W) * g * np.sin(TH) / (RHO_W * 1.0))
    tau = vt / ((1 - RHO_W / rho) * g * np.sin(TH))
    t, v = _incline_run(1.0, 20.0, 8.0)
    assert np.max(np.abs(v[:, 0] - vt * np.tanh(t / tau))) < 5e-3 * vt
    assert v[-1, 0] == pytest.approx(vt, rel=1e-3)


def test_no_drag_above_water():
    """The same block with the level below it: the drag changes nothing (bitwise)."""
    t, v = _incline_run(1.0, -100.0, 0.5)
    _, v0 = _incline_run(0.0, -100.0, 0.5)
    assert np.array_equal(v, v0)
    assert v[-1, 0] == pytest.approx(9.81 * np.sin(TH) * t[-1], rel=1e-6)
