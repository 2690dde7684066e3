"""How well the Vajont case resolves what it reports: the same case refined in time and in
contact stiffness (issue 13 item 8: every shipped case states the accuracy of its results
against a reference or a refined run).

    python benchmarks/vajont_resolution.py [--case cases/vajont.toml] [--jobs 1]
        [--out benchmarks/out/vajont_resolution.json] [--duration S]

Runs (every run is the case through ``coupling.run``, no output files):

    base            the case as shipped
    time/2          Δt and Shi's g2 (largest vertex displacement per step / w0) halved
    penalty×2       contact normal stiffness doubled (``dda.penalty_factor``, or ``dda.penalty``)
    penalty/2       contact normal stiffness halved

For each reported quantity (peak velocity, run-out, run-up, time to rest) the JSON gives the
value of every run and the relative change of each refinement against the base run,
|q_refined − q_base| / |q_base|; the largest is the resolution the case states in its
``accuracy`` key. The runs are independent: ``--jobs 2`` runs two at a time
(concurrent.futures, one process per run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

RESULTS = ("peak_velocity", "runout", "runup", "duration")


def variants(case_path: str) -> dict[str, dict]:
    """name -> overrides of the refinements, from the case's own Δt, g2 and penalty."""
    import coupling

    dda = coupling.load_case(case_path).spec.dda
    stiff = ({"dda.penalty": 2 * dda.penalty}, {"dda.penalty": 0.5 * dda.penalty}) if dda.penalty else (
        {"dda.penalty_factor": 2 * dda.penalty_factor}, {"dda.penalty_factor": 0.5 * dda.penalty_factor})
    return {
        "base": {},
        "time/2": {"dda.dt": dda.dt / 2, "dda.max_displacement_ratio": dda.max_displacement_ratio / 2},
        "penalty×2": stiff[0],
        "penalty/2": stiff[1],
    }


def run_one(args: tuple[str, str, dict]) -> dict:
    case_path, name, sets = args
    import coupling

    over = {**sets, "output.fields": False, "output.plots": False}
    t0 = time.perf_counter()
    try:
        r = coupling.run(coupling.load_case(case_path, over)).results
        return {"name": name, "sets": sets, "ok": True, "wall_s": time.perf_counter() - t0,
                **{k: r.get(k) for k in RESULTS}}
    except BaseException as exc:  # recorded: the table says which run failed and why
        return {"name": name, "sets": sets, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "wall_s": time.perf_counter() - t0}


def relative_changes(runs: list[dict]) -> dict[str, dict[str, float | None]]:
    """quantity -> {refinement: |q − q_base| / |q_base|} (None where a value is missing)."""
    base = next(r for r in runs if r["name"] == "base")
    out: dict[str, dict[str, float | None]] = {}
    for q in RESULTS:
        out[q] = {}
        for r in runs:
            if r["name"] == "base":
                continue
            a, b = base.get(q), r.get(q)
            out[q][r["name"]] = (abs(b - a) / abs(a)) if (r["ok"] and a not in (None, 0) and b is not None) else None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_resolution.json"))
    ap.add_argument("--duration", type=float, default=None, help="simulated time [s] (default: the case's; "
                    "shorter only to try the script)")
    a = ap.parse_args(argv)
    extra = {"dda.duration": a.duration} if a.duration else {}
    todo = [(a.case, name, {**sets, **extra}) for name, sets in variants(a.case).items()]
    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            runs = list(pool.map(run_one, todo))
    else:
        runs = [run_one(t) for t in todo]
    changes = relative_changes(runs)
    worst = {q: max((v for v in c.values() if v is not None), default=None) for q, c in changes.items()}
    report = {"case": a.case, "runs": runs, "relative_change": changes, "worst_relative_change": worst,
              "wall_s": time.perf_counter() - t0}
    from learned.files import atomic_write

    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(a.out), lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2), encoding="utf-8"))
    for r in runs:
        vals = "  ".join(f"{q} {r.get(q)}" for q in RESULTS) if r["ok"] else r["error"]
        print(f"{r['name']:>10}: {vals}  ({r['wall_s']:.0f} s)")
    print("worst relative change:", {q: (f"{v:.2%}" if v is not None else None) for q, v in worst.items()})
    print(f"wrote {a.out}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
