"""Implicit coupling: active learning of a surrogate, iterated with the solver until both agree.

Loop (``deepmanifold surrogate active CASE --vary ... -o DIR``, docs/global_local.md):

1. A held-out test ensemble of ``test`` members (Latin hypercube, seed + 1) runs once: the
   solver's answers y_test (n_test, m) the surrogate must reproduce.
2. An initial design of ``initial`` members (Latin hypercube, seed) runs; a surrogate
   (:func:`learned.surrogate.train_surrogate`, a deep ensemble of M MLPs) is trained on every
   finished member.
3. Agreement on the held-out set, per output k:

       e_k = RMSE_k(surrogate mean − solver) / std_k(solver over the test set)

   (the same measure as ``surrogate train``'s ``validation_relative_rmse``). Stop when
   max_k e_k ≤ ``tolerance`` (converged), or when ``max_runs`` training runs are spent.
4. Otherwise pick ``batch`` new points among ``candidates`` points of a fresh scrambled
   Sobol' pool in the parameter box: the points where the ensemble spread (the members'
   disagreement, the surrogate's own uncertainty) is largest,

       a(x) = max_k σ_k(x) / std_k(y_train),

   greedily, each pick removing the candidates within r = ½ n^(−1/d) (unit-cube distance,
   n the training runs after the batch) of it so a batch spreads out. The solver runs there
   (on the ensemble engine, mpi4py.futures workers when there are any), the runs join the
   ensemble table, the surrogate is retrained from scratch, and the loop returns to 3.

The training runs form one ensemble folder ``DIR/ensemble`` (design ``active``) that grows
by appending points, so ``surrogate train DIR/ensemble/ensemble.h5`` and a rerun of the
command (resume: finished members are skipped; the loop is deterministic for given seeds)
work as for any ensemble. The held-out runs are ``DIR/test``.

The loop itself (:func:`active_loop`) takes the solver as a function of the points, so it can
be exercised on functions with known answers.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from coupling.ensemble.design import Parameter, sample_design, unit_design

REPORT_FORMAT = "deepmanifold.active_learning"


def relative_test_error(net, test_x: np.ndarray, test_y: np.ndarray) -> np.ndarray:
    """e_k = RMSE_k / std_k of the surrogate's mean against the solver on the test set, (m,).

    Rows of ``test_y`` with a NaN (failed solver runs) are left out."""
    ok = np.all(np.isfinite(test_y), axis=1)
    pred, _ = net.predict(test_x[ok])
    err = pred - test_y[ok]
    return np.sqrt(np.mean(err ** 2, axis=0)) / np.std(test_y[ok], axis=0)


def pick_points(net, params: Sequence[Parameter], n_pick: int, n_after: int, pool: np.ndarray,
                y_std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_pick`` points (n_pick, d) of ``pool`` (n_pool, d) [parameter units] with the
    largest acquisition a(x) = max_k σ_k(x)/y_std_k, greedily, each pick excluding the pool
    points within r = ½ n_after^(−1/d) of it in the unit cube; also returns their a(x)."""
    _, spread = net.predict(pool)
    score = np.max(spread / y_std, axis=1)
    unit = np.stack([p.to_unit(pool[:, j]) for j, p in enumerate(params)], axis=1)
    radius = 0.5 * n_after ** (-1.0 / len(params))
    chosen: list[int] = []
    alive = np.ones(len(pool), dtype=bool)
    for _ in range(n_pick):
        if not alive.any():
            break
        i = int(np.argmax(np.where(alive, score, -np.inf)))
        chosen.append(i)
        alive &= np.linalg.norm(unit - unit[i], axis=1) > radius
    return pool[chosen], score[chosen]


