"""Warm-start savings: Newton (FEM, NMM) or the data-driven fixed point from a field surrogate's
displacement vs a cold start, measured in one run (docs/global_local.md, "Warm start").

    python benchmarks/warm_start.py [--solver fem|nmm|data_driven] [--cells 80,8] [--members 5]
        [--at 31e9] [--repeats 3] [--out benchmarks/out/warm_start.json]

--solver fem (default): the shipped cantilever (mesh --cells) with a power-law material; its
figures are the JSON's top-level keys. --solver nmm: the NMM cantilever (order-1 covers,
--cells as the cover mesh, default 40,4) with the same material, under the key ``nmm``.
--solver data_driven: the data-driven plate with a hole (coarse: element size 0.4 m, 0.05 m
at the hole) projected onto an analytic power law (E, ε₀ = 1e-4, n = 0.7), under ``data_driven``; its
"iterations" are fixed-point iterations and its solve time the run's solver time.

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
DD_LAW = {"law": "power_law_elastic", "E": 30e9, "nu": 0.25, "strain0": 1e-4, "exponent": 0.7, "plane": "stress"}


def setting(solver: str, cells: list[int] | None):
    """(case file, base overrides, varied key, how to read iterations and solve time) per solver."""
    if solver == "fem":
        base = {"material": MATERIAL, "mesh.cells": cells or [80, 8], "fem.load_steps": 1}
        return "cantilever.toml", base, "material.E", \
            lambda s: (s["newton_iterations_total"], s["time_law_s"] + s["time_residual_s"] + s["time_jacobian_s"] + s["time_solve_s"])
    if solver == "nmm":
        base = {"material": MATERIAL, "cover.cells": cells or [40, 4]}
        return "nmm_cantilever.toml", base, "material.E", lambda s: (s["newton_iterations"], s["time_solve_s"])
    base = {"data.law": DD_LAW, "mesh.element_size": 0.4, "mesh.hole_element_size": 0.05}
    return "data_driven_plate.toml", base, "data.law.E", \
        lambda s: (s["iterations"], s["time_linear_solves_s"] + s["time_projection_s"])


def main() -> int:
    from mpi4py import MPI  # noqa: F401  (before dolfinx)

    from coupling.ensemble.design import Parameter
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.warm_start import train_field
    from coupling.runner import run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--solver", choices=("fem", "nmm", "data_driven"), default="fem")
    ap.add_argument("--cells", default=None, help="mesh (FEM) or cover (NMM) cells nx,ny (default: the shipped)")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--at", type=float, default=31e9, help="E of the timed runs [Pa]")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out" / "warm_start.json"))
    args = ap.parse_args()
    cells = [int(c) for c in args.cells.split(",")] if args.cells else None
    case_file, base, key, read = setting(args.solver, cells)
    base = {**base, "output.plots": False, "output.fields": False}
    case = ROOT / "cases" / case_file
    with tempfile.TemporaryDirectory(prefix="warm_start_") as tmp:
        tmp = Path(tmp)
        lo, hi = 20e9, 40e9
        points = (lo + (np.arange(args.members) + 0.5) * (hi - lo) / args.members)[:, None]
        res = run_ensemble(case, [Parameter(key, lo, hi)], points, tmp / "ens",
                           overrides={**base, "output.displacement": True}, progress=None)
        assert all(m["status"] == "ok" for m in res.members), res.members
        sur, report = train_field(tmp / "ens" / "ensemble.h5", tmp / "S.pt")
        runs: dict[str, list[dict]] = {"cold": [], "warm": []}
        fields = {}
        for k in range(args.repeats):
            for kind in ("cold", "warm"):
                out = tmp / f"{kind}{k}"
                r = run(case, out, overrides={**base, key: args.at, "output.displacement": True},
                        progress=False, verbosity=0, initial_guess=sur if kind == "warm" else None)
                s = r.summary["solver"]
                iterations, solve_s = read(s)
                runs[kind].append({"iterations": iterations, "total_s": r.summary["timings"]["total_s"],
                                   "solve_s": solve_s, "initial_guess": s.get("initial_guess")})
                with np.load(out / "displacement.npz") as z:
                    fields[kind] = z["displacement"]
        med = {kind: {q: statistics.median(r[q] for r in rs) for q in ("iterations", "total_s", "solve_s")}
               for kind, rs in runs.items()}
        diff = float(np.abs(fields["cold"] - fields["warm"]).max() / np.abs(fields["cold"]).max())
        result = {
            "solver": args.solver, "case": case_file, "overrides": base, "parameter": key, "members": args.members,
            "E_ensemble": points[:, 0].tolist(), "E_at": args.at, "repeats": args.repeats,
            "surrogate": {k: report[k] for k in ("modes", "energy", "leave_one_out", "nodes")},
            "predicted_residual": runs["warm"][0]["initial_guess"]["predicted_residual"],
            "median": med,
            "ratio_cold_over_warm": {q: med["cold"][q] / med["warm"][q] for q in ("iterations", "total_s", "solve_s")},
            "max_displacement_difference_relative": diff, "runs": runs,
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(out.read_text()) if out.is_file() else {}
    if args.solver == "fem":  # top level, as before; keeps the other solvers' keys
        merged = {**result, **{k: old[k] for k in ("nmm", "data_driven") if k in old}}
    else:
        merged = {**old, args.solver: result}
    out.write_text(json.dumps(merged, indent=1))
    print(json.dumps({k: result[k] for k in ("median", "ratio_cold_over_warm", "predicted_residual",
                                            "max_displacement_difference_relative")}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
