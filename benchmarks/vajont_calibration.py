"""Vajont, calibrated (issue 17, item 6): surrogate + calibration on the sensitivity ensemble.

    python benchmarks/vajont_calibration.py [--ensemble-dir /tmp/vajont_ensemble]
        [--out benchmarks/out/vajont_calibration.json] [--confirm-samples 2]

Needs the ensemble of ``benchmarks/vajont_sensitivity.py`` (same ``--ensemble-dir``): its
one-at-a-time runs ``oat/`` and its Latin hypercube ``lhs/`` are merged into one training table
``all/ensemble.h5`` (``--train lhs``: the hypercube alone, the one-at-a-time runs then an independent
test set). The steps are the CLI commands, run as they are (``python -m coupling``):

1. ``deepmanifold surrogate train DIR/all/ensemble.h5 -o DIR/surrogate.pt --outputs
   peak_velocity,duration,runout,runup`` (a deep ensemble of MLPs; held-out error per output);
2. ``deepmanifold calibrate CASE --surrogate DIR/surrogate.pt --observe ... --set output.plots=true
   --confirm-samples K -o DIR/calibration`` (random-walk Metropolis through the surrogate, prior
   uniform / log-uniform over the ensemble's ranges; the solver confirms at the posterior mean and
   K posterior samples, with the monitor plots drawn);
3. copies the corner plot, the comparison plot and each confirmed run's monitor plot into
   benchmarks/out/ (vajont_calibration_*.png) and writes the JSON.

Observations (../shared/vajont.md), one standard deviation each, the quoted range read as ±2σ:

    peak_velocity  25 ± 2.5 m/s   (20–30 m/s: Zaniboni et al. 2013; Veveakis et al. 2007; Ghirotti et al. 2013)
    duration       45 ± 5 s       (≈ 45 s, "less than one minute"; the case's duration is onset → rest)
    runout         350 ± 25 m     (mapped ≈ 350 m, Hatzor's DDA studies; envelope 300–400 m)

The likelihood's σ of each observation is sqrt(σ_obs² + RMSE_val²), RMSE_val the surrogate's held-out
error on that output (the deep ensemble's spread is far below it with ~16 training runs);
``--no-surrogate-error`` uses σ_obs alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

OUTPUTS = ("peak_velocity", "duration", "runout", "runup")
OBSERVE = ("peak_velocity=25±2.5", "duration=45±5", "runout=350±25")


def cli(*args: str) -> str:
    """Run ``python -m coupling ARGS`` (this worktree's packages), echo and return its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    print("$ deepmanifold " + " ".join(args), flush=True)
    r = subprocess.run([sys.executable, "-m", "coupling", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise SystemExit(f"deepmanifold {args[0]} failed (exit {r.returncode})")
    return r.stdout


def merge_tables(ens: Path, parts: tuple[str, ...] = ("oat", "lhs"), outputs: tuple[str, ...] = OUTPUTS) -> Path:
    """One training table ``ens/all/ensemble.h5`` from the ensembles ``ens/PART`` (same case, parameters
    and member overrides): every solver run of the sensitivity study trains the surrogate.

    A finished member without one of ``outputs`` (no time to rest: still moving at the end of its
    simulated time) gets the status ``censored`` there, so the surrogate is not trained on it; the
    JSON lists them (the surrogate then knows only members that stopped in time)."""
    from coupling.ensemble.table import read_table, write_table
    from coupling.output.rundir import write_json

    manifests = [json.loads((ens / p / "ensemble.json").read_text()) for p in parts if (ens / p / "ensemble.json").is_file()]
    tables = [read_table(ens / p / "ensemble.h5") for p in parts if (ens / p / "ensemble.json").is_file()]
    first = manifests[0]
    for m in manifests[1:]:
        if any(m[k] != first[k] for k in ("case", "overrides", "parameters")):
            raise SystemExit(f"ensembles {parts} differ in case, overrides or parameters: not one training set")
    points = np.vstack([t["points"] for t in tables])
    members = []
    for t in tables:
        for row, status in zip(t["outputs"], t["status"]):
            have = {n for n, v in zip(t["output_names"], row) if np.isfinite(v)}
            if status == "ok" and not set(outputs) <= have:
                status = "censored"
            members.append({"status": status, "scalars": {n: float(v) for n, v in zip(t["output_names"], row)
                                                          if np.isfinite(v)}})
    out = ens / "all"
    out.mkdir(exist_ok=True)
    write_json(out / "ensemble.json", {**first, "design": "+".join(parts), "seed": None, "samples": len(points),
                                       "points": points.tolist(), "merged_from": [str(ens / p) for p in parts]})
    return write_table(out / "ensemble.h5", first["parameters"], points, members,
                       {"case": first["case"], "design": "+".join(parts), "seed": -1})


def _censored(table: Path) -> list[dict]:
    from coupling.ensemble.table import read_table

    t = read_table(table)
    keys = [p["key"] for p in t["parameters"]]
    return [dict(zip(keys, map(float, x))) for x, s in zip(t["points"], t["status"]) if s == "censored"]


def oat_test(surrogate: Path, oat_table: Path) -> dict:
    """The surrogate's mean and spread against the solver at the one-at-a-time points (N_test, m)."""
    from coupling.ensemble.surrogates import load
    from coupling.ensemble.table import read_table

    net, _ = load(surrogate)
    t = read_table(oat_table)
    ok = np.array([s == "ok" for s in t["status"]])
    x = t["points"][ok]
    mean, spread = net.predict(x)
    out = {"points": x.tolist(), "outputs": {}}
    for k, name in enumerate(net.output_names):
        solver = t["outputs"][ok][:, t["output_names"].index(name)]
        err = mean[:, k] - solver
        good = np.isfinite(err)
        out["outputs"][name] = {
            "solver": solver.tolist(), "surrogate": mean[:, k].tolist(), "spread": spread[:, k].tolist(),
            "rmse": float(np.sqrt(np.mean(err[good] ** 2))) if good.any() else None,
            "max_abs_error": float(np.max(np.abs(err[good]))) if good.any() else None,
            "relative_rmse": (float(np.sqrt(np.mean(err[good] ** 2)) / np.std(solver[good]))
                              if good.sum() > 1 and np.std(solver[good]) > 0 else None),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ensemble-dir", default="/tmp/vajont_ensemble")
    ap.add_argument("--case", default=None, help="default: the ensemble's case")
    ap.add_argument("--train", default="oat,lhs",
                    help="ensembles of --ensemble-dir that train the surrogate (default oat,lhs; with lhs alone the "
                         "one-at-a-time runs are an independent test set)")
    ap.add_argument("--confirm-samples", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-surrogate-error", dest="add_surrogate_error", action="store_false",
                    help="use the observations' σ alone (default: σ² = σ_obs² + the surrogate's held-out RMSE²)")
    ap.add_argument("--hidden", default="32,32", help="surrogate hidden widths (default 32,32)")
    ap.add_argument("--outputs", default=",".join(OUTPUTS), help="surrogate outputs (default: %(default)s)")
    ap.add_argument("--observe", action="append", help=f"NAME=VALUE±SIGMA (default: {' '.join(OBSERVE)})")
    ap.add_argument("--out", default=str(HERE / "out" / "vajont_calibration.json"))
    a = ap.parse_args(argv)
    ens = Path(a.ensemble_dir)
    table = merge_tables(ens, tuple(a.train.split(",")), tuple(a.outputs.split(",")))
    manifest = json.loads((table.parent / "ensemble.json").read_text())
    case = a.case or manifest["case"]
    surrogate = ens / "surrogate.pt"
    outputs = a.outputs.split(",")
    observe = a.observe or list(OBSERVE)
    cli("surrogate", "train", str(table), "-o", str(surrogate), "--outputs", ",".join(outputs),
        "--hidden", a.hidden, "--seed", str(a.seed), "--force")
    report = json.loads(surrogate.with_suffix(".json").read_text())
    # the likelihood's σ: the observation's and the surrogate's held-out error added in quadrature
    # (σ² = σ_obs² + RMSE_val²), since the deep ensemble's spread underestimates that error here
    observe_used = []
    for text in observe:
        name, rest = text.split("=", 1)
        value, sigma = (float(v) for v in rest.replace("+-", "±").split("±"))
        rmse = (report["outputs"].get(name) or {}).get("validation_rmse") if a.add_surrogate_error else None
        observe_used.append(f"{name}={value:g}±{(sigma ** 2 + (rmse or 0.0) ** 2) ** 0.5:.6g}")
    test = (oat_test(surrogate, ens / "oat" / "ensemble.h5")
            if "oat" not in a.train.split(",") and (ens / "oat" / "ensemble.h5").is_file() else None)
    cal_dir = ens / "calibration"
    if (cal_dir / "calibration.json").is_file():  # a calibration of an older surrogate: start afresh
        shutil.rmtree(cal_dir)
    args = ["calibrate", case, "--surrogate", str(surrogate)]
    for o in observe_used:
        args += ["--observe", o]
    cli(*args, "--set", "output.plots=true", "--confirm-samples", str(a.confirm_samples), "--steps", str(a.steps),
        "--seed", str(a.seed), "-o", str(cal_dir), "-q")
    cal = json.loads((cal_dir / "calibration.json").read_text())
    out_path = Path(a.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    stem = out_path.with_suffix("")
    figures = {"corner": f"{stem.name}_corner.png", "comparison": f"{stem.name}_comparison.png"}
    shutil.copyfile(cal_dir / "corner.png", out_path.parent / figures["corner"])
    shutil.copyfile(cal_dir / "calibration.png", out_path.parent / figures["comparison"])
    confirm = Path(cal["confirmation"]["folder"])
    monitors = []
    for i, label in enumerate(cal["confirmation"]["labels"]):
        src = confirm / "members" / f"{i:04d}" / "monitor.png"
        if src.is_file():
            name = f"{stem.name}_monitor_{i}.png"
            shutil.copyfile(src, out_path.parent / name)
            monitors.append({"label": label, "file": name})
    from coupling.runner import computed_results

    confirmed_results = []
    for i in range(len(cal["confirmation"]["labels"])):
        s = confirm / "members" / f"{i:04d}" / "summary.json"
        r = computed_results(json.loads(s.read_text())) if s.is_file() else {}
        confirmed_results.append({k: r.get(k) for k in (*outputs, "time_to_rest", "onset_time",
                                                         "band_temperature_rise_slide_max", "band_pore_pressure_ratio_slide_max")})
    result = {
        "case": case, "ensemble_dir": str(ens), "git_head": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "case_sha256": __import__("hashlib").sha256(Path(case).read_bytes()).hexdigest(),
        "training_members": manifest["samples"], "censored_members": _censored(table), "training_sets": a.train, "member_overrides": manifest["overrides"],
        "observations": observe, "observations_with_surrogate_error": observe_used,
        "surrogate_report": report, "surrogate_vs_solver_at_oat_points": test,
        "posterior": cal["posterior"], "mcmc": cal["mcmc"], "comparison": cal["comparison"],
        "consistency": cal.get("consistency"),
        "confirmation": {**cal["confirmation"], "results": confirmed_results}, "figures": {**figures, "monitors": monitors},
    }
    out_path.write_text(json.dumps(result, indent=1))
    print(json.dumps({"posterior": {k.split(".")[-1]: (v["mean"], v["std"]) for k, v in cal["posterior"].items()},
                      "comparison": [{k: r[k] for k in ("name", "observed", "surrogate", "solver", "solver_samples")}
                                     for r in cal["comparison"]]}, indent=1))
    return result


if __name__ == "__main__":
    main()
