"""dda.partition.wait_for_ranks: a rank that waits for another does not spin a core.

Under ``mpiexec -n 2`` rank 0 sleeps ``WORK_S`` (standing for the factorisation it does
alone) while rank 1 waits in :func:`dda.partition.wait_for_ranks`, then a blocking barrier
and the same wait again. Rank 1's CPU time during the quiet wait must be below a quarter of
the time it waited (10× the measured share): a blocking ``MPI_Barrier`` in MPICH spins
(33 % of the wait measured with the machine's load at 5 on 2 cores: ≈ 100 % of the time it
holds a core), the polled ``MPI_Ibarrier`` with sleeps 2.5 %. The spinning
barrier's figure is printed for comparison, not asserted (under load a spinning process may
get only part of a core)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, mpiexec

SCRIPT = r"""
import time, json
from mpi4py import MPI
from dda.partition import wait_for_ranks

WORK_S = 0.6
comm = MPI.COMM_WORLD
out = {}
for name, wait in (("quiet", wait_for_ranks), ("blocking", lambda c: c.Barrier()), ("quiet_again", wait_for_ranks)):
    comm.Barrier()
    w0, c0 = time.perf_counter(), time.process_time()
    if comm.rank == 0:
        time.sleep(WORK_S)
    wait(comm)
    out[name] = (time.perf_counter() - w0, time.process_time() - c0)
if comm.rank == 1:
    print(json.dumps(out), flush=True)
"""


def test_waiting_rank_sleeps():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([mpiexec(), "-n", "2", sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                       cwd=ROOT, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    import json

    got = json.loads(p.stdout.strip().splitlines()[-1])
    print(got)
    for name in ("quiet", "quiet_again"):
        wall, cpu = got[name]
        assert wall >= 0.5, (name, wall)  # rank 1 did wait for rank 0's work
        assert cpu < 0.25 * wall, (name, wall, cpu)
