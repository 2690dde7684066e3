"""DDA on 1 vs 2 MPI ranks, per problem size: wall time per step, CPU per rank, identical numbers.

    python benchmarks/dda_ranks.py [--problems dda_incline vajont vajont_10block grid10 grid30 grid71]
                                   [--repeats 3] [--out benchmarks/out/dda_ranks.json]
    python benchmarks/dda_ranks.py --table benchmarks/out/dda_ranks_session11.json

Problems: the shipped cases ``dda_incline`` (cases/dda_incline.toml, 2 blocks), ``vajont``
(cases/vajont.toml, 2 blocks: its first 10.3 s, the 200 static settling steps and 60 event
steps) and ``vajont_10block`` (cases/vajont_10block.toml, 11 blocks: 0.5 s of settling and
0.5 s of the event), and the stacked grids ``gridN`` of benchmarks/dda_vs_ntdda.py (N × N blocks on
a base; grid71: 5,042 blocks, at the size from which "auto" takes the distributed "schur" solve).
``vajont_cli`` and ``vajont_10block_cli``: the same Vajont excerpts through the command line
(``python -m coupling run``, no field files or plots), whose slip-band monitor reads the whole
state after every step (on 2 ranks below the threshold: rank 0 sends it every step); their time
per step is the solve's wall time over its steps (summary.json), their comparison the summary's
results (``max_centroid_difference_vs_1_rank_m`` is then 0 when every result is equal, else inf).

Runs per problem, alternated (the machine's load hits all alike), ``--repeats`` times each,
every run in its own process tree (OMP_NUM_THREADS=1):

* ``1``: one rank, default settings;
* ``2``: two ranks, default settings (below ``dda.Settings.distribute_min_free_blocks`` rank 0
  computes and sends each accepted state to rank 1; from it on the blocks are distributed);
* ``2_distributed``: two ranks with ``distribute_min_free_blocks = 0`` (the blocks distributed
  at any size: the evidence for the threshold), left out where it is the default run.

Recorded per run: wall time per step (steps 2..N, mean), CPU time per step per rank, max RSS per
rank, solves per step, whether the run was distributed, the 1-minute load average before the
run, and the final centroids. Per problem: the medians, the speed-ups median wall(1) / median
wall(2) and median wall(1) / median wall(2_distributed), the same for rank 0's CPU time per
step (``rank0_cpu_speedup_*``: less sensitive to the machine's other load), and the largest centroid difference
of every 2-rank run against every 1-rank run (``bitwise_identical``). ``threshold``: per grid,
whether the distributed run beat the default 2-rank run, and the smallest free-block count at
which it did (the measurement behind dda.partition.DISTRIBUTE_MIN_FREE_BLOCKS).
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
CASES = {"dda_incline": ("dda_incline.toml", {"dda.duration": 0.4}),
         "vajont": ("vajont.toml", {"dda.duration": 10.3}),
         "vajont_10block": ("vajont_10block.toml", {"dda.settle_time": 0.5, "dda.duration": 1.0})}
#: steps of each grid run (the grids' step costs grow about as n^1.2: a few minutes in all)
GRID_STEPS = {10: 30, 30: 8, 50: 5, 70: 4, 71: 4, 100: 3}


def _simulation(problem: str, distribute: int | None):
    """(Simulation, number of steps or None: run to the duration) of ``problem``."""
    import dda

    extra = {} if distribute is None else {"distribute_min_free_blocks": distribute}
    if problem in CASES:
        import coupling
        from coupling.runners.dda_model import build_system

        name, sets = CASES[problem]
        case = coupling.load_case(ROOT / "cases" / name, sets)
        spec = case.spec
        built = build_system(case)
        return dda.Simulation(built.system, dda.Settings(**{**spec.dda.model_dump(), **extra},
                                                         gravity=tuple(spec.gravity))), None
    sys.path.insert(0, str(HERE))
    from dda_vs_ntdda import build

    system, kw, _ = build(problem)
    n = GRID_STEPS[int(problem[4:])]
    return dda.Simulation(system, dda.Settings(duration=n * kw["dt"], **kw, **extra)), n


def worker(problem: str, distribute: int | None) -> None:
    """Run ``problem`` on this MPI world; rank 0 prints one JSON line."""
    from mpi4py import MPI

    sys.path.insert(0, str(ROOT))
    comm = MPI.COMM_WORLD
    sim, _ = _simulation(problem, distribute)
    wall, cpu = [], []
    comm.Barrier()
    while sim.state.time < sim.settings.duration * (1 - 1e-12):
        t0, c0 = time.perf_counter(), time.process_time()
        sim.step()
        wall.append(time.perf_counter() - t0), cpu.append(time.process_time() - c0)
    res = sim.global_state()
    from dda.geometry import Polygons

    centroid = Polygons(res.xy, sim.voff).props().centroid
    import resource

    per = slice(1, None) if len(wall) > 1 else slice(None)
    cpu_rank = comm.allgather(float(np.mean(cpu[per])))
    rss = comm.allgather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    if comm.rank == 0:
        print(json.dumps({
            "problem": problem, "ranks": comm.size, "blocks": int(sim.nb), "free_blocks": int(np.sum(sim.free)),
            "steps": len(wall), "distributed": bool(sim.distributed), "linear_solver": sim.linear_solver,
            "wall_per_step_s": float(np.mean(wall[per])), "cpu_per_step_s_per_rank": cpu_rank,
            "max_rss_mb_per_rank": rss, "solves_per_step": sim.stats["solves"] / max(len(wall), 1),
            "contacts_max": int(sim.stats["n_contacts_max"]), "centroid_final": centroid.tolist(),
        }), flush=True)


def _cli(problem: str, ranks: int, distribute: int | None) -> dict:
    """A Vajont excerpt through ``python -m coupling run`` (see the module docstring)."""
    import tempfile

    from coupling.runner import computed_results

    name, sets = CASES[problem[: -len("_cli")]]
    sets = {**sets, "output.fields": "false", "output.plots": "false"}
    if distribute is not None:
        sets["dda.distribute_min_free_blocks"] = distribute
    with tempfile.TemporaryDirectory() as tmp:
        mpi_launch.run(["-m", "coupling", "run", ROOT / "cases" / name, "-o", Path(tmp) / "run", "-q",
                        *(a for k, v in sets.items() for a in ("--set", f"{k}={v}"))], ranks)
        summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
    sol, results = summary["solver"], computed_results(summary)
    return {"problem": problem, "ranks": ranks, "blocks": results["blocks"],
            "free_blocks": results["blocks"] - 1, "steps": sol["steps"],
            "distributed": bool(sol.get("mpi_distributed", False)), "linear_solver": sol["settings"]["linear_solver"],
            "wall_per_step_s": sol["wall_time_s"] / max(sol["steps"], 1), "cpu_per_step_s_per_rank": [],
            "max_rss_mb_per_rank": [], "solves_per_step": sol["solves"] / max(sol["steps"], 1),
            "contacts_max": sol["n_contacts_max"], "results": results}


def launch(problem: str, ranks: int, distribute: int | None) -> dict:
    if problem.endswith("_cli"):
        return _cli(problem, ranks, distribute)
    args = [Path(__file__).resolve(), "--worker", problem]
    if distribute is not None:
        args += ["--distribute", str(distribute)]
    return mpi_launch.run_json(args, ranks)


RUNS = {"1": (1, None), "2": (2, None), "2_distributed": (2, 0)}


def measure(problem: str, repeats: int) -> dict:
    runs: dict[str, list] = {k: [] for k in RUNS}
    for _ in range(repeats):
        for name, (ranks, distribute) in RUNS.items():
            if name == "2_distributed" and runs["2"] and runs["2"][-1]["distributed"]:
                continue  # the default 2-rank run is already distributed at this size
            load = os.getloadavg()[0]
            r = launch(problem, ranks, distribute)
            r["loadavg_1min_before"] = load
            runs[name].append(r)
            print(f"{problem} {name}: {r['wall_per_step_s']:.4g} s/step wall, cpu/rank "
                  f"{[round(c, 5) for c in r['cpu_per_step_s_per_rank']]}, distributed {r['distributed']}, "
                  f"load {load:.1f}", flush=True)
    first = runs["1"][0]
    rec: dict = {"blocks": first["blocks"], "free_blocks": first["free_blocks"], "steps": first["steps"],
                 "contacts_max": first["contacts_max"], "linear_solver": first["linear_solver"], "repeats": repeats}
    for name, rows in runs.items():
        if not rows:
            continue
        wall = [r["wall_per_step_s"] for r in rows]
        if "results" in first:  # command-line runs: the summaries' results
            cmp = [0.0 if r["results"] == q["results"] else float("inf") for r in rows for q in runs["1"]]
        else:
            cmp = [float(np.abs(np.array(r["centroid_final"]) - np.array(q["centroid_final"])).max())
                   for r in rows for q in runs["1"]]
        rec[name] = {
            "distributed": rows[0]["distributed"], "wall_per_step_s_median": float(np.median(wall)), "wall_per_step_s_all": wall,
            "cpu_per_step_s_per_rank_all": [r["cpu_per_step_s_per_rank"] for r in rows],
            "max_rss_mb_per_rank": rows[0]["max_rss_mb_per_rank"], "solves_per_step": rows[0]["solves_per_step"],
            "loadavg_1min_before_runs": [r["loadavg_1min_before"] for r in rows],
            "max_centroid_difference_vs_1_rank_m": max(cmp), "bitwise_identical_to_1_rank": max(cmp) == 0.0,
        }
    w1 = rec["1"]["wall_per_step_s_median"]
    rec["speedup_2_over_1"] = w1 / rec["2"]["wall_per_step_s_median"]
    if "2_distributed" in rec:
        rec["speedup_2_distributed_over_1"] = w1 / rec["2_distributed"]["wall_per_step_s_median"]
    # CPU time per step on rank 0 (less sensitive than wall time to the other load on the machine)
    for name in ("2", "2_distributed"):
        if name in rec and rec["1"]["cpu_per_step_s_per_rank_all"][0]:
            c1 = float(np.median([c[0] for c in rec["1"]["cpu_per_step_s_per_rank_all"]]))
            rec[f"rank0_cpu_speedup_{name}_over_1"] = c1 / float(np.median([c[0] for c in rec[name]["cpu_per_step_s_per_rank_all"]]))
    print(f"{problem}: 2 ranks / 1 rank {rec['speedup_2_over_1']:.2f}"
          + (f", distributed {rec['speedup_2_distributed_over_1']:.2f}" if "2_distributed" in rec else ""), flush=True)
    return rec


def threshold(problems: dict) -> dict:
    """Per grid: did the distributed 2-rank run beat the default one (or, where the default is
    distributed, the 1-rank run)? The smallest free-block count at which it did."""
    rows = []
    for name, rec in sorted(problems.items(), key=lambda kv: kv[1]["free_blocks"]):
        if not name.startswith("grid"):
            continue
        if "2_distributed" in rec:
            ratio = rec["2"]["wall_per_step_s_median"] / rec["2_distributed"]["wall_per_step_s_median"]
        else:  # the default is distributed here: against 1 rank
            ratio = rec["speedup_2_over_1"]
        rows.append({"problem": name, "free_blocks": rec["free_blocks"], "distributed_speedup": ratio,
                     "distributed_faster": ratio > 1.0})
    faster = [r["free_blocks"] for r in rows if r["distributed_faster"]]
    return {"per_grid": rows, "smallest_free_blocks_where_distributed_is_faster": min(faster) if faster else None}


def table(path: str) -> str:
    """The README's table of a dda_ranks JSON: per problem, blocks, s/step on 1 and 2 ranks, the
    2/1 speed-ups (wall, rank-0 CPU), the distributed run's wall speed-up, identical numbers."""
    import json

    d = json.loads(Path(path).read_text())
    lines = ["| problem | blocks | 2 ranks run | 1 rank s/step | 2 ranks s/step | 2/1 wall | 2/1 rank-0 CPU | distributed 2/1 wall | 1 = 2 ranks |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in d["problems"].items():
        cpu = r.get("rank0_cpu_speedup_2_over_1")
        dist = r.get("speedup_2_distributed_over_1")
        lines.append(
            f"| {name} | {r['blocks']:,} | {'distributed' if r['2']['distributed'] else 'rank 0 computes'} | "
            f"{r['1']['wall_per_step_s_median']:.3g} | {r['2']['wall_per_step_s_median']:.3g} | {r['speedup_2_over_1']:.2f} | "
            f"{'–' if cpu is None else f'{cpu:.2f}'} | {'–' if dist is None else f'{dist:.2f}'} | "
            f"{'bitwise' if r['2']['bitwise_identical_to_1_rank'] and r.get('2_distributed', r['2'])['bitwise_identical_to_1_rank'] else 'DIFFER'} |")
    loads = [x for r in d["problems"].values() for k in ("1", "2", "2_distributed") if k in r for x in r[k]["loadavg_1min_before_runs"]]
    lines.append(f"\nLoad (1-min average) before the runs: {min(loads):.1f}–{max(loads):.1f} on the 2 cores.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--distribute", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--problems", nargs="+", default=["dda_incline", "vajont", "vajont_10block", "grid10", "grid30", "grid71"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out" / "dda_ranks.json"))
    ap.add_argument("--merge", action="store_true", help="add the problems to an existing --out file (a long study in parts)")
    ap.add_argument("--table", default=None, metavar="JSON", help="print the README's table of a written JSON and stop")
    a = ap.parse_args()
    if a.table:
        print(table(a.table))
        return
    if a.worker:
        worker(a.worker, a.distribute)
        return
    out: dict = {"benchmark": "dda_ranks", "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                 "command": " ".join(sys.argv), "problems": {}}
    if a.merge and Path(a.out).is_file():
        out = json.loads(Path(a.out).read_text())
        out.setdefault("commands", [out.pop("command", "")]).append(" ".join(sys.argv))
    t0 = time.perf_counter()
    for prob in a.problems:
        out["problems"][prob] = measure(prob, a.repeats)
        out["threshold"] = threshold(out["problems"])
        out["loadavg_after"] = os.getloadavg()
        sys.path.insert(0, str(ROOT))
        from learned.files import atomic_write

        atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))  # after every problem
    print(f"wrote {a.out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
