"""The two contact guarantees of an accepted DDA step (dda.Simulation.contact_guarantees),
checked after every step over a sweep of contact problems:

* penetration: no contact, open or closed, penetrates more than ``max_penetration_ratio`` × d0
  (the step is cut otherwise);
* friction: no contact LOCKED in the step's solution carries a shear force above its strength
  at its solved normal force by more than ``oc_force_tolerance`` × the force scale of its own
  blocks (weight + normal contact forces, dda.openclose.block_force_scale), on every step whose
  open–close iteration converged (the test also asserts that every step converged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dda
import learned

E, NU, RHO = 10e9, 0.25, 2500.0


def _run(system: dda.BlockSystem, settings: dda.Settings) -> tuple[dda.Simulation, np.ndarray]:
    """Run; per accepted step (penetration [m], friction excess [-], converged)."""
    sim = dda.Simulation(system, settings)
    rows = []
    sim.solve(callback=lambda info: rows.append(sim.contact_guarantees()))
    return sim, np.array(rows, dtype=float)


def _grid(n: int) -> dda.BlockSystem:
    polys = [np.array([[-1, -1], [n + 1, -1], [n + 1, 0], [-1, 0]], float)]
    polys += [np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float) for j in range(n) for i in range(n)]
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    return s


def _incline() -> dda.BlockSystem:
    h = 20.0 * np.tan(np.radians(30.0))
    block = np.array([[2.0, 1.1547005383792517], [2.8660254037844384, 1.6547005383792517],
                      [2.6160254037844384, 2.0877132402714710], [1.75, 1.5877132402714710]])
    s = dda.BlockSystem([np.array([[0, 0], [20, 0], [20, h]], float), block], fixed=[0])
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=20.0))
    return s


def _thrown() -> dda.BlockSystem:
    s = dda.BlockSystem([np.array([[-1, -1], [20, -1], [20, 0], [-1, 0]], float),
                         np.array([[0, 0], [1, 0], [1, 0.5], [0, 0.5]], float)], fixed=[0])
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    s.set_velocity(1, vx=2.0)
    return s


PROBLEMS = {
    # name: (system builder, Settings keywords)
    "grid5": (lambda: _grid(5), dict(duration=0.2, dt=1e-3, length_scale=3.5, max_displacement_ratio=0.04 / 3.5, penalty=5e11)),
    "grid10": (lambda: _grid(10), dict(duration=0.08, dt=1e-3, length_scale=6.0, max_displacement_ratio=0.04 / 6.0, penalty=5e11)),
    "incline": (_incline, dict(duration=1.0, dt=2e-3, max_displacement_ratio=0.002, penalty=5e11)),
    "thrown": (_thrown, dict(duration=0.4, dt=1e-3, penalty=5e11)),
}


def _check(sim: dda.Simulation, rows: np.ndarray) -> None:
    assert rows.shape[0] == sim.state.step
    assert np.all(rows[:, 2] == 1.0)  # every step converged: the friction guarantee applies to all
    assert rows[:, 0].max() <= sim.pen_limit
    assert rows[:, 1].max() <= sim.settings.oc_force_tolerance


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_contact_guarantees_hold_at_the_end_of_every_step(name):
    build, kw = PROBLEMS[name]
    sim, rows = _run(build(), dda.Settings(**kw))
    _check(sim, rows)


def test_contact_guarantees_hold_on_the_vajont_section():
    # the Vajont 2-block case: its 10 s static settling and the first 2 s of the event
    import coupling
    from coupling.runners.dda_model import build_system

    case = coupling.load_case(Path(__file__).resolve().parents[1] / "cases" / "vajont.toml")
    spec = case.spec
    built = build_system(case)
    kw = spec.dda.model_dump()
    kw.update(duration=kw["settle_time"] + 2.0, gravity=tuple(spec.gravity), output_dir=None)
    sim, rows = _run(built.system, dda.Settings(**kw))
    _check(sim, rows)


def test_an_impact_too_fast_for_the_penalty_raises_it_instead_of_cutting_the_step_forever():
    """A block driven into a wall at 20 m/s with a penalty so soft that its spring would stop it
    only 2× past the penetration limit (δ_stop = v √(m / p_n)): Δt cuts cannot help (the approach
    speed stays), and before session 15 the accepted cut steps crept up to the limit until none
    fitted (the Vajont flank impact at Δt/4). Simulation._impact_penalty raises p_n for the next
    step once a closing contact is past half the limit, from its energy: the run finishes and
    every step keeps the penetration guarantee."""
    s = dda.BlockSystem([np.array([[-1, -1], [3, -1], [3, 0], [-1, 0]], float),
                         np.array([[1.2, 0], [3, 0], [3, 1], [1.2, 1]], float),
                         np.array([[0, 0], [1, 0], [1, 0.5], [0, 0.5]], float)], fixed=[0, 1])
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    s.set_velocity(2, vx=20.0)
    settings = dda.Settings(duration=0.03, dt=2e-4, penalty=1e8, max_displacement_ratio=0.01)
    sim, rows = _run(s, settings)
    mass = RHO * 0.5
    assert 20.0 * np.sqrt(mass / 1e8) > 2 * sim.pen_limit  # the initial penalty cannot stop it within the limit
    assert sim.stats["penalty_increases"] >= 1 and sim.state.penalty > 1e8
    _check(sim, rows)
    assert sim.state.velocity[2, 0] < 0.0  # it bounced off the wall
