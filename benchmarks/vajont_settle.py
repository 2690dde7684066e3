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

Paired continuations (``--continue-from T0``): whether the settling itself depends on Δt, free of
the spread of the state it starts from. For each member (``--members N --perturb KEY=DELTA`` as in
vajont_ensemble_resolution) the case runs through the Python API (``dda.Simulation`` built as
vajont_landing builds it) to ``T0`` [s] at its own Δt, then on to its duration at Δt/f for each
f of ``--dt-factors`` (Δt alone: g2 and so the contact search distance stay the case's, a change
of them in mid-run would drop contacts), every continuation from the same state (f = 1 is the
uninterrupted run). Reported per member and factor: onset to rest, run-out, the largest run-out;
per factor f ≠ 1 the paired difference of onset to rest from f = 1 over the members (mean,
standard deviation, standard error over the members): a systematic effect of Δt on what follows
T0 shows as a mean difference beyond its standard error::

    python benchmarks/vajont_settle.py --case cases/vajont_10block.toml --continue-from 40 \
        --dt-factors 1,4 --members 3 --perturb water.level=0.004 --jobs 2 --out continuations.json

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
from vajont_ensemble_resolution import mean_changes, statistics  # noqa: E402
from vajont_resolution import publish  # noqa: E402

#: the parts of onset to rest this script reports, with their words and units
PARTS = {"arrival": ("onset to arrival", "s"), "settling": ("settling back", "s"), "duration": ("onset to rest", "s"),
         "overshoot": ("overshoot", "m")}


def split(run: Path) -> dict | None:
    """Onset to arrival, settling and overshoot of one run folder (None: no onset or not at rest)."""
    from dda.geometry import signed_area

    from coupling.runner import computed_results

    results = computed_results(json.loads((run / "summary.json").read_text(encoding="utf-8")))
    onset, rest, group = results.get("onset_time"), results.get("time_to_rest"), results.get("monitored_blocks")
    if onset is None or rest is None or not group:
        return None
    with h5py.File(run / "history.h5", "r") as f:
        t, c = f["time"][:], f["centroid"][:]
        xy, voff = f["state/xy"][:], f["state/voff"][:]
    areas = np.array([abs(signed_area(xy[voff[b]:voff[b + 1]])) for b in group])
    x = np.einsum("b,tb->t", areas / areas.sum(), c[:, group, 0])
    travel = np.abs(x - x[0])
    k = int(np.argmax(travel))
    return {"run": run.name, "onset": float(onset), "arrival": float(t[k] - onset), "settling": float(rest - t[k]),
            "duration": float(rest - onset), "overshoot": float(travel[k] - abs(x[-1] - x[0])),
            "max_runout": float(travel[k])}


def summarise(runs: list[dict]) -> dict:
    """part -> :func:`statistics` of its values over the runs (in the order given: offset order)."""
    return {p: statistics([r[p] for r in runs]) for p in PARTS}


def changes(variants: dict) -> dict:
    """part -> variant -> (|mean_v − mean_base| / |mean_base|, its standard error)
    (vajont_ensemble_resolution.mean_changes of the parts); {} without a base variant."""
    if "base" not in variants:
        return {}
    return mean_changes({name: v["statistics"] for name, v in variants.items()}, tuple(PARTS))


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


