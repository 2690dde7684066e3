"""Distributed DDA: 1 vs 2 MPI ranks on the stacked grids of benchmarks/dda_vs_ntdda.py.

    python benchmarks/dda_mpi.py [--problems grid10 grid30 grid100] [--steps 50 20 4] [--repeats 3]
                                 [--runs 1:mumps 2:mumps 1:schur 2:schur 1:default 2:default]

Each problem runs every ``--runs`` entry (RANKS:CONFIG; ``mumps``: the rank-0 solve of the
gathered system, ``schur``: the distributed substructuring solve, dda.schur; ``default``: the
default ``linear_solver = "auto"``, i.e. schur from 5,000 free blocks, mumps below), alternating
(the machine's load hits all alike), ``--repeats`` times each, every run in its own process
tree (``dda_vs_ntdda.py --worker``, OMP_NUM_THREADS=1). Per rank count: the median wall time per step (steps 2..N),
its CPU time per step on rank 0 (and per rank), the phase split, peak memory (max RSS) per rank, and per
rank the owned blocks, ghost blocks and contacts of its spatial part (dda.partition). The
speed-ups are median wall(first run) / median wall(run), and per config median wall(1 rank) /
median wall(2 ranks); the load average is recorded before every run (the machine is shared:
read the speed-up against it). Per config, the final centroids and the physics figures of
every 2-rank run are compared with every 1-rank run (largest difference; the design asks for
identical numbers).

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


def _record(rows: list) -> dict:
    """The median run (by wall time per step) of one (ranks, config) and the spread."""
    wall = [r["wall_per_step_s"] for r in rows]
    med = rows[int(np.argsort(wall)[len(wall) // 2])]
    return {
        "blocks": med["blocks"], "contacts": med["contacts"], "wall_per_step_s_median": float(np.median(wall)),
        "wall_per_step_s_all": wall, "cpu_per_step_s_rank0_all": [r["cpu_per_step_s"] for r in rows],
        "cpu_per_step_s_per_rank_median": med["cpu_per_step_s_per_rank"],
        "solves_per_step": med["solves_per_step"], "phase_wall_per_step_s": med["phase_wall_per_step_s"],
        "max_rss_mb_per_rank": med["max_rss_mb_per_rank"], "partition_per_rank_owned_ghost_contacts":
        med.get("partition_per_rank"), "loadavg_1min_before_runs": [r["loadavg_1min_before"] for r in rows],
    }


def _compare(a_runs: list, b_runs: list) -> dict:
    """Every run of b against every run of a: final centroids and the physics figures."""
    ca = [np.array(r["centroid_final"]) for r in a_runs]
    cb = [np.array(r["centroid_final"]) for r in b_runs]
    moved = max(a_runs[0]["max_displacement_m"], 1e-300)
    rec = {"max_displacement_m": moved, "max_centroid_difference_m": max(float(np.abs(x - y).max()) for x in ca for y in cb)}
    rec["max_centroid_difference_over_max_displacement"] = rec["max_centroid_difference_m"] / moved
    rec["final_centroids_bitwise_identical"] = all(np.array_equal(x, y) for x in ca for y in cb)
    figs = ("solves_per_step", "contacts", "top_centre_settlement_m", "top_left_lateral_m", "top_row_max_lateral_m")
    rec["max_figure_difference"] = {k: max(abs(x[k] - y[k]) for x in a_runs for y in b_runs) for k in figs if k in a_runs[0]}
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["grid10", "grid30", "grid100"])
    ap.add_argument("--steps", type=int, nargs="+", default=[50, 20, 4], help="steps per problem")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", nargs="+", default=["1:mumps", "2:mumps", "1:schur", "2:schur"],
                    help="RANKS:CONFIG runs per problem (configs of dda_vs_ntdda.CONFIGS; schur = dda.linear_solver "
                         "'schur'), alternated in this order; the first is the reference of the speed-ups")
    ap.add_argument("--out", default=str(HERE / "out" / "dda_mpi.json"))
    a = ap.parse_args()
    t0 = time.perf_counter()
    runs_spec = [(int(r.split(":")[0]), r.split(":")[1]) for r in a.runs]
    out: dict = {"benchmark": "dda_mpi", "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                 "runs": a.runs, "problems": {}}
    for prob, steps in zip(a.problems, a.steps):
        runs: dict = {spec: [] for spec in runs_spec}
        for _ in range(a.repeats):
            for ranks, config in runs_spec:
                load = os.getloadavg()[0]
                r = launch(prob, steps, config, ranks=ranks)
                r["loadavg_1min_before"] = load
                runs[(ranks, config)].append(r)
                print(f"{prob} {config} {ranks} rank(s): {r['wall_per_step_s']:.3g} s/step wall, {r['cpu_per_step_s']:.3g} cpu, "
                      f"load {load:.1f}, rss/rank {[round(x) for x in r['max_rss_mb_per_rank']]} MB", flush=True)
        rec: dict = {"steps": steps, "repeats": a.repeats}
        for (ranks, config), rows in runs.items():
            rec[f"{config}_ranks_{ranks}"] = _record(rows)
        ref = f"{runs_spec[0][1]}_ranks_{runs_spec[0][0]}"
        rec["speedup_wall_over_" + ref] = {k: rec[ref]["wall_per_step_s_median"] / v["wall_per_step_s_median"]
                                           for k, v in rec.items() if isinstance(v, dict) and "wall_per_step_s_median" in v}
        # the same config on 1 and on 2 ranks: identical numbers? speed-up
        for config in dict.fromkeys(c for _, c in runs_spec):
            if (1, config) in runs and (2, config) in runs:
                cmp = _compare(runs[(1, config)], runs[(2, config)])
                cmp["speedup_wall_2_over_1"] = (rec[f"{config}_ranks_1"]["wall_per_step_s_median"]
                                                / rec[f"{config}_ranks_2"]["wall_per_step_s_median"])
                rec[f"{config}_2_ranks_vs_1"] = cmp
                print(f"{prob} {config}: speed-up 2 ranks / 1 rank {cmp['speedup_wall_2_over_1']:.2f} (median of {a.repeats}, "
                      f"wall), centroid difference {cmp['max_centroid_difference_m']:.2e} m", flush=True)
        print(f"{prob}: speed-up over {ref}: " + ", ".join(f"{k} {v:.2f}" for k, v in rec["speedup_wall_over_" + ref].items()),
              flush=True)
        out["problems"][prob] = rec
    out["loadavg_after"] = os.getloadavg()
    out["wall_total_s"] = time.perf_counter() - t0
    sys.path.insert(0, str(ROOT))
    from learned.files import atomic_write

    path = atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))
    print(f"wrote {path} ({out['wall_total_s']:.0f} s)")


if __name__ == "__main__":
    main()
