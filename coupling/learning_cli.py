"""``deepmanifold data ...`` and ``deepmanifold train ...``: thin wrappers over learned/.

Law and joint-law parameters are given as TOML inline tables, validated by the same schema as
case files, e.g. ``--material 'law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4,
exponent=0.5, plane="stress"'``.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from learned.training_defaults import MLP_HIDDEN, OTHER_HIDDEN, default_hidden

from coupling.case.loader import validate_option_table
from coupling.errors import CaseError, SolverDivergence
from coupling.signals import CommandSignals


def _inline_table(text: str, option: str) -> dict[str, Any]:
    """``--material`` / ``--joint``: a TOML inline table, braces optional. Line breaks count as
    spaces (TOML wants an inline table on one line; a command copied from the docs or a case
    header may break inside the quotes)."""
    body = " ".join(text.strip().splitlines())
    if not body.startswith("{"):
        body = "{" + body + "}"
    try:
        return tomllib.loads(f"v = {body}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(option, None, f"not a TOML inline table ({exc})", 'key=value pairs, e.g. law="linear_elastic", E=1e9, nu=0.3')


#: samples of ``data generate`` without -n
DEFAULT_SAMPLES = 5000
#: the default hidden widths of ``train`` are the API's (learned.training.default_hidden,
#: defined once in learned.training_defaults): the MLP on point data MLP_HIDDEN (48, 48); the
#: outer iterations of projection training unless --outer-iterations says otherwise
OUTER_ITERATIONS = 8
#: ICNN, joint data and --projection OTHER_HIDDEN (32, 32). RECIPE_HIDDEN: the former name
#: here, kept importable.
RECIPE_HIDDEN = MLP_HIDDEN
#: largest data set ``data generate`` writes (points, or paths x steps)
MAX_SAMPLES = 10_000_000

#: fewer samples cannot be scaled (zero spread) nor split into training and validation;
#: ``train`` refuses such a data set and ``data generate`` does not write one
MIN_TRAINING_SAMPLES = 10
#: fewer paths of a path data set cannot be split into training and validation paths
MIN_TRAINING_PATHS = 2


class TrainingDiverged(SolverDivergence):
    """Training whose loss became non-finite (the CLI exits with 3)."""


def _is_dataset(path: Path) -> bool:
    """An HDF5 file with our data-set attributes (kind, format_version)."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return "format_version" in f.attrs and "kind" in f.attrs
    except Exception:  # not HDF5 at all
        return False


def _is_checkpoint(path: Path) -> bool:
    from learned.checkpoint import load_checkpoint
    from learned.errors import CheckpointError

    try:
        load_checkpoint(path)  # weights_only: never executes a payload
    except CheckpointError:
        return False
    return True


def _is_training_report(path: Path) -> bool:
    import json

    from learned.training import REPORT_FORMAT

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == REPORT_FORMAT


def _check_dataset_output(args) -> None:
    from learned.files import check_output_file

    check_output_file(args.output, "-o", _is_dataset, "data set", force=args.force)


def _check_training_outputs(out: Path, force: bool) -> None:
    """The checkpoint and its report (.json) and loss plot (.png): each new or ours."""
    from learned.files import check_output_file

    if out.suffix in (".json", ".png"):
        raise CaseError("-o", None, f"found {str(out)!r}", "a checkpoint name such as model.pt (the report and plot go beside it)")
    check_output_file(out, "-o", _is_checkpoint, "checkpoint", force=force)
    check_output_file(out.with_suffix(".json"), "-o", _is_training_report, "training report", force=force)
    ours = _is_checkpoint(out) or _is_training_report(out.with_suffix(".json"))
    check_output_file(out.with_suffix(".png"), "-o", lambda p: ours, "loss plot beside our checkpoint", force=force)


def _progress(args, total: int, what: str):
    from coupling.output.progress import progress_bar

    return progress_bar(total, what, enabled=not args.quiet)


