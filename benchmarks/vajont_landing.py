"""Which corner strikes the band during the slide, with what band, and which step control moves its heat.

``benchmarks/vajont_band_strike.py`` finds, in the run folders of an ensemble, the largest rise of
the band's mean temperature between onset and peak speed (a strike). This script names the
contact that makes it and measures what sets its heat. For each variant (the step controls of
``benchmarks/vajont_resolution.py``, and each of them alone) it runs the case from t = 0 to
``--until`` [s] through the Python API (``dda.Simulation`` built as ``deepmanifold run`` builds it)
and records, after every accepted step, the band's mean temperature rise ΔT̄ [K] (the run's
``BandMonitor``) and for every vertex the band it carries (``State.vertex_band``: temperature
T [K], pore-pressure ratio r = p/σ_n [-]) and the normal force of its loaded contacts on a band
joint [N/m]. Reported per variant:

* the strike: the largest rise of ΔT̄ over ``STEPS`` accepted steps after the settling phase,
  its time [s] and size [K];
* the struck vertex: the one whose band contacts put the most heat into the band over those
  steps (``BandMonitor.contact_heat``), its share of the strike's heat, its block (compartment,
  counted from the top) and position at landing [m];
* the ratio r it lands with, and when it last carried a normal force on the band before (its
  lift-off) [s]: a vertex off the band keeps the band it had (``dda.openclose.transfer``), so
  the landing starts from the ratio of the lift-off. The landing's heat per unit normal impulse
  goes as μ (1 − r): frictional work μ σ'_n δ with σ'_n = σ_n (1 − r);
* the band's mean temperature rise over ``HEAT_WINDOW`` = 0.1 s from the landing [K] (the landing's
  heat in the band's mean: the same window at any step length);
* the normal impulse of its band contacts over 0.02 s from the landing (the strike; then the block rests on the band), ∫ N dt [N·s/m], and the
  steps that carry it: a step control that resolves the impact gives the same impulse.

With ``--members`` > 1 the report adds, per variant, the ensemble means of the landing's band rise,
its normal impulse, their ratio (the band's rise per unit normal impulse: how the landing turns its
impact into heat, μ (1 − r) times the corner's slip per unit impulse) and the landing time, with
standard errors (over the effective number of members, as vajont_ensemble_resolution's), and each
mean's change from the first variant's (``ensemble_means``): which of
the landing's parts moves with the step control.

Writes JSON; ``statement(report)`` is the sentence a case's accuracy_studies quote::

    python benchmarks/vajont_landing.py --case cases/vajont_10block.toml --set dda.impact_steps=0 \\
        --variants base,time/2,time/4,dt/2 --members 5 --perturb water.level=0.004 --jobs 2 \\
        --out landing.json

The committed reports (benchmarks/out/vajont_10block_landing*.json, session 25) were made before
the case adopted e_n = 0.2 and impact_steps = 40, so their commands set them (--set).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vajont_resolution import machine, parse_sets, parse_variants, publish, set_text, variants  # noqa: E402

#: accepted steps over which a rise counts as one strike (as benchmarks/vajont_band_strike.py)
STEPS = 5
#: the time after a landing over which its normal impulse is summed [s]
IMPULSE_WINDOW = 0.02
#: the time from a landing over which the band's rise is its heat [s] (a fixed time, not steps:
#: a step control that cuts the landing's steps must not shorten the window)
HEAT_WINDOW = 0.1
#: the variants this script adds: one step control refined at a time
ALONE = ("g2/2", "dt/2")


def all_variants(case_path: str, sets: dict) -> dict[str, dict]:
    """vajont_resolution's time variants and, alone, Shi's g2 halved ("g2/2") and Δt halved ("dt/2")."""
    import coupling

    d = coupling.load_case(case_path, sets or None).spec.dda
    out = {k: v for k, v in variants(case_path, sets).items() if k in ("base", "time/2", "time/4", "time/8")}
    out["g2/2"] = {"dda.max_displacement_ratio": d.max_displacement_ratio / 2}
    out["dt/2"] = {"dda.dt": d.dt / 2}
    return out


def record(case_path: str, sets: dict, until: float) -> dict:
    """Run the case to ``until`` [s] and return its per-step records (see the module docstring)."""
    import coupling
    import dda
    from coupling.runners.dda import BandMonitor
    from coupling.runners.dda_model import build_system, monitored_group
    from dda.contact_law import OPEN

    case = coupling.load_case(case_path, sets or None)
    spec = case.spec
    if spec.trigger is not None and spec.trigger.enabled:
        raise SystemExit(f"error: {case_path}: trigger: a case with a trigger is not supported here")
    built = build_system(case)
    settings = dda.Settings(**{**spec.dda.model_dump(), "duration": until}, gravity=tuple(spec.gravity), output_dir=None,
                            monitor_blocks=list(monitored_group(case, built)))
    sim = dda.Simulation(built.system, settings)
    band = BandMonitor(sim)
    if not band:
        raise SystemExit(f"error: {case_path}: no joint with a band law (thermal_pressurisation)")
    nv = sim.system.polys.xy.shape[0]
    rows: dict[str, list] = {"time": [], "dt": [], "mean": [], "heat": [], "T": [], "r": [], "N": [], "xy": []}

    def step(info) -> bool:
        band.record()
        st, con = sim.state, sim.last_contacts
        cs = st.contacts
        on = (cs.state != OPEN) & np.isin(con.tag, band._tags)
        rows["time"].append(st.time)
        rows["dt"].append(info.dt)
        rows["mean"].append(band.temperature[-1])
        rows["heat"].append(np.bincount(cs.vertex, weights=band.contact_heat, minlength=nv) if band.contact_heat.size
                            else np.zeros(nv))
        rows["T"].append(st.vertex_band[:, 0].copy())
        rows["r"].append(st.vertex_band[:, 1].copy())
        rows["N"].append(np.bincount(cs.vertex[on], weights=np.maximum(cs.normal_force[on], 0.0), minlength=nv))
        rows["xy"].append(st.xy.copy())
        return False

    t0 = time.perf_counter()
    sim.solve(callback=step)
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["block"] = np.asarray(sim.system.polys.block)
    out["settle_time"] = float(spec.dda.settle_time)
    out["wall_s"] = time.perf_counter() - t0
    return out


def landing(rec: dict, steps: int = STEPS) -> dict | None:
    """The strike in one run's records (:func:`record`) and the vertex that makes it; None
    without ``steps`` + 1 records after the settling phase."""
    t, mean = rec["time"], rec["mean"]
    window = np.flatnonzero(t > rec["settle_time"])
    if window.size <= steps:
        return None
    rise = mean[window[steps:]] - mean[window[:-steps]]
    j = int(np.argmax(rise))
    i0, i1 = window[j], window[j] + steps
    heat = rec["heat"][i0 + 1:i1 + 1].sum(axis=0)  # [J/m] per vertex over the strike's steps
    v = int(np.argmax(heat))
    loaded = np.flatnonzero(rec["N"][:, v] > 0.0)
    before = loaded[loaded <= i0]
    after = loaded[loaded > i0]
    land = int(after[0]) if after.size else i1
    # the last loaded step before the landing that is not part of it: the lift-off
    gap = before[before < land - 1]
    lift = float(t[gap[-1]]) if gap.size else None
    begin = t - rec["dt"]  # each step's start; the steps that start within the window from the landing step's
    span = (begin >= begin[land] - 0.5 * rec["dt"][land]) & (begin < begin[land] + IMPULSE_WINDOW - 0.5 * rec["dt"][land])
    impulse = float(np.sum(rec["N"][span, v] * rec["dt"][span]))
    after_heat = np.flatnonzero(begin < begin[land] + HEAT_WINDOW - 0.5 * rec["dt"][land])[-1]
    landing_rise = float(mean[after_heat] - mean[land - 1])
    return {"time": float(t[i0]), "rise": float(rise[j]), "landing_rise": landing_rise, "vertex": v, "block": int(rec["block"][v]),
            "position": [float(x) for x in rec["xy"][land, v]], "landing_time": float(t[land]),
            "ratio_at_landing": float(rec["r"][land - 1, v]), "temperature_at_landing": float(rec["T"][land - 1, v]),
            "lift_off_time": lift, "heat_share": float(heat[v] / heat.sum()) if heat.sum() > 0 else None,
            "impulse": impulse, "impulse_steps": int(np.count_nonzero(rec["N"][span, v] > 0.0)),
            "steps": int(t.size), "wall_s": rec["wall_s"]}


def run_one(args: tuple[str, str, dict, float]) -> dict:
    case_path, name, sets, until = args
    try:
        found = landing(record(case_path, sets, until))
    except BaseException as exc:  # recorded: the report says which variant failed and why
        return {"name": name, "sets": sets, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"name": name, "sets": sets, "ok": found is not None, **(found or {"error": "no strike window"})}


def _span(values: list, fmt: str) -> str:
    """"a" or "a-b" (the smallest and largest of ``values`` in ``fmt``)."""
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}-{hi}"


def statement(report: dict) -> str:
    """"at base (3 runs): compartment 6's vertex 30 lands at 22.94 s (x = 913.6-913.8 m) with
    p/sigma_n 0.39, carried since 10.40 s; band +16.2 K in 5 steps (15.4-16.6; 100 % of it from that
    vertex); impulse 5e+07-5.5e+07 N s/m in 3-4 steps; ..." from a report: per variant, the ranges
    over its runs (the members) and the mean of the band's rise."""
    parts = []
    for name in dict.fromkeys(r["name"] for r in report["runs"]):
        runs = [r for r in report["runs"] if r["name"] == name]
        bad = [r for r in runs if not r["ok"]]
        if bad:
            parts.append(f"at {name}: {bad[0]['error']}")
            continue
        who = ", ".join(f"compartment {b}'s vertex {v}" for b, v in sorted({(r["block"], r["vertex"]) for r in runs}))
        lifts = [r["lift_off_time"] for r in runs if r["lift_off_time"] is not None]
        lift = f"carried since {_span(lifts, '.2f')} s" if lifts else "never on the band before"
        rises = [r["landing_rise"] for r in runs]
        parts.append(f"at {name} ({len(runs)} run{'s' if len(runs) > 1 else ''}): {who} lands at "
                     f"{_span([r['landing_time'] for r in runs], '.2f')} s (x = {_span([r['position'][0] for r in runs], '.1f')} m) "
                     f"with p/sigma_n {_span([r['ratio_at_landing'] for r in runs], '.2f')}, {lift}; band "
                     f"+{np.mean(rises):.1f} K over {report['heat_window']} s from the landing ({_span(rises, '.1f')}; "
                     f"the largest {report['steps']}-step rise {_span([100 * r['heat_share'] for r in runs], '.0f')} % "
                     f"from that vertex); impulse "
                     f"{_span([r['impulse'] for r in runs], '.2g')} N s/m in {_span([r['impulse_steps'] for r in runs], 'd')} steps")
    return "; ".join(parts)