def active_loop(solve: Callable[[np.ndarray], np.ndarray], params: Sequence[Parameter], initial_x: np.ndarray,
                test_x: np.ndarray, test_y: np.ndarray, *, tolerance: float, max_runs: int, batch: int = 1,
                candidates: int = 1024, seed: int = 0, train: dict[str, Any] | None = None,
                names: Sequence[str] | None = None, progress=None) -> dict[str, Any]:
    """Grow a training design where the surrogate is least certain until it agrees with the
    solver on the test set (module doc).

    ``solve(points (N, d)) → outputs (N, m)``: the solver's results at every row (NaN row: a
    failed run); it is called with the whole growing design each round (an ensemble engine
    reuses the finished members). ``test_y`` (n_test, m): the solver on ``test_x``.
    ``train``: keyword arguments of :func:`learned.surrogate.train_surrogate` (members,
    hidden, iterations). Returns ``net`` (the last surrogate), ``x``, ``y`` (the design and
    its outputs), ``rounds`` (per round: runs, test_relative_error per output, worst, the
    picked points and their acquisition), ``converged``, ``runs``.
    """
    from learned.surrogate import train_surrogate

    train = dict(train or {})
    names = list(names or [f"y{k}" for k in range(np.shape(test_y)[1])])
    x = np.atleast_2d(np.asarray(initial_x, dtype=float))
    rounds: list[dict[str, Any]] = []
    d = len(params)
    while True:
        y = np.asarray(solve(x), dtype=float).reshape(len(x), -1)
        ok = np.all(np.isfinite(y), axis=1)
        net, _ = train_surrogate(x[ok], y[ok], lo=[p.lo for p in params], hi=[p.hi for p in params],
                                 log=[p.log for p in params], parameter_keys=[p.key for p in params],
                                 output_names=names, val_fraction=0.0, seed=seed, **train)
        err = relative_test_error(net, test_x, test_y)
        worst = float(np.max(err))
        record = {"runs": int(len(x)), "finished": int(ok.sum()), "test_relative_error": dict(zip(names, err.tolist())),
                  "worst": worst}
        rounds.append(record)
        if progress is not None:
            print(f"active: {len(x)} runs, surrogate vs solver on the test set: worst relative RMSE {worst:.3g} "
                  f"(tolerance {tolerance:g})", file=progress, flush=True)
        if worst <= tolerance or len(x) >= max_runs:
            break
        n_pick = min(batch, max_runs - len(x))
        u = unit_design("sobol", candidates, d, seed + 1000 + len(rounds))
        pool = np.stack([p.from_unit(u[:, j]) for j, p in enumerate(params)], axis=1)
        new, score = pick_points(net, params, n_pick, len(x) + n_pick, pool, np.std(y[ok], axis=0))
        record["picked"] = new.tolist()
        record["acquisition"] = score.tolist()
        x = np.vstack([x, new])
    return {"net": net, "x": x, "y": y, "rounds": rounds, "converged": rounds[-1]["worst"] <= tolerance,
            "runs": int(len(x))}


def check_folder(out: Path) -> None:
    """Refuse an ``-o`` that is a file or a non-empty folder other than a previous loop's
    (one line, exit 2; nothing is touched)."""
    refuse_foreign_folder(out, "active.json", REPORT_FORMAT, "an active-learning run",
                          "a new folder, or the folder of a previous surrogate active run (resume)")


def refuse_foreign_folder(out: Path, report: str, fmt: str, what: str, allowed: str) -> None:
    """The one check of an ``-o`` folder that a command owns through its report file: a file
    (or a link) or a non-empty folder whose ``report`` JSON does not carry ``format = fmt`` is
    refused (``CaseError`` on option ``-o``: one line, exit 2); the folder is never touched."""
    import json

    from coupling.errors import CaseError

    if out.is_symlink() or (out.exists() and not out.is_dir()):
        from learned.files import what_is

        raise CaseError("-o", None, f"'{out}' is {what_is(out)}, not a folder", allowed)
    if out.is_dir() and any(out.iterdir()):
        try:
            ours = json.loads((out / report).read_text(encoding="utf-8")).get("format") == fmt
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise CaseError("-o", None, f"'{out}' is an existing folder that is not {what}", allowed)


