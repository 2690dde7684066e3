"""DDA under MPI: 2 ranks give the numbers of 1 rank, to the last bit.

The distributed DDA computes every float in the order of one rank (dda.simulation: the
system is solved on rank 0 exactly as on one rank, per-block sums over contacts held by
several ranks are added by the block's owner in contact-key order), so the comparison is
exact (``assert_array_equal``), not to a tolerance: the open–close iteration amplifies any
round-off difference into a different contact decision (a distributed LU and sums in rank
order made the settling stack below differ by 7.7e-6 m after 10 steps).

These problems (4 to 101 blocks) are below ``dda.Settings.distribute_min_free_blocks``: by
default 2 ranks do not split them (rank 0 computes, rank 1 receives each state). The tests of the
distributed machinery set it to 0 (``DISTRIBUTED``); the replicated default has its own tests."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, mpiexec

#: the histories and final state the self-check writes (dda.selfcheck)
COMPARED = ("centroid", "xy", "stress", "time", "dt", "velocity", "kinetic_energy", "oc_iterations", "n_open",
            "n_sliding", "n_contacts", "contact_keys", "solves")


#: dda.Settings.distribute_min_free_blocks that distributes the blocks over the ranks at any size
DISTRIBUTED = 0


def _run(out, nproc: int, problem: str, steps: int, solver: str = "mumps", distribute: int | None = DISTRIBUTED) -> dict:
    cmd = [sys.executable, "-m", "dda.selfcheck", str(out), "--problem", problem, "--steps", str(steps),
           "--linear-solver", solver]
    if distribute is not None:
        cmd += ["--distribute-min-free-blocks", str(distribute)]
    if nproc > 1:
        cmd = [mpiexec(), "-n", str(nproc), *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return dict(np.load(out))


def _assert_identical(one: dict, two: dict, distributed: bool = True) -> None:
    assert int(two["mpi_ranks"]) == 2 and int(one["mpi_ranks"]) == 1
    assert bool(two["distributed"]) == distributed and not bool(one["distributed"])
    assert float(two["ranks_differ"]) == 0.0  # every rank's result holds rank 0's numbers
    for name in COMPARED:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["mumps", "cg"])
def test_two_ranks_match_one_rank(tmp_path, solver):
    """Three blocks sliding and rotating on an incline (dda.selfcheck ``stack``), each linear solver."""
    one = _run(tmp_path / "one.npz", 1, "stack", 30, solver)
    two = _run(tmp_path / "two.npz", 2, "stack", 30, solver)
    c1 = one["centroid"]
    assert np.abs(c1[-1] - c1[0]).max() > 1e-3  # the run does something
    _assert_identical(one, two)


@pytest.mark.mpi
def test_settling_stack_two_ranks_equal_one(tmp_path):
    """A 10 × 10 stack settling on its base (dda.selfcheck ``settle``, 101 blocks, ~540
    contacts): contacts open, close, slide and lock in every step (several open–close
    iterations per step), and their states, forces and every block's trajectory on 2 ranks
    are those of 1 rank. Before the order-preserving sums and the rank-0 solve this differed
    by 7.7e-6 m after 10 steps."""
    one = _run(tmp_path / "one.npz", 1, "settle", 12)
    two = _run(tmp_path / "two.npz", 2, "settle", 12)
    assert one["oc_iterations"].max() >= 3  # open–close decisions are taken and revised
    assert one["n_sliding"].max() > 0 and one["n_open"].max() > 0
    per_rank = two["per_rank"]  # (owned blocks, ghosts, contacts) per rank: both ranks work
    assert np.all(per_rank[:, 0] > 0) and np.all(per_rank[:, 2] > 0)
    _assert_identical(one, two)


@pytest.mark.mpi
def test_distributed_grid_matches_one_rank(tmp_path):
    """A jointed 8 × 8 grid sliding on an incline (dda.selfcheck ``grid``) on 2 ranks: each rank
    owns a spatial part and detects only its own contacts (every contact exactly once: the
    same keys and counts as 1 rank, none twice), no rank holds every block or contact, the
    partition is rebuilt as the grid moves (contacts and their history migrate), and the
    trajectory is that of 1 rank."""
    one = _run(tmp_path / "one.npz", 1, "grid", 15)
    two = _run(tmp_path / "two.npz", 2, "grid", 15)
    c1 = one["centroid"]
    moved = np.abs(c1[-1] - c1[0]).max()
    assert moved > 0.01  # the grid travels five times the ghost margin (2 mm in the self-check)
    assert int(two["repartitions"]) >= 3  # the first partition and rebuilds as the grid moves
    keys = two["contact_keys"]
    assert np.unique(keys).size == keys.size  # no contact detected twice
    per_rank = two["per_rank"]  # (owned blocks, ghosts, contacts) per rank
    nb, nc = c1.shape[1], one["contact_keys"].size
    assert per_rank[:, 0].sum() == nb and per_rank[:, 2].sum() == nc
    assert np.all(per_rank[:, 0] + per_rank[:, 1] < nb) and np.all(per_rank[:, 2] < nc)
    _assert_identical(one, two)


@pytest.mark.mpi
def test_small_stack_runs_replicated_by_default_and_equals_one_rank(tmp_path):
    """The 10 × 10 settling stack (100 free blocks) with the default
    ``distribute_min_free_blocks`` (5,000): 2 ranks do not split it (rank 0 computes each step
    as 1 rank does and sends the accepted state to rank 1: per rank all 101 blocks, no ghosts,
    every contact), and the result on rank 0 and rank 1 (the final state and last contacts rank 1
    holds) is that of 1 rank bit for bit."""
    one = _run(tmp_path / "one.npz", 1, "settle", 12, distribute=None)
    two = _run(tmp_path / "two.npz", 2, "settle", 12, distribute=None)
    per_rank = two["per_rank"]
    nb, nc = one["centroid"].shape[1], one["contact_keys"].size
    assert np.all(per_rank[:, 0] == nb) and np.all(per_rank[:, 1] == 0) and np.all(per_rank[:, 2] == nc)
    _assert_identical(one, two, distributed=False)
