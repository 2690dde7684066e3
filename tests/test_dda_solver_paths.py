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
    """Every phase is timed (the overlap check too), and the phases with the linear algebra add up to at most the run."""
    sim = _run(20)
    ph, tm = sim.phase_times, sim.solver.timings
    assert set(ph) == {"detect", "block_assembly", "contact_assembly", "open_close", "update", "ghost_exchange", "overlap"}
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


def _stack(n: int = 5) -> dda.BlockSystem:
    """n × n blocks of 1 m resting on a fixed base (the ntdda peer's grid; 6 (n² + 1) unknowns)."""
    polys = [np.array([[-1, -1], [n + 1, -1], [n + 1, 0], [-1, 0]], float)]
    polys += [np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float) for j in range(n) for i in range(n)]
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    return s


def _run_stack(steps: int = 20) -> dda.Simulation:
    w0 = 3.5
    sim = dda.Simulation(_stack(), dda.Settings(duration=steps * 1e-3, dt=1e-3, length_scale=w0,
                                                max_displacement_ratio=0.04 / w0, penalty=5e11))
    sim.solve()
    return sim


def test_block_lu_path_matches_mumps(monkeypatch):
    """26 blocks (156 unknowns): PETSc's block LU on one rank; with its threshold at 0 the same
    run goes through MUMPS. Same trajectory and the same number of solves: the measured
    difference is 3.7e-10 of the settlement (round-off through 20 steps of open–close
    iterations on penalty springs 50× stiffer than the blocks); the bound is that × 10."""
    blk = _run_stack()
    assert blk.solver.block_lu and not blk.solver.dense
    monkeypatch.setattr(assembly, "BLOCK_LU_MAX_UNKNOWNS", 0)
    mumps = _run_stack()
    assert not mumps.solver.block_lu and not mumps.solver.dense
    settlement = np.abs(blk.state.xy - _stack().polys.xy).max()
    assert settlement > 1e-5  # the stack settled under its weight
    assert np.abs(blk.state.xy - mumps.state.xy).max() <= 4e-9 * settlement
    assert blk.solver.n_solves == mumps.solver.n_solves


def test_block_lu_path_singular_gives_nan():
    """A singular mid-size system (zero pivot in the block LU) gives a non-finite D, as the
    dense path and MUMPS do (the time loop then cuts Δt)."""
    nb = 30
    g = assembly.GlobalSystem(nb, np.zeros(nb, bool), kind="mumps")
    assert g.block_lu
    D = g.solve(np.zeros((nb, 6, 6)), np.ones((nb, 6)), np.zeros((0, 12, 12)), np.zeros((0, 12)),
                np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert D.shape == (nb, 6) and not np.any(np.isfinite(D))


def test_block_lu_csr_sum_equals_add_at(monkeypatch):
    """The block-LU assembly adds the contact terms with SciPy's CSR kernel; without it
    (``_csr_matvec`` None) with ``np.add.at``: the same floats in the same order, so the same
    run to the last bit (every coordinate, and the solve count)."""
    if assembly._csr_matvec is None:
        pytest.skip("this SciPy has no csr_matvec kernel")
    kernel = _run_stack(12)
    assert kernel.solver.block_lu
    monkeypatch.setattr(assembly, "_csr_matvec", None)
    add_at = _run_stack(12)
    assert np.array_equal(kernel.state.xy, add_at.state.xy)
    assert np.array_equal(kernel.state.velocity, add_at.state.velocity)
    assert kernel.solver.n_solves == add_at.solver.n_solves


@pytest.mark.parametrize("kind", ["block_lu", "mumps"])
def test_changed_contacts_only_are_reassembled(monkeypatch, kind):
    """Between open–close iterations only the contacts whose springs changed are assembled
    again (``kc_changed``, dda.contact_law.ContactStiffness.changed): the block LU re-sums
    their blocks, MUMPS's COO values take their entries; the run equals one that assembles
    every contact, to the last bit."""
    if kind == "mumps":
        monkeypatch.setattr(assembly, "BLOCK_LU_MAX_UNKNOWNS", 0)
    solve = assembly.GlobalSystem.solve
    passed = []

    def spy(self, *a, **k):
        passed.append(k.get("kc_changed") is not None)
        return solve(self, *a, **k)

    monkeypatch.setattr(assembly.GlobalSystem, "solve", spy)
    part = _run_stack(12)
    assert part.solver.block_lu == (kind == "block_lu") and sum(passed) >= 5  # re-solves with a few changed contacts

    def every_block(self, *a, **k):
        k["kc_changed"] = None
        return solve(self, *a, **k)

    monkeypatch.setattr(assembly.GlobalSystem, "solve", every_block)
    full = _run_stack(12)
    assert np.array_equal(part.state.xy, full.state.xy)
    assert np.array_equal(part.state.velocity, full.state.velocity)
    assert part.solver.n_solves == full.solver.n_solves
