"""NMM linear solve on several ranks: MUMPS's distributed factorisation vs the gathered one.

    python benchmarks/nmm_solve_determinism.py [--ranks 2] [--cells 40 4] [--repeats 60]
        [--out benchmarks/out/nmm_solve_determinism.json]

The worker (``mpiexec -n R python nmm_solve_determinism.py --worker``) runs two steps of 2 ms of
cases/nmm_cantilever_dynamic.toml (cover ``cells``) and keeps the matrix A and
right-hand side r of its second linear solve (step 2; the effective stiffness K + c M of a dynamic
step). It then factorises and solves A x = r ``repeats`` times with a new KSP each time,
alternating the two methods:

* ``distributed``: PETSc LU with MUMPS on all R ranks (the solve before this benchmark);
* ``gathered``: :func:`nmm.assembly._gathered_lu` (PCTELESCOPE to one rank, sequential MUMPS),
  what :meth:`nmm.assembly.Assembler.solve` does on several ranks.

Reported per method: the number of distinct solutions (bitwise) among the repeats, the
largest difference from the first solution relative to max |x|, and the median wall time of
factorisation + solve [s]; and the ratio gathered / distributed of the medians.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def worker(cells: list[int], repeats: int) -> None:
    sys.path.insert(0, str(ROOT))
    from mpi4py import MPI

    import numpy as np

    import coupling
    import nmm.assembly as assembly
    from petsc4py import PETSc

    comm = MPI.COMM_WORLD
    kept: dict = {}
    plain_solve = assembly.Assembler.solve

    def keep(self, A, rhs):
        kept["n"] = kept.get("n", 0) + 1
        if kept["n"] == 2:
            kept["A"], kept["rhs"] = A.duplicate(copy=True), rhs.copy()
        return plain_solve(self, A, rhs)

    assembly.Assembler.solve = keep
    sets = [f"cover.cells=[{cells[0]}, {cells[1]}]", "nmm.duration=0.004", "nmm.dt=0.002", "probes=[]",
            "output.plots=false"]
    coupling.run(coupling.load_case(ROOT / "cases" / "nmm_cantilever_dynamic.toml", sets))
    assembly.Assembler.solve = plain_solve
    A, rhs = kept["A"], kept["rhs"]
    b, x = A.createVecLeft(), A.createVecRight()
    lo, hi = b.getOwnershipRange()
    b.array[:] = rhs[lo:hi]
    solutions: dict[str, list] = {"distributed": [], "gathered": []}
    times: dict[str, list] = {"distributed": [], "gathered": []}
    for _ in range(repeats):
        for kind in solutions:
            comm.barrier()
            t0 = time.perf_counter()
            ksp = PETSc.KSP().create(comm=comm)
            ksp.setOperators(A)
            if kind == "distributed":
                ksp.setType("preonly")
                ksp.getPC().setType("lu")
                ksp.getPC().setFactorSolverType("mumps")
            else:
                assembly._gathered_lu(ksp, comm.size)
            ksp.solve(b, x)
            ksp.destroy()
            times[kind].append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
            solutions[kind].append(np.concatenate(comm.allgather(x.getArray().copy())))
    out = {"ranks": comm.size, "cells": cells, "ndof": A.getSize()[0], "repeats": repeats}
    for kind, xs in solutions.items():
        scale = float(np.abs(xs[0]).max())
        out[kind] = {"distinct_solutions": len({v.tobytes() for v in xs}),
                     "max_relative_difference": max(float(np.abs(v - xs[0]).max()) for v in xs) / scale,
                     "median_time_s": float(np.median(times[kind]))}
    out["time_ratio_gathered_over_distributed"] = out["gathered"]["median_time_s"] / out["distributed"]["median_time_s"]
    A.destroy(), b.destroy(), x.destroy()
    if comm.rank == 0:
        print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--cells", type=int, nargs=2, default=[40, 4])
    p.add_argument("--repeats", type=int, default=60)
    p.add_argument("--out", default=str(HERE / "out" / "nmm_solve_determinism.json"))
    a = p.parse_args()
    if a.worker:
        worker(a.cells, a.repeats)
        return
    sys.path.insert(0, str(ROOT))
    from learned.files import atomic_write

    cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(a.ranks), sys.executable, __file__, "--worker",
           "--cells", *map(str, a.cells), "--repeats", str(a.repeats)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["machine"] = platform.node()
    print(json.dumps(res, indent=1))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text(json.dumps(res, indent=1) + "\n"))


if __name__ == "__main__":
    main()