def continuation(args: tuple[str, dict, float, int]) -> dict:
    """Run the case with the overrides ``sets`` to ``t0`` [s] at its Δt, then to its duration at
    Δt/``factor``; onset to rest [s], run-out and the largest run-out [m] (the runner's rules,
    coupling.runners.dda.group_motion), or ``error``."""
    case_path, sets, t0, factor = args
    from dataclasses import replace

    import coupling
    import dda
    from coupling.runners.dda import group_motion
    from coupling.runners.dda_model import build_system, monitored_group

    try:
        case = coupling.load_case(case_path, sets or None)
        spec = case.spec
        built = build_system(case)
        group = np.asarray(monitored_group(case, built))
        settings = dda.Settings(**spec.dda.model_dump(), gravity=tuple(spec.gravity), output_dir=None,
                                monitor_blocks=[int(b) for b in group])
        sim = dda.Simulation(built.system, settings)

        def refine(info) -> bool:  # after the step that reaches t0: on at dt/factor
            if factor != 1 and info.time >= t0 and sim.settings.dt == spec.dda.dt:
                sim.settings = replace(sim.settings, dt=spec.dda.dt / factor)
                sim.settings.validate()
            return False

        res = sim.solve(callback=refine)
        m = group_motion(res, group, built.density * built.areas, spec.monitor.rest_velocity, spec.monitor.rest_window)
    except BaseException as exc:  # recorded: the report says which run failed and why
        return {"sets": sets, "factor": factor, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    from coupling.output.provenance import git_commit

    return {"sets": sets, "factor": factor, "ok": True, "git_commit": git_commit(), "duration": m["duration"], "time_to_rest": m["time_to_rest"],
            "runout": m["runout"], "max_runout": m["max_runout"], "peak_velocity": m["peak_velocity"]}


def paired(runs: dict, factors: list[int]) -> dict:
    """factor -> the paired differences of onset to rest [s] from factor 1 over the members that
    reach rest in both (``runs``: factor -> the members' runs in one order): values, mean, sample
    standard deviation, standard error s/√n, and the two means over those pairs."""
    out = {}
    for f in factors:
        if f == 1:
            continue
        pairs = [(a["duration"], b["duration"]) for a, b in zip(runs[1], runs[f])
                 if a["ok"] and b["ok"] and a["duration"] is not None and b["duration"] is not None]
        x = np.array([b - a for a, b in pairs], dtype=float)
        sd = float(np.std(x, ddof=1)) if x.size > 1 else None
        out[str(f)] = {"values": x.tolist(), "n": int(x.size), "mean": float(x.mean()) if x.size else None, "sd": sd,
                       "se": sd / np.sqrt(x.size) if sd is not None else None,
                       "means": [float(np.mean([a for a, _ in pairs])), float(np.mean([b for _, b in pairs]))]
                       if pairs else None}
    return out


def continuation_statement(report: dict) -> str:
    """"continued from the state at 40 s: dt/4 against dt (5 members): onset to rest 47.10 / 46.40 s,
    paired difference -0.70 s (standard error 0.40 s; -1.5 %)" from a report of ``--continue-from``
    (the means over the members at rest in both)."""
    parts = []
    for f, d in report["paired"].items():
        if not d["n"]:
            parts.append(f"dt/{f}: no pair at rest")
            continue
        se = f"{d['se']:.2f} s" if d["se"] is not None else "-"
        a, b = d["means"]
        parts.append(f"dt/{f} against dt ({d['n']} members): onset to rest {a:.2f} / {b:.2f} s, paired "
                     f"difference {d['mean']:+.2f} s (standard error {se}; {100 * d['mean'] / a:+.1f} %)")
    return f"continued from the state at {report['continue_from']:g} s: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run-dir", type=Path, help="an ensemble's run folder (one folder per variant)")
    p.add_argument("--case", default="cases/vajont_10block.toml", help="with --continue-from: the case")
    p.add_argument("--continue-from", type=float, metavar="T0", help="paired continuations from the state at T0 [s]")
    p.add_argument("--dt-factors", default="1,4", help="with --continue-from: f of the continuations at dt/f")
    p.add_argument("--members", type=int, default=1)
    p.add_argument("--perturb", default="water.level=0.004", metavar="KEY=DELTA")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override every run (repeatable)")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", type=Path, help="the JSON report (default: print it)")
    a = p.parse_args(argv)
    if a.continue_from is not None:
        return continue_main(p, a, sys.argv[1:] if argv is None else argv)
    if a.run_dir is None:
        p.error("--run-dir DIR or --continue-from T0 is required")
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
    report["command"] = "python benchmarks/vajont_settle.py " + " ".join(sys.argv[1:] if argv is None else argv)
    publish(report, statement(report), a.out)
    return 0


def continue_main(p: argparse.ArgumentParser, a: argparse.Namespace, argv: list[str]) -> int:
    """--continue-from: the paired continuations (module docstring)."""
    from concurrent.futures import ProcessPoolExecutor

    from vajont_landing import member_values
    from vajont_resolution import parse_sets

    try:
        factors = [int(f) for f in a.dt_factors.split(",")]
    except ValueError:
        factors = []
    if not factors or 1 not in factors or any(f < 1 for f in factors):
        p.error(f"--dt-factors: found {a.dt_factors!r}; allowed: integers >= 1, 1 among them (e.g. 1,4)")
    if not a.continue_from > 0:
        p.error(f"--continue-from: found {a.continue_from}; allowed: a time > 0 s")
    common = parse_sets(p, a.set)
    members = member_values(p, a.case, common, a.members, a.perturb)
    todo = [(a.case, {**common, **m}, a.continue_from, f) for f in factors for m in members]
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            done = list(pool.map(continuation, todo))
    else:
        done = [continuation(t) for t in todo]
    runs = {str(f): [r for r in done if r["factor"] == f] for f in factors}
    report = {"case": a.case, "common_overrides": common, "continue_from": a.continue_from, "dt_factors": factors,
              "members": a.members, "perturbation": a.perturb, "runs": runs,
              "paired": paired({f: runs[str(f)] for f in factors}, factors),
              "command": "python benchmarks/vajont_settle.py " + " ".join(argv)}
    publish(report, continuation_statement(report), a.out)
    return 0 if all(r["ok"] for r in done) else 1


if __name__ == "__main__":
    sys.exit(main())
