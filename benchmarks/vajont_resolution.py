"""How well a Vajont case resolves what it reports: the case refined in time, in contact
stiffness and in its static settling start (issue 13 item 8: every shipped case states the
accuracy of its results against a reference or a refined run; issue 14 item 4: an answer
round-off cannot move).

    python benchmarks/vajont_resolution.py [--case cases/vajont.toml] [--jobs 1]
        [--variants base,time/2,...] [--set KEY=VALUE ...] [--duration S]
        [--run-dir DIR] [--out benchmarks/out/vajont_resolution.json]

Runs (every run is the case through ``coupling.run``, no output files), all derived from the
case's own settings, so the script measures whatever case it is given:

    base            the case as shipped
    time/2          Δt and Shi's g2 (largest vertex displacement per step / w0) halved
    time/4          Δt and g2 quartered (the second level of the time refinement sequence), with
                    time/2's penetration limit in metres (it is max_penetration_ratio × 2.5 g2 w0)
    time/8          Δt and g2 divided by 8 (the third level), with time/2's penetration limit too
                    (a case that settles: every time variant keeps the base run's first step,
                    ``dda.initial_dt``, so that its settled state is the base run's; session 25.
                    The reports committed before refined the first step with Δt: their runs name
                    their overrides, so a rerun of their command reruns them, it does not reuse them)
    penalty×2       contact normal stiffness doubled (``dda.penalty_factor``, or ``dda.penalty``)
    penalty/2       contact normal stiffness halved
    settle+5s       static settling 5 s longer (``dda.settle_time`` and ``dda.duration`` + 5 s:
                    the same event window); only for a case that settles
    settle_dt/2     settling steps halved (``dda.settle_dt``); only for a case that settles

What the time variants keep: the model. A case with ``dda.contact_damping_time`` τ_c keeps
its contact damping p_n τ_c at Δt/2 and Δt/4 (the solver adds what DDA's update no longer
damps: without τ_c the update's own damping p_n Δt/2 halves with Δt, the impacts' restitution
rises, and a run whose end depends on impacts measures that change of model, not its
discretisation error: issue 13 item 8, session 9).

``--set KEY=VALUE`` overrides every run (e.g. ``--set dda.contact_damping_ratio=1`` to
measure a setting before the case adopts it); ``--variants`` picks a subset. With
``--run-dir DIR`` every run writes its run folder (history.h5 with the centroid tracks and
contact counts of every step, to compare trajectories) to DIR/<variant>, and a folder whose
summary.json is a finished run of the same input is reused: an interrupted study resumes.

For each reported quantity (peak velocity, run-out, run-up, duration from onset to rest, and
the largest band temperature rise and pore pressure where the case has a pressurised band) the
JSON gives the value of every run, the relative change of each variant against the base run
|q_variant − q_base| / |q_base|, the largest of them (the resolution the case states in its
``accuracy`` key) and, for the time sequence base → time/2 → time/4, the two successive
changes (their ratio shows whether the answer converges as Δt falls). With ``--run-dir`` it
also says where each variant's trajectory leaves the base run's (``split``: the first time
after the end of settling at which a slide block's centroid is farther from the base run's
than 2 m or 1 % of its travel). The runs are independent: ``--jobs 2`` runs two at a time (one process per run).
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

RESULTS = ("peak_velocity", "runout", "runup", "duration", "band_temperature_rise_max", "band_pore_pressure_max",
           "band_temperature_rise_slide", "band_pore_pressure_slide", "band_temperature_rise_slide_max",
           "band_pore_pressure_ratio_slide_max")
#: the other numbers a DDA run reports (summary.json results and not_resolved), recorded per run
#: too so that an ensemble study judges every one of them (session 31 on)
OTHER_RESULTS = ("time_of_peak", "max_runout", "drop", "final_velocity", "front_x_final", "slide_area_m2", "blocks",
                 "slivers_removed", "simulated_time", "settle_time", "onset_friction_deg", "trigger_held_time")
ALL_VARIANTS = ("base", "time/2", "time/4", "time/8", "penalty×2", "penalty/2", "settle+5s", "settle_dt/2")


def _value(text: str):
    """A --set value as TOML would read it (number, bool) or the string itself."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_text(key: str, value) -> str:
    """`` --set KEY=VALUE`` as the command line takes it back (TOML booleans are lower case)."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f" --set {key}={text}"


def variants(case_path: str, sets: dict | None = None) -> dict[str, dict]:
    """name -> overrides of every variant, from the case's own Δt, g2, penalty and settling
    (after the overrides ``sets`` common to every run)."""
    import coupling

    dda = coupling.load_case(case_path, sets or None).spec.dda
    stiff = ({"dda.penalty": 2 * dda.penalty}, {"dda.penalty": 0.5 * dda.penalty}) if dda.penalty else (
        {"dda.penalty_factor": 2 * dda.penalty_factor}, {"dda.penalty_factor": 0.5 * dda.penalty_factor})
    # the time variants refine the event and keep the base run's first step (dda.initial_dt): the
    # settling's steps start from it and grow towards settle_dt, so that the settled state (the
    # event's initial state) does not move with dt (session 25: in vajont_10block, dt/2 from the
    # first step left compartment 6's front corner a different load at the end of the settling,
    # which decides when it lifts off the band and so the band it lands with 12.5 s later,
    # benchmarks/vajont_landing.py). A case without a settling phase starts the event at once:
    # there the first step is the event's and is refined with it.
    first = {"dda.initial_dt": dda.initial_dt or dda.dt} if dda.settle_time > 0 else {}
    out = {
        "base": {},
        "time/2": {"dda.dt": dda.dt / 2, "dda.max_displacement_ratio": dda.max_displacement_ratio / 2, **first},
        # the penetration limit is max_penetration_ratio × 2.5 g2 w0: at g2/4 it falls below an
        # impact's penetration (Vajont: 0.044 m against 0.07-0.08 m), the step control doubles the
        # penalty again and again and the run diverges; time/4 keeps time/2's limit in metres
        "time/4": {"dda.dt": dda.dt / 4, "dda.max_displacement_ratio": dda.max_displacement_ratio / 4,
                   "dda.max_penetration_ratio": 2 * dda.max_penetration_ratio, **first},
        "time/8": {"dda.dt": dda.dt / 8, "dda.max_displacement_ratio": dda.max_displacement_ratio / 8,
                   "dda.max_penetration_ratio": 4 * dda.max_penetration_ratio, **first},
        "penalty×2": stiff[0],
        "penalty/2": stiff[1],
    }
    if dda.settle_time > 0:
        out["settle+5s"] = {"dda.settle_time": dda.settle_time + 5.0, "dda.duration": dda.duration + 5.0}
        out["settle_dt/2"] = {"dda.settle_dt": (dda.settle_dt or dda.dt) / 2}
    return out


SLUGS = {"base": "base", "time/2": "time_2", "time/4": "time_4", "time/8": "time_8", "penalty×2": "penalty_x2", "penalty/2": "penalty_half",
         "settle+5s": "settle_plus_5s", "settle_dt/2": "settle_dt_2"}
_NOT_INPUT = ("output", "title", "description", "accuracy", "accuracy_studies", "not_resolved", "monitor")  # what a reused run folder may differ in
REST_KEYS = ("time_to_rest", "duration", "onset_time")  # what the monitor settings change: recomputed on reuse


def _input(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in _NOT_INPUT}


def _reusable(folder: Path, case) -> dict | None:
    """The results of a finished run folder of the same input as ``case``, else None."""
    from coupling.runner import computed_results

    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    stored, now = _input(summary.get("case", {}).get("input", {})), _input(case.spec.model_dump(mode="json"))
    # a [dda] key added to the schema after the folder was written counts as equal at its default
    fields = type(case.spec.dda).model_fields
    now["dda"] = {k: v for k, v in now.get("dda", {}).items()
                  if k in stored.get("dda", {}) or k not in fields or v != fields[k].default}
    same = stored == now
    if summary.get("status") not in ("ok", "diverged") or not same:
        return None
    if summary["status"] == "ok" and summary.get("case", {}).get("input", {}).get("monitor") != \
            case.spec.model_dump(mode="json").get("monitor"):
        # the monitor (rest speed and window) reads the run, it does not change it: recompute
        rest = _rest_from_history(folder, case, computed_results(summary))
        for k, v in rest.items():  # where the case's not_resolved key puts each (as a run would)
            summary.setdefault("not_resolved" if k in case.spec.not_resolved else "results", {})[k] = v
            if k in case.spec.not_resolved:
                summary.get("results", {}).pop(k, None)
    if summary["status"] == "diverged":  # a finished run that diverged: its reason, not a rerun
        return {"diverged": f"RunDiverged: {summary.get('message', '')}",
                "peak_velocity": computed_results(summary).get("peak_velocity")}
    return {**_results(summary), "run_wall_s": summary.get("timings", {}).get("total_s")}


def _results(summary: dict) -> dict:
    """A run's results (``results`` and ``not_resolved``) and the code that made it (summary.json's
    ``versions.git_commit``)."""
    from coupling.runner import computed_results

    return {**computed_results(summary), "git_commit": summary.get("versions", {}).get("git_commit")}


def _rest_from_history(folder: Path, case, results: dict) -> dict:
    """Onset, time to rest and duration of a finished run folder under ``case``'s monitor
    settings (coupling.runners.dda.group_motion on history.h5's centroid and velocity tracks,
    the blocks weighted by their areas in the last state: one material, and areas change by the
    blocks' elastic strain only, ~1e-5)."""
    from types import SimpleNamespace

    import h5py
    import numpy as np

    from coupling.runners.dda import group_motion
    from dda.geometry import Polygons

    with h5py.File(folder / "history.h5", "r") as f:
        xy, voff = np.asarray(f["state/xy"]), np.asarray(f["state/voff"])
        run = SimpleNamespace(time=np.asarray(f["time"]), centroid=np.asarray(f["centroid"]),
                              velocity=np.asarray(f["velocity"]))
    area = np.abs(Polygons(xy, voff).props().area)
    mon = case.spec.monitor
    m = group_motion(run, np.asarray(results["monitored_blocks"]), area, mon.rest_velocity, mon.rest_window)
    return {k: m[k] for k in REST_KEYS}


def run_one(args: tuple[str, str, dict, str | None]) -> dict:
    case_path, name, sets, run_dir = args
    import coupling

    over = {**sets, "output.fields": run_dir is not None, "output.plots": False}
    t0 = time.perf_counter()
    try:
        case = coupling.load_case(case_path, over)
        folder = Path(run_dir) / SLUGS.get(name, name) if run_dir else None
        r = _reusable(folder, case) if folder is not None else None
        reused = r is not None
        if reused and "diverged" in r:
            return {"name": name, "sets": sets, "ok": False, "error": r["diverged"], "reused": True,
                    "peak_before_divergence": r.get("peak_velocity"),
                    "wall_s": None, **({"run_folder": str(folder)} if folder is not None else {})}
        if r is None:
            r = _results(coupling.run(case, folder, force=True).summary)
        wall = r.get("run_wall_s") if reused else time.perf_counter() - t0  # a reused folder: its own run's wall time
        return {"name": name, "case": case_path, "sets": sets, "ok": True, "wall_s": wall, "reused": reused,
                "git_commit": r.get("git_commit"),  # the code that made it (a reused folder: its own)
                **({} if reused else {"machine": machine()}),
                **({"run_folder": str(folder)} if folder is not None else {}),
                **{k: r.get(k) for k in RESULTS}, "onset_time": r.get("onset_time"), "time_to_rest": r.get("time_to_rest"),
                **{k: r[k] for k in OTHER_RESULTS if k in r}}
    except BaseException as exc:  # recorded: the table says which run failed and why
        return {"name": name, "sets": sets, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "wall_s": time.perf_counter() - t0}


def _change(a, b) -> float | None:
    return abs(b - a) / abs(a) if (a not in (None, 0) and b is not None) else None


def relative_changes(runs: list[dict]) -> dict[str, dict[str, float | None]]:
    """quantity -> {variant: |q − q_base| / |q_base|} (None where a value is missing)."""
    base = next(r for r in runs if r["name"] == "base")
    return {q: {r["name"]: (_change(base.get(q), r.get(q)) if r["ok"] else None) for r in runs if r["name"] != "base"}
            for q in RESULTS}


def time_sequence(runs: list[dict]) -> dict[str, dict[str, float | None]] | None:
    """quantity -> the successive changes of the time sequence base → time/2 → time/4,
    |q(Δt/2) − q(Δt)| / |q(Δt/4)| and |q(Δt/4) − q(Δt/2)| / |q(Δt/4)|, and their ratio
    (≈ 2 for a first-order convergent answer, ≈ 1 or erratic for one that is not resolved);
    with a time/8 run also ``dt/4_to_dt/8`` = |q(Δt/8) − q(Δt/4)| / |q(Δt/8)|."""
    by = {r["name"]: r for r in runs if r["ok"]}
    if not all(k in by for k in ("base", "time/2", "time/4")):
        return None
    out = {}
    for q in RESULTS:
        a, b, c = (by[k].get(q) for k in ("base", "time/2", "time/4"))
        if None in (a, b, c) or c == 0:
            out[q] = None
            continue
        d1, d2 = abs(b - a) / abs(c), abs(c - b) / abs(c)
        out[q] = {"dt_to_dt/2": d1, "dt/2_to_dt/4": d2, "ratio": (d1 / d2) if d2 > 0 else None}
        e = by["time/8"].get(q) if "time/8" in by else None
        if e not in (None, 0):  # the third level: |q(Δt/8) − q(Δt/4)| / |q(Δt/8)|
            out[q]["dt/4_to_dt/8"] = abs(e - c) / abs(e)
    return out


SPLIT_DISTANCE = 2.0  # m; with SPLIT_FRACTION: tracks farther apart than max(2 m, 1 % of the travel) have split
SPLIT_FRACTION = 0.01


def read_centroids(folder: Path, settle: float = 0.0) -> tuple:
    """(time − ``settle`` [s] (n_t,), centroids of the free blocks (n_t, n_free, 2) [m]) from a
    run folder's history.h5."""
    import h5py
    import numpy as np

    with h5py.File(folder / "history.h5", "r") as f:
        free = np.flatnonzero(np.asarray(f["fixed"]) == 0)
        return np.asarray(f["time"]) - settle, np.asarray(f["centroid"])[:, free, :]


def centroids_at(t, times, centroids):
    """Centroid tracks (n, k, 2) recorded at ``times`` (n,), linearly interpolated at ``t`` → (len(t), k, 2)."""
    import numpy as np

    return np.stack([np.stack([np.interp(t, times, centroids[:, k, d]) for d in range(2)], -1)
                     for k in range(centroids.shape[1])], 1)


def split_times(runs: list[dict]) -> dict[str, dict] | None:
    """Where each variant's trajectory leaves the base run's (needs ``--run-dir``): the block
    centroid tracks of history.h5, on the event's clock t − settle_time (so settle+5s is
    compared at the same event time), interpolated on the base run's steps. Per variant:
    ``split_event_time`` [s] the first event time at which a free block's centroid is farther
    from the base run's than max(SPLIT_DISTANCE, SPLIT_FRACTION × that block's travel so far
    in the base run), ``distance_before`` [m] the largest distance up to 1 s before it,
    ``distance_at_end`` [m], and ``distance`` [[event time s, m], ...] every second."""
    import numpy as np

    by = {r["name"]: r for r in runs if r.get("ok") and r.get("run_folder")}
    if "base" not in by:
        return None

    def track(r: dict) -> tuple:
        import coupling

        settle = coupling.load_case(r["case"], r["sets"]).spec.dda.settle_time if r.get("case") else 0.0
        return read_centroids(Path(r["run_folder"]), settle)

    tb, cb = track(by["base"])
    out = {}
    for name, r in by.items():
        if name == "base":
            continue
        tv, cv = track(r)
        t = tb[(tb >= max(tv[0], 0.0)) & (tb <= tv[-1])]
        cb_t, cv_t = centroids_at(t, tb, cb), centroids_at(t, tv, cv)
        apart = np.linalg.norm(cv_t - cb_t, axis=2)  # (n_t, n_blocks)
        travel = np.linalg.norm(cb_t - cb_t[:1], axis=2)
        dist = apart.max(axis=1)
        far = np.flatnonzero(np.any(apart > np.maximum(SPLIT_DISTANCE, SPLIT_FRACTION * travel), axis=1))
        ts = float(t[far[0]]) if far.size else None
        before = dist[t <= ts - 1.0] if ts is not None else dist
        out[name] = {"split_event_time": ts, "distance_before": float(before.max()) if before.size else 0.0,
                     "distance_at_end": float(dist[-1]),
                     "distance": [[float(x), float(np.interp(x, t, dist))] for x in np.arange(0.0, t[-1], 1.0)]}
    return out


VARIANT_WORDS = {"time/2": "dt and g2 halved", "time/4": "quartered", "time/8": "divided by 8", "penalty×2": "contact stiffness x2",
                 "penalty/2": "contact stiffness /2", "settle+5s": "5 s more settling", "settle_dt/2": "settling steps halved"}
STATED = ("peak_velocity", "runout", "runup", "duration")


def accuracy_statement(report: dict) -> str:
    """The resolution sentence a case's ``accuracy`` key quotes, generated from a report of
    this script (its JSON): the base run's peak [m/s] / run-out [m] / run-up [m] / onset to
    rest [s], each variant's signed change of them against the base run [%], and the largest
    change of each (tests/test_vajont_resolution.py checks that the shipped cases quote the
    sentence of their committed JSON)."""
    by = {r["name"]: r for r in report["runs"] if r.get("ok")}
    base = by["base"]

    def pct(name: str) -> str:  # a run not at rest by its end has no onset to rest: "not at rest"
        return " / ".join("not at rest" if by[name][q] is None else f"{100 * (by[name][q] - base[q]) / abs(base[q]):+.1f}"
                          for q in STATED) + " %"

    parts = [f"{VARIANT_WORDS[n]} {pct(n)}" for n in by if n != "base"]
    for r in report["runs"]:  # a variant that did not finish is stated, with the solver's reason
        if not r.get("ok"):
            reason = r.get("error", "").split(": ", 1)[-1].split(" after ")[0]
            peak = r.get("peak_before_divergence")
            before = f"; its peak before: {100 * (peak - base['peak_velocity']) / base['peak_velocity']:+.1f} %" if peak else ""
            parts.append(f"{VARIANT_WORDS[r['name']]}: did not finish ({reason}{before})")
    worst = report["worst_relative_change"]
    common = "".join(set_text(k, v) for k, v in report.get("common_overrides", {}).items())
    largest = ("largest: " + ", ".join(f"{w} {100 * worst[q]:.1f} %" if worst.get(q) is not None else f"{w} -"
                                       for q, w in zip(STATED, ("peak", "run-out", "run-up", "onset to rest")))
               if any(worst.get(q) is not None for q in STATED) else "no variant finished")
    return (f"resolution (python benchmarks/vajont_resolution.py --case cases/{Path(report['case']).name}{common}"
            f" --variants {','.join(r['name'] for r in report['runs'])}): base peak {base['peak_velocity']:.2f} m/s, run-out {base['runout']:.1f} m, "
            f"run-up {base['runup']:.1f} m, onset to rest {base['duration']:.2f} s; change of peak / run-out / run-up / "
            f"onset to rest: {'; '.join(parts)}; {largest}")


def parse_sets(ap: argparse.ArgumentParser, items: list[str]) -> dict:
    """The ``--set KEY=VALUE`` items as {key: value} (TOML values); a malformed item is ``ap.error``."""
    common = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            ap.error(f"--set {item}: expected KEY=VALUE")
        common[key.strip()] = _value(val.strip())
    return common


def parse_variants(ap: argparse.ArgumentParser, text: str, allowed) -> list[str]:
    """The comma-separated ``--variants`` names, "base" first (added when missing); an unknown
    name is ``ap.error`` listing the ``allowed`` ones."""
    wanted = [v.strip() for v in text.split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(allowed))
    if unknown:
        ap.error(f"--variants: found {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return wanted if "base" in wanted else ["base", *wanted]


def run_all(todo: list[tuple], jobs: int = 1) -> list[dict]:
    """:func:`run_one` of every item, ``jobs`` at a time (one process per run), in order."""
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            return list(pool.map(run_one, todo))
    return [run_one(t) for t in todo]


def machine() -> str:
    """The processor this process runs on (/proc/cpuinfo's model name, else platform's), with
    OPENBLAS_CORETYPE when set: OpenBLAS picks its kernels by processor, and these runs grow the
    round-off of different kernels to percent differences (session 22)."""
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    core = os.environ.get("OPENBLAS_CORETYPE")
    return name + (f", OPENBLAS_CORETYPE={core}" if core else "")


def code_versions(runs: list[dict]) -> list[str]:
    """The code versions (git commit, ``+dirty`` for uncommitted changes) that made the runs of a
    report, sorted; a run without one (not a git checkout) counts as "unknown". A report of one
    model holds one clean commit. (The machine matters as well: these runs grow round-off, and
    one commit gives the flagship's run-out as 331.3 m with OpenBLAS's SkylakeX kernels and
    332.2 m with its Haswell kernels, session 22; each run records its :func:`machine`.)"""
    return sorted({r.get("git_commit") or "unknown" for r in runs if r.get("ok")})


def checked_code_versions(runs: list[dict]) -> list[str]:
    """:func:`code_versions` of the runs, with :func:`code_warning`'s line on stderr when it has one."""
    versions = code_versions(runs)
    if (warning := code_warning(versions)) is not None:
        print(warning, file=sys.stderr)
    return versions


def code_warning(versions: list[str]) -> str | None:
    """A one-line warning for a report whose runs do not come from one committed code version."""
    if len(versions) > 1:
        return f"warning: the runs come from {len(versions)} code versions ({', '.join(v[:12] + ('+dirty' if v.endswith('+dirty') else '') for v in versions)}): rerun them with one"
    if versions and versions[0].endswith("+dirty"):
        return "warning: the runs come from a tree with uncommitted changes: commit, then rerun, so the report names its code"
    return None


def write_report(path: str | Path, report: dict) -> None:
    """The report as indented JSON, written atomically (folders created)."""
    from learned.files import atomic_write

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2), encoding="utf-8"))


