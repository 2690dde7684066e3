"""Would reusing the LU across the open–close re-solves of a DDA step pay? (issue 15, lever a)

    python benchmarks/dda_lu_reuse.py [--problems grid10 grid30] [--steps 30 8]

Runs the stacked grids of benchmarks/dda_vs_ntdda.py and records every linear system the
open–close iteration solves. For each re-solve within a step (same contacts, same block
terms; only the springs of contacts whose state changed differ from the previous solve) it
measures, on this machine and in this process:

* ``changed``: contacts whose 12 × 12 terms differ from the previous solve's (each change is
  of rank ≤ 2, so K = K₀ + a low-rank update);
* ``its``: GMRES iterations (restart 60, relative tolerance 1e-12 on the preconditioned
  residual) on K with the LU of K₀ as preconditioner, and the solution's largest difference
  from the direct solve relative to max |D|;
* ``t_factorise``, ``t_substitute``: the numeric factorisation and one substitution of the
  solver the simulation uses (PETSc block LU up to 1,800 unknowns, MUMPS above), median of 3.

The saving a perfect oracle would get (use GMRES only where its·(t_substitute + t_matvec)
< t_factorise) is reported per step against the measured factorise time of the run: an
upper bound for any reuse rule. Earlier attempt: branch s7-ddaspeed-lowrank (Woodbury with
cached columns), CPU per step within noise on the 30 × 30 stack.

Writes benchmarks/out/dda_lu_reuse.json (ratios measured in one run; design.md §7).
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def _median_time(f, reps: int = 3) -> float:
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def measure(problem: str, nsteps: int) -> dict:
    from mpi4py import MPI

    import dda
    from dda import assembly
    from dda_vs_ntdda import build
    from petsc4py import PETSc

    system, kw, _ = build(problem)
    sim = dda.Simulation(system, dda.Settings(duration=nsteps * kw["dt"], linear_solver="mumps", **kw))
    calls: list = []
    orig = assembly.GlobalSystem.solve

    def spy(self, Kb, Fb, Kc, Fc, ci, cj, pattern_key=None, symmetric=True):
        calls.append((pattern_key, Kb.copy(), Fb.copy(), Kc.copy(), Fc.copy(), ci.copy(), cj.copy()))
        return orig(self, Kb, Fb, Kc, Fc, ci, cj, pattern_key=pattern_key, symmetric=symmetric)

    assembly.GlobalSystem.solve = spy
    try:
        while sim.state.time < sim.settings.duration * (1 - 1e-12):
            sim.step()
    finally:
        assembly.GlobalSystem.solve = orig
    nb, fixed = sim.solver.nb, sim.solver.fixed
    rows = []
    for a in range(len(calls) - 1):
        k0, k1 = calls[a], calls[a + 1]
        if k0[0] != k1[0] or not np.array_equal(k0[1], k1[1]):
            continue  # a new step (or a retry with another Δt): not an open–close re-solve
        old = assembly.GlobalSystem(nb, fixed, comm=MPI.COMM_SELF)
        new = assembly.GlobalSystem(nb, fixed, comm=MPI.COMM_SELF)
        old.solve(*k0[1:], pattern_key=0, symmetric=False)
        D = new.solve(*k1[1:], pattern_key=0, symmetric=False)
        A1, b1, x = new._A, new._b, new._x.duplicate()
        pc = old.ksp.getPC()
        # numeric factorisation and one substitution of the direct solver (old pattern kept)
        # (adding 1e-300 to the diagonal leaves every value as it is but marks the matrix changed,
        # as new values do: PCSetUp then factorises again)
        t_fact = _median_time(lambda: (old._A.shift(1e-300), pc.setUp()))
        t_sub = _median_time(lambda: pc.apply(b1, x))
        t_mv = _median_time(lambda: A1.mult(b1, x))
        kry = PETSc.KSP().create(MPI.COMM_SELF)
        kry.setType("gmres")
        kry.setGMRESRestart(60)
        kry.setTolerances(rtol=1e-12, atol=0.0, max_it=60)
        pc.setReusePreconditioner(True)
        kry.setPC(pc)
        kry.setOperators(A1)
        t = time.perf_counter()
        kry.solve(b1, x)
        t_kry = time.perf_counter() - t
        its, reason = kry.getIterationNumber(), kry.getConvergedReason()
        Dk = x.getArray().reshape(D.shape)
        changed = int(np.count_nonzero(np.any((k0[3] != k1[3]).reshape(k1[3].shape[0], -1), axis=1)))
        rows.append({
            "changed": changed, "contacts": int(k1[5].size), "its": int(its), "converged": bool(reason > 0),
            "rel_diff": float(np.abs(Dk - D).max() / np.abs(D).max()),
            "t_factorise_s": t_fact, "t_substitute_s": t_sub, "t_matvec_s": t_mv, "t_gmres_s": t_kry,
            "saving_s": max(0.0, t_fact - t_kry) if reason > 0 else 0.0,
        })
        kry.destroy()
        old.destroy()
        new.destroy()
    fact_per_step = sim.solver.timings["factorise"] / max(sim.state.step, 1)
    steps = sim.state.step
    ch = np.array([r["changed"] for r in rows]) if rows else np.zeros(0)
    its = np.array([r["its"] for r in rows]) if rows else np.zeros(0)
    ratio = [r["t_factorise_s"] / r["t_substitute_s"] for r in rows if r["t_substitute_s"] > 0]
    return {
        "problem": problem, "blocks": int(nb), "steps": int(steps), "solves": int(sim.solver.n_solves),
        "re_solves": len(rows),
        "changed_contacts_median": float(np.median(ch)) if ch.size else None,
        "changed_contacts_max": int(ch.max()) if ch.size else None,
        "gmres_its_median": float(np.median(its)) if its.size else None,
        "gmres_its_minus_changed_range": [int((its - ch).min()), int((its - ch).max())] if ch.size else None,
        "factorise_over_substitute_median": float(np.median(ratio)) if ratio else None,
        "rel_diff_max_converged": max((r["rel_diff"] for r in rows if r["converged"]), default=None),
        "oracle_saving_per_step_s": float(sum(r["saving_s"] for r in rows) / max(steps, 1)),
        "factorise_per_step_s_in_run": float(fact_per_step),
        "oracle_saving_share_of_factorise": float(sum(r["saving_s"] for r in rows) / max(steps, 1) / fact_per_step)
        if fact_per_step > 0 else None,
        "re_solve_rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["grid10", "grid30"])
    ap.add_argument("--steps", type=int, nargs="+", default=[30, 8])
    ap.add_argument("--out", default=str(HERE / "out" / "dda_lu_reuse.json"))
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    steps = (a.steps + [a.steps[-1]] * len(a.problems))[: len(a.problems)]
    t0 = time.perf_counter()
    out = {"benchmark": "dda_lu_reuse", "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                                     "loadavg_1min": os.getloadavg()[0]}, "problems": {}}
    for p, n in zip(a.problems, steps):
        r = measure(p, n)
        out["problems"][p] = r
        print(f"{p}: {r['re_solves']} re-solves over {r['steps']} steps; changed contacts median {r['changed_contacts_median']}"
              f" (max {r['changed_contacts_max']}), GMRES its median {r['gmres_its_median']} (its - changed in "
              f"{r['gmres_its_minus_changed_range']}), factorise/substitute {r['factorise_over_substitute_median']:.1f}; "
              f"oracle saving {r['oracle_saving_share_of_factorise']:.0%} of the factorise time "
              f"({r['oracle_saving_per_step_s'] * 1e3:.2f} ms/step); max rel diff {r['rel_diff_max_converged']:.1e}", flush=True)
    out["wall_total_s"] = time.perf_counter() - t0
    from learned.files import atomic_write

    path = atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))
    print(f"wrote {path} ({out['wall_total_s']:.0f} s)")


if __name__ == "__main__":
    main()
