"""Would the overlap check have caught session 10's contact-detection defect? (dda.overlap)

    python benchmarks/dda_overlap_defect.py [--every N] [--duration 28.5]

Runs cases/vajont_10block.toml at benchmarks/vajont_resolution.py's ``time/4`` variant (Δt and
g2 quartered, twice the penetration ratio: time/2's limit in metres) with the held-contacts rule
of dda/contact_detect.py switched off (``detect(..., held_keys=None)``): the code that let
compartment 7 slide into 8 unseen from t = 26.78 s (16 m² at 26.93 s, 990 m² at 27.94 s; the
run diverged only at 33.46 s on a penetration). Records where the run stops (the divergence
message, time, blocks) or that it finished, with the overlap check every ``--every`` steps
(default dda.overlap.CHECK_EVERY).

Writes benchmarks/out/dda_overlap_defect.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=None, help="check every n-th step (default dda.overlap.CHECK_EVERY)")
    ap.add_argument("--duration", type=float, default=28.5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "dda_overlap_defect.json"))
    args = ap.parse_args()
    from mpi4py import MPI  # noqa: F401  (before dolfinx: libmpi)

    import coupling
    import dda
    import dda.simulation as simulation
    from coupling.runners.dda_model import build_system

    detect = simulation.detect
    simulation.detect = lambda *a, **k: detect(*a, **{**k, "held_keys": None})  # the defect back
    base = coupling.load_case(ROOT / "cases" / "vajont_10block.toml").spec.dda
    sets = {"dda.duration": args.duration, "dda.dt": base.dt / 4, "dda.max_displacement_ratio": base.max_displacement_ratio / 4,
            "dda.max_penetration_ratio": 2 * base.max_penetration_ratio}
    case = coupling.load_case(ROOT / "cases" / "vajont_10block.toml", sets)
    built = build_system(case)
    sim = dda.Simulation(built.system, dda.Settings(**case.spec.dda.model_dump(), gravity=tuple(case.spec.gravity)))
    if args.every is not None:
        sim.overlap_check_every = args.every
    out = {"command": "python benchmarks/dda_overlap_defect.py " + " ".join(sys.argv[1:]), "sets": sets,
           "check_every": sim.overlap_check_every, "penetration_limit_m": sim.pen_limit}
    t0 = time.perf_counter()
    try:
        sim.solve()
        out.update(status="finished", time_s=sim.state.time)
    except dda.SolverDivergence as err:
        out.update(status="diverged", message=str(err), time_s=err.time, step=err.step, block=err.block)
    out.update(n_overlap_retries=sim.stats["n_overlap_retries"], n_penetration_retries=sim.stats["n_penetration_retries"],
               wall_s=time.perf_counter() - t0)
    print(json.dumps(out, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
