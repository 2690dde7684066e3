"""The size rule of DDA under MPI (dda.Settings.distribute_min_free_blocks).

On more than one rank the blocks are distributed (dda.partition) only from
``distribute_min_free_blocks`` free blocks on, or for an explicit ``linear_solver = "schur"``;
below, every rank computes the whole step itself (replicated). Checked in one process with a
stand-in communicator of 2 ranks that has no MPI methods: a replicated run that made any MPI
call (a collective, a gather) would fail with AttributeError. The 2-rank runs under mpiexec
are in tests/test_dda_mpi.py."""

from __future__ import annotations

import numpy as np
import pytest


class TwoRanksNoCalls:
    """A communicator of 2 ranks (this one ``rank``) that supports no MPI call."""

    def __init__(self, rank: int) -> None:
        self.rank, self.size = rank, 2


def _stack(comm=None, **settings):
    """A 3 × 3 stack of 1 m blocks (9 free blocks) settling on a fixed base."""
    import dda
    import learned

    polys = [np.array([[-1, -1], [4, -1], [4, 0], [-1, 0]], float)]
    polys += [np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float) for j in range(3) for i in range(3)]
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(10e9, 0.25), 2500.0)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    return dda.Simulation(s, dda.Settings(duration=0.008, dt=1e-3, length_scale=2.5, max_displacement_ratio=0.016,
                                          penalty=5e11, **settings), comm=comm)


@pytest.mark.parametrize("threshold, solver, distributed", [
    (10, "auto", False),   # 9 free blocks < 10: replicated
    (9, "auto", True),     # 9 >= 9: distributed
    (0, "mumps", True),    # 0: always distributed
    (10, "schur", True),   # an explicit schur solve is the distributed solve: always distributed
    (10, "cg", False),
])
def test_rule_distributes_from_the_threshold_on(threshold, solver, distributed):
    sim = _stack(TwoRanksNoCalls(0), distribute_min_free_blocks=threshold, linear_solver=solver)
    assert sim.distributed is distributed and sim.stats["mpi_distributed"] is distributed
    from mpi4py import MPI

    one = _stack(MPI.COMM_SELF, distribute_min_free_blocks=0, linear_solver=solver)
    assert one.distributed is False  # one rank never distributes


@pytest.mark.parametrize("rank", [0, 1])
@pytest.mark.parametrize("solver", ["auto", "mumps"])
def test_replicated_run_makes_no_mpi_call_and_is_the_one_rank_run(rank, solver):
    """Below the threshold each rank runs the one-rank step: no MPI call at all (the stand-in
    communicator has none), and the histories and final state are those of a one-rank run,
    bit for bit, on either rank."""
    from mpi4py import MPI

    rep = _stack(TwoRanksNoCalls(rank), linear_solver=solver)  # default threshold (5,000) > 9 free blocks
    assert not rep.distributed
    res = rep.solve()
    ref = _stack(MPI.COMM_SELF, linear_solver=solver).solve()
    assert rep.part.trivial and rep.part.own_idx.size == rep.nb
    assert res.stats.steps == ref.stats.steps >= 8
    assert np.abs(np.asarray(ref.centroid)[-1] - np.asarray(ref.centroid)[0]).max() > 0  # the stack moved
    for name in ("time", "centroid", "velocity", "rotation", "kinetic_energy", "n_open", "n_sliding", "n_locked"):
        np.testing.assert_array_equal(np.asarray(getattr(res, name)), np.asarray(getattr(ref, name)), err_msg=name)
    for name in ("xy", "velocity", "stress"):
        np.testing.assert_array_equal(getattr(res.state, name), getattr(ref.state, name), err_msg=name)
    np.testing.assert_array_equal(res.state.contacts.key, ref.state.contacts.key)


@pytest.mark.parametrize("value", [-1, True, 2.5, None])
def test_bad_threshold_names_the_key(value):
    import dda

    with pytest.raises(dda.InputError) as err:
        dda.Settings(distribute_min_free_blocks=value).validate()
    assert "settings.distribute_min_free_blocks" in str(err.value)


def test_case_key_default_is_the_settings_default():
    """``dda.distribute_min_free_blocks`` of a case file defaults to dda.Settings' default (the
    case schema does not import dda; the number is written in both places)."""
    import dda
    from coupling.case.dda import DdaSettingsSpec
    from dda.partition import DISTRIBUTE_MIN_FREE_BLOCKS

    assert DdaSettingsSpec.model_fields["distribute_min_free_blocks"].default == DISTRIBUTE_MIN_FREE_BLOCKS
    assert dda.Settings().distribute_min_free_blocks == DISTRIBUTE_MIN_FREE_BLOCKS
