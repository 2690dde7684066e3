"""How far round-off moves a Vajont case's answer (issue 14 item 4: 1 rank, 2 ranks and the
SciPy linear solver give peak velocity, run-out and the duration of the event within 2 % of
each other; the slow test is tests/test_dda_cases.py -k ranks_or_linear).

    python benchmarks/vajont_roundoff.py [--case cases/vajont.toml] --run-dir DIR
        [--rank1-from FOLDER] [--mpiexec mpiexec] [--out benchmarks/out/vajont_roundoff.json]

Three runs of the case as shipped, each through the CLI (``python -m coupling run``) into
DIR/<run>, history.h5 included: ``rank1`` (1 rank, the case's linear solver), ``ranks2``
(``mpiexec -n 2``) and ``scipy`` (1 rank, ``--set dda.linear_solver=scipy``). A folder whose
summary.json is a finished run of the same input on the same number of ranks is reused
(benchmarks/vajont_resolution.py's rule), and ``--rank1-from`` takes the 1-rank run from
another finished folder of the same input (e.g. the base run of vajont_resolution.py's
``--run-dir``), so a resolution study and this one share their 1-rank run.

For peak velocity [m/s], run-out [m], run-up [m] and onset to rest (``duration``, s) the JSON
gives each run's value and the spread (max − min) / min; for each run against ``rank1``
whether the slide blocks' centroid tracks are bitwise equal at every step, else the largest
distance between them [m] and the first time they differ by more than 1e-6 m.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

_spec = importlib.util.spec_from_file_location("vajont_resolution", HERE / "vajont_resolution.py")
resolution = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(resolution)

QUANTITIES = ("peak_velocity", "runout", "runup", "duration")
RUNS = {"rank1": (1, []), "ranks2": (2, []), "scipy": (1, ["dda.linear_solver=scipy"])}
COMMON = ["output.plots=false"]  # fields stay on: history.h5 holds the centroid tracks compared below


def _finished(folder: Path, case_path: str, sets: list[str], ranks: int) -> dict | None:
    """summary.json of ``folder`` if it is a finished run of the case with ``sets`` on ``ranks``."""
    import coupling

    case = coupling.load_case(case_path, {k: resolution._value(v) for k, v in (s.split("=", 1) for s in sets)} or None)
    if resolution._reusable(folder, case) is None:
        return None
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return summary if summary.get("solver", {}).get("mpi_ranks") == ranks and summary["status"] == "ok" else None


def run(case_path: str, name: str, folder: Path, mpiexec: str) -> tuple[dict, bool]:
    """(summary.json, reused) of one run of the case into ``folder``."""
    ranks, extra = RUNS[name]
    sets = [*COMMON, *extra]
    summary = _finished(folder, case_path, sets, ranks)
    if summary is not None:
        return summary, True
    cmd = [sys.executable, "-m", "coupling", "run", case_path, "-o", str(folder), "-q", "--force"]
    for s in sets:
        cmd += ["--set", s]
    if ranks > 1:
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    return json.loads((folder / "summary.json").read_text(encoding="utf-8")), False


def compare_tracks(a: Path, b: Path) -> dict:
    """Centroid tracks of the free blocks of two run folders (history.h5) on run ``a``'s steps."""
    import numpy as np

    track = resolution.read_centroids
    if not ((a / "history.h5").is_file() and (b / "history.h5").is_file()):
        return {"bitwise_equal": None, "note": "no history.h5 (a run with output.fields = false)"}
    ta, ca = track(a)
    tb, cb = track(b)
    if ta.shape == tb.shape and np.array_equal(ta, tb) and np.array_equal(ca, cb):
        return {"bitwise_equal": True, "largest_distance_m": 0.0, "first_time_apart_1e-6_m": None}
    t = ta[(ta >= tb[0]) & (ta <= tb[-1])]
    cb_t, ca_t = resolution.centroids_at(t, tb, cb), resolution.centroids_at(t, ta, ca)
    dist = np.linalg.norm(ca_t - cb_t, axis=2).max(axis=1)
    apart = np.flatnonzero(dist > 1e-6)
    return {"bitwise_equal": False, "largest_distance_m": float(dist.max()),
            "first_time_apart_1e-6_m": float(t[apart[0]]) if apart.size else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="cases/vajont.toml")
    ap.add_argument("--run-dir", required=True, help="write the runs to DIR/rank1, DIR/ranks2, DIR/scipy (reused when finished)")
    ap.add_argument("--rank1-from", default=None, metavar="FOLDER", help="a finished 1-rank run folder of the same input "
                    "(copied to DIR/rank1 instead of running it)")
    ap.add_argument("--mpiexec", default=shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or "mpiexec")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_roundoff.json"))
    a = ap.parse_args(argv)
    d = Path(a.run_dir)
    d.mkdir(parents=True, exist_ok=True)
    if a.rank1_from and _finished(d / "rank1", a.case, COMMON, 1) is None:
        src = Path(a.rank1_from)
        if _finished(src, a.case, [], 1) is None:  # plots are not input: any finished 1-rank run of the case
            ap.error(f"--rank1-from: {src}: found no finished 1-rank run of {a.case}; allowed: a run folder of the same input")
        if (d / "rank1").exists():
            shutil.rmtree(d / "rank1")
        shutil.copytree(src, d / "rank1")
    from coupling.runner import computed_results

    t0 = time.perf_counter()
    runs = {}
    for name in RUNS:
        summary, reused = run(a.case, name, d / name, a.mpiexec)
        results = computed_results(summary)
        runs[name] = {"reused": reused, "wall_s": summary.get("timings", {}).get("total_s"),
                      "git_commit": summary.get("versions", {}).get("git_commit"),
                      **{q: results.get(q) for q in (*QUANTITIES, "onset_time", "time_to_rest")}}
    spread = {}
    for q in QUANTITIES:
        values = [r[q] for r in runs.values()]
        spread[q] = None if None in values or min(abs(v) for v in values) == 0 else \
            (max(values) - min(values)) / min(abs(v) for v in values)
    tracks = {name: compare_tracks(d / "rank1", d / name) for name in RUNS if name != "rank1"}
    report = {"case": a.case, "runs": runs, "spread": spread, "tracks_against_rank1": tracks,
              "wall_s": time.perf_counter() - t0,
              "command": "python benchmarks/vajont_roundoff.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    from learned.files import atomic_write

    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(a.out), lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2), encoding="utf-8"))
    for name, r in runs.items():
        print(f"{name:>7}: " + "  ".join(f"{q} {r[q]:.6g}" for q in QUANTITIES) + ("  (reused)" if r["reused"] else ""))
    print("spread (max - min) / min:", {q: (f"{v:.2%}" if v is not None else None) for q, v in spread.items()})
    for name, t in tracks.items():
        print(f"{name:>7} vs rank1: " + (t["note"] if t["bitwise_equal"] is None else "bitwise equal" if t["bitwise_equal"] else
                                         f"{t['largest_distance_m']:.3g} m apart at most, > 1e-6 m from t = {t['first_time_apart_1e-6_m']} s"))
    print(f"wrote {a.out}")
    return report


if __name__ == "__main__":
    main()
