"""dda.Settings.impact_steps: a landing on a thermally pressurised band is resolved in time.

A 20 m × 10 m block (2400 kg/m³), tilted 3°, slides at 20 m/s and falls at 3 m/s onto a flat
band (thermal pressurisation, the Vajont clay: φ 18° → 6.7°, h 1 mm, ρc 2.7 MJ/(m³K), Λ 0.1 MPa/K)
from 5 cm: its lower corner strikes first. The heat the landing puts into the band,
∫ μ N (1 − r) dδ, weighs the impact's force by the pore-pressure ratio r, which rises with the
slip during the impact; with the impact over a few steps the step's length decides where the force
peaks against r. Measured (session 25), heat after 0.1 s [MJ/m] at Δt = 4, 2, 1, 0.5, 0.25 ms:
without the control 1.282 / 1.110 / 1.134 / 1.161 / 1.179 (15 % apart); with impact_steps = 40
1.196 / 1.196 / 1.196 / 1.198 / 1.207 (0.9 %).
"""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned

MASS = 20.0 * 10.0 * 2400.0  # kg/m


def landing(dt: float, impact_steps: int) -> tuple[float, dda.Simulation]:
    """(heat put into the band over 0.1 s [J/m], the simulation)."""
    from coupling.runners.dda import BandMonitor

    base = np.array([[-50, -5], [150, -5], [150, 0], [-50, 0]], float)
    th = np.radians(3.0)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    blk = np.array([[0, 0], [20, 0], [20, 10], [0, 10]], float) @ R.T + [0.0, 0.05]
    system = dda.BlockSystem([base, blk], fixed=[0], edge_tags=[[0] * 4, [0] * 4])
    system.add_material(0, learned.LinearElastic(10e9, 0.27), density=2400.0)
    system.set_joint_law(learned.ThermalPressurisationFriction(
        phi_peak=18.0, phi_residual=6.7, v_c=0.1, band_thickness=1e-3, heat_capacity=2.7e6, pressurisation=1e5,
        hydraulic_diffusivity=1e-8), tag=0)
    system.set_velocity(1, 20.0, -3.0)
    sim = dda.Simulation(system, dda.Settings(duration=0.1, dt=dt, max_displacement_ratio=0.01, contact_restitution=0.2,
                                              impact_steps=impact_steps))
    band = BandMonitor(sim)

    def record(info) -> bool:
        band.record()
        return False

    sim.solve(callback=record)
    return band.heat, sim


def test_the_landing_step_is_the_impact_duration_over_impact_steps():
    heat, sim = landing(2e-3, 40)
    assert sim.stats["n_impact_cuts"] >= 1 and sim.stats["penalty_increases"] == 0
    t_c = np.pi * np.sqrt(MASS / sim.state.penalty)  # against the fixed base: the block's mass
    assert sim.stats["dt_min_used"] == pytest.approx(t_c / 40, rel=1e-9)
    assert heat > 0.0


def test_the_heat_of_a_landing_is_resolved_in_dt():
    with_control = [landing(dt, 40)[0] for dt in (4e-3, 2e-3, 1e-3)]
    without = [landing(dt, 0)[0] for dt in (4e-3, 2e-3, 1e-3)]
    spread = lambda h: (max(h) - min(h)) / min(h)  # noqa: E731
    assert spread(with_control) < 0.01, with_control  # measured 0.0 %
    assert spread(without) > 0.05, without  # measured 15 %: what the control removes


def test_off_by_default_and_validated():
    _, sim = landing(2e-3, 0)
    assert sim.stats["n_impact_cuts"] == 0 and sim.stats["dt_min_used"] == pytest.approx(2e-3)
    for bad in (-1, 1.5):
        with pytest.raises(dda.InputError, match="impact_steps"):
            dda.Settings(duration=1.0, dt=0.005, impact_steps=bad).validate()


def test_a_restart_inside_an_impact_continues_bitwise():
    """The hold of an impact under way (Simulation.impact_hold) is in the checkpoint: a run
    restored from a snapshot taken during the impact continues as the uninterrupted run."""
    import dda.checkpoint

    _, ref = landing(2e-3, 40)
    _, sim = landing(2e-3, 40)  # rebuilt to take the snapshot on the way
    sim2 = None
    taken = {}

    def snap(info) -> bool:
        if not taken and sim.state.time < sim.impact_hold[0] and sim.impact_hold[0] < np.inf:
            taken["data"] = dda.checkpoint.snapshot(sim)
        return False

    system, settings = sim.system, sim.settings
    sim = dda.Simulation(system, settings)
    sim.solve(callback=snap)
    assert "data" in taken  # a snapshot inside the impact
    sim2 = dda.Simulation(system, settings)
    dda.checkpoint.restore(sim2, taken["data"])
    assert sim2.impact_hold == tuple(float(x) for x in taken["data"]["impact_hold"])
    sim2.solve()
    assert np.array_equal(sim2.state.xy, ref.state.xy) and sim2.state.time == ref.state.time
