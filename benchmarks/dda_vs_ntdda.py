"""Our DDA beside ntdda (Berkeley DDA, C) on the same block systems, run alternately.

    python benchmarks/dda_vs_ntdda.py [--ntdda DIR] [--problems incline grid10 grid30 grid100]
                                      [--repeats 3] [--steps-grid 50] [--physics-steps 200]
    python benchmarks/dda_vs_ntdda.py --table JSON [JSON_BEFORE]   # the README's tables from a run

Problems (the systems of ``../shared/peers/ntdda/gen_inputs.py``; SI units):

* ``incline``: a 1 m × 0.5 m block on a fixed 30° incline, φ = 20°, Δt = 2 ms, g2 = 0.002,
  500 steps (1 s). Physics: travel after 1 s against d = ½ g (sin θ − cos θ tan φ) t².
* ``gridN``: N × N blocks of 1 m × 1 m resting on a fixed base (−1 … N+1) × (−1 … 0),
  φ = 30°, Δt = 1 ms, w0 = (N+2)/2, g2 = 0.04/w0 (search distance d0 = 0.1 m).
  Physics (``--physics-steps`` steps of the largest grid ≤ 30): settlement of the top-centre
  block and lateral drift of the top-left block (ntdda's two measured points). The stack rings
  with a period of about 60 ms, so the settlement is also compared as the mean of
  ``--physics-samples`` instants ``--physics-spacing`` steps apart (default 3 × 20 ms, a third
  of the period: the ring's fundamental cancels in the mean), ntdda run to each instant.

Material everywhere: E = 10 GPa, ν = 0.25, ρ = 2500 kg/m³, plane strain; normal penalty
p_n = 5·10¹¹ N/m set explicitly (ntdda's 50·E); fixed Δt (ours may still cut Δt).

Timing: each measurement runs in its own process (``--worker``) with OMP_NUM_THREADS=1;
ntdda and ours alternate, ``--repeats`` times; the median per step over steps 2..N is
reported as wall time and as process CPU time (the CPU time is the fairer figure on a
loaded machine; ntdda logs both per step). solves/step: ntdda's open–close iterations
(one linear solve each); ours: linear solves per accepted step. Our per-step time is also
split into phases (wall time, steps 2..N, from ``Simulation.phase_times`` and the solver's
timings): contact detection, block assembly, contact assembly, PETSc assembly, factorise
(LU), solve (substitution), gather, open–close bookkeeping, update, history, other.

ntdda is found through ``--ntdda DIR`` or the environment variable ``NTDDA_DIR``: the work
folder of ``../shared/peers/ntdda/build.sh`` (it holds ``ddarun``); its inputs are written
by that folder's ``gen_inputs.py`` (``--peer``, default ``../shared/peers/ntdda``). Without
ntdda only our figures are written. ``--ntdda-label`` (its commit, any patch) is recorded in the JSON.

ntdda above ~2,000 blocks (found in session 13 with AddressSanitizer): the column-index array
of its sparse LDLᵀ storage, ``kk`` (``src/utils.c`` ``allocateAnalysisArrays``: ``calloc`` of
``FORTY*nBlocks+1`` ints, ``FORTY`` = 40 in ``include/analysis.h``; the temporaries ``k2``/``k3``
in ``src/sparsestorage.c`` and ``src/contact.c`` have the same size), is written past its end by
the minimum-degree ordering's fill-in (``src/sparsestorage.c`` ``findMinimumConnections``,
lines 627 and 666 of commit 4668673: rows are reserved 20 slots at a time and grow with the
produced connections). Reserved slots per block at the end of the ordering: 24 / 38 / 45.6 /
50.2 / 60.0 for 101 / 901 / 2,501 / 4,901 / 10,001 blocks, so the 50 × 50 stack already
overflows (its run ends in a segfault after the last step, exit 139) and the 100 × 100 stack
corrupts the heap so that the first step dies in ``df18`` → ``setMatrixToZero``. Fix for a
measurement build (in a copy of ntdda, not in this repository): ``#define FORTY 200`` in
``include/analysis.h`` (a capacity only: those arrays are allocated once per run, the ordering's
logic does not read ``FORTY``), and, for a clean exit, ``malloc(sizeof(long)*(gd->nMPoints+1))``
for ``vertexfp_pos`` in ``src/postprocess.c`` ``writeMeasuredPoints`` (written at ``[k+1]``).
The numerics are unchanged: on the 10 × 10 (50 steps), 30 × 30 (10 steps) and 50 × 50 (5 steps)
stacks the patched build's step logs (contacts, closed contacts, open–close iterations) and
final block vertices equal the unpatched build's byte for byte (the unpatched 50 × 50 run
writes no final state).

Writes benchmarks/out/dda_vs_ntdda.json (ratios measured in one run; design.md §7).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import mpi_launch  # noqa: E402  (benchmarks/mpi_launch.py)
OUT = HERE / "out"
E, NU, RHO, G = 10e9, 0.25, 2500.0, 9.81
PENALTY = 5e11  # N/m = 50 E (ntdda's fixed pfactor·E)
THETA, PHI_INCLINE = 30.0, 20.0
INCLINE_BLOCK = [[2.0, 1.1547005383792517], [2.8660254037844384, 1.6547005383792517],
                 [2.6160254037844384, 2.0877132402714710], [1.75, 1.5877132402714710]]


# ----------------------------------------------------------------------------- our systems
def build(problem: str):
    """(BlockSystem, Settings keyword arguments, measured blocks) of a problem."""
    import dda
    import learned

    if problem == "incline":
        H = 20.0 * np.tan(np.radians(THETA))
        s = dda.BlockSystem([np.array([[0, 0], [20, 0], [20, H]], float), np.array(INCLINE_BLOCK)], fixed=[0])
        s.add_material(0, learned.LinearElastic(E, NU), RHO)
        s.set_joint_law(learned.CoulombFriction(phi=PHI_INCLINE))
        return s, {"dt": 2e-3, "max_displacement_ratio": 0.002, "penalty": PENALTY}, {"block": 1}
    n = int(problem[4:])
    polys = [np.array([[-1, -1], [n + 1, -1], [n + 1, 0], [-1, 0]], float)]
    for j in range(n):
        for i in range(n):
            polys.append(np.array([[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]], float))
    s = dda.BlockSystem(polys, fixed=[0], check_overlap=False)
    s.add_material(0, learned.LinearElastic(E, NU), RHO)
    s.set_joint_law(learned.CoulombFriction(phi=30.0))
    w0 = (n + 2) / 2.0
    top_centre = 1 + (n - 1) * n + ((n - 1) // 2 if n % 2 else n // 2)  # ntdda's measured point 1
    top_left = 1 + (n - 1) * n
    return s, {"dt": 1e-3, "length_scale": w0, "max_displacement_ratio": 0.04 / w0, "penalty": PENALTY}, {
        "top_centre": top_centre, "top_left": top_left, "width": float(n)}


#: our configurations (Settings overrides). Shi's closing band s0 = 2e-4 w0 (ntdda's "Openclose")
#: cuts grid10 to 1.1 solves/step but makes the 30 x 30 stack blow up (penetrations up to s0
#: accepted while open, then pushed out by the closed spring: top 0.93 m up at 0.2 s), so it
#: is not offered here.
#: ``shi_f0``: ntdda's opening band f0 = 2e-7 w0 (its ``opencriteria``; ours defaults to 1e-9 w0):
#: it removes most re-solves of a settling stack but acts as a tensile strength p_n f0 (see
#: dda.openclose), so it is a comparison, not our default.
#: ``default``: linear_solver "auto" (schur from 5,000 free blocks, dda.assembly); ``mumps``: the
#: rank-0 direct solve at every size (the default before the size rule)
CONFIGS = {"default": {}, "mumps": {"linear_solver": "mumps"}, "shi_f0": {"oc_tolerance_ratio": 2e-7},
           # the distributed substructuring solve (dda.schur; benchmarks/dda_mpi.py)
           "schur": {"linear_solver": "schur"}, "schur4": {"linear_solver": "schur", "schur_parts": 4},
           "schur8": {"linear_solver": "schur", "schur_parts": 8}}


def worker(problem: str, nsteps: int, config: str = "default") -> None:
    """Run our DDA for ``nsteps`` steps; print one JSON line (timings, counts, physics)."""
    sys.path.insert(0, str(ROOT))
    import dda

    from mpi4py import MPI

    system, kw, meas = build(problem)
    sim = dda.Simulation(system, dda.Settings(duration=nsteps * kw["dt"], **kw, **CONFIGS[config]))
    phase = {"history": 0.0}

    def timed(name, f):
        def g(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                phase[name] += time.perf_counter() - t
        return g

    sim.result.record = timed("history", sim.result.record)
    c0 = sim.polygons().props().centroid.copy()
    wall, cpu, solves, contacts, dts = [], [], [], [], []

    def snapshot() -> dict:  # every phase timer of the simulation and its linear solver
        return {**sim.phase_times, **{"petsc_" + k: v for k, v in sim.solver.timings.items()}, **phase}

    split: dict = {}
    settle = []  # settlement of the measured top-centre block after each step [m]
    while sim.state.time < sim.settings.duration * (1 - 1e-12):
        ph0, s0 = snapshot(), sim.solver.n_solves
        t0, c0_ = time.perf_counter(), time.process_time()
        info = sim.step()
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append(t1 - t0), cpu.append(c1 - c0_), solves.append(sim.solver.n_solves - s0)
        contacts.append(info.n_contacts), dts.append(info.dt)  # over all ranks
        if problem != "incline" and system.nb <= 1000:  # every block (gathered on several ranks: collective)
            cg = sim.geometry()[1].centroid if MPI.COMM_WORLD.size == 1 else sim.polygons(sim.global_state()).props().centroid
            settle.append(float(c0[meas["top_centre"], 1] - cg[meas["top_centre"], 1]))
        if len(wall) > 1:  # steps 2..N
            for k, v in snapshot().items():
                split[k] = split.get(k, 0.0) + v - ph0.get(k, 0.0)
            split["step"] = split.get("step", 0.0) + t1 - t0
    m = max(len(wall) - 1, 1)
    per = {k: v / m for k, v in split.items()}
    named = {  # the phases of the issue
        "detect": per.get("detect", 0.0), "block_assembly": per.get("block_assembly", 0.0),
        "contact_assembly": per.get("contact_assembly", 0.0), "petsc_assembly": per.get("petsc_assemble", 0.0),
        "factorise": per.get("petsc_factorise", 0.0), "solve": per.get("petsc_solve", 0.0),
        "gather": per.get("petsc_gather", 0.0), "open_close_bookkeeping": per.get("open_close", 0.0),
        "update": per.get("update", 0.0), "history": per.get("history", 0.0),
        "ghost_exchange": per.get("ghost_exchange", 0.0),
    }
    named["other"] = per.get("step", 0.0) - sum(named.values())
    named["total"] = per.get("step", 0.0)
    c = sim.polygons(sim.global_state()).props().centroid  # every block (gathered on several ranks)
    d = c - c0
    row = {
        "problem": problem, "config": config, "settings": CONFIGS[config], "ranks": MPI.COMM_WORLD.size,
        "blocks": system.nb, "steps": len(wall),
        "wall_per_step_s": float(np.mean(wall[1:])) if len(wall) > 1 else float(wall[0]),
        "cpu_per_step_s": float(np.mean(cpu[1:])) if len(cpu) > 1 else float(cpu[0]),
        "solves_per_step": float(np.mean(solves[1:])) if len(solves) > 1 else float(solves[0]),
        "contacts": int(np.median(contacts)), "dt_min_s": float(min(dts)),
        "phase_wall_per_step_s": named,
        "phase_share": {k: v / named["total"] for k, v in named.items() if k != "total"} if named["total"] > 0 else {},
        "stats": {k: v for k, v in sim.stats.items() if isinstance(v, (int, float)) and np.isfinite(v)},
        "time_s": float(sim.state.time),
    }
    if problem == "incline":
        row["travel_m"] = float(np.linalg.norm(d[meas["block"]]))
    else:
        row["top_centre_settlement_m"] = float(-d[meas["top_centre"], 1])
        row["top_centre_settlement_history_m"] = settle
        row["top_left_lateral_m"] = float(d[meas["top_left"], 0])
        top = np.flatnonzero(np.abs(c0[:, 1] - (c0[1:, 1].max())) < 1e-9)
        row["top_row_max_lateral_m"] = float(np.abs(d[top, 0]).max())
        row["stack_width_m"] = meas["width"]
    import resource

    row["cpu_per_step_s_per_rank"] = MPI.COMM_WORLD.allgather(float(np.mean(cpu[1:])) if len(cpu) > 1 else float(cpu[0]))
    row["max_rss_mb_per_rank"] = MPI.COMM_WORLD.allgather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    # per rank: (owned blocks, ghost blocks, contacts) of its spatial part
    row["partition_per_rank"] = MPI.COMM_WORLD.allgather((int(sim.part.own_idx.size), int(sim.part.n_ghost),
                                                          int(sim.state.contacts.size)))
    row["max_displacement_m"] = float(np.abs(d).max())
    row["centroid_final"] = c[1:].tolist()  # for the 1-vs-2-rank difference (stripped from the JSON)
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(row), flush=True)


def launch(problem: str, nsteps: int, config: str = "default", ranks: int = 1, root: Path = ROOT) -> dict:
    """Our worker on ``problem`` in its own process; ``root``: the source tree to run (another
    checkout for ``--before``: its own copy of this script and its packages)."""
    script = Path(__file__) if root == ROOT else root / "benchmarks" / Path(__file__).name
    load = os.getloadavg()
    row = mpi_launch.run_json([script, "--worker", problem, "--nsteps", str(nsteps), "--config", config], ranks, root)
    row["loadavg_before"] = list(load)
    return row


# ----------------------------------------------------------------------------- ntdda
class Ntdda:
    """ntdda's ``ddarun`` driver and the peer's input writer."""

    def __init__(self, work: Path, peer: Path) -> None:
        self.work, self.exe = work, work / "ddarun"
        spec = importlib.util.spec_from_file_location("ntdda_gen_inputs", peer / "gen_inputs.py")
        self.gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.gen)

    def inputs(self, problem: str, nsteps: int, folder: Path) -> None:
        g = self.gen
        if problem == "incline":
            geo, _, _ = g.incline()
            ana = g.ana(nsteps, 2e-3, 0.002, PHI_INCLINE, nsteps)
        else:
            n = int(problem[4:])
            geo, _, _ = g.grid(n)
            w0 = (n + 2) / 2.0
            ana = g.ana(nsteps, 1e-3, 0.04 / w0, 30.0, nsteps)
        (folder / f"{problem}.geo").write_text(geo)
        (folder / f"{problem}.ana").write_text(ana)

    def run(self, problem: str, nsteps: int) -> dict:
        with tempfile.TemporaryDirectory(prefix=f"ntdda-{problem}-") as tmp:
            d = Path(tmp)
            (d / "output").mkdir()
            self.inputs(problem, nsteps, d)
            env = {**os.environ, "OMP_NUM_THREADS": "1", "DDAPERF_STEPLOG": "steps.log", "DDAPERF_FINAL": "final.txt"}
            load = os.getloadavg()
            p = subprocess.run([str(self.exe), f"{problem}.geo", f"{problem}.ana", problem], cwd=d, env=env,
                               capture_output=True, text=True)
            log = np.loadtxt(d / "steps.log", comments="#", ndmin=2) if (d / "steps.log").exists() else np.zeros((0, 8))
            # unpatched ntdda segfaults after "Analysis complete." on the 50 x 50 grid (its kk[]
            # overflows, see the module docstring): a run whose step log has every step counts,
            # its exit status recorded
            if log.shape[0] < nsteps:
                raise RuntimeError(f"ntdda failed on {problem} (exit status {p.returncode}, {log.shape[0]} of {nsteps} "
                                   f"steps logged): {p.stdout[-2000:]}\n{p.stderr[-2000:]}")
            final = (d / "final.txt").read_text().splitlines() if (d / "final.txt").exists() else []
        # columns: step, wall s, dt, elapsed t, contacts, closed, open–close iterations, cpu s
        body = log[1:] if log.shape[0] > 1 else log
        row = {"problem": problem, "steps": int(log.shape[0]), "wall_per_step_s": float(body[:, 1].mean()),
               "cpu_per_step_s": float(body[:, 7].mean()), "solves_per_step": float(body[:, 6].mean()),
               "contacts": int(np.median(log[:, 4])), "closed_contacts_last": int(log[-1, 5]),
               "blocks": (sum(1 for ln in final if ln.startswith("block")) - 1) if final else None, "exit_status": p.returncode,
               "loadavg_before": list(load)}
        pts = {int(m.group(1)): (float(m.group(2)), float(m.group(3)))
               for m in (re.match(r"point (\d+) (\S+) (\S+) block", ln) for ln in final) if m}
        if not pts:  # no final state written (see the exit status)
            return row
        if problem == "incline":
            geo, _, cen = self.gen.incline()
            x, y = pts[4]
            row["travel_m"] = float(np.hypot(x - cen[0], y - cen[1]))
        else:
            n = int(problem[4:])
            _, top, meas = self.gen.grid(n)
            row["top_centre_settlement_m"] = float(top[1] - pts[4][1])
            row["top_left_lateral_m"] = float(pts[5][0] - meas[1][0])
            row["stack_width_m"] = float(n)
        return row


def find_ntdda(arg: str | None, peer: Path) -> Ntdda | None:
    path = arg or os.environ.get("NTDDA_DIR")
    if not path:
        return None
    w = Path(path)
    if not (w / "ddarun").exists() or not (peer / "gen_inputs.py").exists():
        print(f"ntdda not usable: {w / 'ddarun'} or {peer / 'gen_inputs.py'} missing; writing ours only", flush=True)
        return None
    return Ntdda(w, peer)


# ----------------------------------------------------------------------------- driver
def _median_row(rows: list[dict]) -> dict:
    out = dict(rows[int(np.argsort([r["cpu_per_step_s"] for r in rows])[len(rows) // 2])])
    for k in ("wall_per_step_s", "cpu_per_step_s"):
        out[k] = float(np.median([r[k] for r in rows]))
        out[k + "_runs"] = [r[k] for r in rows]
    return out


NAMES = {"incline": "incline", **{f"grid{n}": f"{n} × {n} stack" for n in (10, 30, 50, 70, 100)}}
PHASES = [("detect", "detect"), ("block_assembly", "block assembly"), ("contact_assembly", "contact assembly"),
          ("petsc_assembly", "PETSc assembly"), ("factorise", "factorise"), ("solve", "solve"),
          ("open_close_bookkeeping", "open–close"), ("update", "update"), ("history", "history"), ("other", "other")]


def table(path: str, before: str | None = None) -> str:
    """The README's markdown tables from a JSON this script wrote (``--table JSON``): per problem
    blocks, contacts, ntdda and our CPU s/step (median), ntdda ÷ ours, solves per step; with
    ``before`` (a JSON of an earlier code version, the same problems), or the run's own
    ``--before`` measurements, our s/step there and the speed-up; then our per-phase split (% of the wall time of a step)."""
    now = json.loads(Path(path).read_text())
    old = json.loads(Path(before).read_text()) if before else None
    head = "| problem | blocks | contacts | ntdda s/step | ours s/step | ntdda ÷ ours | solves/step ntdda / ours |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if old or any("before" in rec for rec in now["problems"].values()):
        head += " ours before s/step | before ÷ now |"
        rule += "---:|---:|"
    lines = [head, rule]
    for prob, rec in now["problems"].items():
        o, t = rec["ours"]["default"], rec.get("ntdda")
        row = (f"| {NAMES.get(prob, prob)} | {o['blocks']:,} | {o['contacts']:,} | "
               + (f"{t['cpu_per_step_s']:.2g} | " if t else "– | ") + f"{o['cpu_per_step_s']:.3g} | "
               + (f"{t['cpu_per_step_s'] / o['cpu_per_step_s']:.2g} | " if t else "– | ")
               + (f"{t['solves_per_step']:.2f}" if t else "–") + f" / {o['solves_per_step']:.2f} |")
        if old or "before" in rec:
            b = rec.get("before") or (old["problems"].get(prob, {}).get("ours", {}).get("default") if old else None)
            row += (f" {b['cpu_per_step_s']:.3g} | {b['cpu_per_step_s'] / o['cpu_per_step_s']:.2f} |" if b else " – | – |")
        lines.append(row)
    probs = list(now["problems"])
    lines += ["", "| phase (% of wall) | " + " | ".join(NAMES.get(p, p) for p in probs) + " |",
              "|---|" + "---:|" * len(probs)]
    for key, name in PHASES:
        share = [now["problems"][p]["ours"]["default"]["phase_share"].get(key, 0.0) for p in probs]
        lines.append(f"| {name} | " + " | ".join(f"{100 * v:.1f}" for v in share) + " |")
    if any("before" in now["problems"][p] for p in probs):  # ms of CPU per step by phase, before → now
        lines += ["", "| phase, CPU ms/step (before → now) | " + " | ".join(NAMES.get(p, p) for p in probs) + " |",
                  "|---|" + "---:|" * len(probs)]

        def cpu_ms(row: dict, key: str) -> float:  # a phase's share of the wall time × the CPU time per step
            return 1e3 * row["phase_share"].get(key, 0.0) * row["cpu_per_step_s"]

        for key, name in PHASES + [("total", "step")]:
            cells = []
            for p in probs:
                rec = now["problems"][p]
                o, b = rec["ours"]["default"], rec.get("before")
                if key == "total":
                    cells.append((f"{1e3 * b['cpu_per_step_s']:.3g} → " if b else "") + f"{1e3 * o['cpu_per_step_s']:.3g}")
                else:
                    cells.append((f"{cpu_ms(b, key):.3g} → " if b else "") + f"{cpu_ms(o, key):.3g}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth(problems: dict, config: str) -> dict:
    """CPU s/step ∝ blocksᵖ of each code over the grids: p between neighbouring sizes and the
    least-squares p over all of them (log–log)."""
    out: dict = {}
    for who in ("ntdda", config):
        pts = []
        for prob, rec in problems.items():
            r = rec.get("ntdda") if who == "ntdda" else rec["ours"][config]
            if prob.startswith("grid") and r:
                pts.append((rec["ours"][config]["blocks"], r["cpu_per_step_s"]))
        if len(pts) < 2:
            continue
        pts.sort()
        n, t = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        out[who] = {"blocks": [p[0] for p in pts], "cpu_per_step_s": [p[1] for p in pts],
                    "exponent_pairwise": [float((t[i + 1] - t[i]) / (n[i + 1] - n[i])) for i in range(len(pts) - 1)],
                    "exponent_fit": float(np.polyfit(n, t, 1)[0])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--table", nargs="+", metavar="JSON", default=None,
                    help="print the README tables of JSON (a second JSON: the code before, for the speed-up) and exit")
    ap.add_argument("--nsteps", type=int, default=50, help=argparse.SUPPRESS)
    ap.add_argument("--config", default="default", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    ap.add_argument("--configs", nargs="+", default=["default"], choices=sorted(CONFIGS),
                    help="our configurations to run (default: default)")
    ap.add_argument("--ntdda", default=None, help="ntdda work folder holding ddarun (default: $NTDDA_DIR)")
    ap.add_argument("--peer", default=str(ROOT.parent / "shared" / "peers" / "ntdda"), help="folder of gen_inputs.py")
    ap.add_argument("--problems", nargs="+", default=["incline", "grid10", "grid30", "grid100"])
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs per problem (median)")
    ap.add_argument("--repeats-large", type=int, default=1, help="runs for grids of more than 1,000 blocks")
    ap.add_argument("--steps-incline", type=int, default=500)
    ap.add_argument("--steps-grid", type=int, default=50)
    ap.add_argument("--steps-large", type=int, default=30,
                    help="steps for grids of more than 1,000 blocks (default 30: the first 5-6 steps of a stack, "
                         "before it rings, take half the re-solves of the rest; session 15)")
    ap.add_argument("--physics-steps", type=int, default=200, help="steps of the physics run of the grid (0: none)")
    ap.add_argument("--physics-grid", default="grid30")
    ap.add_argument("--physics-samples", type=int, default=3,
                    help="instants of the stack's settlement averaged, the last at --physics-steps")
    ap.add_argument("--physics-spacing", type=int, default=20,
                    help="steps between those instants (20 ms: a third of the stack's ~60 ms ring period)")
    ap.add_argument("--ranks2", nargs="*", default=["grid10", "grid30", "grid100"],
                    help="problems also run once on 2 MPI ranks (time and difference from 1 rank)")
    ap.add_argument("--ntdda-max-blocks", type=int, default=2000,
                    help="skip ntdda above this size (unpatched ntdda overflows kk[] above ~2,000 blocks: docstring)")
    ap.add_argument("--ntdda-label", default=None,
                    help="what the ntdda build is (commit, patch), recorded in the JSON")
    ap.add_argument("--out", default=str(OUT / "dda_vs_ntdda.json"))
    ap.add_argument("--before", default=None, metavar="DIR",
                    help="a checkout of the code before a change (e.g. git worktree add DIR main): its worker runs "
                         "alternately with ntdda and ours, and its s/step is recorded beside ours")
    ap.add_argument("--before-label", default=None, help="what --before is (e.g. its commit), recorded in the JSON")
    a = ap.parse_args()
    if a.table:
        print(table(*a.table[:2]))
        return
    if a.worker:
        worker(a.worker, a.nsteps, a.config)
        return
    t_start = time.perf_counter()
    nt = find_ntdda(a.ntdda, Path(a.peer))
    out: dict = {
        "benchmark": "dda_vs_ntdda", "ntdda": str(nt.work) if nt else None, "ntdda_label": a.ntdda_label,
        "argv": sys.argv[1:],
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg": os.getloadavg()},
        "problems": {},
    }
    for prob in a.problems:
        n = 2 if prob == "incline" else int(prob[4:]) ** 2 + 1
        large = n > 1000
        steps = a.steps_incline if prob == "incline" else (a.steps_large if large else a.steps_grid)
        reps = a.repeats_large if large else a.repeats
        ours: dict = {c: [] for c in a.configs}
        theirs: list = []
        before: list = []
        for _ in range(reps):  # alternate: ntdda, ours (each configuration), [before], ntdda, ours, ...
            if nt is not None and n <= a.ntdda_max_blocks:
                try:
                    theirs.append(nt.run(prob, steps))
                except RuntimeError as err:  # e.g. ntdda gives up on 10k blocks: record it, go on with ours
                    out.setdefault("ntdda_failures", {})[prob] = str(err)[-1500:]
                    print(f"ntdda failed on {prob} (recorded)", flush=True)
                    n = a.ntdda_max_blocks + 1
            for c in a.configs:
                ours[c].append(launch(prob, steps, c))
            if a.before:
                before.append(launch(prob, steps, a.configs[0], root=Path(a.before).resolve()))
        rec: dict = {"steps": steps, "repeats": reps, "ours": {c: _median_row(r) for c, r in ours.items()}}
        if theirs:
            rec["ntdda"] = _median_row(theirs)
        if before:
            rec["before"] = _median_row(before)
            rec["before"]["label"] = a.before_label or str(a.before)
            o = rec["ours"][a.configs[0]]
            if rec["before"]["solves_per_step"] != o["solves_per_step"] or rec["before"]["contacts"] != o["contacts"]:
                print(f"  note: before and now differ in solves/step or contacts", flush=True)
            for k in ("cpu_per_step_s", "wall_per_step_s"):
                o["before_over_ours_" + k[:-2]] = rec["before"][k] / o[k]
            print(f"  before ({rec['before']['label']}): {rec['before']['cpu_per_step_s']:.3g} s/step cpu; "
                  f"before/now (cpu) {o['before_over_ours_cpu_per_step']:.3f}", flush=True)
        for c in a.configs:
            o = rec["ours"][c]
            msg = (f"{prob:8s} [{c}] {o['blocks']:6d} blocks {o['contacts']:7d} contacts: ours {o['cpu_per_step_s']:.3g} s/step "
                   f"cpu ({o['wall_per_step_s']:.3g} wall), {o['solves_per_step']:.2f} solves/step")
            if theirs:
                t = rec["ntdda"]
                for k in ("cpu_per_step_s", "wall_per_step_s"):
                    o["ntdda_over_ours_" + k[:-2]] = t[k] / o[k]
                msg += (f"; ntdda {t['cpu_per_step_s']:.3g} s/step cpu ({t['wall_per_step_s']:.3g} wall), "
                        f"{t['solves_per_step']:.2f} solves/step; ntdda/ours (cpu) {o['ntdda_over_ours_cpu_per_step']:.3g}")
            print(msg, flush=True)
        if prob != "incline" and theirs and "top_centre_settlement_m" in rec["ntdda"]:
            # after the timed steps (the same instants): top-centre settlement and top-left drift
            rec["physics_after_steps"] = {
                who: {k: r[k] for k in ("top_centre_settlement_m", "top_left_lateral_m")}
                for who, r in [("ntdda", rec["ntdda"])] + [(c, rec["ours"][c]) for c in a.configs]}
            for c in a.configs:
                rec["physics_after_steps"][c]["settlement_over_ntdda"] = (
                    rec["ours"][c]["top_centre_settlement_m"] / rec["ntdda"]["top_centre_settlement_m"])
        if prob == "incline":
            t_end = steps * 2e-3
            ref = 0.5 * G * (np.sin(np.radians(THETA)) - np.cos(np.radians(THETA)) * np.tan(np.radians(PHI_INCLINE))) * t_end**2
            rec["physics"] = {"analytic_travel_m": ref}
            for c in a.configs:
                o = rec["ours"][c]
                rec["physics"][c] = {"travel_m": o["travel_m"], "rel_error": abs(o["travel_m"] - ref) / ref}
            if theirs:
                rec["physics"]["ntdda"] = {"travel_m": rec["ntdda"]["travel_m"],
                                           "rel_error": abs(rec["ntdda"]["travel_m"] - ref) / ref}
            print(f"  incline travel after {t_end:g} s: analytic {ref:.6f} m, "
                  + ", ".join(f"{k} {v['travel_m']:.6f} m" for k, v in rec["physics"].items() if isinstance(v, dict)), flush=True)
        if prob in a.ranks2:
            two = launch(prob, steps, a.configs[0], ranks=2)
            one = rec["ours"][a.configs[0]]
            rec["two_ranks"] = {k: two[k] for k in ("wall_per_step_s", "cpu_per_step_s", "solves_per_step", "max_rss_mb_per_rank")}
            rec["two_ranks"]["speedup_wall"] = one["wall_per_step_s"] / two["wall_per_step_s"]
            if one.get("centroid_final") is not None and two.get("centroid_final") is not None:
                d = np.abs(np.array(one["centroid_final"]) - np.array(two["centroid_final"])).max()
                rec["two_ranks"]["max_centroid_difference_m"] = float(d)
            print(f"  2 ranks: {two['wall_per_step_s']:.3g} s/step wall (1 rank {one['wall_per_step_s']:.3g}), "
                  f"speed-up {rec['two_ranks']['speedup_wall']:.2f}"
                  + (f", max centroid difference {rec['two_ranks']['max_centroid_difference_m']:.2e} m"
                     if "max_centroid_difference_m" in rec["two_ranks"] else ""), flush=True)
        out["problems"][prob] = rec
    if a.physics_steps > 0:
        prob = a.physics_grid
        ph: dict = {"problem": prob, "steps": a.physics_steps, "time_s": a.physics_steps * 1e-3}
        # the stack rings (period ~60 ms): the settlement is compared as the mean over
        # --physics-samples instants a third of a period apart (the ring's fundamental cancels),
        # ntdda run once per instant (it reports only the final state)
        at = [a.physics_steps - k * a.physics_spacing for k in range(a.physics_samples - 1, -1, -1)]
        ph["sample_steps"] = at
        if nt is not None:
            runs = [nt.run(prob, k) for k in at]
            ph["ntdda"] = runs[-1]
            ph["ntdda"]["top_centre_settlement_samples_m"] = [r["top_centre_settlement_m"] for r in runs]
            ph["ntdda"]["top_centre_settlement_mean_m"] = float(np.mean(ph["ntdda"]["top_centre_settlement_samples_m"]))
        for c in a.configs:
            ph[c] = launch(prob, a.physics_steps, c)
            hist = ph[c].pop("top_centre_settlement_history_m")
            ph[c]["top_centre_settlement_samples_m"] = [hist[k - 1] for k in at]
            ph[c]["top_centre_settlement_mean_m"] = float(np.mean(ph[c]["top_centre_settlement_samples_m"]))
            ph[c]["top_centre_settlement_mean_last_60_steps_m"] = float(np.mean(hist[-60:]))
            if "ntdda" in ph:
                ph[c]["settlement_over_ntdda"] = ph[c]["top_centre_settlement_m"] / ph["ntdda"]["top_centre_settlement_m"]
                ph[c]["settlement_mean_over_ntdda"] = (ph[c]["top_centre_settlement_mean_m"]
                                                       / ph["ntdda"]["top_centre_settlement_mean_m"])
        for who in ("ntdda", *a.configs):
            if who in ph:
                r = ph[who]
                r["top_left_lateral_over_width"] = abs(r["top_left_lateral_m"]) / r["stack_width_m"]
                print(f"  {prob} at {ph['time_s']:g} s, {who}: top-centre settlement {r['top_centre_settlement_m']:.4e} m "
                      f"(mean of steps {at}: {r['top_centre_settlement_mean_m']:.4e} m), "
                      f"top-left lateral {r['top_left_lateral_m']:.3e} m ({r['top_left_lateral_over_width']:.2e} of the width)",
                      flush=True)
        out["physics_stack"] = ph
    out["growth"] = growth(out["problems"], a.configs[0])
    out["wall_total_s"] = time.perf_counter() - t_start

    def strip(o):  # final centroids are only for the 1-vs-2-rank difference
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in ("centroid_final", "top_centre_settlement_history_m")}
        return [strip(v) for v in o] if isinstance(o, list) else o

    out = strip(out)
    sys.path.insert(0, str(ROOT))
    from learned.files import atomic_write

    path = atomic_write(a.out, lambda tmp: Path(tmp).write_text(json.dumps(out, indent=2) + "\n"))
    print(f"wrote {path} ({out['wall_total_s']:.0f} s)")


if __name__ == "__main__":
    main()
