"""Static settling phase and the peak-friction (strength-reduction) trigger of dda.Simulation.

A block on a 20° incline, velocity-weakening joint φ_p = 25°, φ_r = 10°:

* settling (``settle_time``): static steps carry no velocity and leave slip and joint state
  unchanged; the block at φ_p > θ does not move;
* trigger: φ_p falls at ω [rad/s] from the end of settling; the block is at limit equilibrium
  at φ = θ, and the reduction is held once it moves faster than v_h = 0.1 m/s. The onset
  friction is an outcome: θ − Δφ ≤ φ_onset ≤ θ, where Δφ bounds the overshoot of the ramp.
  For a Coulomb block past θ, the acceleration grows as a ≈ g cosθ sec²θ ω t, so v_h is
  reached after Δφ = ω t = sqrt(2 v_h ω cos²θ / (g cosθ)) ≤ sqrt(2 v_h ω / (g cosθ)); velocity
  weakening only makes the block faster, so Δφ is an upper bound (measured: 0.61° at 2°/s
  against the bound 1.58°).
"""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned

THETA = 20.0


def incline_system() -> tuple[dda.BlockSystem, np.ndarray]:
    th = np.radians(THETA)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    base = np.array([[0, -2], [100, -2], [100, 0], [0, 0]], float) @ R.T
    blk = np.array([[40, 0], [50, 0], [50, 5], [40, 5]], float) @ R.T
    system = dda.BlockSystem([base, blk], fixed=[0], edge_tags=[[0] * 4, [0] * 4])
    system.add_material(0, learned.LinearElastic(10e9, 0.27), density=2400.0)
    system.set_joint_law(learned.VelocityWeakeningFriction(phi_peak=25.0, phi_residual=10.0, v_c=0.1), tag=0)
    return system, blk


def test_settling_is_static_and_leaves_joint_state():
    system, blk = incline_system()
    sim = dda.Simulation(system, dda.Settings(duration=0.51, dt=0.005, settle_time=0.5, max_displacement_ratio=1e-3))
    speeds, slips = [], []

    def record(info):
        if sim.settling(info.time - 1e-9):
            speeds.append(float(np.abs(sim.state.velocity[1]).max()))
            slips.append(float(sim.state.contacts.slip.max(initial=0.0)))

    sim.solve(callback=record)
    assert len(speeds) >= 99
    assert max(speeds) == 0.0 and max(slips) == 0.0
    # φ_p = 25° > θ = 20°: the block settles on its contact springs (elastic, ~1e-5 m) and stays
    moved = np.linalg.norm(sim.state.xy[4:].mean(axis=0) - blk.mean(axis=0))
    assert moved < 1e-4


def test_the_settled_state_keeps_its_first_step_when_dt_is_refined():
    """dda.Settings.initial_dt: the settling's steps start from the first step and grow towards
    settle_dt, so a run whose event dt is halved settles exactly as the base run when it keeps the
    base's first step (benchmarks/vajont_resolution.py's time variants), and not otherwise."""
    def settled(**kw):
        system, _ = incline_system()
        sim = dda.Simulation(system, dda.Settings(duration=0.5, settle_time=0.5, settle_dt=0.05,
                                                  max_displacement_ratio=1e-3, **kw))
        sim.solve()
        return sim.state.xy, sim.result.time

    base_xy, base_t = settled(dt=0.005)
    kept_xy, kept_t = settled(dt=0.0025, initial_dt=0.005)
    other_xy, other_t = settled(dt=0.0025)
    assert np.array_equal(kept_xy, base_xy) and np.array_equal(kept_t, base_t)
    assert base_t[1] == pytest.approx(0.005) and other_t[1] == pytest.approx(0.0025)
    assert not np.array_equal(other_t, base_t)
    with pytest.raises(dda.InputError, match="initial_dt"):
        dda.Settings(duration=1.0, dt=0.005, initial_dt=1e-12).validate()


def test_trigger_onset_friction_is_limit_equilibrium():
    system, _ = incline_system()
    rate = 2.0  # deg/s
    s = dda.Settings(duration=0.5 + 6.0 / rate, dt=0.005, settle_time=0.5, max_displacement_ratio=1e-3,
                     trigger_joint=0, trigger_rate=rate, trigger_hold_velocity=0.1)
    sim = dda.Simulation(system, s)
    sim.solve()
    phi, held = sim.stats["trigger_phi_deg"], sim.stats["trigger_held_time"]
    assert held is not None
    bound = np.degrees(np.sqrt(2 * 0.1 * np.radians(rate) / (9.81 * np.cos(np.radians(THETA)))))
    assert THETA - bound <= phi <= THETA, (phi, bound)
    # the law of the system is not changed by the trigger (the simulation uses a copy)
    assert system.joint_laws[0].mu_p == pytest.approx(np.tan(np.radians(25.0)))


def test_trigger_needs_a_law_with_a_peak():
    system, _ = incline_system()
    system.set_joint_law(learned.CoulombFriction(phi=25.0), tag=0)
    with pytest.raises(dda.InputError, match="trigger_joint"):
        dda.Simulation(system, dda.Settings(duration=1.0, dt=0.005, trigger_joint=0, trigger_rate=1.0))
    with pytest.raises(dda.InputError, match="settle_time"):
        dda.Settings(duration=1.0, dt=0.005, settle_time=-1.0).validate()


@pytest.mark.parametrize("item, ok", [("trigger.enabled=false", True), ("trigger.rate=1", False),
                                      ("trigger.joint=slip_surface", False)])
def test_a_disabled_trigger_needs_no_joint_and_an_enabled_one_names_what_is_missing(item, ok, capsys):
    """``--set trigger.enabled=false`` on a case without a trigger is valid (it failed with
    "trigger.joint: missing required key"); an enabled trigger without its joint or rate is one
    line naming the key, exit 2."""
    from coupling.cli import main

    code = main(["check", "vajont", "--set", item])
    err = capsys.readouterr().err.strip().splitlines()
    if ok:
        assert code == 0
    else:
        key = "trigger.joint" if "rate" in item else "trigger.rate"
        assert code == 2 and len(err) == 1 and f"{key}: missing (required while trigger.enabled = true)" in err[0]
