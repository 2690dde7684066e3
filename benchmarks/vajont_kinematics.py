"""Why no two-block Vajont run lands inside the observed envelope: the shape of its speed
history (issue 14 item 3).

    python benchmarks/vajont_kinematics.py [--out benchmarks/out/vajont_kinematics.json]
        [--plot benchmarks/out/vajont_kinematics.png]

Runs no simulation: it reads every Vajont run the repository keeps a report of in
``benchmarks/out`` (the sensitivity ensemble, the flank study, the water-drag runs and the
resolution studies, :data:`REPORTS`) and writes, per case, the shape factor of each run.

For the mass centroid of the slide, with R the horizontal run-out [m], V the peak speed [m/s]
and T the time from onset to rest [s],

    κ = R / (V T)   [-],

the mean horizontal speed over the event as a fraction of the peak (κ = ½ for a speed that
rises and falls linearly, a triangle; κ < ½ for a history with a long slow phase). The
envelope with the margin the tests use (tests/test_dda_cases.py, ``VAJONT_MARGIN``: run-out
≤ 380 m, onset to rest ≥ 36.75 s, peak ≥ 21 m/s) needs R ≤ 380 m and T ≥ 36.75 s at once, i.e.

    T_380 = 380 m / (κ V) ≥ 36.75 s,

T_380 being the duration the run would have if its history kept its shape κ and its peak V
and ended at the largest run-out the envelope allows. Measured (sessions 9–15): every two-block
run that travels at least 300 m (59 runs: every parameter of the published ranges, flanks of
20–33°, Δt to Δt/8, water drag, impact damping) has κ = 0.46–0.56 — the slide accelerates
steadily on the weakened band for ~17 s and is stopped within ~11 s by its impacts on the
gorge and the opposite flank — and a peak of 22.6–27.1 m/s, so T_380 ≤ 33.1 s: its duration
and run-out cannot both be inside, whatever parameter moves the peak within that range. The
ten-block runs reach κ = 0.33–0.42 with a slow tail (compartments settling into the gorge and
sliding back for 10–20 s after the main stop), the only histories measured with T_380 above
36.75 s; that tail is the part of the run that does not repeat under round-off or Δt (the
case headers).

Writes JSON with every run (source report, κ, T_380) and, per case, the range of κ, of V and
the largest T_380 over the runs with R ≥ 300 m; ``--plot`` draws κ against V with the curve
κ = 380/(36.75 V) below which a run's shape allows the envelope.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

#: the envelope with the tests' margin (tests/test_dda_cases.py: 5 % inside each edge)
RUNOUT_MAX, DURATION_MIN, PEAK_MIN = 380.0, 36.75, 21.0
#: runs shorter than this are outside the envelope on run-out alone (300 m, its lower edge)
RELEVANT_RUNOUT = 300.0
#: the reports read (benchmarks/out), by kind
REPORTS = {
    "sensitivity": ["vajont_sensitivity_session13.json"],
    "flank": ["vajont_flank.json"],
    "water_drag": ["vajont_water_drag_runs.json"],
    "resolution": ["vajont_resolution.json", "vajont_resolution_damped.json", "vajont_resolution_damping_time.json",
                   "vajont_resolution_damping_time_18ms.json", "vajont_resolution_dt2.json",
                   "vajont_resolution_restitution_0.2.json", "vajont_10block_resolution.json",
                   "vajont_10block_resolution_damping_time.json", "vajont_10block_resolution_damping_time_18ms.json",
                   "vajont_10block_resolution_restitution_0.2.json", "vajont_resolution_session15.json",
                   "vajont_10block_resolution_session15.json"],
}


def shape_factor(runout: float, peak: float, duration: float) -> float:
    """κ = R / (V T): the mean horizontal speed of the event over its peak speed [-]."""
    return runout / (peak * duration)


def duration_at_max_runout(kappa: float, peak: float, runout_max: float = RUNOUT_MAX) -> float:
    """T_380 = R_max / (κ V) [s]: the onset-to-rest time of a history of shape κ and peak V [m/s]
    that ends at the envelope's largest run-out R_max [m]."""
    return runout_max / (kappa * peak)


def _runs(report: dict, kind: str):
    """(case, run) pairs of one report, whatever its layout."""
    if kind == "sensitivity":
        for r in report.get("one_at_a_time", []) + report.get("latin_hypercube", []):
            yield report["case"], r
    else:
        for r in report.get("runs", []):
            yield r.get("case", report.get("case")), r


