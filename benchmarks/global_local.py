"""Global–local figures: surrogate vs solver parity, error vs ensemble size, and the speed-up
of a surrogate evaluation over a solver run, measured in one run (docs/global_local.md).

    python benchmarks/global_local.py [--case dda_incline] [--vary joints.default.law.phi=15:28]
        [--output runout] [--sizes 4,8,16] [--test 8] [--set dda.duration=0.3 ...]
        [--out benchmarks/out/global_local.json]

1. One training ensemble of max(--sizes) members on a scrambled Sobol' design (its first n
   points are themselves a balanced design, so every size reuses the same runs) and a test
   ensemble of --test members on a Latin hypercube with another seed; both through
   ``coupling.ensemble.run_ensemble`` (serial here; mpi4py.futures workers under
   ``mpiexec -n K python -m mpi4py.futures benchmarks/global_local.py``).
2. A surrogate per size n (first n training members); its error on the test members:
   RMSE, RMSE / std of the output over the test set, largest error.
3. Time per solver run (median of the members' ``timings.total_s``, in-process, no files
   but the summary) vs the surrogate's time per evaluation (median of 21 single-point calls,
   and a batch of 1000 points / 1000): the ratio is the promised speed-up, measured.

JSON to --out, parity plot (solver vs surrogate on the test set, largest size) beside it.

``--active`` measures the implicit coupling instead (coupling/ensemble/active.py) and writes
the key ``active_learning`` into the same JSON (other keys kept):

    python benchmarks/global_local.py --active [--case dda_incline]
        [--vary joints.default.law.phi=15:40] [--output runout] [--tolerance 0.02]
        [--initial 4] [--test 8] [--seeds 0,1,2] [--set dda.duration=0.1 --set dda.dt=1e-2]

4. The active-learning loop from an initial Latin hypercube of --initial runs, one run per
   round, until the surrogate agrees with the solver on a held-out Latin hypercube of --test
   runs (worst RMSE / std ≤ --tolerance); then plain Latin hypercube designs of growing size
   (--lhs-sizes, same seed, same surrogate training, same test set) until one reaches the
   same tolerance: the number of solver runs each needs, per seed (each seed: its own held-out
   set, initial design and network initialisation). The default case has a kink (the
   block sticks once φ ≥ 30°, the incline's angle), where spending runs selectively can pay.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="dda_incline")
    ap.add_argument("--vary", action="append", default=None)
    ap.add_argument("--output", default="runout")
    ap.add_argument("--sizes", default="4,8,16")
    ap.add_argument("--test", type=int, default=8)
    ap.add_argument("--set", action="append", default=None)
    ap.add_argument("--out", default=str(HERE / "out" / "global_local.json"))
    ap.add_argument("--active", action="store_true", help="measure the active-learning loop vs plain LHS designs")
    ap.add_argument("--tolerance", type=float, default=0.02)
    ap.add_argument("--initial", type=int, default=4)
    ap.add_argument("--max-runs", type=int, default=40)
    ap.add_argument("--lhs-sizes", default="4,6,8,11,16,23,32,40")
    ap.add_argument("--seeds", default="0,1,2", help="--active: one loop and one LHS series per seed")
    ap.add_argument("--work", default=None, help="keep the members' run folders here (a rerun resumes); "
                                                 "default: a temporary folder, removed")
    ap.add_argument("--figures", action="store_true",
                    help="no runs: copy the warm-start savings of benchmarks/out/warm_start.json into the JSON "
                         "and draw every figure of item 7 into global_local_figures.png")
    args = ap.parse_args()
    if args.active:
        return active_benchmark(args)
    if args.figures:
        return figures(Path(args.out))

    from coupling.case.loader import parse_overrides
    from coupling.cli import case_path
    from coupling.ensemble.design import parse_vary, sample_design
    from coupling.ensemble.engine import pool_executor, run_ensemble
    from learned.surrogate import train_surrogate

    params = [parse_vary(v) for v in (args.vary or ["joints.default.law.phi=15:28"])]
    sets = parse_overrides(args.set or ["dda.duration=0.3"])
    sets.update({"output.plots": False, "output.fields": False})
    sizes = sorted(int(s) for s in args.sizes.split(","))
    case = case_path(args.case)
    executor = pool_executor()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="global_local-"))
    train_x = sample_design(params, sizes[-1], "sobol", seed=1)
    test_x = sample_design(params, args.test, "lhs", seed=2)
    train = run_ensemble(case, params, train_x, work / "train", overrides=sets, design="sobol", seed=1, extend=True,
                         executor=executor)
    test = run_ensemble(case, params, test_x, work / "test", overrides=sets, design="lhs", seed=2, executor=executor)
    if executor is not None:
        executor.shutdown(wait=True)

    def column(res):
        return np.array([m["scalars"].get(args.output, np.nan) if m["status"] == "ok" else np.nan for m in res.members])

    y_train, y_test = column(train), column(test)
    ok_test = np.isfinite(y_test)
    solver_s = float(np.median([m["scalars"]["timings.total_s"] for m in train.members + test.members
                                if "timings.total_s" in m["scalars"]]))
    rows, net = [], None
    for n in sizes:
        x, y = train_x[:n], y_train[:n]
        keep = np.isfinite(y)
        t0 = time.perf_counter()
        net, report = train_surrogate(x[keep], y[keep, None], lo=[p.lo for p in params], hi=[p.hi for p in params],
                                      log=[p.log for p in params], parameter_keys=[p.key for p in params],
                                      output_names=[args.output], members=5)
        t_train = time.perf_counter() - t0
        pred, spread = net.predict(test_x[ok_test])
        err = pred[:, 0] - y_test[ok_test]
        rows.append({"members": n, "test_rmse": float(np.sqrt(np.mean(err ** 2))),
                     "test_relative_rmse": float(np.sqrt(np.mean(err ** 2)) / np.std(y_test[ok_test])),
                     "test_max_error": float(np.max(np.abs(err))), "mean_spread": float(np.mean(spread)),
                     "train_s": t_train})
        print(f"n={n:4d}: test RMSE {rows[-1]['test_rmse']:.3g} ({100 * rows[-1]['test_relative_rmse']:.3g} % of std)")
    single = []
    for _ in range(21):
        t0 = time.perf_counter()
        net.predict(test_x[:1])
        single.append(time.perf_counter() - t0)
    big = sample_design(params, 1000, "lhs", seed=3)
    t0 = time.perf_counter()
    net.predict(big)
    batch = (time.perf_counter() - t0) / 1000
    pred, spread = net.predict(test_x[ok_test])
    out = {
        "case": str(case), "parameters": [p.as_dict() for p in params], "overrides": sets, "output": args.output,
        "error_vs_size": rows,
        "timing": {"solver_s_per_run_median": solver_s, "surrogate_s_per_point_single": float(np.median(single)),
                   "surrogate_s_per_point_batch1000": batch,
                   "speedup_single": solver_s / float(np.median(single)), "speedup_batch": solver_s / batch},
        "parity": {"solver": y_test[ok_test].tolist(), "surrogate": pred[:, 0].tolist(), "spread": spread[:, 0].tolist()},
        "members_failed": int((~np.isfinite(y_train)).sum() + (~ok_test).sum()),
    }
    path = Path(args.out)
    for key, value in out.items():  # keeps the active_learning key of a --active run
        merge_json(path, key, value)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.5))
    a.errorbar(out["parity"]["solver"], out["parity"]["surrogate"], yerr=out["parity"]["spread"], fmt="o")
    lim = [min(out["parity"]["solver"]), max(out["parity"]["solver"])]
    a.plot(lim, lim, "k--", lw=0.8)
    a.set_xlabel(f"solver {args.output}")
    a.set_ylabel(f"surrogate {args.output}")
    a.set_title(f"parity, {sizes[-1]} members")
    b.loglog([r["members"] for r in rows], [r["test_rmse"] for r in rows], "o-")
    b.set_xlabel("ensemble size")
    b.set_ylabel("test RMSE")
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=110)
    import shutil

    if not args.work:
        shutil.rmtree(work, ignore_errors=True)  # the members' run folders (our own temporary folder)
    t = out["timing"]
    print(f"solver {t['solver_s_per_run_median']:.3g} s/run; surrogate {t['surrogate_s_per_point_single']:.3g} s/point "
          f"(batch {t['surrogate_s_per_point_batch1000']:.3g}); speed-up {t['speedup_single']:.3g} (single), "
          f"{t['speedup_batch']:.3g} (batch) -> {path}")
    return 0


def figures(path: Path) -> int:
    """The figures a user looks for, from the JSON the other modes wrote: parity, error vs
    ensemble size, solver vs surrogate time per run, active learning vs LHS, warm-start savings
    (copied from warm_start.json under the key ``warm_start``: cold/warm medians per solver)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(path.read_text())
    warm_path = HERE / "out" / "warm_start.json"
    if warm_path.is_file():
        w = json.loads(warm_path.read_text())
        per = {"fem": w, **{k: w[k] for k in ("nmm", "data_driven") if k in w}}
        merge_json(path, "warm_start", {k: {q: v.get(q) for q in ("case", "median", "ratio_cold_over_warm", "predicted_residual",
                                                                 "max_displacement_difference_relative")}
                                        for k, v in per.items()})
        data = json.loads(path.read_text())
    fig, ax = plt.subplots(2, 2, figsize=(9, 7))
    if "parity" in data:
        p = data["parity"]
        ax[0, 0].errorbar(p["solver"], p["surrogate"], yerr=p["spread"], fmt="o", ms=3)
        lim = [min(p["solver"]), max(p["solver"])]
        ax[0, 0].plot(lim, lim, "k--", lw=0.8)
        ax[0, 0].set(xlabel=f"solver {data['output']}", ylabel="surrogate",
                     title=f"parity, {data['error_vs_size'][-1]['members']} members")
        rows = data["error_vs_size"]
        ax[0, 1].loglog([r["members"] for r in rows], [r["test_relative_rmse"] for r in rows], "o-",
                        label=f"Sobol' ensembles ({Path(data['case']).stem})")
        if "active_learning" in data:
            a = data["active_learning"]
            ax[0, 1].plot([r["runs"] for r in a["active"]["rounds"]], [r["worst"] for r in a["active"]["rounds"]], "s-",
                          label="active learning (incline)")
            ax[0, 1].plot([r["runs"] for r in a["lhs"]], [r["worst"] for r in a["lhs"]], "^-", label="plain LHS (incline)")
        ax[0, 1].set(xlabel="solver runs (ensemble size)", ylabel="held-out RMSE / std", title="error vs ensemble size")
        ax[0, 1].legend(fontsize=7)
        t = data["timing"]
        ax[1, 0].bar(["solver run", "surrogate,\n1 point", "surrogate,\nbatch / point"],
                     [t["solver_s_per_run_median"], t["surrogate_s_per_point_single"], t["surrogate_s_per_point_batch1000"]])
        ax[1, 0].set(yscale="log", ylabel="s", title=f"time per evaluation: speed-up {t['speedup_single']:.3g} (single)")
        ax[1, 0].tick_params(axis="x", labelsize=7)
    if "warm_start" in data:
        names = list(data["warm_start"])
        cold = [data["warm_start"][k]["median"]["cold"]["iterations"] for k in names]
        warm = [data["warm_start"][k]["median"]["warm"]["iterations"] for k in names]
        xs = np.arange(len(names))
        ax[1, 1].bar(xs - 0.2, cold, 0.4, label="cold")
        ax[1, 1].bar(xs + 0.2, warm, 0.4, label="warm (--initial-guess)")
        ax[1, 1].set_xticks(xs, names)
        ax[1, 1].set(ylabel="iterations (Newton / fixed point)", title="warm-start savings")
        ax[1, 1].legend(fontsize=7)
    fig.tight_layout()
    out = path.with_name(path.stem + "_figures.png")
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


