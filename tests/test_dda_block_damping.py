"""The blocks' material damping (dda.Settings.block_damping_time) against the step.

A 1 m square block hits a fixed base flat at v0 = 1 m/s without gravity, with the contact
restitution e_n = 0.2 and a contact 42 times stiffer than the block (p_n = 1e9 N/m, E = 2e7 Pa,
ν = 0.25: C11 = 2.4e7 Pa), as in the Vajont cases (p_n = penalty_factor · C11 = 50 C11). The
impact then compresses the block's strain modes more than the contact spring, so the contact's
dashpot hardly acts and the block rebounds with what its strain modes give back: their only
damping is DDA's update, a dashpot C A Δt/2 (ratio ωΔt/4, ω ≈ 300 rad/s here), so the rebound
rises as Δt falls. The Kelvin–Voigt dashpot C A τ_b, of which the update's share is subtracted,
makes it the same at every Δt ≤ 2τ_b.
"""

from __future__ import annotations

import numpy as np
import pytest

import coupling
import dda
import learned

STEPS = (1.2e-3, 3e-4, 7.5e-5)  # s: ω Δt ≈ 0.36, 0.09, 0.023


def _run(dt: float, tau: float = 0.0, settle_time: float = 0.0, duration: float = 0.05) -> np.ndarray:
    """The block's velocity history (steps, 3) [m/s, m/s, rad/s] (it leaves the base by 0.025 s)."""
    base = np.array([[-1, -1], [2, -1], [2, 0], [-1, 0]], float)
    block = np.array([[0, 0.005], [1, 0.005], [1, 1.005], [0, 1.005]], float)
    s = dda.BlockSystem([base, block], fixed=[0])
    s.add_material(0, learned.LinearElastic(2e7, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(30.0))
    s.set_velocity(1, vy=-1.0)
    settings = dda.Settings(duration=duration, dt=dt, gravity=(0.0, 0.0), penalty=1e9, contact_restitution=0.2,
                            max_displacement_ratio=0.05, block_damping_time=tau, settle_time=settle_time)
    return np.asarray(dda.Simulation(s, settings).solve().velocity)[:, 1]


def _rebound(dt: float, tau: float = 0.0) -> float:
    """Upward speed of the block after the impact over its downward speed before."""
    return float(_run(dt, tau)[-1, 1])


def test_an_impact_of_deformable_blocks_depends_on_dt_without_block_damping():
    r = [_rebound(dt) for dt in STEPS]
    # measured 0.648 / 0.721 / 0.742: far above e_n = 0.2 (the energy is in the block's strain)
    # and rising as dt falls; bounds: rising, spread > 7 % (measured 14 %), every rebound > 0.4
    assert r[0] < r[1] < r[2]
    assert (r[2] - r[0]) / r[2] > 0.07
    assert min(r) > 0.4


def test_block_damping_makes_the_impact_the_same_at_every_dt():
    tau = STEPS[0] / 2  # the damping the coarsest step gives, at every step
    r = [_rebound(dt, tau) for dt in STEPS]
    # measured 0.6477 / 0.6487 / 0.6446 (spread 0.6 %, against 14 % without); bound 2 % (3.3x)
    assert (max(r) - min(r)) / np.mean(r) < 0.02


def _slide(dt: float, tau: float = 0.0, settle_time: float = 0.0, duration: float = 0.1) -> np.ndarray:
    """A block sliding at 1 m/s on the base under gravity (no impact: every step is Δt):
    its velocity history (steps, 3)."""
    base = np.array([[-1, -1], [4, -1], [4, 0], [-1, 0]], float)
    block = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    s = dda.BlockSystem([base, block], fixed=[0])
    s.add_material(0, learned.LinearElastic(2e7, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(30.0))
    s.set_velocity(1, vx=1.0)
    settings = dda.Settings(duration=duration, dt=dt, penalty=1e9, contact_restitution=0.2,
                            max_displacement_ratio=0.05, block_damping_time=tau, settle_time=settle_time)
    res = dda.Simulation(s, settings).solve()
    assert settle_time > 0 or np.allclose(np.diff(np.asarray(res.time)), dt)  # no step was cut
    return np.asarray(res.velocity)[:, 1]


def test_block_damping_at_half_the_step_is_the_run_without_it():
    dt = 1e-3
    a, b = _slide(dt, tau=dt / 2), _slide(dt)
    # every step of exactly dt bitwise; the last lands on the duration, a hair shorter than dt in
    # floating point (0.1 - 99 x 0.001), and so gets a top-up of ~1e-19 s (measured 1e-16 m/s)
    assert np.array_equal(a[:-1], b[:-1])
    np.testing.assert_allclose(a[-1], b[-1], rtol=0, atol=1e-12)
    assert not np.array_equal(_slide(dt, tau=dt), b)  # and a longer damping time does act


def test_block_damping_leaves_the_static_settling_alone():
    """The static settling steps (dynamic 0) carry no velocity: no dashpot there."""
    assert np.array_equal(_slide(1e-3, tau=0.05, settle_time=0.02, duration=0.02),
                          _slide(1e-3, settle_time=0.02, duration=0.02))


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), None])
def test_block_damping_time_is_validated(bad):
    with pytest.raises(dda.InputError, match="block_damping_time"):
        dda.Settings(block_damping_time=bad).validate()


def test_block_damping_time_is_a_case_key():
    spec = coupling.load_case("dda_incline", {"dda.block_damping_time": 0.002}).spec
    assert spec.dda.block_damping_time == 0.002
    assert coupling.load_case("dda_incline").spec.dda.block_damping_time == 0.0
