"""DDA scaling benchmark: a jointed slope cut into ~100, ~1,000, ~10,000 (and ~100,000) blocks.

    python benchmarks/dda_scaling.py [--quick] [--sizes 3.0 0.95 0.3] [--steps 10 10 5] [--dt-rule both]
    python benchmarks/dda_scaling.py --large --dt-rule block --ranks 1 --out benchmarks/out/dda_scaling_session12.json
    python benchmarks/dda_scaling.py --table JSON     # the README table from a run

``--large`` adds the 10⁵-block slope (spacing 0.088 m: 97,685 blocks, 3 measured steps) to the
series: ``--sizes 3.0 0.95 0.3 0.088 --steps 10 10 5 3``. On the 2-core, 24 GB machine of
session 12 (benchmarks/out/dda_scaling_session12.json, the command above with ``--ranks 1 2``)
one rank takes 6.2 s of setup, 70 s for the settling step (4 solves), 37.8 s per measured step
(2.3 solves of 16 s; 86 % of the step is MUMPS's factorisation of the two ``schur`` parts) and
7.7 GB peak; two ranks 21.2 s per step (1.78×) and 4.0 / 4.5 GB per rank; the whole series on
1 and 2 ranks ran in 351 s. The default series stays at ≤ 10⁴ blocks. The all-pairs broad
phase is timed up to ``BRUTE_MAX_BLOCKS`` only (its nb² memory).

Model: a 60 m × 20 m slope (face 40°) on a fixed base, cut by two joint sets through
``dda.cut_blocks`` (bedding dipping 30° out of the slope, φ = 25°; cross joints dipping
−70°, φ = 35°); the joint spacing sets the block count. w0 = 32 m and
g2 = 0.04·spacing/w0, so the contact search distance d0 = 2.5 g2 w0 = 0.1 × spacing at
every size.

Two time-step rules, each its own series:

* ``block`` (the scaling result): Δt = T_c / 4 with T_c = 2π √(ρ s² / p_n), the period of a
  block of size s on one contact spring. Every size then runs the same dimensionless step
  (Δt = 0.96 ms at s = 3 m, 0.096 ms at s = 0.3 m), as a mesh refinement would: the cost per
  step measures the algorithm, not a step that spans more contact periods at smaller blocks.
* ``fixed``: Δt = 1 ms at every size. At s = 0.3 m one step spans 2.6 contact periods, so
  more contacts change state within a step and the open–close iteration needs more passes;
  the series shows that growth.

Every measurement runs in its own process (``mpiexec -n R python
dda_scaling.py --worker``): setup (cutting, system), one settling step (all joints start
touching), then the measured steps. Reported per size and rank count: time per step,
contacts per step, open–close iterations and solves per step, non-converged steps, and the
split of a step into phases (contact detection, block and contact assembly, PETSc assembly,
factorise, solve, gather, open–close bookkeeping, update; ``linear_solve`` = factorise + solve). The broad phase (spatial grid)
is timed against the brute-force all-pairs search on the same block boxes. Fits:
exponent p of time-per-step ∝ n^p and t / (n log n) across sizes.

Writes benchmarks/out/dda_scaling.json. Ratios measured in one run are the result
(design.md §7).
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
W0 = 32.0
DENSITY = 2500.0  # kg/m³
YOUNG, POISSON = 1e9, 0.25
DT_FIXED = 1e-3  # s
#: joint spacing [m] of the ~10⁵-block slope (``--large``)
LARGE_SPACING = 0.088
#: the all-pairs broad phase (the baseline of the hash grid) is timed up to this many blocks:
#: it holds ~4 nb² bytes (1.6 GB at 2·10⁴ blocks, 40 GB at 10⁵)
BRUTE_MAX_BLOCKS = 20_000


def contact_period_dt(spacing: float) -> float:
    """Δt = T_c/4, T_c = 2π √(m/p_n): a block of mass m = ρ s² [kg/m] on one contact spring
    p_n = penalty_factor · C11 [N/m] (the Settings defaults)."""
    import dda

    c11 = YOUNG * (1 - POISSON) / ((1 + POISSON) * (1 - 2 * POISSON))
    pn = dda.Settings().penalty_factor * c11
    return float(0.25 * 2 * np.pi * np.sqrt(DENSITY * spacing**2 / pn))


def build(spacing: float):
    import dda
    import learned

    face = 10.0 + 20.0 / np.tan(np.radians(40.0))
    domain = np.array([[10, 0], [60, 0], [60, 20], [face, 20]], float)  # slope toe at x = 10 m
    base = dda.cut_blocks(np.array([[-2, -3], [62, -3], [62, 0], [-2, 0]], float))
    mass = dda.cut_blocks(
        domain,
        joint_sets=[dda.JointSet(dip=30.0, spacing=spacing, tag=1), dda.JointSet(dip=-70.0, spacing=spacing, tag=2)],
        min_area=0.02 * spacing**2,
    )
    s = dda.system_from_cuts([base, mass], fixed=[True, False])
    s.add_material(0, learned.LinearElastic(YOUNG, POISSON), DENSITY)
    s.set_joint_law(learned.CoulombFriction(35.0))
    s.set_joint_law(learned.CoulombFriction(25.0), tag=1)
    return s


def _best(f, repeat: int = 3) -> float:
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


def worker(spacing: float, nsteps: int, dt: float) -> None:
    sys.path.insert(0, str(ROOT))
    from mpi4py import MPI

    import dda
    from dda.contact_detect import broad_phase_brute, broad_phase_grid

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    s = build(spacing)
    setup = time.perf_counter() - t0
    rss_setup = _max_rss_mb()
    settings = dda.Settings(duration=1e3 * dt, dt=dt, length_scale=W0, max_displacement_ratio=0.04 * spacing / W0)
    t0 = time.perf_counter()
    sim = dda.Simulation(s, settings, comm=comm)
    sim_init = time.perf_counter() - t0
    # phase timers around the parts of a step
    phase = {"detect": 0.0}
    detect0 = sim.detect_contacts

    def detect(polys):
        t = time.perf_counter()
        c = detect0(polys)
        phase["detect"] += time.perf_counter() - t
        return c

    sim.detect_contacts = detect
    t0 = time.perf_counter()
    sim.step()  # settling step: every joint starts touching
    first = time.perf_counter() - t0
    # a replicated run (below distribute_min_free_blocks on 2 ranks): the other ranks' stats
    # follow rank 0's with the state (collective), read below on every rank
    replicated = comm.size > 1 and not sim.distributed
    if replicated:
        sim.global_state()
    st0 = dict(sim.stats)
    tm0 = dict(sim.solver.timings)
    ph0 = dict(sim.phase_times)
    phase["detect"] = 0.0
    contacts = []
    comm.barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(nsteps):
        contacts.append(sim.step().n_contacts)  # over all ranks
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    cpu = comm.allreduce(time.process_time() - c0, op=MPI.MAX)
    if replicated:
        sim.global_state()
    st = sim.stats
    steps = st["steps"] - st0["steps"]
    d = {k: st[k] - st0[k] for k in ("solves", "oc_iterations_total", "n_nonconverged_steps", "n_retries", "n_oc_retries")}
    tm = {k: comm.allreduce(sim.solver.timings[k] - tm0[k], op=MPI.MAX) for k in tm0}
    ph = {k: comm.allreduce(sim.phase_times[k] - ph0[k], op=MPI.MAX) for k in ph0}
    row = {
        "ranks": comm.size, "spacing_m": spacing, "dt_s": dt, "blocks": s.nb, "free_blocks": int((~s.fixed).sum()),
        "setup_s": setup, "simulation_init_s": sim_init, "first_step_s": first, "steps": steps, "wall_s": wall, "time_per_step_s": wall / steps,
        "cpu_per_step_s": cpu / steps,  # process CPU time (the fairer figure on a loaded machine)
        "contacts_per_step": float(np.mean(contacts)), "oc_iterations_per_step": d["oc_iterations_total"] / steps,
        "solves_per_step": d["solves"] / steps, "nonconverged_steps": d["n_nonconverged_steps"],
        "retries": d["n_retries"], "time_per_solve_s": wall / max(d["solves"], 1),
        # linear_solve = factorise + solve (the fit's series); the others: the phases
        "phase_per_step_s": {"linear_solve": (tm["factorise"] + tm["solve"]) / steps,
                             "factorise": tm["factorise"] / steps, "solve": tm["solve"] / steps,
                             "petsc_assembly": tm["assemble"] / steps, "gather": tm["gather"] / steps,
                             "contact_detection": phase["detect"] / steps,
                             "block_assembly": ph["block_assembly"] / steps, "contact_assembly": ph["contact_assembly"] / steps,
                             "open_close_bookkeeping": ph["open_close"] / steps, "update": ph["update"] / steps,
                             "ghost_exchange": ph["ghost_exchange"] / steps},
        "first_step": {"solves": st0["solves"], "nonconverged": st0["n_nonconverged_steps"]},
        # per rank: (owned blocks, ghost blocks, contacts) of its spatial part, peak memory [MB]
        "partition_per_rank": comm.allgather((int(sim.part.own_idx.size), int(sim.part.n_ghost),
                                              int(sim.state.contacts.size))),
        "max_rss_mb_per_rank": comm.allgather(_max_rss_mb()),
        "max_rss_mb_after_setup_per_rank": comm.allgather(rss_setup),
    }
    if comm.size == 1:
        bb = sim.polygons().bbox()
        pad = sim.d0
        tg = _best(lambda: broad_phase_grid(bb, pad))
        # the all-pairs search holds ~4 nb² bytes: above BRUTE_MAX_BLOCKS it is not run (null)
        tb = _best(lambda: broad_phase_brute(bb, pad), repeat=1) if s.nb <= BRUTE_MAX_BLOCKS else None
        row["broad_phase"] = {"grid_s": tg, "brute_s": tb, "brute_over_grid": tb / tg if tb is not None else None,
                              "pairs": int(len(broad_phase_grid(bb, pad)))}
    if comm.rank == 0:
        print(json.dumps(row), flush=True)


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def launch(ranks: int, spacing: float, nsteps: int, dt: float) -> dict:
    return mpi_launch.run_json([__file__, "--worker", "--spacing", str(spacing), "--nsteps", str(nsteps), "--dt", repr(dt)], ranks)


def fit(rows: list[dict]) -> dict:
    n = np.array([r["blocks"] for r in rows], float)
    t = np.array([r["time_per_step_s"] for r in rows])
    ts = np.array([r["phase_per_step_s"]["linear_solve"] for r in rows])
    per_solve = np.array([r["time_per_solve_s"] for r in rows])
    out = {
        "exponent_time_per_step": float(np.polyfit(np.log(n), np.log(t), 1)[0]),
        "exponent_time_per_solve": float(np.polyfit(np.log(n), np.log(per_solve), 1)[0]),
        "exponent_linear_solve_per_step": float(np.polyfit(np.log(n), np.log(ts), 1)[0]),
        "exponent_rest_per_step": float(np.polyfit(np.log(n), np.log(np.maximum(t - ts, 1e-12)), 1)[0]),
        "t_over_nlogn": [float(x) for x in t / (n * np.log(n))],
    }
    cpu = np.array([r.get("cpu_per_step_s", np.nan) for r in rows])
    if np.all(np.isfinite(cpu)):
        out["exponent_cpu_per_step"] = float(np.polyfit(np.log(n), np.log(cpu), 1)[0])
        out["cpu_over_nlogn"] = [float(x) for x in cpu / (n * np.log(n))]
        out["cpu_over_nlogn_ratio_last_first"] = out["cpu_over_nlogn"][-1] / out["cpu_over_nlogn"][0]
    out["t_over_nlogn_ratio_last_first"] = out["t_over_nlogn"][-1] / out["t_over_nlogn"][0]
    return out


def _line(r: dict) -> str:
    bp = r.get("broad_phase")
    return (
        f"n={r['blocks']:6d} ranks={r['ranks']} dt={r['dt_s']:.3g} s: {r['time_per_step_s']:8.3f} s/step "
        f"({r.get('cpu_per_step_s', float('nan')):.3f} cpu), "
        f"{r['contacts_per_step']:8.0f} contacts, {r['oc_iterations_per_step']:5.2f} OC it/step, "
        f"{r['nonconverged_steps']} non-converged / {r['steps']} steps, solve {r['phase_per_step_s']['linear_solve']:.3f} s/step"
        + (f", broad phase brute/grid {bp['brute_over_grid']:.1f}" if bp and bp["brute_over_grid"] is not None else "")
    )


def series(rule: str, sizes: list[float], steps: list[int], ranks: tuple[int, ...]) -> dict:
    """Run every size under one time-step rule on each rank count; fit the 1-rank runs."""
    runs: dict[int, list[dict]] = {r: [] for r in ranks}
    for sp, ns in zip(sizes, steps):
        dt = contact_period_dt(sp) if rule == "block" else DT_FIXED
        for nr in ranks:
            r = launch(nr, sp, ns, dt)
            runs[nr].append(r)
            print(f"[{rule}] " + _line(r), flush=True)
    out: dict = {"dt_rule": rule, "runs_1_rank": runs[1]}
    if len(sizes) > 1:
        f1 = fit(runs[1])
        out["fit_1_rank"] = f1
        print(
            f"[{rule}] fit (1 rank): time/step ∝ n^{f1['exponent_time_per_step']:.2f} (linear solve "
            f"n^{f1['exponent_linear_solve_per_step']:.2f}, rest n^{f1['exponent_rest_per_step']:.2f}); "
            f"t/(n log n) = " + ", ".join(f"{x:.3g}" for x in f1["t_over_nlogn"])
            + f" (last/first {f1['t_over_nlogn_ratio_last_first']:.2f})"
            + (f"; cpu ∝ n^{f1['exponent_cpu_per_step']:.2f}, cpu/(n log n) last/first {f1['cpu_over_nlogn_ratio_last_first']:.2f}"
               if "exponent_cpu_per_step" in f1 else ""),
            flush=True,
        )
    if 2 in runs:
        out["runs_2_ranks"] = runs[2]
        out["two_rank_speedup"] = [
            {"blocks": a1["blocks"], "time_per_step_1_s": a1["time_per_step_s"], "time_per_step_2_s": a2["time_per_step_s"],
             "speedup": a1["time_per_step_s"] / a2["time_per_step_s"]}
            for a1, a2 in zip(runs[1], runs[2])
        ]
        for sp_ in out["two_rank_speedup"]:
            print(f"[{rule}] n={sp_['blocks']:6d}: 2-rank speed-up {sp_['speedup']:.2f}", flush=True)
    return out


def table(path: str) -> str:
    """The README's "DDA cost per step" table and figures from a JSON this script wrote
    (``--table JSON``): per size of the ``block`` series on 1 rank, blocks, contacts, open–close
    iterations and CPU s/step (wall where the run has no CPU time), and CPU/(n ln n) relative
    to the smallest; then the fitted exponents and, for the ``fixed`` series, its iterations."""
    d = json.loads(Path(path).read_text())
    b = d["dt_block"]
    rows, f = b["runs_1_rank"], b.get("fit_1_rank", {})
    key = "cpu_per_step_s" if all("cpu_per_step_s" in r for r in rows) else "time_per_step_s"
    rel = f.get("cpu_over_nlogn" if key == "cpu_per_step_s" else "t_over_nlogn")
    lines = [f"| blocks | contacts | open–close it/step | {'CPU ' if key == 'cpu_per_step_s' else ''}s/step "
             "| t / (n ln n), relative |", "|---:|---:|---:|---:|---:|"]
    for k, r in enumerate(rows):
        lines.append(f"| {r['blocks']:,} | {r['contacts_per_step']:,.0f} | {r['oc_iterations_per_step']:.1f} | "
                     f"{r[key]:.3g} | " + (f"{rel[k] / rel[0]:.2f}" if rel else "–") + " |")
    if f:
        lines.append("")
        lines.append(f"time per step ∝ n^{f.get('exponent_cpu_per_step', f['exponent_time_per_step']):.2f} "
                     f"({'CPU' if 'exponent_cpu_per_step' in f else 'wall'}); wall n^{f['exponent_time_per_step']:.2f}, "
                     f"linear solve n^{f['exponent_linear_solve_per_step']:.2f}, the rest n^{f['exponent_rest_per_step']:.2f}")
    fx = d.get("dt_fixed")
    if fx and fx.get("fit_1_rank"):
        ff, fr = fx["fit_1_rank"], fx["runs_1_rank"]
        lines.append(f"fixed Δt = {fr[0]['dt_s'] * 1e3:g} ms: open–close it/step "
                     + " / ".join(f"{r['oc_iterations_per_step']:.1f}" for r in fr)
                     + f" at {' / '.join(format(r['blocks'], ',') for r in fr)} blocks; "
                     f"time per step ∝ n^{ff.get('exponent_cpu_per_step', ff['exponent_time_per_step']):.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--table", default=None, metavar="JSON", help="print the README table of JSON and exit")
    ap.add_argument("--spacing", type=float, default=3.0)
    ap.add_argument("--nsteps", type=int, default=10)
    ap.add_argument("--dt", type=float, default=DT_FIXED)
    ap.add_argument("--quick", action="store_true", help="~100 and ~1,000 blocks only")
    ap.add_argument("--large", action="store_true", help="add ~100,000 blocks (spacing 0.088 m, 3 steps)")
    ap.add_argument("--sizes", type=float, nargs="+", default=None, help="joint spacings [m]")
    ap.add_argument("--steps", type=int, nargs="+", default=None, help="measured steps per size")
    ap.add_argument("--dt-rule", choices=("block", "fixed", "both"), default="both",
                    help="block: Δt = T_c/4 per size (1 and 2 ranks); fixed: Δt = 1 ms (1 rank)")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], choices=(1, 2),
                    help="rank counts of the block series (the fixed series runs on 1 rank)")
    ap.add_argument("--out", default=str(OUT / "dda_scaling.json"))
    a = ap.parse_args()
    if a.table:
        print(table(a.table))
        return
    if a.worker:
        worker(a.spacing, a.nsteps, a.dt)
        return
    sizes = a.sizes or ([3.0, 0.95] if a.quick else [3.0, 0.95, 0.3] + ([LARGE_SPACING] if a.large else []))
    steps = a.steps or [10, 10, 5, 3][: len(sizes)]
    steps = (steps + [steps[-1]] * len(sizes))[: len(sizes)]
    t_start = time.perf_counter()
    out: dict = {
        "benchmark": "dda_scaling",
        "model": "jointed slope 60 m x 20 m, face 40 deg, two joint sets (30 deg, -70 deg), fixed base",
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
    }
    if a.dt_rule in ("block", "both"):
        out["dt_block"] = series("block", sizes, steps, tuple(sorted({1, *a.ranks})))
    if a.dt_rule in ("fixed", "both"):
        out["dt_fixed"] = series("fixed", sizes, steps, (1,))
    out["wall_total_s"] = time.perf_counter() - t_start
    sys.path.insert(0, str(ROOT))
    from learned.files import atomic_write

    path = atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))
    print(f"wrote {path} ({out['wall_total_s']:.0f} s)")


if __name__ == "__main__":
    main()