#: the landing's figures compared between variants: name in the report, words, unit, format
COMPARED = (("landing_rise", "band rise over {w} s from the landing", "K", ".2f"),
            ("impulse", "normal impulse", "N s/m", ".3g"),
            ("heat_per_impulse", "band rise per normal impulse", "K per 1e7 N s/m", ".3f"),
            ("landing_time", "landing time", "s", ".3f"))


def _figure(run: dict, name: str) -> float:
    """One run's value of a :data:`COMPARED` figure (heat per impulse: landing_rise / (impulse / 1e7))."""
    if name == "heat_per_impulse":
        return run["landing_rise"] / (run["impulse"] / 1e7)
    return run[name]


def ensemble_means(report: dict) -> dict:
    """Per variant (with >= 2 good runs) and :data:`COMPARED` figure: the
    ``vajont_ensemble_resolution.statistics`` of its runs (in member order: mean, standard error
    s/sqrt(n_eff) with the neighbour correlation, ...); per later variant the change of each mean
    from the first variant's [fraction of its mean, a time in s for the landing time] and the
    change's standard error sqrt(se_v^2 + se_first^2) in the same unit. The members differ by a
    perturbation (--perturb), so each run is one draw: a change is a measured effect of the step
    control only where it is well outside its standard error."""
    from vajont_ensemble_resolution import statistics

    out: dict = {}
    for name in dict.fromkeys(r["name"] for r in report["runs"]):
        runs = [r for r in report["runs"] if r["name"] == name and r["ok"]]
        if len(runs) < 2:
            continue
        out[name] = {key: statistics([_figure(r, key) for r in runs]) for key, *_ in COMPARED}
    names = list(out)
    for name in names[1:]:
        for key, *_ in COMPARED:
            a, b = out[name][key], out[names[0]][key]
            scale = 1.0 if key == "landing_time" else abs(b["mean"])
            a["change"] = (a["mean"] - b["mean"]) / scale
            a["change_se"] = float(np.hypot(a["se"], b["se"]) / scale)
    return out