def merge_json(path: Path, key: str, value) -> None:
    """Write ``value`` under ``key`` into the JSON at ``path``, keeping its other keys."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    old[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(old, indent=1) + "\n")


def active_benchmark(args) -> int:
    """Solver runs the active-learning loop needs vs a plain Latin hypercube of the same accuracy."""
    import shutil

    from coupling.case.loader import parse_overrides
    from coupling.cli import case_path
    from coupling.ensemble.active import relative_test_error, run_active
    from coupling.ensemble.design import parse_vary, sample_design
    from coupling.ensemble.engine import pool_executor, run_ensemble
    from coupling.ensemble.table import read_table
    from learned.surrogate import train_surrogate

    params = [parse_vary(v) for v in (args.vary or ["joints.default.law.phi=15:40"])]
    sets = parse_overrides(args.set or ["dda.duration=0.1", "dda.dt=1e-2"])
    sets.update({"output.plots": False, "output.fields": False})
    case = case_path(args.case)
    executor = pool_executor()
    work = Path(tempfile.mkdtemp(prefix="global_local_active-"))

    def one_seed(seed: int) -> dict:
        t0 = time.perf_counter()
        report = run_active(case, params, work / f"active{seed}", outputs=[args.output], tolerance=args.tolerance,
                            initial=args.initial, max_runs=args.max_runs, batch=1, test=args.test, seed=seed,
                            overrides=sets, progress=sys.stderr, executor=executor)
        t_active = time.perf_counter() - t0
        test = read_table(work / f"active{seed}" / "test" / "ensemble.h5")
        k = test["output_names"].index(args.output)
        ok = np.array([s == "ok" for s in test["status"]])
        test_x, test_y = test["points"][ok], test["outputs"][ok][:, [k]]
        lhs = []
        for n in sorted(int(s) for s in args.lhs_sizes.split(",")):
            x = sample_design(params, n, "lhs", seed)
            res = run_ensemble(case, params, x, work / f"lhs{seed}_{n}", overrides=sets, design="lhs", seed=seed,
                               progress=None, executor=executor)
            y = np.array([[m["scalars"].get(args.output, np.nan) if m["status"] == "ok" else np.nan] for m in res.members])
            keep = np.isfinite(y[:, 0])
            net, _ = train_surrogate(x[keep], y[keep], lo=[p.lo for p in params], hi=[p.hi for p in params],
                                     log=[p.log for p in params], parameter_keys=[p.key for p in params],
                                     output_names=[args.output], val_fraction=0.0, seed=seed)
            err = float(relative_test_error(net, test_x, test_y)[0])
            lhs.append({"runs": n, "worst": err})
            print(f"seed {seed}: LHS {n:3d} runs: relative RMSE {err:.3g}", file=sys.stderr)
            if err <= args.tolerance:
                break
        lhs_needed = next((r["runs"] for r in lhs if r["worst"] <= args.tolerance), None)
        print(f"seed {seed}: active learning {report['training_runs']} runs "
              f"({'converged' if report['converged'] else 'not converged'}); plain LHS "
              f"{lhs_needed if lhs_needed else 'more than ' + str(lhs[-1]['runs'])}", file=sys.stderr)
        return {"seed": seed, "criterion": report["criterion"], "acquisition": report["acquisition"],
                "test_runs": report["test_runs"],
                "active": {"converged": report["converged"], "runs": report["training_runs"],
                           "rounds": [{"runs": r["runs"], "worst": r["worst"], "picked": r.get("picked")}
                                      for r in report["rounds"]], "wall_s": t_active},
                "lhs": lhs, "lhs_runs_needed": lhs_needed}

    seeds = [int(v) for v in args.seeds.split(",")]
    per_seed = [one_seed(seed) for seed in seeds]
    if executor is not None:
        executor.shutdown(wait=True)
    first = per_seed[0]
    active_runs = [r["active"]["runs"] if r["active"]["converged"] else None for r in per_seed]
    lhs_runs = [r["lhs_runs_needed"] for r in per_seed]
    out = {
        "case": str(case), "parameters": [p.as_dict() for p in params], "overrides": sets, "output": args.output,
        "tolerance": args.tolerance, "criterion": first["criterion"], "acquisition": first["acquisition"],
        "test_runs": first["test_runs"], "seeds": seeds,
        "active_runs_per_seed": active_runs, "lhs_runs_needed_per_seed": lhs_runs,
        "active": first["active"], "lhs": first["lhs"], "lhs_runs_needed": first["lhs_runs_needed"],
        "per_seed": per_seed,
        "note": "None: not reached within --max-runs (active) or the largest --lhs-sizes (LHS); each seed has its "
                "own held-out set, initial design and network initialisation",
    }
    path = Path(args.out)
    merge_json(path, "active_learning", out)
    shutil.rmtree(work, ignore_errors=True)
    print(f"active learning: {active_runs} runs; plain LHS: {lhs_runs} runs to relative RMSE <= {args.tolerance:g} "
          f"(seeds {seeds}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
