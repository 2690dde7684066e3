"""FEM continuum scaling: DOFs vs wall time on 1 and 2 ranks; nonlinear vs linear law cost.

    python benchmarks/fem_scaling.py [--sizes 80 160 320] [--out benchmarks/out/fem_scaling.json]

Each measurement runs in its own process (``mpiexec -n R python fem_scaling.py --worker``) on
the shipped cantilever case with P2 elements; the parent collects the workers' JSON lines.
Reported per run: DOFs, setup time, Newton iterations, time per Newton iteration split into
law evaluation, assembly and linear solve.
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
POWER_LAW = 'material={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.5, plane="stress"}'


def worker(nx: int, law: str, load_steps: int) -> None:
    sys.path.insert(0, str(ROOT))
    from mpi4py import MPI

    import coupling

    sets = [f"mesh.cells=[{nx}, {max(nx // 10, 2)}]", f"fem.load_steps={load_steps}", "probes=[]"]
    if law == "power":
        sets.append(POWER_LAW)
    case = coupling.load_case(ROOT / "cases" / "cantilever.toml", sets)
    MPI.COMM_WORLD.barrier()
    t0 = time.perf_counter()
    result = coupling.run(case)
    wall = MPI.COMM_WORLD.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    s = result.summary["solver"]
    n_it = s["newton_iterations_total"]
    # per-rank phase times: report the slowest rank
    phases = {k: MPI.COMM_WORLD.allreduce(s[k], op=MPI.MAX)
              for k in ("time_law_s", "time_residual_s", "time_jacobian_s", "time_solve_s",
                        "time_law_per_call_s", "time_per_newton_iteration_s")}
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps({
            "ranks": MPI.COMM_WORLD.size, "law": law, "cells": s["cells"], "dofs": s["dofs"],
            "quadrature_points": s["quadrature_points"], "newton_iterations": n_it, "wall_s": wall,
            "setup_s": s["time_setup_s"], **phases,
            "law_calls": s["law_calls"],
        }), flush=True)


def launch(ranks: int, nx: int, law: str, load_steps: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--nx", str(nx), "--law", law, "--load-steps", str(load_steps)]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true")
    p.add_argument("--nx", type=int, default=80)
    p.add_argument("--law", default="linear")
    p.add_argument("--load-steps", type=int, default=1)
    p.add_argument("--sizes", type=int, nargs="+", default=[80, 160, 320, 640])
    p.add_argument("--out", default=str(HERE / "out" / "fem_scaling.json"))
    args = p.parse_args()
    if args.worker:
        worker(args.nx, args.law, args.load_steps)
        return

    scaling = []
    for nx in args.sizes:
        for ranks in (1, 2):
            r = launch(ranks, nx, "linear")
            scaling.append(r)
            print(f"ranks={ranks} dofs={r['dofs']:>8} wall={r['wall_s']:.3f}s "
                  f"per-iteration={r['time_per_newton_iteration_s']:.3f}s", flush=True)
    nx = args.sizes[-2] if len(args.sizes) > 1 else args.sizes[-1]
    lin, nonlin = launch(1, nx, "linear"), launch(1, nx, "power", load_steps=2)
    law_cost = {
        "dofs": lin["dofs"], "quadrature_points": lin["quadrature_points"],
        "linear": lin, "power_law": nonlin,
        "ratio_time_per_newton_iteration": nonlin["time_per_newton_iteration_s"] / lin["time_per_newton_iteration_s"],
        "ratio_law_time_per_call": nonlin["time_law_per_call_s"] / lin["time_law_per_call_s"],
    }
    print(f"power law / linear law, time per Newton iteration: {law_cost['ratio_time_per_newton_iteration']:.2f}"
          f" (law evaluation alone {law_cost['ratio_law_time_per_call']:.2f})")
    speedup = [
        {"dofs": a["dofs"], "wall_1_s": a["wall_s"], "wall_2_s": b["wall_s"], "speedup": a["wall_s"] / b["wall_s"]}
        for a, b in zip(scaling[::2], scaling[1::2])
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "fem_scaling", "case": "cantilever (P2, plane stress, MUMPS)",
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "runs": scaling, "two_rank_speedup": speedup, "law_cost": law_cost,
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
