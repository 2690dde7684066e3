"""What one factorisation of a large DDA system costs, and whether a solver setting makes it cheaper
(issue 15: at 10,001 blocks the factorisation is ~82 % of a step).

    python benchmarks/dda_factorisation.py [--problems grid30 grid100] [--steps 4] [--repeats 2]
        [--out benchmarks/out/dda_factorisation.json]

Runs the stacked grids of benchmarks/dda_vs_ntdda.py with ``linear_solver = "mumps"`` (rank 0's
direct solve, one process per run, runs of the settings alternated) and records, per setting, the
CPU time per linear solve and the factorisation's wall time per solve over steps 2..N:

    default         MUMPS as the solver sets it up (ordering chosen by MUMPS, ICNTL(7) = 7)
    amd / amf / scotch / pord / metis / qamd
                    ICNTL(7) = 0 / 2 / 3 / 4 / 5 / 6: the fill-reducing ordering
    no_scaling      ICNTL(8) = 0: no row/column scaling computed at each factorisation
    no_pivoting     CNTL(1) = 0: no threshold partial pivoting
    block_lu        PETSc's own block LU (6 × 6 blocks, nested dissection), the solver's choice up to
                    dda.assembly.BLOCK_LU_MAX_UNKNOWNS unknowns, forced here at every size

It also records MUMPS's own statistics of the last factorisation of the default run (INFOG(29)
entries in the factors, RINFOG(3) flops of the elimination, the ordering used) and, over the
run, how many solves had a symmetric K (``GlobalSystem.solve(symmetric=...)``: implicit sliding
friction makes K non-symmetric; only a symmetric K could use an LDLᵀ factorisation). Results
of different settings differ by round-off (the settling stacks' open–close paths then part),
so the comparison is per solve, not per step.

    python benchmarks/dda_factorisation.py --ldlt [--problems grid30 grid100] [--repeats 3]
        [--out benchmarks/out/dda_factorisation_ldlt.json]

What a symmetric K would buy (session 18): the first solve of a run is symmetric (no contact
slides yet); its matrix is factorised by MUMPS as LU (what the solver does) and as Cholesky
(``PCCHOLESKY``, K flagged symmetric positive definite), alternately in one process, and the
factorisation and substitution wall times, MUMPS's factor entries and elimination flops and the
relative residual ‖K x − F‖/‖F‖ of each are recorded. Only a formulation with sliding friction
explicit in the normal force (as ntdda's) keeps K symmetric in every solve.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import mpi_launch  # noqa: E402  (benchmarks/mpi_launch.py)

OUT = HERE / "out"
SETTINGS = {
    "default": {}, "amd": {"dda_mat_mumps_icntl_7": "0"}, "amf": {"dda_mat_mumps_icntl_7": "2"},
    "scotch": {"dda_mat_mumps_icntl_7": "3"}, "pord": {"dda_mat_mumps_icntl_7": "4"},
    "metis": {"dda_mat_mumps_icntl_7": "5"}, "qamd": {"dda_mat_mumps_icntl_7": "6"},
    "no_scaling": {"dda_mat_mumps_icntl_8": "0"}, "no_pivoting": {"dda_mat_mumps_cntl_1": "0.0"},
    "block_lu": {},
}


def worker(problem: str, steps: int, setting: str) -> None:
    """One run: print one JSON line (CPU per solve, factorisation per solve, MUMPS statistics)."""
    sys.path.insert(0, str(ROOT))
    from mpi4py import MPI  # noqa: F401  (before PETSc)
    from petsc4py import PETSc

    import dda
    import dda.assembly as assembly
    from dda_vs_ntdda import build

    for k, v in SETTINGS[setting].items():
        PETSc.Options()[k] = v
    if setting == "block_lu":
        assembly.BLOCK_LU_MAX_UNKNOWNS = 10**9
    symmetric = {True: 0, False: 0}
    solve = assembly.GlobalSystem.solve

    def counted(self, *a, **k):  # symmetric is passed by keyword (dda.simulation)
        symmetric[bool(k.get("symmetric", True))] += 1
        return solve(self, *a, **k)

    assembly.GlobalSystem.solve = counted
    system, kw, _ = build(problem)
    sim = dda.Simulation(system, dda.Settings(duration=steps * kw["dt"], linear_solver="mumps", **kw))
    sim.step()
    f0, n0, c0 = sim.solver.timings["factorise"], sim.solver.n_solves, time.process_time()
    while sim.state.time < sim.settings.duration * (1 - 1e-12):
        sim.step()
    n = sim.solver.n_solves - n0
    row = {"problem": problem, "setting": setting, "blocks": system.nb, "unknowns": 6 * system.nb, "steps": steps,
           "solves": n, "cpu_per_solve_s": (time.process_time() - c0) / n,
           "factorise_wall_per_solve_s": (sim.solver.timings["factorise"] - f0) / n,
           "block_lu": bool(sim.solver.block_lu), "symmetric_solves": symmetric[True], "nonsymmetric_solves": symmetric[False]}
    if not sim.solver.block_lu and not sim.solver.dense:
        F = sim.solver.ksp.getPC().getFactorMatrix()
        row["mumps"] = {"factor_entries": int(F.getMumpsInfog(29)), "elimination_flops": float(F.getMumpsRinfog(3)),
                        "ordering_used": int(F.getMumpsInfog(7))}
    print(json.dumps(row), flush=True)


def ldlt_worker(problem: str, repeats: int) -> None:
    """Time MUMPS LU against Cholesky on the first (symmetric) system of ``problem``: one JSON line."""
    sys.path.insert(0, str(ROOT))
    from mpi4py import MPI  # noqa: F401  (before PETSc)
    from petsc4py import PETSc

    import dda
    import dda.assembly as assembly
    from dda_vs_ntdda import build

    captured: dict = {}
    solve = assembly.GlobalSystem.solve
    assembly.BLOCK_LU_MAX_UNKNOWNS = 0  # MUMPS at every size (small systems otherwise take PETSc's block LU)
    assembly.DENSE_MAX_UNKNOWNS = 0

    def capture(self, *a, **k):
        D = solve(self, *a, **k)
        if "A" not in captured and getattr(self, "_A", None) is not None:
            captured.update(A=self._A.copy(), b=self._b.copy(), symmetric=bool(k.get("symmetric", True)))
        return D

    assembly.GlobalSystem.solve = capture
    system, kw, _ = build(problem)
    sim = dda.Simulation(system, dda.Settings(duration=kw["dt"], linear_solver="mumps", **kw))
    sim.step()
    A, b = captured["A"], captured["b"]
    if not (captured["symmetric"] and A.isSymmetric(1e-12 * A.norm())):
        raise SystemExit(f"{problem}: the first system is not symmetric")

    def one(kind: str) -> dict:
        B = A.copy()
        if kind == "cholesky":
            B.setOption(PETSc.Mat.Option.SYMMETRIC, True)
            B.setOption(PETSc.Mat.Option.SPD, True)
        ksp = PETSc.KSP().create(PETSc.COMM_SELF)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType(kind)
        pc.setFactorSolverType("mumps")
        ksp.setOperators(B)
        t = time.perf_counter()
        ksp.setUp()
        tf = time.perf_counter() - t
        x = B.createVecRight()
        t = time.perf_counter()
        ksp.solve(b, x)
        ts = time.perf_counter() - t
        F = pc.getFactorMatrix()
        r = b.duplicate()
        A.mult(x, r)
        r.axpy(-1.0, b)
        row = {"factorise_s": tf, "substitute_s": ts, "factor_entries": int(F.getMumpsInfog(29)),
               "elimination_flops": float(F.getMumpsRinfog(3)), "relative_residual": float(r.norm() / b.norm())}
        ksp.destroy()
        B.destroy()
        return row

    runs: dict = {"lu": [], "cholesky": []}
    for _ in range(repeats):
        for kind in runs:
            runs[kind].append(one(kind))
    med = {k: float(np.median([r["factorise_s"] for r in v])) for k, v in runs.items()}
    print(json.dumps({"problem": problem, "blocks": system.nb, "unknowns": int(A.getSize()[0]), "runs": runs,
                      "factorise_s_median": med, "lu_over_cholesky": med["lu"] / med["cholesky"]}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", nargs=3, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--ldlt-worker", nargs=2, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--ldlt", action="store_true",
                    help="time LU against Cholesky on each problem's first (symmetric) system instead")
    ap.add_argument("--problems", nargs="+", default=["grid30", "grid100"])
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--steps", type=int, default=4, help="steps per run (the first is not timed)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs per setting (median)")
    ap.add_argument("--out", default=str(OUT / "dda_factorisation.json"))
    a = ap.parse_args()
    if a.worker:
        worker(a.worker[0], int(a.worker[1]), a.worker[2])
        return 0
    if a.ldlt_worker:
        ldlt_worker(a.ldlt_worker[0], int(a.ldlt_worker[1]))
        return 0
    if a.ldlt:
        report = {"benchmark": "dda_factorisation --ldlt", "argv": sys.argv[1:],
                  "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
                  "problems": {}}
        for prob in a.problems:
            row = mpi_launch.run_json([Path(__file__), "--ldlt-worker", prob, str(max(a.repeats, 1))], 1, ROOT)
            report["problems"][prob] = row
            print(f"{prob}: LU {row['factorise_s_median']['lu']:.3g} s, Cholesky "
                  f"{row['factorise_s_median']['cholesky']:.3g} s, LU / Cholesky {row['lu_over_cholesky']:.2f}", flush=True)
        out = Path(a.out if a.out != str(OUT / "dda_factorisation.json") else OUT / "dda_factorisation_ldlt.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
        print(f"wrote {out}")
        return 0
    report = {"benchmark": "dda_factorisation", "argv": sys.argv[1:],
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
              "problems": {}}
    for prob in a.problems:
        runs: dict[str, list] = {s: [] for s in a.settings}
        for r in range(a.repeats):
            for s in a.settings:
                row = mpi_launch.run_json([Path(__file__), "--worker", prob, str(a.steps), s], 1, ROOT)
                row["loadavg_before"] = list(os.getloadavg())
                runs[s].append(row)
                print(f"{prob} {s}: {row['cpu_per_solve_s']:.3g} s CPU per solve ({row['solves']} solves)", flush=True)
        base = float(np.median([r["cpu_per_solve_s"] for r in runs["default"]])) if "default" in runs else None
        report["problems"][prob] = {
            s: {"runs": rows, "cpu_per_solve_s": float(np.median([r["cpu_per_solve_s"] for r in rows])),
                "over_default": (float(np.median([r["cpu_per_solve_s"] for r in rows])) / base) if base else None}
            for s, rows in runs.items()}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
