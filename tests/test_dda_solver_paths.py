"""The direct solver's dense path for small systems, and the per-phase timers of a step."""

from __future__ import annotations

import numpy as np
import pytest

import dda
import learned
from dda import assembly


def _incline() -> dda.BlockSystem:
    """A block on a fixed 30° incline (φ = 20°): it slides, so contacts change state."""
    h = 20.0 * np.tan(np.radians(30.0))
    block = [[2.0, 1.1547005383792517], [2.8660254037844384, 1.6547005383792517],
             [2.6160254037844384, 2.0877132402714710], [1.75, 1.5877132402714710]]
    s = dda.BlockSystem([np.array([[0, 0], [20, 0], [20, h]], float), np.array(block)], fixed=[0])
    s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=20.0))
    return s


def _run(steps: int = 60) -> dda.Simulation:
    sim = dda.Simulation(_incline(), dda.Settings(duration=steps * 2e-3, dt=2e-3, max_displacement_ratio=0.002, penalty=5e11))
    sim.solve()
    return sim


def test_dense_path_matches_petsc(monkeypatch):
    """12 unknowns: dense LU on one rank; with the threshold at 0 the same run goes through
    PETSc/MUMPS. Same trajectory to round-off: the measured difference is 2.2e-15 m on a
    travel of 1.1e-2 m (2e-13 relative); the bound 2e-12 × travel is that × 10."""
    dense = _run()
    assert dense.solver.dense
    monkeypatch.setattr(assembly, "DENSE_MAX_UNKNOWNS", 0)
    petsc = _run()
    assert not petsc.solver.dense
    travel = np.abs(dense.state.xy - _incline().polys.xy).max()
    assert travel > 5e-3  # the block slid
    assert np.abs(dense.state.xy - petsc.state.xy).max() <= 2e-12 * travel
    assert dense.solver.n_solves == petsc.solver.n_solves


def test_phase_times_cover_the_step():
    """Every phase is timed, and the phases with the linear algebra add up to at most the run."""
    sim = _run(20)
    ph, tm = sim.phase_times, sim.solver.timings
    assert set(ph) == {"detect", "block_assembly", "contact_assembly", "open_close", "update", "ghost_exchange"}
    assert all(v > 0 for k, v in ph.items() if k != "ghost_exchange")
    assert ph["ghost_exchange"] == 0.0  # one rank: no ghosts
    assert tm["assemble"] > 0 and tm["solve"] > 0
    assert sum(ph.values()) + sum(tm.values()) <= sim.stats["wall_time_s"] * (1 + 1e-9)


def test_dense_path_singular_gives_nan():
    """A singular dense system gives a non-finite D (the time loop then cuts Δt), as MUMPS does."""
    g = assembly.GlobalSystem(1, np.zeros(1, bool), kind="mumps")
    assert g.dense
    D = g.solve(np.zeros((1, 6, 6)), np.ones((1, 6)), np.zeros((0, 12, 12)), np.zeros((0, 12)),
                np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert not np.all(np.isfinite(D))
