"""The north flank of a Vajont case: how its slope moves the answer (issue 14 item 2, the
section; item 3, the envelope).

    python benchmarks/vajont_flank.py [--case cases/vajont.toml] [--angles 20 25 27 28 30 38 45]
        [--jobs 1] [--set KEY=VALUE ...] [--out benchmarks/out/vajont_flank.json]
    python benchmarks/vajont_flank.py --plot benchmarks/out/vajont_flank.json   (redraw only)

The case's opposite (north) flank is an estimate: the public section of Boon et al. ends at the
toe (x = 1215 m), and ``shared/vajont.md`` gives the flank only as "rising at 20–45°" (the
case takes 30°). This script rotates the flank about its toe, keeping its horizontal extent:
the fixed block's vertex at the top of the flank and the end of ``monitor.runup_line`` (the
line run-up is measured along) move to (an angle within 0.01° of the case's runs the case as
shipped)

    top = toe + (L, L tan θ),   L = x_top − x_toe,

and every other input stays as shipped (``--set`` overrides every run). Each run is the case
through ``coupling.run`` (benchmarks/vajont_resolution.run_one), no output files. For each
angle the JSON gives peak velocity, run-out, run-up, onset to rest, and which of the
observed envelope's bounds (vajont.md: peak 20–30 m/s, onset to rest 35–60 s, run-out
300–400 m, run-up ≥ 100 m) the run meets; the figure draws run-out and onset to rest against
θ with the envelope shaded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

#: the observed envelope (shared/vajont.md): quantity -> (low, high); None: no bound
ENVELOPE = {"peak_velocity": (20.0, 30.0), "duration": (35.0, 60.0), "runout": (300.0, 400.0), "runup": (100.0, None)}


def flank_sets(case_path: str, angle_deg: float) -> dict:
    """The ``--set`` overrides that turn the case's north flank to ``angle_deg`` about its toe."""
    import coupling

    case = coupling.load_case(case_path)
    toe, top = (list(map(float, p)) for p in case.spec.monitor.runup_line)
    length = top[0] - toe[0]
    if abs(math.degrees(math.atan2(top[1] - toe[1], length)) - angle_deg) < 0.01:
        return {}  # the shipped flank (to 0.01°), exactly as shipped
    new_top = [top[0], round(toe[1] + length * math.tan(math.radians(angle_deg)), 4)]
    sets = {"monitor.runup_line[1]": new_top}
    for b, block in enumerate(case.spec.blocks):
        for v, p in enumerate(block.polygon):
            if abs(p[0] - top[0]) < 1e-9 and abs(p[1] - top[1]) < 1e-9:
                sets[f"blocks[{b}].polygon[{v}]"] = new_top
    if len(sets) < 2:  # the run-up line ends at a vertex of the fixed block
        raise SystemExit(f"{case_path}: no block vertex at the end of monitor.runup_line {top}")
    return sets


def envelope_check(row: dict) -> dict:
    """Per envelope quantity: True when the run is inside its bounds."""
    out = {}
    for k, (lo, hi) in ENVELOPE.items():
        v = row.get(k)
        out[k] = v is not None and (lo is None or v >= lo) and (hi is None or v <= hi)
    return out


def _fmt(v) -> str:
    return "none" if v is None else f"{v:.4g}"  # duration is None for a run not at rest by its end


def plot(path: Path, rows: list[dict], shipped: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["ok"]]
    th = [r["angle_deg"] for r in ok]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for a, key, label in ((ax[0], "runout", "horizontal run-out [m]"), (ax[1], "duration", "onset to rest [s]")):
        lo, hi = ENVELOPE[key]
        a.axhspan(lo, hi, color="C2", alpha=0.15, label="observed envelope")
        pts = [(t, r[key]) for t, r in zip(th, ok) if r[key] is not None]
        a.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="C0")
        unsettled = [t for t, r in zip(th, ok) if r[key] is None]
        if unsettled:  # not at rest by the end of the run: above the envelope's top
            a.plot(unsettled, [hi] * len(unsettled), "x", color="C3", ms=9, mew=2, label="not at rest by the run's end")
        a.axvline(shipped, color="0.5", ls=":", label=f"case ({shipped:.1f}°)")
        a.set_xlabel("north flank slope θ [°]")
        a.set_ylabel(label)
        a.legend(fontsize=8)
    fig.suptitle("Vajont: the estimated north flank against the observed envelope", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--angles", nargs="+", type=float, default=[20, 25, 27, 28, 30, 38, 45])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_flank.json"))
    ap.add_argument("--plot", metavar="JSON", default=None, help="redraw the figure of a report (no runs)")
    a = ap.parse_args(argv)
    if a.plot:
        report = json.loads(Path(a.plot).read_text())
        plot(Path(a.plot).with_suffix(".png"), report["runs"], report["shipped_angle_deg"])
        return 0
    import coupling
    from coupling.case.loader import parse_overrides
    from vajont_resolution import run_one

    case = coupling.load_case(a.case)
    toe, top = case.spec.monitor.runup_line
    shipped = math.degrees(math.atan2(top[1] - toe[1], top[0] - toe[0]))
    extra = parse_overrides(a.set)
    jobs = [(a.case, "base", {**extra, **flank_sets(a.case, th)}, None) for th in a.angles]
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as ex:
            runs = list(ex.map(run_one, jobs))
    else:
        runs = [run_one(j) for j in jobs]
    rows = []
    for th, r in zip(a.angles, runs):
        row = {"angle_deg": th, **{k: v for k, v in r.items() if k not in ("name", "case")}}
        row["inside"] = envelope_check(row) if r["ok"] else None
        rows.append(row)
        print(f"flank {th:5.1f}°: " + (", ".join(f"{k} {_fmt(row.get(k))}" for k in ENVELOPE) if r["ok"] else r["error"]),
              flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "vajont_flank", "case": str(Path(a.case).resolve().relative_to(ROOT)) if Path(a.case).resolve().is_relative_to(ROOT) else a.case,
              "command": "python benchmarks/vajont_flank.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "shipped_angle_deg": shipped, "envelope": ENVELOPE, "sets": extra, "runs": rows,
              "all_inside": [r["angle_deg"] for r in rows if r["inside"] and all(r["inside"].values())]}
    out.write_text(json.dumps(report, indent=1))
    plot(out.with_suffix(".png"), rows, shipped)
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
