"""DDA scaling benchmark: broad phase (spatial grid vs all pairs) and step cost vs block count.

    python benchmarks/dda_scaling.py [--quick]

Writes benchmarks/out/dda_scaling.json. Ratios measured in one run are the result (design.md §7).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import dda
import learned
from dda.contact_detect import broad_phase_brute, broad_phase_grid
from dda.cutting import JointSet, cut_blocks
from dda.system import system_from_cuts

OUT = Path(__file__).resolve().parent / "out"


def _best(f, repeat: int = 3) -> float:
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


def broad_phase(nbs: list[int]) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for nb in nbs:
        side = np.sqrt(nb) * 2.0
        c = rng.uniform(0, side, (nb, 2))
        h = rng.uniform(0.3, 0.9, (nb, 1))
        bb = np.hstack([c - h, c + h])
        tg = _best(lambda: broad_phase_grid(bb, 0.05))
        tb = _best(lambda: broad_phase_brute(bb, 0.05)) if nb <= 20000 else float("nan")
        rows.append({"blocks": nb, "grid_s": tg, "brute_s": tb, "brute_over_grid": tb / tg, "pairs": int(len(broad_phase_grid(bb, 0.05)))})
        print(f"broad phase nb={nb:6d}: grid {tg*1e3:8.2f} ms  brute {tb*1e3:9.2f} ms  ratio {tb/tg:6.1f}")
    return rows


def steps(spacings: list[float], nsteps: int) -> list[dict]:
    rows = []
    for sp in spacings:
        base = cut_blocks(np.array([[-1, -2], [41, -2], [41, 0], [-1, 0]], float))
        mass = cut_blocks(
            np.array([[0, 0], [40, 0], [40, 10], [0, 10]], float),
            joint_sets=[JointSet(dip=80.0, spacing=sp, tag=1), JointSet(dip=-10.0, spacing=sp, tag=1)],
        )
        s = system_from_cuts([base, mass], fixed=[True, False])
        s.add_material(0, learned.LinearElastic(1e9, 0.25), 2500.0)
        s.set_joint_law(learned.CoulombFriction(30.0))
        sim = dda.Simulation(s, dda.Settings(duration=nsteps * 1e-3, dt=1e-3))
        t0 = time.perf_counter()
        res = sim.run()
        wall = time.perf_counter() - t0
        st = res.stats
        rows.append({"blocks": s.nb, "steps": st["steps"], "solves": st["solves"], "contacts_max": st["n_contacts_max"],
                     "wall_s": wall, "s_per_solve": wall / max(st["solves"], 1), "nonconverged": st["n_nonconverged_steps"]})
        print(f"steps nb={s.nb:5d}: {wall:7.2f} s, {st['solves']} solves, {wall / max(st['solves'], 1) * 1e3:7.2f} ms/solve, contacts {st['n_contacts_max']}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    nbs = [500, 2000, 8000] if a.quick else [500, 2000, 8000, 16000]
    spacings = [4.0, 2.0] if a.quick else [4.0, 2.0, 1.0]
    out = {
        "benchmark": "dda_scaling",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "broad_phase": broad_phase(nbs),
        "steps": steps(spacings, 5 if a.quick else 10),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / ".dda_scaling.json.tmp"
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, OUT / "dda_scaling.json")
    print(f"wrote {OUT / 'dda_scaling.json'}")


if __name__ == "__main__":
    main()
