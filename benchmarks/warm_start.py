"""Warm-start savings: FEM Newton from a field surrogate's displacement vs from u = 0, measured
in one run (docs/global_local.md, "Warm start").

    python benchmarks/warm_start.py [--cells 80,8] [--members 5] [--at 31e9] [--repeats 3]
        [--out benchmarks/out/warm_start.json]

1. An ensemble of --members runs of the cantilever with a power-law material (one load step),
   E on a grid over 20..40 GPa, each writing displacement.npz (serial, in this process).
2. Its field surrogate (POD + RBF interpolant, :mod:`learned.field_surrogate`).
3. At E = --at (not a member): cold and warm runs alternated --repeats times (in-process, no
   fields or plots); per kind the Newton iterations, the solve time (law + residual + Jacobian
   + linear solve, from summary.json) and the run's wall time (``timings.total_s``), medians;
   the ratios cold/warm; the largest difference of the two converged displacements relative
   to max|u|.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

MATERIAL = {"law": "power_law_elastic", "E": 30e9, "nu": 0.25, "strain0": 1e-5, "exponent": 0.5, "plane": "stress"}


def main() -> int:
    from mpi4py import MPI  # noqa: F401  (before dolfinx)

    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.warm_start import train_field
    from coupling.runner import run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="80,8", help="cantilever mesh cells nx,ny (default: the shipped 80,8)")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--at", type=float, default=31e9, help="E of the timed runs [Pa]")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out" / "warm_start.json"))
    args = ap.parse_args()
    cells = [int(c) for c in args.cells.split(",")]
    base = {"material": MATERIAL, "mesh.cells": cells, "fem.load_steps": 1, "output.plots": False,
            "output.fields": False}
    case = ROOT / "cases" / "cantilever.toml"
    with tempfile.TemporaryDirectory(prefix="warm_start_") as tmp:
        tmp = Path(tmp)
        lo, hi = 20e9, 40e9
        points = (lo + (np.arange(args.members) + 0.5) * (hi - lo) / args.members)[:, None]
        res = run_ensemble(case, [Parameter("material.E", lo, hi)], points, tmp / "ens",
                           overrides={**base, "output.displacement": True}, progress=None)
        assert all(m["status"] == "ok" for m in res.members), res.members
        sur, report = train_field(tmp / "ens" / "ensemble.h5", tmp / "S.pt")
        runs: dict[str, list[dict]] = {"cold": [], "warm": []}
        fields = {}
        for k in range(args.repeats):
            for kind in ("cold", "warm"):
                out = tmp / f"{kind}{k}"
                r = run(case, out, overrides={**base, "material.E": args.at, "output.displacement": True},
                        progress=False, verbosity=0, initial_guess=sur if kind == "warm" else None)
                s = r.summary["solver"]
                runs[kind].append({
                    "iterations": s["newton_iterations_total"], "total_s": r.summary["timings"]["total_s"],
                    "solve_s": s["time_law_s"] + s["time_residual_s"] + s["time_jacobian_s"] + s["time_solve_s"],
                    "initial_guess": s.get("initial_guess")})
                with np.load(out / "displacement.npz") as z:
                    fields[kind] = z["displacement"]
        med = {kind: {q: statistics.median(r[q] for r in rs) for q in ("iterations", "total_s", "solve_s")}
               for kind, rs in runs.items()}
        diff = float(np.abs(fields["cold"] - fields["warm"]).max() / np.abs(fields["cold"]).max())
        result = {
            "case": "cantilever", "material": MATERIAL, "cells": cells, "members": args.members,
            "E_ensemble": points[:, 0].tolist(), "E_at": args.at, "repeats": args.repeats,
            "surrogate": {k: report[k] for k in ("modes", "energy", "leave_one_out", "nodes")},
            "predicted_residual": runs["warm"][0]["initial_guess"]["predicted_residual"],
            "median": med,
            "ratio_cold_over_warm": {q: med["cold"][q] / med["warm"][q] for q in ("iterations", "total_s", "solve_s")},
            "max_displacement_difference_relative": diff, "runs": runs,
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("median", "ratio_cold_over_warm", "predicted_residual",
                                            "max_displacement_difference_relative")}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
