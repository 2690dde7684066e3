"""Distributed DDA: 1 vs 2 MPI ranks on the stacked grids of benchmarks/dda_vs_ntdda.py.

    python benchmarks/dda_mpi.py [--problems grid10 grid30 grid100] [--steps 50 20 4] [--repeats 3]

Each problem runs on 1 and on 2 ranks, alternating (1, 2, 1, 2, …: the machine's load hits
both alike), ``--repeats`` times each, every run in its own process tree (``dda_vs_ntdda.py
--worker``, OMP_NUM_THREADS=1). Per rank count: the median wall time per step (steps 2..N),
its CPU time per step on rank 0 (and per rank), the phase split, peak memory (max RSS) per rank, and per
rank the owned blocks, ghost blocks and contacts of its spatial part (dda.partition). The
speed-up is median wall(1 rank) / median wall(2 ranks); the load average is recorded before
every run (the machine is shared: read the speed-up against it). The final centroids and the
physics figures of every 2-rank run are compared with every 1-rank run (largest difference;
the design asks for identical numbers).

Writes benchmarks/out/dda_mpi.json.
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

from dda_vs_ntdda import launch  # noqa: E402  (the worker of the ntdda comparison: same systems)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["grid10", "grid30", "grid100"])
    ap.add_argument("--steps", type=int, nargs="+", default=[50, 20, 4], help="steps per problem")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out" / "dda_mpi.json"))
    a = ap.parse_args()
    t0 = time.perf_counter()
    out: dict = {"benchmark": "dda_mpi", "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                 "problems": {}}
    for prob, steps in zip(a.problems, a.steps):
        runs: dict[int, list] = {1: [], 2: []}
        for _ in range(a.repeats):
            for ranks in (1, 2):
                load = os.getloadavg()[0]
                r = launch(prob, steps, "default", ranks=ranks)
                r["loadavg_1min_before"] = load
                runs[ranks].append(r)
                print(f"{prob} {ranks} rank(s): {r['wall_per_step_s']:.3g} s/step wall, {r['cpu_per_step_s']:.3g} cpu, "
                      f"load {load:.1f}, rss/rank {[round(x) for x in r['max_rss_mb_per_rank']]} MB", flush=True)
        rec: dict = {"steps": steps, "repeats": a.repeats}
        for ranks, rows in runs.items():
            wall = [r["wall_per_step_s"] for r in rows]
            k = int(np.argsort(wall)[len(wall) // 2])
            med = rows[k]
            rec[f"ranks_{ranks}"] = {
                "blocks": med["blocks"], "contacts": med["contacts"], "wall_per_step_s_median": float(np.median(wall)),
                "wall_per_step_s_all": wall, "cpu_per_step_s_rank0_all": [r["cpu_per_step_s"] for r in rows],
                "cpu_per_step_s_per_rank_median": med["cpu_per_step_s_per_rank"],
                "solves_per_step": med["solves_per_step"], "phase_wall_per_step_s": med["phase_wall_per_step_s"],
                "max_rss_mb_per_rank": med["max_rss_mb_per_rank"], "partition_per_rank_owned_ghost_contacts":
                med.get("partition_per_rank"), "loadavg_1min_before_runs": [r["loadavg_1min_before"] for r in rows],
            }
        rec["speedup_wall_2_over_1"] = rec["ranks_1"]["wall_per_step_s_median"] / rec["ranks_2"]["wall_per_step_s_median"]
        rec["speedup_rank0_cpu_2_over_1"] = (float(np.median(rec["ranks_1"]["cpu_per_step_s_rank0_all"]))
                                             / float(np.median(rec["ranks_2"]["cpu_per_step_s_rank0_all"])))
        # every 2-rank run against every 1-rank run: final centroids and the physics figures
        c1 = [np.array(r["centroid_final"]) for r in runs[1]]
        c2 = [np.array(r["centroid_final"]) for r in runs[2]]
        moved = max(runs[1][0]["max_displacement_m"], 1e-300)
        rec["max_displacement_m"] = moved
        rec["max_centroid_difference_m"] = max(float(np.abs(a - b).max()) for a in c1 for b in c2)
        rec["max_centroid_difference_over_max_displacement"] = rec["max_centroid_difference_m"] / moved
        rec["final_centroids_bitwise_identical"] = all(np.array_equal(a, b) for a in c1 for b in c2)
        figs = ("solves_per_step", "contacts", "top_centre_settlement_m", "top_left_lateral_m", "top_row_max_lateral_m")
        rec["max_figure_difference"] = {k: max(abs(a[k] - b[k]) for a in runs[1] for b in runs[2])
                                        for k in figs if k in runs[1][0]}
        print(f"{prob}: speed-up 2 ranks / 1 rank {rec['speedup_wall_2_over_1']:.2f} (median of {a.repeats}, wall)"
              + (f", centroid difference {rec['max_centroid_difference_m']:.2e} m" if "max_centroid_difference_m" in rec else ""),
              flush=True)
        out["problems"][prob] = rec
    out["wall_total_s"] = time.perf_counter() - t0
    sys.path.insert(0, str(ROOT))
    from learned.files import atomic_write

    path = atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))
    print(f"wrote {path} ({out['wall_total_s']:.0f} s)")


if __name__ == "__main__":
    main()