def run_active(case: str | Path, params: list[Parameter], out_dir: str | Path, *, outputs: Sequence[str] | None,
               tolerance: float, initial: int, max_runs: int, batch: int, test: int, candidates: int = 1024,
               seed: int = 0, overrides: dict[str, Any] | None = None, train: dict[str, Any] | None = None,
               progress=sys.stderr, executor=None, signals=None) -> dict[str, Any]:
    """The active-learning loop on a case (module doc): writes ``DIR/test`` (held-out
    ensemble), ``DIR/ensemble`` (the growing training ensemble), ``DIR/surrogate.pt`` (+ .json,
    the last surrogate and its report) and ``DIR/active.json``; returns the report.

    ``signals`` (the CLI's :class:`coupling.signals.CommandSignals`, or None): its note is kept
    current (what a SIGINT/SIGTERM reports), and the last three files are written inside
    ``signals.writing``, so that a signal then waits until all three are written."""
    import contextlib

    from learned.surrogate import save_surrogate

    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.surrogates import training_data
    from coupling.ensemble.table import read_table
    from coupling.errors import CaseError
    from coupling.output.rundir import write_json

    out_dir = Path(out_dir)
    overrides = dict(overrides or {})
    check_folder(out_dir)
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (out_dir / "active.json").is_file():  # marks the folder as ours before anything else is written
        write_json(out_dir / "active.json", {"format": REPORT_FORMAT, "format_version": 1, "status": "running"})
    if signals is not None:
        signals.note = (f"during the runs: {out_dir} holds the finished ones in test/ and ensemble/ (the same command "
                        "resumes them); surrogate.pt, surrogate.json and the final active.json not written")
    test_x = sample_design(params, test, "lhs", seed + 1)
    test_res = run_ensemble(case, params, test_x, out_dir / "test", overrides=overrides, design="lhs", seed=seed + 1,
                            progress=progress, executor=executor)
    test_table = read_table(test_res.table, str(test_res.table))
    _, _, names = training_data(test_table, outputs, str(test_res.table))
    col = [test_table["output_names"].index(n) for n in names]
    test_y = np.where(np.array([s == "ok" for s in test_table["status"]])[:, None],
                      test_table["outputs"][:, col], np.nan)
    if np.sum(np.all(np.isfinite(test_y), axis=1)) < 2:
        raise CaseError(str(test_res.table), None, "fewer than 2 finished held-out members", "a case whose runs finish")
    solver_s: list[float] = []

    def solve(points: np.ndarray) -> np.ndarray:
        res = run_ensemble(case, params, points, out_dir / "ensemble", overrides=overrides, design="active",
                           seed=seed, progress=progress, executor=executor, extend=True)
        table = read_table(res.table, str(res.table))
        missing = [n for n in names if n not in table["output_names"]]
        y = np.full((len(points), len(names)), np.nan)
        if len(missing) < len(names):
            have = [n for n in names if n in table["output_names"]]
            idx = [table["output_names"].index(n) for n in have]
            y[:, [names.index(n) for n in have]] = table["outputs"][:, idx]
        y[np.array([s != "ok" for s in table["status"]])] = np.nan
        solver_s[:] = [m["wall_s"] for m in res.members if m["status"] == "ok" and math.isfinite(m.get("wall_s", math.nan))]
        return y

    initial_x = sample_design(params, initial, "lhs", seed)
    result = active_loop(solve, params, initial_x, test_x, test_y, tolerance=tolerance, max_runs=max_runs, batch=batch,
                         candidates=candidates, seed=seed, train=train, names=names, progress=progress)
    report = {
        "format": REPORT_FORMAT, "format_version": 1, "status": "finished", "case": str(case), "overrides": overrides,
        "parameters": [p.as_dict() for p in params], "outputs": names, "tolerance": tolerance,
        "criterion": "max over outputs of RMSE(surrogate mean - solver) / std(solver) on the held-out test ensemble",
        "acquisition": "largest deep-ensemble spread max_k sigma_k / std_k(y_train) over a Sobol' candidate pool, "
                       "greedy with an exclusion radius 0.5 n^(-1/d) in the unit cube",
        "converged": bool(result["converged"]), "training_runs": result["runs"], "test_runs": int(len(test_x)),
        "initial": int(initial), "batch": int(batch), "max_runs": int(max_runs), "seed": int(seed),
        "rounds": result["rounds"], "wall_s": time.perf_counter() - t0,
        "ensemble": str(out_dir / "ensemble" / "ensemble.h5"), "test": str(out_dir / "test" / "ensemble.h5"),
    }
    net = result["net"]
    units = read_table(report["ensemble"], report["ensemble"])["output_units"]
    net.meta.update(ranges=[p.as_dict() for p in params], ensemble=report["ensemble"], case=str(case), overrides=overrides,
                    units={n: units.get(n, "") for n in names})
    sur_report = {"format": "deepmanifold.surrogate_report", "ensemble": report["ensemble"], "points": result["runs"],
                  "validation_points": 0, "outputs": {n: {"test_relative_rmse": e} for n, e in
                                                      result["rounds"][-1]["test_relative_error"].items()},
                  "held_out": report["test"]}
    written = f"after the loop: {out_dir} is written (active.json, surrogate.pt, surrogate.json, ensemble/, test/)"
    with signals.writing(written) if signals is not None else contextlib.nullcontext():
        save_surrogate(out_dir / "surrogate.pt", net, sur_report)
        write_json(out_dir / "surrogate.json", sur_report)
        write_json(out_dir / "active.json", report)  # last: "finished" only beside its surrogate
    if signals is not None:
        signals.note = written
    return report