def cmd_data_generate(args: argparse.Namespace) -> int:
    """``deepmanifold data generate``: a synthetic data set from an analytic law. An overflow in
    the law (a huge modulus at large strains) is a non-finite sample, refused by
    :func:`_save_generated` in one line: numpy's RuntimeWarnings would add lines of their own.
    SIGINT/SIGTERM (exit 130/143; before session 19 a SIGTERM ended it silently) give one line
    naming the signal and whether the data set is written (:class:`CommandSignals`: a signal
    while it is written waits until it is)."""
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
            CommandSignals(f"nothing written ({args.output} not written)") as signals:
        return _data_generate(args, signals)


def _save_generated(args: argparse.Namespace, ds, signals: CommandSignals):
    """save_dataset, with a non-finite sample named by the law's option (it named the output
    file before session 18, as if the file were at fault); a signal during the write waits
    for it (``signals``)."""
    from learned.dataset import save_dataset
    from learned.errors import DataError

    written = f"after generating: {args.output} is written"
    try:
        with signals.writing(written):
            path = save_dataset(args.output, ds)
        signals.note = written
        return path
    except DataError as exc:
        if "NaN/inf" not in exc.found:
            raise
        option = "--material" if args.material is not None else "--joint"
        raise CaseError(option, None, f"the law gives non-finite values in {exc.key.lstrip('/')} ({exc.found}): "
                        "an overflow at the sampled strains / slips",
                        "a law and ranges (--strain-range, --slip-max, --rate-range) that give finite values") from None


def _data_generate(args: argparse.Namespace, signals: CommandSignals) -> int:
    import numpy as np

    from learned.dataset import generate_dataset, generate_joint_dataset, save_dataset

    if (args.material is None) == (args.joint is None):
        raise CaseError("data generate", None, "found " + ("both --material and --joint" if args.material else "neither"),
                        "exactly one of --material or --joint")
    _check_dataset_output(args)
    if args.material is not None:
        from coupling.case.common import MaterialSpec, build_law

        spec = validate_option_table(MaterialSpec, _inline_table(args.material, "--material"), "--material")
        if spec.law == "checkpoint":
            raise CaseError("--material", "law", "found 'checkpoint'", "an analytic law: linear_elastic | power_law_elastic")
        rng = args.strain_range
        if args.paths is not None:  # strain histories (laws with state): P paths x M steps
            from learned.paths import generate_path_dataset

            if args.n is not None:
                raise CaseError("-n", None, "found together with --paths", "-n (points) or --paths/--steps (histories)")
            if not MIN_TRAINING_SAMPLES <= args.paths * args.steps <= MAX_SAMPLES:
                raise CaseError("--paths", None, f"found {args.paths} paths x {args.steps} steps",
                                f"{MIN_TRAINING_SAMPLES}..{MAX_SAMPLES} samples in all (train needs at least "
                                f"{MIN_TRAINING_SAMPLES})")
            ds = generate_path_dataset(build_law(None, spec, "--material"), args.paths, args.steps, args.path_kind,
                                       rng[0] if len(rng) == 1 else np.array(rng), args.noise_strain,
                                       args.noise_stress, args.seed)
            path = _save_generated(args, ds, signals)
            print(f"wrote {path}: {ds.n_paths} paths x {ds.n_steps} steps ({args.path_kind})")
            return 0
        if args.min_strain is not None and args.sampler != "log":
            raise CaseError("--min-strain", None, f"given with --sampler {args.sampler}", "--sampler log")
        largest = max(abs(float(v)) for v in rng)  # the box's largest bound: the log sampler's top magnitude
        if args.min_strain is not None and not args.min_strain < largest:
            raise CaseError("--min-strain", None, f"found {args.min_strain:g} with --strain-range "
                            f"{','.join(f'{float(v):g}' for v in rng)}",
                            f"a magnitude below the largest strain bound {largest:g}")
        ds = generate_dataset(build_law(None, spec, "--material"), args.n or DEFAULT_SAMPLES,
                              rng[0] if len(rng) == 1 else np.array(rng),
                              args.noise_strain, args.noise_stress, args.seed, args.sampler,
                              min_magnitude=args.min_strain)
        below = noise_dominated_fraction(ds, args.noise_strain, args.noise_stress)
        if args.sampler == "log" and below > NOISE_WARN_FRACTION:
            import sys

            print(f"warning: {below:.0%} of the points have a strain or stress smaller than its noise (the noise "
                  f"is relative to the standard deviation over the whole sample; --sampler log samples strain "
                  f"magnitudes down to {ds.provenance.get('min_magnitude', 0.0):.2g}): a network fitted to them is "
                  f"poor at small strains; --sampler sobol or uniform (a box) keeps the signal above the noise",
                  file=sys.stderr)
    else:
        from coupling.case.common import JointLawSpec, build_joint_law

        if args.paths is not None:
            raise CaseError("--paths", None, "found with --joint", "strain paths of a --material law")
        spec = validate_option_table(JointLawSpec, _inline_table(args.joint, "--joint"), "--joint")
        if spec.kind == "checkpoint":
            raise CaseError("--joint", "kind", "found 'checkpoint'",
                            "an analytic joint law: coulomb | displacement_weakening | velocity_weakening")
        lo, hi = args.rate_range
        if args.log_rates and lo <= 0:
            raise CaseError("--rate-range", None, f"found {lo:g},{hi:g} with --log-rates", "a lower rate > 0")
        ds = generate_joint_dataset(build_joint_law(None, spec, "--joint"), args.n or DEFAULT_SAMPLES, slip_max=args.slip_max, rate_range=(lo, hi),
                                    noise=args.noise_stress, seed=args.seed,
                                    rate_sampling="log" if args.log_rates else "uniform")
    path = _save_generated(args, ds, signals)
    print(f"wrote {path}: {len(ds)} samples ({ds.kind})")
    return 0


