"""Vajont sensitivity: peak velocity, time to rest and run-out over the published ranges.

    python benchmarks/vajont_sensitivity.py [--case cases/vajont.toml] [--lhs 16] [--seed 14]
        [--ensemble-dir /tmp/vajont_ensemble] [--out benchmarks/out/vajont_sensitivity.json]
        [--quick] [--simulated-time S]

On several machines (one member per MPI worker, rank 0 manages):

    mpiexec -n K python -m mpi4py.futures benchmarks/vajont_sensitivity.py ...

Parameters and ranges (vajont.md; the case file gives the sources):

    phi_residual       clay residual friction          6.7 – 14.9 deg    (Bolla et al. 2020)
    band_thickness h   shear band                      0.5 – 2 mm, log   (≈ 1 mm: Vardoulakis 2002) [est range]
    pressurisation Λ   pore-pressure rise per kelvin   0.03 – 0.3 MPa/K, log (Vardoulakis 2002; Pinyol & Alonso 2010)
    water.level        reservoir 680 – 710 m a.s.l.    z = 216 – 246 m   (700 m at failure, Rivis 2012) [est range]

h and Λ are scale parameters (δc = ρc·h/(μΛ)); the hypercube samples them log-uniformly.

1. One at a time (OAT): the case at its own parameters, then each parameter at each end of its
   range with the others at the case's values (the case's φ_r = 6.7° is the low end of its range,
   so that end is the base run itself: 8 runs, not 9).
2. A Latin hypercube over all four: ``--lhs`` members, seed ``--seed`` — exactly the design of
   ``deepmanifold ensemble CASE --vary ... --samples N --design lhs --seed S`` (the same function;
   that command run on ``ENSEMBLE_DIR/lhs`` finds every member finished and reuses it).

Both are ensembles of the ensemble engine (coupling.ensemble.engine, mpi4py.futures): each member
writes its run folder under ``--ensemble-dir`` (oat/, lhs/, with ensemble.h5), a failed member is
recorded, not fatal, and rerunning the command resumes. Every member runs the case's own time
settings (dt, g2, duration) unless ``--quick`` (g2 = 1e-3, Δt = 0.01 s: for trying the script; the
session-6 base run moved 15 % with it) or ``--simulated-time``. JSON to ``--out`` and a tornado
plot (each parameter's low end → high end, about the base run) beside it (.png).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

#: key → (lo, hi, log)
PARAMS = {
    "joints.slip_surface.law.phi_residual": (6.7, 14.9, False),
    "joints.slip_surface.law.band_thickness": (0.5e-3, 2.0e-3, True),
    "joints.slip_surface.law.pressurisation": (0.03e6, 0.3e6, True),
    "water.level": (216.0, 246.0, False),
}
#: ``--flank``: the north flank as a fifth parameter, tied (``--vary KEY1,KEY2=LO:HI``): the height of its
#: top, a vertex of the fixed block and the end of ``monitor.runup_line``, over its 500 m of width from the
#: toe at z = 0 (vajont.md: rising at 20-45 deg [est]); uniform in that height, 181.99-500 m <-> 20-45 deg
FLANK_KEY = "blocks[0].polygon[2][1],monitor.runup_line[1][1]"
FLANK_RANGE = (round(500.0 * float(np.tan(np.radians(20.0))), 2), 500.0, False)
RESULTS = ("peak_velocity", "duration", "runout", "runup")
#: every member: no field files, no plots (the calibration's confirmation runs draw theirs)
MEMBER_SETS = {"output.fields": False, "output.plots": False}
QUICK_SETS = {"dda.max_displacement_ratio": 1e-3, "dda.dt": 0.01}


def parameters():
    from coupling.ensemble.design import Parameter

    return [Parameter(k, lo, hi, log) for k, (lo, hi, log) in PARAMS.items()]


def member_overrides(quick: bool = False, simulated_time: float | None = None, sets: list[str] | None = None) -> dict:
    """The overrides every member gets (besides its parameter values); ``sets``: ``KEY.PATH=VALUE`` texts."""
    from coupling.case.loader import parse_overrides

    over = {**MEMBER_SETS, **parse_overrides(sets or [])}
    if quick:
        over.update(QUICK_SETS)
    if simulated_time is not None:
        over["dda.duration"] = float(simulated_time)
    return over


def case_values(case_path: str) -> dict[str, float]:
    """The case's own value of every varied key."""
    import coupling

    from coupling.case.loader import split_key

    data = coupling.load_case(case_path).data

    def get(key):  # a tied key: its first path (every path of a tie holds the same value in the case)
        node = data
        for part in split_key(key.split(",")[0]):
            node = node[part]
        return float(node)

    return {k: get(k) for k in PARAMS}


