"""``deepmanifold ensemble | surrogate train | field | active | predict | calibrate``: thin wrappers
over :mod:`coupling.ensemble` (docs/global_local.md)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from coupling.errors import CaseError
from coupling.signals import CommandInterrupted, CommandSignals, Interrupted

PROBE_ALLOWED = "NAME=QUANTITY@X,Y with QUANTITY ux | uy | sxx | syy | sxy | von_mises, e.g. top=uy@0.5,2.0"
_PROBE = re.compile(r"^(?P<name>[A-Za-z_][\w-]*)=(?P<q>\w+)@(?P<x>[^,]+),(?P<y>[^,]+)$")


def _rank() -> int:
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank


def parse_probe(text: str) -> dict:
    """``NAME=QUANTITY@X,Y`` → a probe table of the case schema."""
    m = _PROBE.match(text.strip())
    if not m or m.group("q") not in ("ux", "uy", "sxx", "syy", "sxy", "von_mises"):
        raise CaseError("--probe", None, f"found {text!r}", PROBE_ALLOWED)
    try:
        point = [float(m.group("x")), float(m.group("y"))]
    except ValueError:
        raise CaseError("--probe", None, f"found {text!r}", PROBE_ALLOWED) from None
    return {"name": m.group("name"), "point": point, "quantity": m.group("q")}


def ensemble_inputs(args: argparse.Namespace, executor=None):
    """Validate CASE, --set, --vary and --probe before anything is written; returns
    (case path, parameters, base overrides)."""
    from coupling.case.loader import load_case, parse_overrides, with_overrides
    from coupling.cli import case_path
    from coupling.ensemble.design import parse_vary

    path = case_path(args.case)
    base = parse_overrides(args.set)
    case = load_case(path, base)
    params = [parse_vary(v) for v in args.vary]
    keys = [k for p in params for k in p.keys]
    if len(set(keys)) != len(keys):
        raise CaseError("--vary", None, f"found the key {next(k for k in keys if keys.count(k) > 1)!r} twice",
                        "each key once")
    if args.probe:
        if "probes" not in type(case.spec).model_fields:
            raise CaseError("--probe", None, f"found with the {case.solver} case '{path}'",
                            "a fem, nmm or data_driven case (DDA reports its monitored blocks)")
        probes = [*case.data.get("probes", []), *(parse_probe(t) for t in args.probe)]
        base = {**base, "probes": probes}
        case = with_overrides(case, {"probes": probes})
    for p in params:  # both range ends and a point inside must make a valid case (unknown keys, bounds,
        # types; inside: an integer key such as dda.schur_parts takes no value between whole numbers)
        for value in (p.lo, p.hi, float(p.from_unit(VARY_INSIDE))):
            try:
                with_overrides(case, p.sets(value))
            except CaseError as exc:
                raise _vary_error(p, value, exc) from None
    # what only the set-up finds (a trigger without its joint, a probe outside the mesh) fails every
    # member: checked once, as 'check' does, at the ranges' lower ends (exit 0 with all members
    # failed before session 18). The case alone first, so that its own fault is reported as it is.
    # Under mpi4py.futures on a worker, as the members (PETSc initialised on COMM_SELF there: its
    # initialisation over COMM_WORLD would wait for the other ranks for ever).
    lower = {k: v for p in params for k, v in p.sets(p.lo).items()}
    args_ = (str(path), base, lower)
    stage, exc = executor.submit(setup_fault, *args_).result() if executor is not None else setup_fault(*args_)
    if exc is not None and stage == "case":
        raise exc
    if exc is not None:
        raise CaseError("--vary", _key(exc), f"{exc.found} (with " + ", ".join(f"{k}={v:g}" for k, v in lower.items())
                        + ")", exc.allowed)
    return path, params, base


#: where inside its range a --vary parameter is tried before the run (u in [0, 1]: no round value)
VARY_INSIDE = 0.3819660112501051


def _vary_error(p, value: float, exc: CaseError) -> CaseError:
    """A --vary range that gives an invalid case, named by the option (it named the case file
    alone before session 18, as if the file held the key)."""
    tried = ", ".join(f"{k}={v:g}" for k, v in p.sets(value).items())
    return CaseError("--vary", _key(exc), f"{exc.found} (the case with {tried}, a value of --vary {p.text})", exc.allowed)


def _key(exc: CaseError) -> str | None:
    """The key path of a case error that a --vary value caused, without the "--set " that
    coupling.case.loader puts before a key its overrides wrote (--vary names itself)."""
    return exc.key.removeprefix("--set ") if exc.key else exc.key


def setup_fault(path: str, base: dict, lower: dict) -> tuple[str, CaseError | None]:
    """Everything ``check`` does before the first solve, on this process alone (no output), for
    the case with ``base`` overrides ("case"), then with the --vary lower ends as well ("vary"):
    the first stage that fails and its error, or ("", None)."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.size > 1:  # a pool worker: PETSc's initialisation is collective over its world
        from coupling.ensemble.engine import petsc_on_this_rank_only

        petsc_on_this_rank_only()
    from coupling.case.loader import load_case
    from coupling.runner import run

    for stage, overrides in (("case", base), ("vary", {**base, **lower})):
        try:
            run(load_case(path, overrides), None, check=True, comm=MPI.COMM_SELF, verbosity=0)
        except CaseError as exc:
            return stage, exc
    return "", None