def ensemble_statement(report: dict) -> str:
    """"ensemble means (standard error) at base / time/4: band rise over 0.1 s from the landing
    20.51 (0.97) / 18.19 (0.72) K, -11.3 % (standard error 5.8 %); ..." ('' without two variants
    of >= 2 runs)."""
    means = ensemble_means(report)
    names = list(means)
    if len(names) < 2:
        return ""
    parts = []
    for key, words, unit, fmt in COMPARED:
        values = " / ".join(f"{format(means[n][key]['mean'], fmt)} ({format(means[n][key]['se'], fmt)})" for n in names)
        if key == "landing_time":
            changes = ", ".join(f"{n} {1e3 * means[n][key]['change']:+.0f} ms (standard error {1e3 * means[n][key]['change_se']:.0f} ms)"
                                for n in names[1:])
        else:
            changes = ", ".join(f"{n} {100 * means[n][key]['change']:+.1f} % (standard error {100 * means[n][key]['change_se']:.1f} %)"
                                for n in names[1:])
        parts.append(f"{words.format(w=report['heat_window'])} {values} {unit}, {changes}")
    return (f"ensemble means (standard error) at {' / '.join(names)} "
            f"({' / '.join(str(means[n]['landing_rise']['n']) for n in names)} runs): " + "; ".join(parts))


