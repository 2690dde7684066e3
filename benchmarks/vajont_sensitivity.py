"""Vajont sensitivity: peak velocity, time to rest and run-out over the published ranges.

    python benchmarks/vajont_sensitivity.py [--case cases/vajont.toml] [--lhs 6]
        [--jobs 2] [--quick] [--simulated-time S] [--out benchmarks/out/vajont_sensitivity.json]

Parameters and ranges (vajont.md; the case file gives the sources):

    phi_residual           clay residual friction        6.7 – 14.9 deg   (Bolla et al. 2020)
    band_thickness h       shear band                    0.5 – 2 mm       (≈ 1 mm: Vardoulakis 2002) [est range]
    pressurisation Λ       pore-pressure rise per K      0.03 – 0.3 MPa/K (Vardoulakis 2002; Pinyol & Alonso 2010)
    water.level            reservoir at 680 – 710 m a.s.l. (z = 216 – 246 m; 700 m at failure, Rivis 2012) [est range]

1. One at a time: each parameter at the two ends of its range, the others at the case's values.
2. A small Latin hypercube over all four (``--lhs`` samples, seed 14).

Every run is the case through ``coupling.run`` (no output files); a run that fails is recorded
with its error, so "every sample finishes" is a fact in the JSON. JSON to
benchmarks/out/vajont_sensitivity.json and a tornado plot (one bar per parameter and result:
low end → high end, about the base run) to benchmarks/out/vajont_sensitivity.png.
``--quick`` runs with g2 = 1e-3, Δt = 0.01 s (about 2× faster; for trying the script only).
``--simulated-time`` shortens the run (dda.duration) (the case's 70 s by default; the mass stops at about
30 s, and the time to rest needs one ``monitor.rest_window`` of rest after it: 40 s is enough
for the base case, a sample still moving at the end reports no time to rest).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PARAMS = {
    "joints.slip_surface.law.phi_residual": (6.7, 14.9),
    "joints.slip_surface.law.band_thickness": (0.5e-3, 2.0e-3),
    "joints.slip_surface.law.pressurisation": (0.03e6, 0.3e6),
    "water.level": (216.0, 246.0),
}
RESULTS = ("peak_velocity", "duration", "runout", "runup")


def run_one(args: tuple[str, dict, bool, float | None]) -> dict:
    case_path, sets, quick, simulated_time = args
    import coupling

    over = {**sets, "output.fields": False, "output.plots": False}
    if quick:
        over.update({"dda.max_displacement_ratio": 1e-3, "dda.dt": 0.01})
    if simulated_time is not None:
        over["dda.duration"] = simulated_time
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        r = coupling.run(coupling.load_case(case_path, over)).results
        return {"sets": sets, "ok": True, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                **{k: r.get(k) for k in RESULTS}}
    except BaseException as exc:  # recorded, not raised: the table says which sample failed
        return {"sets": sets, "ok": False, "error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0}


def latin_hypercube(n: int, seed: int = 14) -> list[dict]:
    rng = np.random.default_rng(seed)
    cols = []
    for lo, hi in PARAMS.values():
        u = (rng.permutation(n) + rng.random(n)) / n
        cols.append(lo + u * (hi - lo))
    return [{k: float(c[i]) for k, c in zip(PARAMS, cols)} for i in range(n)]


def tornado(path: Path, base: dict, oat: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(RESULTS), figsize=(4 * len(RESULTS), 3.5), dpi=120)
    names = [k.split(".")[-1] for k in PARAMS]
    for ax, res in zip(axes, RESULTS):
        b = base.get(res)
        for i, key in enumerate(PARAMS):
            lo, hi = (next((o for o in oat if o["sets"] == {key: v}), {}) for v in PARAMS[key])
            for o, color in ((lo, "C0"), (hi, "C3")):
                if o.get("ok") and o.get(res) is not None and b is not None:
                    ax.barh(i, o[res] - b, left=b, color=color, alpha=0.7)
        if b is not None:
            ax.axvline(b, color="k", lw=0.8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_title(res, fontsize=9)
    fig.suptitle("Vajont one-at-a-time sensitivity (blue: low end, red: high end)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--lhs", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--simulated-time", type=float, default=None, help="dda.duration [s] (default: the case's)")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_sensitivity.json"))
    a = ap.parse_args()
    runs = [{}] + [{k: v} for k, rng in PARAMS.items() for v in rng] + latin_hypercube(a.lhs)
    with ProcessPoolExecutor(a.jobs) as pool:
        done = list(pool.map(run_one, [(a.case, r, a.quick, a.simulated_time) for r in runs]))
    base, oat, lhs = done[0], done[1 : 1 + 2 * len(PARAMS)], done[1 + 2 * len(PARAMS) :]
    out = {
        "case": a.case, "quick": a.quick, "simulated_time": a.simulated_time, "params": {k: list(v) for k, v in PARAMS.items()},
        "base": base, "one_at_a_time": oat, "latin_hypercube": lhs,
        "all_finished": all(r["ok"] for r in done),
        "lhs_range": {res: [min(r[res] for r in lhs if r["ok"] and r[res] is not None),
                            max(r[res] for r in lhs if r["ok"] and r[res] is not None)]
                      for res in RESULTS if any(r["ok"] and r.get(res) is not None for r in lhs)},
    }
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(path)
    tornado(path.with_suffix(".png"), base, oat)
    print(json.dumps({"base": base, "all_finished": out["all_finished"], "lhs_range": out["lhs_range"]}, indent=1))


if __name__ == "__main__":
    main()