#: the designs that draw their points with --seed (grid: the cell centres, no random number)
SEEDED_DESIGNS = ("lhs", "sobol")


def design_seed(design: str, seed: int | None) -> int:
    """The seed of ``--design``'s points: ``--seed`` (default 0). A seed given with a design that
    draws nothing (grid) is refused (session 19: it was accepted and had no effect)."""
    if seed is not None and design not in SEEDED_DESIGNS:
        raise CaseError("--seed", None, f"found {seed} with --design {design} (the cell centres: no random draw)",
                        f"--seed with --design {' | '.join(SEEDED_DESIGNS)}, or no --seed")
    return 0 if seed is None else seed  # grid: 0 in the manifest and the table, as before


def cmd_ensemble(args: argparse.Namespace) -> int:
    """``deepmanifold ensemble CASE --vary ... --samples N -o DIR``."""
    from coupling.ensemble.design import sample_design
    from coupling.ensemble.engine import pool_executor, run_ensemble

    seed = design_seed(args.design, args.seed)
    executor = pool_executor()  # refuses plain mpiexec -n K before anything is written
    path, params, base = ensemble_inputs(args, executor)
    points = sample_design(params, args.samples, args.design, seed)
    out = Path(args.output)
    result = run_ensemble(path, params, points, out, overrides=base, design=args.design, seed=seed,
                          progress=None if args.quiet else sys.stderr, executor=executor, closing=False)
    if executor is not None:
        executor.shutdown(wait=True)
    print(f"wrote {result.table}: {result.summary()}")  # one closing line (two before session 19)
    return 0