def member_values(ap: argparse.ArgumentParser, case_path: str, sets: dict, members: int, perturb: str) -> list[dict]:
    """The members' values of the perturbed key: its value in the case (after ``sets``) shifted
    evenly over [−HALF, +HALF] (vajont_ensemble_resolution.offsets); one member: the case itself."""
    if members < 2:
        return [{}]
    from vajont_ensemble_resolution import offsets, perturbation

    key, half, centre = perturbation(ap, perturb, case_path, sets)
    return [{key: centre + float(d)} for d in offsets(members, half)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="cases/vajont_10block.toml")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a case value for every run")
    ap.add_argument("--variants", default="base,time/2,time/4,g2/2,dt/2")
    ap.add_argument("--until", type=float, default=23.4, help="end of each run [s] (after the strike)")
    ap.add_argument("--members", type=int, default=1, help="runs per variant (default 1: the case itself)")
    ap.add_argument("--perturb", default="water.level=0.004", metavar="KEY=HALF",
                    help="with --members > 1: the key the members differ by, spread evenly over +-HALF")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", type=Path, help="the JSON report (default: print it)")
    a = ap.parse_args(argv)
    if not Path(a.case).is_file():
        ap.error(f"--case: {a.case}: no such file")
    if not a.until > 0:
        ap.error(f"--until: found {a.until}; allowed: a time > 0 s")
    sets = parse_sets(ap, a.set)
    table = all_variants(a.case, sets)
    names = parse_variants(ap, a.variants, tuple(table))
    members = member_values(ap, a.case, sets, a.members, a.perturb)
    todo = [(a.case, n, {**sets, **table[n], **m}, a.until) for n in names for m in members]
    from coupling.output.provenance import git_commit

    t0 = time.perf_counter()
    if a.jobs > 1:
        with ProcessPoolExecutor(a.jobs) as pool:
            runs = list(pool.map(run_one, todo))
    else:
        runs = [run_one(x) for x in todo]
    report = {"case": a.case, "sets": sets, "until": a.until, "steps": STEPS, "impulse_window": IMPULSE_WINDOW,
              "heat_window": HEAT_WINDOW,
              "command": "python benchmarks/vajont_landing.py --case " + a.case
              + "".join(set_text(k, v) for k, v in sets.items()) + f" --variants {','.join(names)}"
              + (f" --members {a.members} --perturb {a.perturb}" if a.members > 1 else ""),
              "machine": machine(), "git_commit": git_commit(), "wall_s": time.perf_counter() - t0, "runs": runs}
    report["ensemble_means"] = ensemble_means(report)
    means = ensemble_statement(report)
    publish(report, statement(report) + (f". {means}" if means else ""), a.out)
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