def collect(folder: Path = OUT) -> list[dict]:
    """Every finished run (peak, run-out and onset to rest reported) of the reports in ``folder``."""
    rows = []
    for kind, names in REPORTS.items():
        for name in names:
            path = folder / name
            if not path.exists():
                continue
            for case, r in _runs(json.loads(path.read_text()), kind):
                if not (r.get("peak_velocity") and r.get("runout") is not None and r.get("duration")):
                    continue
                k = shape_factor(r["runout"], r["peak_velocity"], r["duration"])
                rows.append({"report": name, "case": Path(case).name, "sets": r.get("sets", {}),
                             "peak_velocity": r["peak_velocity"], "runout": r["runout"], "duration": r["duration"],
                             "kappa": k, "duration_at_380m": duration_at_max_runout(k, r["peak_velocity"])})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Per case, over the runs that travel at least RELEVANT_RUNOUT: how many, the range of κ and
    of the peak, the largest T_380 and whether any run's shape allows the envelope."""
    out = {}
    for case in sorted({r["case"] for r in rows}):
        rel = [r for r in rows if r["case"] == case and r["runout"] >= RELEVANT_RUNOUT]
        if not rel:
            continue
        out[case] = {"runs": len(rel),
                     "kappa": [min(r["kappa"] for r in rel), max(r["kappa"] for r in rel)],
                     "peak_velocity": [min(r["peak_velocity"] for r in rel), max(r["peak_velocity"] for r in rel)],
                     "largest_duration_at_380m": max(r["duration_at_380m"] for r in rel),
                     "shapes_allowing_the_envelope": sum(r["duration_at_380m"] >= DURATION_MIN for r in rel)}
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for case, marker in (("vajont.toml", "o"), ("vajont_10block.toml", "s")):
        sel = [r for r in rows if r["case"] == case and r["runout"] >= RELEVANT_RUNOUT]
        ax.scatter([r["peak_velocity"] for r in sel], [r["kappa"] for r in sel], marker=marker, s=18,
                   label=f"{case} ({len(sel)} runs, run-out ≥ {RELEVANT_RUNOUT:.0f} m)")
    v = np.linspace(20.0, 30.0, 100)
    ax.plot(v, RUNOUT_MAX / (DURATION_MIN * v), "k-", lw=1,
            label=f"κ = {RUNOUT_MAX:.0f} m / ({DURATION_MIN} s · V): below it the shape allows the envelope")
    ax.axvline(PEAK_MIN, color="0.5", ls=":", lw=1)
    ax.set_xlabel("peak speed of the mass centroid V [m/s]")
    ax.set_ylabel("κ = run-out / (V · onset to rest) [-]")
    ax.set_title("Vajont runs: shape of the speed history against the envelope (margin 5 %)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", default=str(OUT), help="folder of the reports (default benchmarks/out)")
    ap.add_argument("--out", default=None, help="write the JSON here")
    ap.add_argument("--plot", default=None, help="draw κ against the peak here")
    a = ap.parse_args(argv)
    rows = collect(Path(a.reports))
    report = {"benchmark": "vajont_kinematics", "envelope_with_margin": {"runout_max": RUNOUT_MAX,
              "duration_min": DURATION_MIN, "peak_min": PEAK_MIN}, "relevant_runout": RELEVANT_RUNOUT,
              "summary": summarise(rows), "runs": rows,
              "command": "python benchmarks/vajont_kinematics.py" + (f" --out {a.out}" if a.out else "")
                         + (f" --plot {a.plot}" if a.plot else "")}
    for case, s in report["summary"].items():
        print(f"{case}: {s['runs']} runs with run-out >= {RELEVANT_RUNOUT:.0f} m; kappa {s['kappa'][0]:.3f}-{s['kappa'][1]:.3f}, "
              f"peak {s['peak_velocity'][0]:.1f}-{s['peak_velocity'][1]:.1f} m/s, largest T_380 "
              f"{s['largest_duration_at_380m']:.1f} s (needs >= {DURATION_MIN} s); "
              f"{s['shapes_allowing_the_envelope']} shapes allow the envelope")
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=1) + "\n")
    if a.plot:
        plot(rows, Path(a.plot))
    return report


if __name__ == "__main__":
    main()
