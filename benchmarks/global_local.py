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
    args = ap.parse_args()

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
    work = Path(tempfile.mkdtemp(prefix="global_local-"))
    train_x = sample_design(params, sizes[-1], "sobol", seed=1)
    test_x = sample_design(params, args.test, "lhs", seed=2)
    train = run_ensemble(case, params, train_x, work / "train", overrides=sets, design="sobol", seed=1,
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
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

    shutil.rmtree(work, ignore_errors=True)  # the members' run folders (our own temporary folder)
    t = out["timing"]
    print(f"solver {t['solver_s_per_run_median']:.3g} s/run; surrogate {t['surrogate_s_per_point_single']:.3g} s/point "
          f"(batch {t['surrogate_s_per_point_batch1000']:.3g}); speed-up {t['speedup_single']:.3g} (single), "
          f"{t['speedup_batch']:.3g} (batch) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