#: ``data generate`` warns when more than this fraction of the points lies below the noise
NOISE_WARN_FRACTION = 0.05


def noise_dominated_fraction(ds, noise_strain: float, noise_stress: float) -> float:
    """Fraction [-] of the points whose strain magnitude |ε| or stress magnitude |σ| (Euclidean
    norm of the Voigt row) is smaller than the magnitude of its noise, level · ‖std(x, axis=0)‖
    (``learned.dataset.NOISE_DEFINITION``: the noise is relative to the spread of the whole sample,
    so the log sampler's small strains drown in it). Observed values (N,3) of ``ds``."""
    import numpy as np

    below = np.zeros(len(ds), bool)
    for x, level in ((ds.strain, noise_strain), (ds.stress, noise_stress)):
        if level > 0:
            x = np.asarray(x, float)
            below |= np.linalg.norm(x, axis=1) < level * float(np.linalg.norm(x.std(axis=0)))
    return float(below.mean()) if len(ds) else 0.0


def cmd_data_import(args: argparse.Namespace) -> int:
    """``deepmanifold data import``: a CSV of measured states into the HDF5 data-set format."""
    from learned.dataset import import_csv, save_dataset

    _check_dataset_output(args)
    ds = import_csv(args.csv, plane=args.plane, stress_unit=args.stress_unit, strain_unit=args.strain_unit)
    path = save_dataset(args.output, ds)
    print(f"wrote {path}: {len(ds)} samples")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``deepmanifold train``: fit a model to a data set and save a checkpoint."""
    from coupling.validation import check_device

    check_device("--device", args.device)
    if args.outer_iterations is not None and not args.projection:  # was accepted and ignored before session 19
        raise CaseError("--outer-iterations", None, f"found {args.outer_iterations} without --projection",
                        "--outer-iterations together with --projection (the outer fixed-point iterations "
                        "of projection training)")
    out = Path(args.output)
    _check_training_outputs(out, args.force)
    with CommandSignals(f"nothing written ({out}, {out.with_suffix('.json').name} and "
                        f"{out.with_suffix('.png').name} not written)") as signals:
        return _train(args, out, signals)


def _written_after_training(out: Path) -> str:
    """``train``'s note once its three files are written (a signal during the writes waits)."""
    return f"after training: {out}, {out.with_suffix('.json').name} and {out.with_suffix('.png').name} are written"