def oat_points(base: dict[str, float]) -> tuple[np.ndarray, list[dict]]:
    """The base point, then each parameter at each end of its range (ends equal to the case's
    value are skipped: that run is the base). Returns points (n, d) and labels."""
    keys = list(PARAMS)
    rows, labels = [[base[k] for k in keys]], [{"key": None, "end": "base"}]
    for j, (k, (lo, hi, _)) in enumerate(PARAMS.items()):
        for end, v in (("low", lo), ("high", hi)):
            if np.isclose(v, base[k], rtol=1e-12, atol=0):
                continue
            row = [base[kk] for kk in keys]
            row[j] = v
            rows.append(row)
            labels.append({"key": k, "end": end})
    return np.array(rows, dtype=float), labels


def latin_hypercube(n: int, seed: int = 14) -> np.ndarray:
    """The hypercube of ``deepmanifold ensemble --design lhs --samples n --seed seed``, (n, d)."""
    from coupling.ensemble.design import sample_design

    return sample_design(parameters(), n, "lhs", seed)


def collect(case: str, params, points: np.ndarray, folder: Path, overrides: dict, design: str,
            seed: int | None = None) -> list[dict]:
    """The members of an ensemble that have finished, without running any (``--collect-only``):
    each finished member's record, ``not run`` for the others; the folder's table is rewritten
    with them (the ensemble's own run rewrites it again when it ends)."""
    from coupling.ensemble.engine import TABLE, previous_member, member_folder
    from coupling.ensemble.table import write_table

    members = []
    for i, row in enumerate(points):
        prev = previous_member(member_folder(folder, i), {**overrides, **{k: x for p, v in zip(params, row) for k, x in p.sets(v).items()}})
        members.append({"index": i, "message": "", "scalars": {}, **(prev or {"status": "not run"})})
    if (folder / "ensemble.json").is_file():
        write_table(folder / TABLE, [p.as_dict() for p in params], points, members,
                    {"case": case, "design": design, "seed": -1 if seed is None else int(seed)})
    return members


def record(member: dict, point: np.ndarray) -> dict:
    """One member as a JSON row: its parameter values, status and the results of RESULTS."""
    s = member.get("scalars") or {}
    row = {"sets": {k: float(v) for k, v in zip(PARAMS, point)}, "ok": member["status"] == "ok",
           "status": member["status"], "wall_s": member.get("wall_s")}
    if member.get("message"):
        row["error"] = member["message"]
    row.update({k: s.get(k) for k in (*RESULTS, "time_to_rest", "onset_time", "final_speed",
                                       "band_temperature_rise_slide_max", "band_pore_pressure_ratio_slide_max")})
    return row


def sensitivity_table(base: dict, oat: list[dict], labels: list[dict]) -> dict:
    """Per parameter and result: value at the low end, the high end and the change from the base."""
    table: dict = {}
    for key in PARAMS:
        entry = {}
        for res in RESULTS:
            b = base.get(res)
            ends = {}
            for end in ("low", "high"):
                hit = [o for o, lab in zip(oat, labels) if lab["key"] == key and lab["end"] == end]
                ends[end] = hit[0].get(res) if hit else b  # an end equal to the case's value is the base
            entry[res] = {**ends, "base": b,
                          "swing": (None if None in (ends["low"], ends["high"]) else ends["high"] - ends["low"])}
        table[key] = entry
    return table


