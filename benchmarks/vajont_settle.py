"""What onset to rest is made of, in each run of an ensemble: the arrival and the settling back.

Reads the run folders of ``benchmarks/vajont_ensemble_resolution.py --run-dir DIR`` (their
``history.h5`` centroids and ``summary.json``) and splits each run's onset to rest (the
``duration`` the case reports, onset → rest) at the arrival, the moment the slide mass's centre
is farthest from where it started (the run's ``max_runout``, reached as it rides up the north
flank):

* onset to arrival  t_a − t_onset [s], t_a = argmax_t |x(t) − x(0)|, x the mass-weighted
  centroid abscissa of the monitored blocks (weights: the blocks' areas, one rock density);
* settling          t_rest − t_a [s]: from the arrival to rest (the case's rule: the centroid
  never again ``monitor.rest_velocity × rest_window`` from where it ends);
* overshoot         max_runout − |runout| [m]: how far the mass comes back from the arrival.

Per variant (``base``, ``time_2``, … the study's folders) the statistics of each over the members
(:func:`vajont_ensemble_resolution.statistics`: mean, sample standard deviation, the standard
error over the effective number of members in offset order) and the change of each variant's
mean from the base variant's with its standard error. Why: in ``cases/vajont_10block.toml`` onset
to rest spreads by ~9 % over runs that differ by 4 mm of reservoir level and its ensemble mean is
not resolved in Δt (session 26), while the front compartments, having ridden up the flank, slide
back on a band still pressurised (p/σn ≈ 0.998) and push the rear ones back up the back plane:
this tells which part carries the spread and the change with Δt. Writes JSON::

    python benchmarks/vajont_settle.py --run-dir RUNS --out benchmarks/out/vajont_10block_settle.json

Units: times s, distances m, changes and spreads as fractions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vajont_ensemble_resolution import statistics  # noqa: E402
from vajont_resolution import write_report  # noqa: E402

#: the parts of onset to rest this script reports, with their words and units
PARTS = {"arrival": ("onset to arrival", "s"), "settling": ("settling back", "s"), "duration": ("onset to rest", "s"),
         "overshoot": ("overshoot", "m")}


def polygon_areas(xy: np.ndarray, voff: np.ndarray) -> np.ndarray:
    """Areas [m²] of the blocks whose vertices are xy[voff[b]:voff[b+1]] (shoelace)."""
    out = []
    for b in range(voff.size - 1):
        x, y = xy[voff[b]:voff[b + 1]].T
        out.append(0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))))
    return np.array(out)


def split(run: Path) -> dict | None:
    """Onset to arrival, settling and overshoot of one run folder (None: no onset or not at rest)."""
    results = json.loads((run / "summary.json").read_text(encoding="utf-8"))["results"]
    onset, rest, group = results.get("onset_time"), results.get("time_to_rest"), results.get("monitored_blocks")
    if onset is None or rest is None or not group:
        return None
    with h5py.File(run / "history.h5", "r") as f:
        t, c = f["time"][:], f["centroid"][:]
        areas = polygon_areas(f["state/xy"][:], f["state/voff"][:])
    w = areas[group] / areas[group].sum()
    x = np.einsum("b,tb->t", w, c[:, group, 0])
    travel = np.abs(x - x[0])
    k = int(np.argmax(travel))
    return {"run": run.name, "onset": float(onset), "arrival": float(t[k] - onset), "settling": float(rest - t[k]),
            "duration": float(rest - onset), "overshoot": float(travel[k] - abs(x[-1] - x[0])),
            "max_runout": float(travel[k])}


def summarise(runs: list[dict]) -> dict:
    """part -> :func:`statistics` of its values over the runs (in the order given: offset order)."""
    return {p: statistics([r[p] for r in runs]) for p in PARTS}


def changes(variants: dict) -> dict:
    """part -> variant -> (|mean_v − mean_base| / |mean_base|, √(se_v² + se_base²)/|mean_base|)."""
    base = variants.get("base")
    out: dict = {}
    if base is None:
        return out
    for p in PARTS:
        b = base["statistics"][p]
        out[p] = {name: {"change": abs(v["statistics"][p]["mean"] - b["mean"]) / abs(b["mean"]),
                         "se": float(np.hypot(b["se"] or 0.0, v["statistics"][p]["se"] or 0.0) / abs(b["mean"]))}
                  for name, v in variants.items() if name != "base" and b["mean"]}
    return out


def statement(report: dict) -> str:
    """"onset to arrival: means 29.8 / 29.9 / 30.1 s at base / time/2 / time/4, single runs spread
    1.8 %, largest change of a mean 1.0 % (standard error 0.6 %); settling back: ..." from a report."""
    names = list(report["variants"])
    parts = []
    for p, (word, unit) in PARTS.items():
        st = [report["variants"][v]["statistics"][p] for v in names]
        ch = report["changes"].get(p, {})
        top = max(ch.values(), key=lambda c: c["change"]) if ch else None
        spread = 100 * st[0]["sd"] / abs(st[0]["mean"]) if st[0]["sd"] is not None and st[0]["mean"] else None
        text = f"{word}: means {' / '.join(f'{s['mean']:.4g}' for s in st)} {unit}"
        if spread is not None:
            text += f", single runs spread {spread:.1f} %"
        if top is not None:
            text += f", largest change of a mean {100 * top['change']:.1f} % (standard error {100 * top['se']:.1f} %)"
        parts.append(text)
    n = " / ".join(str(len(report["variants"][v]["runs"])) for v in names)
    return (f"onset to rest split at the arrival (the largest run-out; {n} runs at "
            f"{' / '.join(v.replace('_', '/') for v in names)}): " + "; ".join(parts))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", required=True, type=Path, help="an ensemble's run folder (one folder per variant)")
    p.add_argument("--out", type=Path, help="the JSON report (default: print it)")
    a = p.parse_args(argv)
    if not a.run_dir.is_dir():
        print(f"error: --run-dir: {a.run_dir}: not a folder", file=sys.stderr)
        return 2
    found = {d.name: d for d in a.run_dir.iterdir() if d.is_dir()}
    order = ["base"] + sorted(n for n in found if n != "base")
    report: dict = {"run_dir": str(a.run_dir), "variants": {}}
    for name in (n for n in order if n in found):
        runs = [s for d in sorted(found[name].glob("member_*")) if (d / "summary.json").is_file() and (s := split(d))]
        if runs:
            report["variants"][name] = {"runs": runs, "statistics": summarise(runs)}
    if not report["variants"]:
        print(f"error: --run-dir: {a.run_dir}: no finished run folder at rest (member_*/summary.json)", file=sys.stderr)
        return 2
    report["changes"] = changes(report["variants"])
    print(statement(report), file=sys.stderr)
    if a.out:
        write_report(a.out, report)
    else:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