def _train(args: argparse.Namespace, out: Path, signals: CommandSignals) -> int:
    """``train`` after its option checks, with SIGINT/SIGTERM handled by ``signals`` (one line
    naming the signal and what was (not) written; the checkpoint, report and plot written
    together or not at all)."""
    from learned.dataset import load_dataset
    from learned.pipeline import train_to_checkpoint

    data = load_dataset(args.data)
    if len(data) < MIN_TRAINING_SAMPLES:
        raise CaseError(args.data, None, f"{len(data)} samples", f"at least {MIN_TRAINING_SAMPLES} samples to train on")
    if (data.kind == "paths") != (args.model == "return_mapping"):
        if data.kind == "paths":
            raise CaseError("--model", None, f"found {args.model!r} with the path data set '{args.data}'",
                            "return_mapping (a law with state, docs/plasticity.md)")
        raise CaseError("--model", None, f"found 'return_mapping' with the {data.kind} data set '{args.data}'",
                        "a path data set (deepmanifold data generate --paths ...)")
    if data.kind == "paths":
        return _train_return_mapping(args, data, out, signals)
    if args.isotropic:  # read by the return-mapping model only: ignored silently here before session 18
        raise CaseError("--isotropic", None, f"found with the {data.kind} data set '{args.data}'",
                        "--model return_mapping on a path data set (deepmanifold data generate --paths ...)")
    if data.kind == "joint" and args.model != "mlp":
        raise CaseError("--model", None, f"found {args.model!r} with the joint data set '{args.data}'", "mlp")
    if data.kind == "joint" and args.projection:
        raise CaseError("--projection", None, f"found with the joint data set '{args.data}'",
                        "projection training of constitutive (strain-stress) data sets")
    hidden = args.hidden or default_hidden(args.model, joint=data.kind == "joint", projection=bool(args.projection))
    if args.batch_size > len(data):
        args.batch_size = len(data)
    common = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, hidden=hidden,
                  seed=args.seed, device=args.device, val_fraction=args.val_fraction, patience=args.patience)
    with _progress(args, args.epochs, "training") as bar:
        def progress(info: dict) -> None:
            if "epoch" in info:
                bar.update(info["epoch"], f"epoch {info['epoch']}  train {info.get('train_loss', float('nan')):.3e}"
                                          f"  val {info.get('val_loss', float('nan')):.3e}")
            else:  # projection training: one line per outer iteration
                bar.log("  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()))

        method = "projection" if args.projection else "regression"
        if args.projection and args.polish_iterations is not None:
            raise CaseError("--polish-iterations", None, "found with --projection",
                            "training without --projection (projection training does not polish)")
        if args.projection:
            common["outer_iterations"] = args.outer_iterations or OUTER_ITERATIONS
        try:
            written = train_to_checkpoint(data, out, model=args.model, method=method, progress=progress,
                                          writing=lambda: signals.writing(_written_after_training(out)),
                                          **common, **({} if args.projection or args.polish_iterations is None
                                                       else {"polish_iterations": args.polish_iterations}))
        except FloatingPointError as exc:  # a diverged optimisation, not bad input: exit 3
            raise TrainingDiverged(f"{args.data}: {exc}") from None
        except ValueError as exc:  # learned/ rejects data it cannot fit (e.g. no positive-definite stiffness)
            raise CaseError(args.data, None, f"cannot train on this data set: {str(exc).splitlines()[0]}",
                            "a data set spanning the strain space (more samples, wider --strain-range)") from None
    signals.note = _written_after_training(out)
    metrics = written["report"].get("metrics", {})
    text = ", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"wrote {out} ({', '.join(Path(p).name for p in written['files'])}){': ' + text if text else ''}")
    return 0


def _train_return_mapping(args: argparse.Namespace, data, out: Path, signals: CommandSignals) -> int:
    """``train --model return_mapping`` on a path data set (learned/plastic_model.py); ``signals``
    as in :func:`_train`."""
    from learned.pipeline import train_to_checkpoint

    if data.n_paths < MIN_TRAINING_PATHS:
        raise CaseError(args.data, None, f"{data.n_paths} path",
                        f"at least {MIN_TRAINING_PATHS} paths (training and validation)")
    with _progress(args, args.epochs, "training") as bar:
        def progress(info: dict) -> None:
            if "epoch" in info:
                bar.update(info["epoch"], f"epoch {info['epoch']}  train {info['train_loss']:.3e}  val {info['val_loss']:.3e}")
            else:  # projection training on paths: one line per outer iteration
                bar.log("  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()))

        # projection: each outer iteration refits with at most the warm start's budget
        options = ({"outer_iterations": args.outer_iterations or OUTER_ITERATIONS, "epochs_per_iteration": min(args.epochs, 20),
                    "lbfgs_per_iteration": min(60 if args.polish_iterations is None else args.polish_iterations, 20)}
                   if args.projection else {})
        try:
            written = train_to_checkpoint(data, out, method="projection" if args.projection else "return_mapping",
                                          progress=progress, epochs=args.epochs,
                                          writing=lambda: signals.writing(_written_after_training(out)),
                                          lr=args.lr, val_fraction=args.val_fraction, seed=args.seed,
                                          patience=args.patience,
                                          isotropic=args.isotropic, **options,
                                          **({} if args.polish_iterations is None else {"lbfgs_iterations": args.polish_iterations}))
        except FloatingPointError as exc:
            raise TrainingDiverged(f"{args.data}: {exc}") from None
        except (ValueError, RuntimeError) as exc:
            raise CaseError(args.data, None, f"cannot train on this data set: {str(exc).splitlines()[0]}",
                            "paths that load the material past its elastic limit and back") from None
    signals.note = _written_after_training(out)
    report = written["report"]
    text = ", ".join(f"{k} {v:.3g}" for k, v in report["metrics"].items())
    if report.get("lbfgs_evaluations"):  # the epoch lines above are Adam's; the polish comes after them
        text += (f" (after {report.get('epochs_run', args.epochs)} Adam epochs and an L-BFGS polish of "
                 f"{report['lbfgs_evaluations']} evaluations)")
    print(f"wrote {out} ({', '.join(Path(p).name for p in written['files'])}): {text}")
    return 0


def add_commands(sub) -> None:
    """Register ``data`` and ``train`` on the main parser's subparsers.

    Every option is parsed by :mod:`coupling.validation` (one-line errors, exit 2).
    """
    from coupling.validation import int_list, integer, real, real_list

    force_help = "replace an existing file at -o that deepmanifold did not write"
    data = sub.add_parser("data", help="constitutive and joint data sets (HDF5)")
    dsub = data.add_subparsers(dest="data_command", required=True)
    g = dsub.add_parser("generate", help="sample an analytic law (with noise) into a data set")
    g.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    g.add_argument("--material", help='law table, e.g. law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.5, plane="stress"')
    g.add_argument("--joint", help='joint-law table, e.g. kind="velocity_weakening", phi_peak=22, phi_residual=10, v_c=0.1')
    g.add_argument("-n", type=integer("-n", MIN_TRAINING_SAMPLES, MAX_SAMPLES,
                                      f"train needs at least {MIN_TRAINING_SAMPLES} samples"), default=None,
                   help=f"number of samples (default {DEFAULT_SAMPLES})")
    g.add_argument("--paths", type=integer("--paths", MIN_TRAINING_PATHS, 1_000_000,
                                           f"train needs at least {MIN_TRAINING_PATHS}: training and validation"),
                   default=None,
                   help="strain histories instead of points: number of paths (laws with state, e.g. j2_plasticity)")
    g.add_argument("--steps", type=integer("--steps", 1, 100_000), default=50, help="with --paths: steps per path (default 50)")
    g.add_argument("--path-kind", choices=["monotonic", "load_unload_reload", "cyclic", "random_walk", "mixed"],
                   default="mixed", help="with --paths: shape of the histories (default mixed: all kinds in turn)")
    g.add_argument("--strain-range", type=real_list("--strain-range", (1, 3), positive=True, maximum=1.0,
                                                    why="strain [-]: the laws are small-strain"), default=(2e-3,),
                   help="half-width of the strain box, or three comma-separated (default 2e-3)")
    g.add_argument("--noise-strain", type=real("--noise-strain", ge=0, le=10), default=0.0,
                   help="relative noise on strain (0.02 = 2%% of each component's std over the whole sample; "
                        "default 0); with --sampler log the smallest strains lie below it (a warning says how many)")
    g.add_argument("--noise-stress", type=real("--noise-stress", ge=0, le=10), default=0.0,
                   help="relative noise on stress (as --noise-strain) / joint strength (tau (1 + level N(0,1))); default 0")
    g.add_argument("--sampler", choices=["log", "uniform", "sobol"], default="log",
                   help="log (default): log-uniform strain magnitude, uniform direction; uniform / sobol: in the box")
    g.add_argument("--min-strain", type=real("--min-strain", gt=0), default=None,
                   help="log sampler: smallest strain magnitude (default 1e-4 x the largest)")
    g.add_argument("--slip-max", type=real("--slip-max", gt=0), default=1.0, help="joint data: largest slip [m] (default 1)")
    g.add_argument("--rate-range", type=real_list("--rate-range", (2,), nonnegative=True, increasing=True),
                   default=(1e-4, 10.0), help="joint data: slip-rate range LO,HI [m/s] (default 1e-4,10)")
    g.add_argument("--log-rates", action="store_true", help="joint data: log-uniform slip rates")
    g.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0, help="random seed (default 0)")
    g.add_argument("--force", action="store_true", help=force_help)
    g.set_defaults(func=cmd_data_generate)
    c = dsub.add_parser("import-csv", help="CSV (exx,eyy,gxy,sxx,syy,sxy) into a data set")
    c.add_argument("csv", help="CSV file with the header row exx,eyy,gxy,sxx,syy,sxy")
    c.add_argument("-o", "--output", required=True, help="HDF5 data set to write")
    c.add_argument("--plane", choices=["strain", "stress"], default="strain",
                   help="strain | stress: the plane of the measured states (default strain)")
    c.add_argument("--stress-unit", choices=["Pa", "kPa", "MPa", "GPa"], default="Pa", help="Pa (default) | kPa | MPa | GPa")
    c.add_argument("--strain-unit", choices=["-", "%", "microstrain"], default="-", help="- (default: strain as a number) | %% | microstrain")
    c.add_argument("--force", action="store_true", help=force_help)
    c.set_defaults(func=cmd_data_import)

    t = sub.add_parser("train", help="train a constitutive (or joint) network from a data set")
    t.add_argument("data", help="HDF5 data set")
    t.add_argument("-o", "--output", required=True, help="checkpoint .pt (report .json and loss .png beside it)")
    t.add_argument("--model", choices=["mlp", "icnn", "return_mapping"], default="mlp",
                   help="mlp (default) | icnn (point data) | return_mapping (path data: a learned law with state)")
    t.add_argument("--epochs", type=integer("--epochs", 1, 10_000_000), default=300,
                   help="training epochs (default 300)")
    t.add_argument("--batch-size", type=integer("--batch-size", 1), default=128, help="mini-batch size (default 128)")
    t.add_argument("--lr", type=real("--lr", gt=0, le=10), default=5e-3, help="Adam learning rate (default 5e-3)")
    t.add_argument("--hidden", type=int_list("--hidden", 1, 4096), default=None,
                   help="hidden layer widths (default %s; --model icnn, joint data, --projection: %s)"
                        % (",".join(map(str, MLP_HIDDEN)), ",".join(map(str, OTHER_HIDDEN))))
    t.add_argument("--val-fraction", type=real("--val-fraction", ge=0, lt=1), default=0.2,
                   help="fraction of the data held out for validation (default 0.2)")
    t.add_argument("--patience", type=integer("--patience", 1), default=40, help="early stopping patience in epochs (default 40)")
    t.add_argument("--polish-iterations", type=integer("--polish-iterations", 0, 1_000_000), default=None,
                   help="full-batch L-BFGS iterations after the Adam epochs, keeping the best validation loss "
                        "(default 2000; --model return_mapping: 60; 0: none)")
    t.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0, help="random seed (default 0)")
    t.add_argument("--isotropic", action="store_true",
                   help="--model return_mapping on plane-strain paths: isotropic pressure-dependent yield surface")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto (default: CUDA when torch finds it, else CPU) | cpu | cuda")
    t.add_argument("--projection", action="store_true",
                   help="fixed-point projection training (noisy strain and stress); with --model return_mapping "
                        "on path data, the state is carried along each path and committed at convergence")
    t.add_argument("--outer-iterations", type=integer("--outer-iterations", 1, 10_000), default=None,
                   help=f"with --projection: outer iterations (default {OUTER_ITERATIONS})")
    t.add_argument("--force", action="store_true", help=force_help)
    t.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    t.set_defaults(func=cmd_train)