def tornado(path: Path, table: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(RESULTS), figsize=(4 * len(RESULTS), 3.6), dpi=120)
    units = {"peak_velocity": "m/s", "duration": "s", "runout": "m", "runup": "m"}
    for ax, res in zip(axes, RESULTS):
        def reach(k):  # the largest change from the base at either end
            e = table[k][res]
            return max((abs(e[end] - e["base"]) for end in ("low", "high") if None not in (e[end], e["base"])), default=0.0)

        keys = sorted(PARAMS, key=reach)  # largest at the top
        b = next((table[k][res]["base"] for k in keys if table[k][res]["base"] is not None), None)
        for i, key in enumerate(keys):
            e = table[key][res]
            for end, color, dy in (("low", "C0", -0.17), ("high", "C3", 0.17)):  # side by side: both ends may lie on one side
                if e[end] is not None and b is not None:
                    ax.barh(i + dy, e[end] - b, left=b, color=color, alpha=0.8, height=0.32)
        if b is not None:
            ax.axvline(b, color="k", lw=0.8)
        ax.set_yticks(range(len(keys)), ["flank top z" if k == FLANK_KEY else k.split(".")[-1] for k in keys], fontsize=8)
        ax.set_title(f"{res} [{units[res]}]", fontsize=9)
    fig.suptitle("Vajont one-at-a-time sensitivity over the published ranges (blue: low end, red: high end; "
                 "black: the case)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default=str(ROOT / "cases" / "vajont.toml"))
    ap.add_argument("--lhs", type=int, default=16, help="hypercube members (default 16)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--no-oat", action="store_true", help="only the hypercube")
    ap.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override for every member (repeatable)")
    ap.add_argument("--collect-only", action="store_true",
                    help="run nothing: report the members finished so far (the others 'not run')")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the base point at the case's own settings (run when --quick or --simulated-time)")
    ap.add_argument("--quick", action="store_true", help="g2 = 1e-3, dt = 0.01 s (trying the script only)")
    ap.add_argument("--simulated-time", type=float, default=None, help="dda.duration [s] (default: the case's)")
    ap.add_argument("--ensemble-dir", default="/tmp/vajont_ensemble", help="member run folders (rerun to resume)")
    ap.add_argument("--flank", action="store_true",
                    help="vary the north flank too (20-45 deg, tied key " + FLANK_KEY + ")")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_sensitivity.json"))
    a = ap.parse_args(argv)
    if a.flank:
        PARAMS[FLANK_KEY] = FLANK_RANGE
        try:
            return _main(a)
        finally:
            PARAMS.pop(FLANK_KEY)
    return _main(a)


def _main(a: argparse.Namespace) -> dict:

    from coupling.ensemble.engine import pool_executor, run_ensemble

    executor = None if a.collect_only else pool_executor()
    params, over, ens = parameters(), member_overrides(a.quick, a.simulated_time, a.set), Path(a.ensemble_dir)
    case = str(Path(a.case).resolve())
    base_values = case_values(case)
    t0 = time.perf_counter()
    oat_pts, labels = oat_points(base_values)
    reference = None
    if a.collect_only:
        def run_ensemble(case, params, points, folder, *, overrides, design, seed=None, executor=None):  # noqa: F811
            from types import SimpleNamespace

            return SimpleNamespace(members=collect(case, params, points, folder, overrides, design, seed))
    try:
        if over != MEMBER_SETS and not a.no_reference:  # shortened or coarser members: the base point at the case's own settings too
            reference = run_ensemble(case, params, oat_pts[:1], ens / "reference", overrides=dict(MEMBER_SETS),
                                     design="reference", executor=executor).members[0]
        oat_members = [] if a.no_oat else run_ensemble(case, params, oat_pts, ens / "oat", overrides=over,
                                                       design="one-at-a-time", executor=executor).members
        lhs_pts = latin_hypercube(a.lhs, a.seed)
        lhs_members = run_ensemble(case, params, lhs_pts, ens / "lhs", overrides=over, design="lhs", seed=a.seed,
                                   executor=executor).members if a.lhs else []
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    oat = [record(m, p) for m, p in zip(oat_members, oat_pts)]
    lhs = [record(m, p) for m, p in zip(lhs_members, lhs_pts)]
    base = oat[0] if oat else {}
    if reference is not None:
        reference = record(reference, oat_pts[0])
        reference["relative_change_of_the_members_settings"] = {
            res: (None if None in (base.get(res), reference.get(res)) else (base[res] - reference[res]) / reference[res])
            for res in RESULTS} if base else None
    out = {
        "case": str(Path(case).relative_to(ROOT)) if Path(case).is_relative_to(ROOT) else case,
        "case_sha256": __import__("hashlib").sha256(Path(case).read_bytes()).hexdigest(),
        "git_head": _git_head(),
        "member_overrides": over, "quick": a.quick, "simulated_time": a.simulated_time,
        "params": {k: {"lo": lo, "hi": hi, "log": log, "case": base_values[k]} for k, (lo, hi, log) in PARAMS.items()},
        "ensemble_dir": str(ens), "seed": a.seed,
        "equivalent_command": ("deepmanifold ensemble " + case + " " + " ".join(f"--vary {p.text}" for p in params)
                               + f" --samples {a.lhs} --design lhs --seed {a.seed} "
                               + " ".join(f"--set {k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in over.items())
                               + f" -o {ens / 'lhs'}"),
        "reference_at_the_case_settings": reference,
        "base": base, "one_at_a_time": oat, "oat_labels": labels[:len(oat)],
        "sensitivity": sensitivity_table(base, oat[1:], labels[1:]) if oat else {},
        "latin_hypercube": lhs,
        "all_finished": all(r["ok"] for r in oat + lhs),
        "lhs_all_finished": all(r["ok"] for r in lhs), "collect_only": a.collect_only,
        "lhs_finished": sum(1 for r in lhs if r["ok"]),
        "lhs_range": {res: [min(v), max(v)] for res in RESULTS
                      if (v := [r[res] for r in lhs if r["ok"] and r.get(res) is not None])},
        "lhs_missing": {res: sum(1 for r in lhs if r["ok"] and r.get(res) is None) for res in RESULTS},
        "member_wall_s": {"median": float(np.median([r["wall_s"] for r in oat + lhs if r.get("wall_s")]))
                          if (oat or lhs) else None},
        "wall_s": time.perf_counter() - t0,
    }
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(path)
    if oat:
        tornado(path.with_suffix(".png"), out["sensitivity"])
    print(json.dumps({"reference": reference, "base": base, "all_finished": out["all_finished"], "lhs_range": out["lhs_range"]}, indent=1))
    return out


def _git_head() -> str | None:
    import subprocess

    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