def add_commands(sub) -> None:
    """Register ``ensemble``, ``surrogate`` and ``calibrate`` on the main parser's subparsers."""
    from coupling.ensemble.design import DESIGNS
    from coupling.validation import integer

    e = sub.add_parser("ensemble", help="run a case at N parameter points (mpi4py.futures workers, or serially)")
    e.add_argument("case", help="case file or shipped case name")
    e.add_argument("--vary", action="append", required=True, metavar="KEY=LO:HI[:log]",
                   help="a case key path and its range, log-uniform with :log; KEY1,KEY2=LO:HI ties keys to one value (repeatable)")
    e.add_argument("--samples", type=integer("--samples", 1, 1_000_000), required=True, help="number of members N")
    e.add_argument("--design", choices=list(DESIGNS), default="lhs", help="lhs (default) | sobol | grid (N = m^d)")
    e.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=None,
                   help="random seed of an lhs or sobol design (default 0; refused with grid)")
    e.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override for every member (repeatable)")
    e.add_argument("--probe", action="append", metavar="NAME=QUANTITY@X,Y",
                   help="an extra point value in every member's results (FEM/NMM/data-driven; repeatable)")
    e.add_argument("-o", "--output", required=True, help="ensemble folder (rerun to resume)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    e.set_defaults(func=cmd_ensemble)
    add_global_local_commands(sub)


# ---------------------------------------------------------------------------- surrogate
def _is_surrogate(path: Path) -> bool:
    from learned.errors import CheckpointError
    from learned.surrogate import load_surrogate

    try:
        load_surrogate(path)
    except CheckpointError:
        return False
    return True


def cmd_surrogate_train(args: argparse.Namespace) -> int:
    """``deepmanifold surrogate train ENSEMBLE.h5 -o S.pt``."""
    import json

    from learned.files import check_output_file

    from coupling.ensemble.surrogates import train_from_table

    out = Path(args.output)
    if out.suffix != ".pt":
        raise CaseError("-o", None, f"found {str(out)!r}", "a checkpoint name ending in .pt (the report .json goes beside it)")
    check_output_file(out, "-o", _is_surrogate, "surrogate checkpoint", force=args.force)

    def is_report(p: Path) -> bool:
        try:
            return json.loads(p.read_text(encoding="utf-8")).get("format") == "deepmanifold.surrogate_report"
        except (OSError, ValueError, AttributeError):
            return False

    check_output_file(out.with_suffix(".json"), "-o", is_report, "surrogate report", force=args.force)
    outputs = _output_names(args.outputs)
    report_path = out.with_suffix(".json")
    with CommandSignals(f"nothing written ({out} and {report_path.name} not written)") as signals:
        written = f"after training: {out} and {report_path.name} are written"
        path, report = train_from_table(args.ensemble, out, outputs=outputs, members=args.members, hidden=args.hidden,
                                        iterations=args.iterations, val_fraction=args.val_fraction, seed=args.seed,
                                        writing=lambda: signals.writing(written))
        signals.note = written
        _print_surrogate_report(path, report)
    return 0


def _print_surrogate_report(path: Path, report: dict) -> None:
    """What ``surrogate train`` prints: the files, then per output its held-out (or training) error."""
    print(f"wrote {path} ({path.with_suffix('.json').name}): {report['points']} points, "
          f"{report['validation_points']} held out, {report['members']} members")
    for name, r in report["outputs"].items():
        u = f" {r['unit']}" if r.get("unit") not in (None, "", "-") else ""
        if "validation_rmse" in r:
            print(f"  {name}: validation RMSE {r['validation_rmse']:.4g}{u} ({100 * r['validation_relative_rmse']:.3g} % "
                  f"of its spread), mean ensemble spread {r['validation_mean_spread']:.3g}{u}")
        else:
            print(f"  {name}: training RMSE {r['training_rmse']:.4g}{u} (too few points to hold any out)")


def cmd_surrogate_field(args: argparse.Namespace) -> int:
    """``deepmanifold surrogate field ENSEMBLE.h5 -o S.pt``: POD + interpolant of the members'
    displacement fields (for ``run --initial-guess``)."""
    import json

    from learned.field_surrogate import load_field_surrogate
    from learned.files import check_output_file

    from coupling.ensemble.warm_start import field_points, train_field

    out = Path(args.output)
    if out.suffix != ".pt":
        raise CaseError("-o", None, f"found {str(out)!r}", "a checkpoint name ending in .pt (the report .json goes beside it)")

    def is_ours(p: Path) -> bool:
        try:
            load_field_surrogate(p)
        except Exception:
            return False
        return True

    def is_report(p: Path) -> bool:
        try:
            return json.loads(p.read_text(encoding="utf-8")).get("format") == "deepmanifold.field_surrogate_report"
        except (OSError, ValueError, AttributeError):
            return False

    check_output_file(out, "-o", is_ours, "field surrogate checkpoint", force=args.force)
    check_output_file(out.with_suffix(".json"), "-o", is_report, "field surrogate report", force=args.force)
    report_name = out.with_suffix(".json").name
    with CommandSignals(f"nothing written ({out} and {report_name} not written)") as signals:
        written = f"after the POD: {out} and {report_name} are written"
        path, report = train_field(args.ensemble, out, energy=args.energy, writing=lambda: signals.writing(written))
        signals.note = written
        loo = report.get("leave_one_out") or []
        loo_text = f"; leave-one-out error {max(loo):.3g} (largest relative)" if loo else ""
        print(f"wrote {path} ({path.with_suffix('.json').name}): {report['members']} members, {report['nodes']} "
              f"{field_points(report.get('solver'))}, "
              f"{report['modes']} POD mode(s) for {args.energy:g} of the energy{loo_text}")
    return 0


def cmd_surrogate_active(args: argparse.Namespace) -> int:
    """``deepmanifold surrogate active CASE --vary ... -o DIR``: the active-learning loop
    (:mod:`coupling.ensemble.active`)."""
    from coupling.ensemble.active import run_active
    from coupling.ensemble.engine import pool_executor

    if args.initial > args.max_runs:
        raise CaseError("--initial", None, f"found {args.initial} > --max-runs {args.max_runs}", "at most --max-runs")
    executor = pool_executor()  # refuses plain mpiexec -n K before anything is written
    out = Path(args.output)
    try:
        with CommandSignals(f"nothing written ({out} unchanged)" if out.exists()
                            else f"nothing written ({out} not written)") as signals:
            path, params, base = ensemble_inputs(args, executor)  # loads and checks the case (seconds on a big mesh)
            outputs = _output_names(args.outputs)
            try:
                report = run_active(path, params, out, outputs=outputs, tolerance=args.tolerance,
                                    initial=args.initial, max_runs=args.max_runs, batch=args.batch, test=args.test,
                                    candidates=args.candidates, seed=args.seed, overrides=base,
                                    train={"members": args.members, "hidden": args.hidden,
                                           "iterations": args.iterations},
                                    progress=None if args.quiet else sys.stderr, executor=executor, signals=signals)
            except Interrupted as exc:  # a member's run stopped (its own handlers), or a signal between runs
                if isinstance(exc, CommandInterrupted):
                    raise
                raise CommandInterrupted(exc.signum, signals.note) from None
            last = report["rounds"][-1]
            state = "converged" if report["converged"] else "NOT converged (--max-runs reached)"
            print(f"{state}: {report['training_runs']} training runs (+{report['test_runs']} held out); worst "
                  f"relative RMSE {last['worst']:.3g} (tolerance {report['tolerance']:g})")
            for name, e in last["test_relative_error"].items():
                print(f"  {name}: {e:.3g}")
            print(f"wrote {out / 'active.json'}, surrogate.pt, ensemble/, test/")
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return 0 if report["converged"] else 1


def _output_names(text: str | None) -> list[str] | None:
    """``--outputs a,b``: the result names (None: every result that varies); an empty name is an
    error naming the option (the names themselves are checked against the ensemble's results)."""
    if text is None:
        return None
    names = [o.strip() for o in text.split(",")]
    if not all(names):
        raise CaseError("--outputs", None, f"found {text!r}", "comma-separated result names, e.g. runout,peak_velocity "
                        "(omit --outputs for every result that varies)")
    return names


def _at_points(net, items: list[str], option: str = "--at"):
    import numpy as np

    keys = net.parameter_keys
    values: dict[str, float] = {}
    for item in items or []:
        key, _, text = item.partition("=")
        key = key.strip()
        try:
            value = float(text)
        except ValueError:
            raise CaseError(option, None, f"found {item!r}", "KEY=VALUE with KEY one of " + ", ".join(keys)) from None
        if key not in keys:
            raise CaseError(option, None, f"found {key!r}", " | ".join(keys))
        if not np.isfinite(value):
            raise CaseError(option, key, f"found {text.strip()}", "a finite number")
        if key in values:
            raise CaseError(option, None, f"found the key {key!r} twice", "each key once")
        values[key] = value
    missing = [k for k in keys if k not in values]
    if missing:
        raise CaseError(option, None, f"no value for {missing[0]!r}", "KEY=VALUE for every parameter: " + ", ".join(keys))
    return np.array([[values[k] for k in keys]])


def cmd_surrogate_predict(args: argparse.Namespace) -> int:
    """``deepmanifold surrogate predict S.pt --at KEY=VALUE ...``: mean ± ensemble spread."""
    import json

    from coupling.ensemble.surrogates import load, unit_text

    net, _ = load(args.surrogate)
    x = _at_points(net, args.at)
    mean, spread = net.predict(x)
    ranges = net.meta.get("ranges", [])
    outside = [r["key"] for r, v in zip(ranges, x[0]) if not r["lo"] <= v <= r["hi"]]
    if outside:
        print(f"warning: {', '.join(outside)} outside the ensemble's range (extrapolation)", file=sys.stderr)
    result = {n: {"mean": float(m), "spread": float(s), "unit": (net.meta.get("units") or {}).get(n, "")}
              for n, m, s in zip(net.output_names, mean[0], spread[0])}
    if args.json:
        print(json.dumps({"parameters": dict(zip(net.parameter_keys, x[0].tolist())), "outputs": result}, indent=1))
    else:
        for n, r in result.items():
            print(f"{n} = {r['mean']:.6g} ± {r['spread']:.2g}{unit_text(net, n)}")
    return 0


# ---------------------------------------------------------------------------- calibrate
CALIBRATION_FORMAT = "deepmanifold.calibration"


def _calibration_folder(out: Path) -> None:
    """Refuse an ``-o`` that is not a new folder, a previous calibration, or the folder an
    interrupted calibrate left (``confirm/`` alone, an ensemble folder: the rerun resumes it)."""
    from coupling.ensemble.active import refuse_foreign_folder

    if _interrupted_calibration(out):
        return
    refuse_foreign_folder(out, "calibration.json", CALIBRATION_FORMAT, "a calibration",
                          "a new folder, or a previous calibration folder")


def _interrupted_calibration(out: Path) -> bool:
    """Whether ``out`` holds only ``confirm/`` with an ensemble's manifest (what a calibrate
    stopped by SIGINT/SIGTERM during its confirming runs leaves)."""
    import json

    from coupling.ensemble.engine import ENSEMBLE_FORMAT, MANIFEST

    try:
        if out.is_symlink() or not out.is_dir() or [p.name for p in out.iterdir()] != ["confirm"]:
            return False
        manifest = out / "confirm" / MANIFEST
        return not (out / "confirm").is_symlink() and json.loads(manifest.read_text(encoding="utf-8")).get(
            "format") == ENSEMBLE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _not_the_surrogates_case(surrogate: str, net, path: Path, exc: CaseError) -> CaseError:
    """calibrate: the surrogate's parameters or its ensemble's ``--set`` overrides do not fit
    CASE (another case than the one it was trained on): one line naming ``--surrogate``."""
    fault = ": ".join(part for part in (exc.key, exc.found) if part)
    return CaseError("--surrogate", None, f"'{surrogate}' was trained on {net.meta.get('case', 'another case')}; its "
                     f"parameters / --set overrides do not fit {path} ({fault})",
                     "the case the surrogate was trained on (or one with the same keys)")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``deepmanifold calibrate CASE --surrogate S.pt --free KEY=LO:HI ... --observe NAME=V±S ...``."""
    from coupling.case.loader import load_case, parse_overrides, with_overrides
    from coupling.cli import case_path
    from coupling.ensemble.calibration import parse_observe
    from coupling.ensemble.design import Parameter, parse_vary
    from coupling.ensemble.engine import pool_executor
    from coupling.ensemble.surrogates import load

    executor = pool_executor()
    net, _ = load(args.surrogate)
    path = case_path(args.case)
    own = parse_overrides(args.set)
    overrides = {**net.meta.get("overrides", {}), **own}
    try:
        case = load_case(path, overrides)
    except CaseError as exc:
        load_case(path, own)  # a fault of the case itself or of --set: reported as it is
        raise _not_the_surrogates_case(args.surrogate, net, path, exc) from None
    ranges = {r["key"]: r for r in net.meta.get("ranges", [])}
    free = [parse_vary(t, "--free") for t in (args.free or [])]
    given = {p.key: p for p in free}
    if len(given) != len(free):
        keys = [p.key for p in free]
        raise CaseError("--free", None, f"found the key {next(k for k in keys if keys.count(k) > 1)!r} twice",
                        "each key once")
    for p in free:
        if p.key not in ranges:
            raise CaseError("--free", None, f"found {p.key!r}", "a parameter of the surrogate: " + " | ".join(ranges))
        r = ranges[p.key]
        if p.lo < r["lo"] * (1 - 1e-12) or p.hi > r["hi"] * (1 + 1e-12):
            raise CaseError("--free", None, f"found {p.text} outside the surrogate's range {r['lo']:g}:{r['hi']:g}",
                            "a range inside the ensemble's (no extrapolation)")
    params = [given.get(k) or Parameter(k, r["lo"], r["hi"], bool(r["log"])) for k, r in ranges.items()]
    obs = [parse_observe(t) for t in args.observe]
    for o in obs:
        if o.name not in net.output_names:
            raise CaseError("--observe", None, f"found {o.name!r}", " | ".join(net.output_names))
    for p in params:
        for v in (p.lo, p.hi):
            try:
                with_overrides(case, p.sets(v))
            except CaseError as exc:
                raise _not_the_surrogates_case(args.surrogate, net, path, exc) from None
    out = Path(args.output)
    _calibration_folder(out)
    with CommandSignals(f"nothing written ({out} not written)") as signals:
        _calibrate(args, net, path, overrides, params, obs, out, executor, signals)
    return 0


def _calibrate(args: argparse.Namespace, net, path: Path, overrides: dict, params: list, obs: list, out: Path,
               executor, signals: CommandSignals) -> None:
    """calibrate after its checks: MCMC, the confirming runs, the report (``signals``: what a
    SIGINT/SIGTERM reports at each stage; the report and plots are written whole or not at all)."""
    import numpy as np

    from learned.files import atomic_write

    from coupling.ensemble.calibration import consistency, consistency_lines, corner, metropolis, plot, summarise
    from coupling.ensemble.engine import run_ensemble
    from coupling.ensemble.surrogates import unit_text
    from coupling.output.rundir import write_json

    mc = metropolis(net, params, obs, chains=args.chains, steps=args.steps, burn_in=args.steps // 3, seed=args.seed)
    samples = mc["samples"]
    post = summarise(samples, params)
    rng = np.random.default_rng(args.seed)
    mean = np.array([post[p.key]["mean"] for p in params])
    picks = samples[rng.choice(len(samples), size=args.confirm_samples, replace=False)] if args.confirm_samples else np.zeros((0, len(params)))
    points = np.vstack([mean, picks])
    out.mkdir(parents=True, exist_ok=True)
    signals.note = (f"during the confirming runs: {out / 'confirm'} holds the finished ones (the same command "
                    "resumes them); calibration.json, the plots and posterior_samples.npy not written")
    try:
        confirm = run_ensemble(path, params, points, out / "confirm", overrides=overrides, design="posterior",
                               seed=args.seed, progress=None if args.quiet else sys.stderr, executor=executor)
    except Interrupted as exc:  # a member's run stopped (its own handlers), or a signal between members
        if isinstance(exc, CommandInterrupted):
            raise
        raise CommandInterrupted(exc.signum, signals.note) from None
    if executor is not None:
        executor.shutdown(wait=True)
    check = consistency(net, params, obs, samples, seed=args.seed)
    sur_mean, sur_spread = net.predict(points)
    rows = []
    for o in obs:
        k = net.output_names.index(o.name)
        solver = [m["scalars"].get(o.name) if m["status"] == "ok" else None for m in confirm.members]
        rows.append({"name": o.name, "unit": (net.meta.get("units") or {}).get(o.name, ""),
                     "observed": o.value, "sigma": o.sigma,
                     "surrogate": float(sur_mean[0, k]), "surrogate_spread": float(sur_spread[0, k]),
                     "solver": solver[0], "surrogate_samples": sur_mean[1:, k].tolist(), "solver_samples": solver[1:]})
    report = {
        "format": CALIBRATION_FORMAT, "format_version": 1, "case": str(path), "surrogate": str(args.surrogate),
        "overrides": overrides,
        "method": "random-walk Metropolis MCMC through the surrogate; prior uniform (log-uniform for :log) on the "
                  "free ranges; Gaussian likelihood with variance sigma_obs^2 + surrogate spread^2",
        "mcmc": {k: v for k, v in mc.items() if k != "samples"}, "observations": [o.__dict__ for o in obs],
        "posterior": post,
        "confirmation": {"points": points.tolist(), "labels": ["posterior mean"] + [f"posterior sample {i + 1}" for i in range(len(picks))],
                         "status": [m["status"] for m in confirm.members], "folder": str(out / "confirm")},
        "comparison": rows,
        "consistency": check,
    }
    written = f"after the calibration: {out} is written (calibration.json, plots, posterior_samples.npy, confirm/)"
    with signals.writing(written):  # each file atomically; a signal waits until all four are written

        def save_samples(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would add .npy to the temporary name
                np.save(f, samples)

        atomic_write(out / "posterior_samples.npy", save_samples)
        plot(out / "calibration.png", params, samples, rows)
        corner(out / "corner.png", params, samples)
        write_json(out / "calibration.json", report)  # last: the folder's mark (a rerun accepts it)
    signals.note = written
    for p in params:
        s = post[p.key]
        print(f"{p.key}: posterior mean {s['mean']:.6g} ± {s['std']:.2g} (90 % in {s['q05']:.6g} .. {s['q95']:.6g})")
    for r in rows:
        solver = f"{r['solver']:.6g}" if r["solver"] is not None else "failed"
        u = unit_text(net, r["name"])
        print(f"  {r['name']}: observed {r['observed']:.6g} ± {r['sigma']:.2g}{u} | surrogate {r['surrogate']:.6g} "
              f"± {r['surrogate_spread']:.2g}{u} | solver {solver}{u if r['solver'] is not None else ''}")
    for line in consistency_lines(check):
        print(f"  check: {line}")
    print(f"wrote {out / 'calibration.json'}, calibration.png, corner.png, posterior_samples.npy, confirm/")


def add_global_local_commands(sub) -> None:
    """Register ``surrogate train|field|active|predict`` and ``calibrate``."""
    from coupling.validation import int_list, integer, real

    s = sub.add_parser("surrogate", help="surrogates trained on an ensemble table")
    ssub = s.add_subparsers(dest="surrogate_command", required=True)
    t = ssub.add_parser("train", help="a deep ensemble of MLPs: parameters -> results of an ensemble")
    t.add_argument("ensemble", help="ensemble.h5 written by deepmanifold ensemble")
    t.add_argument("-o", "--output", required=True, help="checkpoint S.pt (report S.json beside it)")
    t.add_argument("--outputs", help="comma-separated result names (default: every result that varies)")
    t.add_argument("--members", type=integer("--members", 2, 100), default=5, help="networks in the ensemble (default 5)")
    t.add_argument("--hidden", type=int_list("--hidden", 1, 1024), default=(32, 32), help="hidden widths (default 32,32)")
    t.add_argument("--iterations", type=integer("--iterations", 1, 100_000), default=300, help="L-BFGS iterations (default 300)")
    t.add_argument("--val-fraction", type=real("--val-fraction", ge=0, lt=1), default=0.2,
                   help="fraction of the members held out for validation (default 0.2)")
    t.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0, help="random seed (default 0)")
    t.add_argument("--force", action="store_true", help="replace a file at -o that deepmanifold did not write")
    t.set_defaults(func=cmd_surrogate_train)
    f = ssub.add_parser("field", help="POD + RBF interpolant of the members' displacement (FEM, NMM, data-driven; at "
                                      "the FEM / data-driven nodes, on the NMM physical covers; run --initial-guess)")
    f.add_argument("ensemble", help="ensemble.h5 of a FEM, NMM or data-driven ensemble run with --set output.displacement=true")
    f.add_argument("-o", "--output", required=True, help="checkpoint S.pt (report S.json beside it)")
    f.add_argument("--energy", type=real("--energy", gt=0, le=1), default=0.999999,
                   help="fraction of the snapshot energy the kept POD modes hold (default 0.999999)")
    f.add_argument("--force", action="store_true", help="replace a file at -o that deepmanifold did not write")
    f.set_defaults(func=cmd_surrogate_field)
    a = ssub.add_parser("active", help="active learning: run the solver where the surrogate is least certain, "
                                       "retrain, until surrogate and solver agree on a held-out set")
    a.add_argument("case", help="case file or shipped case name")
    a.add_argument("--vary", action="append", required=True, metavar="KEY=LO:HI[:log]",
                   help="a case key path and its range, as for ensemble (repeatable)")
    a.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override for every run (repeatable)")
    a.add_argument("--probe", action="append", metavar="NAME=QUANTITY@X,Y",
                   help="an extra point value in every run's results (FEM/NMM/data-driven; repeatable)")
    a.add_argument("--outputs", help="comma-separated result names (default: every result that varies)")
    a.add_argument("--tolerance", type=real("--tolerance", gt=0), default=0.02,
                   help="stop when RMSE(surrogate - solver) / std(solver) <= this for every output on the "
                        "held-out set (default 0.02)")
    a.add_argument("--initial", type=integer("--initial", 2, 100_000), default=4, help="initial design size (default 4)")
    a.add_argument("--batch", type=integer("--batch", 1, 10_000), default=1,
                   help="solver runs added per round (default 1; the number of workers keeps them all busy)")
    a.add_argument("--max-runs", type=integer("--max-runs", 2, 1_000_000), default=64,
                   help="training runs at most (default 64)")
    a.add_argument("--test", type=integer("--test", 2, 100_000), default=8, help="held-out solver runs (default 8)")
    a.add_argument("--candidates", type=integer("--candidates", 1, 10_000_000), default=1024,
                   help="candidate points per round (Sobol' pool, default 1024)")
    a.add_argument("--members", type=integer("--members", 2, 100), default=5, help="networks in the ensemble (default 5)")
    a.add_argument("--hidden", type=int_list("--hidden", 1, 1024), default=(32, 32), help="hidden widths (default 32,32)")
    a.add_argument("--iterations", type=integer("--iterations", 1, 100_000), default=300, help="L-BFGS iterations (default 300)")
    a.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0, help="random seed (default 0)")
    a.add_argument("-o", "--output", required=True, help="folder: test/, ensemble/, surrogate.pt, active.json (rerun to resume)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    a.set_defaults(func=cmd_surrogate_active)
    p = ssub.add_parser("predict", help="surrogate mean ± ensemble spread at one parameter point")
    p.add_argument("surrogate", help="S.pt from deepmanifold surrogate train")
    p.add_argument("--at", action="append", metavar="KEY=VALUE", help="a parameter value (one per parameter)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_surrogate_predict)

    c = sub.add_parser("calibrate", help="posterior of parameters given observations, through a surrogate, confirmed by the solver")
    c.add_argument("case", help="case file or shipped case name (the solver confirms the posterior on it)")
    c.add_argument("--surrogate", required=True, help="S.pt from deepmanifold surrogate train")
    c.add_argument("--free", action="append", metavar="KEY=LO:HI[:log]",
                   help="prior range of a parameter (default: the ensemble's range)")
    c.add_argument("--observe", action="append", required=True, metavar="NAME=VALUE±SIGMA",
                   help="an observed result and its standard deviation (repeatable)")
    c.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override for the confirmation runs")
    c.add_argument("--chains", type=integer("--chains", 1, 10_000), default=16, help="MCMC chains (default 16)")
    c.add_argument("--steps", type=integer("--steps", 30, 1_000_000), default=3000, help="MCMC steps per chain (default 3000; a third is burn-in)")
    c.add_argument("--confirm-samples", type=integer("--confirm-samples", 0, 1000), default=2,
                   help="posterior samples the solver confirms besides the posterior mean (default 2)")
    c.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0,
                   help="random seed of the chains and the confirmed samples (default 0)")
    c.add_argument("-o", "--output", required=True, help="calibration folder")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    c.set_defaults(func=cmd_calibrate)