def publish(report: dict, sentence: str, out: str | Path | None) -> None:
    """A study's end: its sentence on stderr, then the report written to ``out`` (:func:`write_report`)
    or, without ``out``, printed as indented JSON."""
    print(sentence, file=sys.stderr)
    if out:
        write_report(out, report)
    else:
        print(json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_resolution.json"))
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS), help="comma-separated subset of " + ", ".join(ALL_VARIANTS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override every run (repeatable)")
    ap.add_argument("--duration", type=float, default=None, help="simulated time [s] (default: the case's; "
                    "shorter only to try the script)")
    ap.add_argument("--run-dir", default=None, help="write every run's folder to DIR/<variant> (history.h5); reuse "
                    "finished folders of the same input")
    ap.add_argument("--accuracy", metavar="JSON", default=None, help="print the resolution sentence of a finished "
                    "report (the one a case's accuracy key quotes) and exit")
    a = ap.parse_args(argv)
    if a.accuracy:
        print(accuracy_statement(json.loads(Path(a.accuracy).read_text(encoding="utf-8"))))
        return 0
    common = parse_sets(ap, a.set)
    if a.duration:
        common["dda.duration"] = a.duration
    wanted = parse_variants(ap, a.variants, ALL_VARIANTS)
    every = variants(a.case, common)
    todo = [(a.case, name, {**common, **every[name]}, a.run_dir) for name in wanted if name in every]
    if a.duration:  # settle+5s keeps its event window
        todo = [(c, n, {**s, "dda.duration": a.duration + (5.0 if n == "settle+5s" else 0.0)}, d) for c, n, s, d in todo]
    t0 = time.perf_counter()
    runs = run_all(todo, a.jobs)
    changes = relative_changes(runs)
    worst = {q: max((v for v in c.values() if v is not None), default=None) for q, c in changes.items()}
    report = {"case": str(a.case), "common_overrides": common, "code_versions": checked_code_versions(runs),
              "runs": runs,
              "relative_change": changes,
              "worst_relative_change": worst, "time_sequence": time_sequence(runs), "split": split_times(runs) if a.run_dir else None,
              "split_rule": f"max({SPLIT_DISTANCE} m, {SPLIT_FRACTION:.0%} of the base run's travel)", "wall_s": time.perf_counter() - t0,
              "command": "python benchmarks/vajont_resolution.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    write_report(a.out, report)
    for r in runs:
        vals = "  ".join(f"{q} {r.get(q):.4g}" if r.get(q) is not None else f"{q} -" for q in RESULTS) if r["ok"] else r["error"]
        print(f"{r['name']:>12}: {vals}  ({r['wall_s'] or 0:.0f} s)")
    print("worst relative change:", {q: (f"{v:.2%}" if v is not None else None) for q, v in worst.items()})
    for name, sp in (report["split"] or {}).items():
        print(f"{name:>12}: tracks split at event time {sp['split_event_time']} s; "
              f"{sp['distance_before']:.2f} m apart until 1 s before, {sp['distance_at_end']:.1f} m at the end")
    print(f"wrote {a.out}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
