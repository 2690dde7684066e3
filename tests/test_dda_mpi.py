"""DDA under MPI: 2 ranks give the same trajectory as 1 rank (to solver tolerance)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, mpiexec


def _run_mpi(out, nproc: int, solver: str) -> None:
    cmd = [mpiexec(), "-n", str(nproc), sys.executable, "-m", "dda.selfcheck", str(out), "--linear-solver", solver]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["mumps", "cg"])
def test_two_ranks_match_one_rank(tmp_path, solver):
    from dda.selfcheck import run

    serial, _ = run(linear_solver="mumps")
    out = tmp_path / "two.npz"
    _run_mpi(out, 2, solver)
    two = np.load(out)
    assert int(two["mpi_ranks"]) == 2
    c1 = np.asarray(serial.centroid)
    moved = np.abs(c1[-1] - c1[0]).max()
    assert moved > 1e-3  # the run does something
    np.testing.assert_allclose(two["centroid"], c1, rtol=1e-8, atol=1e-8 * moved)
    np.testing.assert_allclose(two["xy"], serial.state.xy, rtol=1e-8, atol=1e-8 * moved)
    np.testing.assert_allclose(two["stress"], serial.state.stress, rtol=1e-6, atol=1e-6 * np.abs(serial.state.stress).max())
