"""Cost of the geometric overlap check per DDA step (dda.overlap; StepFailure.OVERLAP), and how
far normal runs stay from its tolerance.

    python benchmarks/dda_overlap_cost.py [--problems grid30 vajont_10block] [--repeats 3]
                                          [--grid-steps 20] [--vajont-duration 30] [--every N]

Per problem and run: the time spent in the check (``Simulation.phase_times["overlap"]``:
moving the trial's vertices, the bounding-box prefilter, the exact areas of the pairs that
pass it, the reduction over ranks) over the wall time of the run's steps, measured in the
same run (a ratio; the median of ``--repeats`` runs), with the check on every ``--every``-th
step (default dda.overlap.CHECK_EVERY; 1: every step). Problems:

* ``grid30``: benchmarks/dda_vs_ntdda.py's 30 × 30 stack on a base (901 blocks, MUMPS),
  ``--grid-steps`` steps;
* ``vajont_10block``: cases/vajont_10block.toml (11 blocks: settling, then the slide, which
  starts at ~10 s and is fastest at ~26 s) to ``--vajont-duration`` s.

Margin (separate, untimed): after every accepted step a callback measures the exact overlap
area of every candidate pair over its tolerance A_tol = penetration limit × the smaller
perimeter, and the largest value of the run is reported (1 would fail the step); its time is
taken out of the step time.

Writes benchmarks/out/dda_overlap_cost.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"


def _simulation(problem: str, args):
    from mpi4py import MPI  # noqa: F401  (before dolfinx: libmpi)

    import dda

    if problem == "grid30":
        spec = importlib.util.spec_from_file_location("dda_vs_ntdda", ROOT / "benchmarks" / "dda_vs_ntdda.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        system, kw, _ = mod.build("grid30")
        return dda.Simulation(system, dda.Settings(duration=args.grid_steps * kw["dt"], **kw))
    import coupling
    from coupling.runners.dda_model import build_system

    case = coupling.load_case(ROOT / "cases" / f"{problem}.toml", {"dda.duration": args.vajont_duration})
    built = build_system(case)
    return dda.Simulation(built.system, dda.Settings(**case.spec.dda.model_dump(), gravity=tuple(case.spec.gravity)))


def run_once(problem: str, args) -> dict:
    from dda.overlap import overlap_tolerance, pair_overlap_area

    sim = _simulation(problem, args)
    if args.every is not None:
        sim.overlap_check_every = args.every
    margin = {"ratio": 0.0, "time": None, "pair": None, "callback_s": 0.0}

    def callback(info) -> None:
        t0 = time.perf_counter()
        pairs = getattr(sim, "_near_pairs", np.zeros((0, 2), dtype=np.int64))
        if pairs.size:
            polys = sim.polygons()
            r = pair_overlap_area(polys, pairs) / overlap_tolerance(polys, pairs, sim.pen_limit)
            k = int(np.argmax(r))
            if r[k] > margin["ratio"]:
                margin.update(ratio=float(r[k]), time=float(sim.state.time), pair=[int(b) for b in pairs[k]])
        margin["callback_s"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    sim.solve(callback=callback)
    wall = time.perf_counter() - t0 - margin["callback_s"]
    steps = int(sim.stats["steps"])
    check = float(sim.phase_times["overlap"])
    return {"check_every": int(sim.overlap_check_every), "steps": steps, "step_wall_ms": 1e3 * wall / steps, "check_ms_per_step": 1e3 * check / steps,
            "check_fraction": check / wall, "n_overlap_retries": int(sim.stats["n_overlap_retries"]),
            "largest_overlap_over_tolerance": margin["ratio"], "at_time_s": margin["time"], "pair": margin["pair"],
            "penetration_limit_m": float(sim.pen_limit), "max_penetration_m": float(sim.stats["max_penetration"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["grid30", "vajont_10block"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grid-steps", type=int, default=20)
    ap.add_argument("--vajont-duration", type=float, default=30.0)
    ap.add_argument("--every", type=int, default=None, help="check every n-th step (default dda.overlap.CHECK_EVERY)")
    ap.add_argument("--out", default=str(OUT / "dda_overlap_cost.json"))
    args = ap.parse_args()
    report = {"command": "python benchmarks/dda_overlap_cost.py " + " ".join(sys.argv[1:]), "problems": {}}
    for problem in args.problems:
        runs = [run_once(problem, args) for _ in range(args.repeats)]
        report["problems"][problem] = {
            "runs": runs,
            "median_check_fraction": statistics.median(r["check_fraction"] for r in runs),
            "median_check_ms_per_step": statistics.median(r["check_ms_per_step"] for r in runs),
            "median_step_wall_ms": statistics.median(r["step_wall_ms"] for r in runs),
        }
        print(problem, json.dumps(report["problems"][problem], indent=1), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
