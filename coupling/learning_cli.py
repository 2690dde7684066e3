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

from pydantic import TypeAdapter, ValidationError

from coupling.errors import CaseError


def _inline_table(text: str, option: str) -> dict[str, Any]:
    body = text.strip()
    if not body.startswith("{"):
        body = "{" + body + "}"
    try:
        return tomllib.loads(f"v = {body}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(option, None, f"not a TOML inline table ({exc})", 'key=value pairs, e.g. law="linear_elastic", E=1e9, nu=0.3')


def _validated(adapter_type, data: dict, option: str):
    from coupling.case.loader import _allowed_text, _join

    try:
        return TypeAdapter(adapter_type).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if p not in (data.get("law"), data.get("kind"))]
        found = err.get("input")
        found_text = "missing" if err["type"] == "missing" else f"found {found!r}"
        raise CaseError(option, _join(loc) or None, found_text, _allowed_text(err["msg"])) from None


def _progress(args, total: int, what: str):
    from coupling.output.progress import progress_bar

    return progress_bar(total, what, enabled=not args.quiet)


def cmd_data_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from learned.dataset import generate_dataset, generate_joint_dataset, save_dataset

    if (args.material is None) == (args.joint is None):
        raise CaseError("data generate", None, "give exactly one of --material or --joint")
    if args.material is not None:
        from coupling.case.common import MaterialSpec

        spec = _validated(MaterialSpec, _inline_table(args.material, "--material"), "--material")
        rng = [float(v) for v in args.strain_range.split(",")]
        if args.min_strain is not None and args.sampler != "log":
            raise CaseError("--min-strain", None, f"given with --sampler {args.sampler}", "--sampler log")
        ds = generate_dataset(spec.build(), args.n, rng[0] if len(rng) == 1 else np.array(rng),
                              args.noise_strain, args.noise_stress, args.seed, args.sampler,
                              min_magnitude=args.min_strain)
    else:
        from coupling.case.common import JointLawSpec

        spec = _validated(JointLawSpec, _inline_table(args.joint, "--joint"), "--joint")
        lo, hi = (float(v) for v in args.rate_range.split(","))
        ds = generate_joint_dataset(spec.build(), args.n, slip_max=args.slip_max, rate_range=(lo, hi),
                                    noise=args.noise_stress, seed=args.seed,
                                    rate_sampling="log" if args.log_rates else "uniform")
    path = save_dataset(args.output, ds)
    print(f"wrote {path}: {len(ds)} samples ({ds.kind})")
    return 0


def cmd_data_import(args: argparse.Namespace) -> int:
    from learned.dataset import import_csv, save_dataset

    ds = import_csv(args.csv, plane=args.plane, stress_unit=args.stress_unit, strain_unit=args.strain_unit)
    path = save_dataset(args.output, ds)
    print(f"wrote {path}: {len(ds)} samples")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from learned.checkpoint import save_checkpoint
    from learned.dataset import load_dataset
    from learned.training import train, write_training_report

    from learned.training import cuda_available

    if args.device == "cuda" and not cuda_available():
        raise CaseError("--device", None, "'cuda', but torch finds no CUDA device on this machine",
                        "auto (CUDA when present, else the CPU) | cpu")
    data = load_dataset(args.data)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    common = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, hidden=hidden,
                  seed=args.seed, device=args.device, val_fraction=args.val_fraction, patience=args.patience)
    with _progress(args, args.epochs, "training") as bar:
        def progress(info: dict) -> None:
            if "epoch" in info:
                bar.update(info["epoch"], f"epoch {info['epoch']}  train {info.get('train_loss', float('nan')):.3e}"
                                          f"  val {info.get('val_loss', float('nan')):.3e}")
            else:  # projection training: one line per outer iteration
                bar.log("  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()))

        if args.projection:
            from learned.projection_training import train_projection

            model, report = train_projection(data, args.model, outer_iterations=args.outer_iterations,
                                             progress=progress, **common)
        else:
            model, report = train(data, args.model, progress=progress, **common)
    out = Path(args.output)
    save_checkpoint(out, model, report)
    written = write_training_report(report, out.with_suffix(".json"), out.with_suffix(".png"))
    metrics = report.get("metrics", {})
    text = ", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"wrote {out} ({', '.join(p.name for p in written)}){': ' + text if text else ''}")
    return 0


def add_commands(sub) -> None:
    """Register ``data`` and ``train`` on the main parser's subparsers."""
    data = sub.add_parser("data", help="constitutive and joint data sets (HDF5)")
    dsub = data.add_subparsers(dest="data_command", required=True)
    g = dsub.add_parser("generate", help="sample an analytic law (with noise) into a data set")
    g.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    g.add_argument("--material", help='law table, e.g. law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.5, plane="stress"')
    g.add_argument("--joint", help='joint-law table, e.g. kind="velocity_weakening", phi_peak=22, phi_residual=10, v_c=0.1')
    g.add_argument("-n", type=int, default=5000, help="number of samples (default 5000)")
    g.add_argument("--strain-range", default="2e-3", help="half-width of the strain box, or three comma-separated (default 2e-3)")
    g.add_argument("--noise-strain", type=float, default=0.0, help="relative noise on strain (0.02 = 2%% of its std)")
    g.add_argument("--noise-stress", type=float, default=0.0, help="relative noise on stress / joint strength")
    g.add_argument("--sampler", choices=["log", "uniform", "sobol"], default="log",
                   help="log (default): log-uniform strain magnitude, uniform direction; uniform / sobol: in the box")
    g.add_argument("--min-strain", type=float, default=None,
                   help="log sampler: smallest strain magnitude (default 1e-4 x the largest)")
    g.add_argument("--slip-max", type=float, default=1.0, help="joint data: largest slip [m]")
    g.add_argument("--rate-range", default="1e-4,10", help="joint data: slip-rate range [m/s]")
    g.add_argument("--log-rates", action="store_true", help="joint data: log-uniform slip rates")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=cmd_data_generate)
    c = dsub.add_parser("import-csv", help="CSV (exx,eyy,gxy,sxx,syy,sxy) into a data set")
    c.add_argument("csv")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--plane", choices=["strain", "stress"], default="strain")
    c.add_argument("--stress-unit", default="Pa", help="Pa | kPa | MPa | GPa")
    c.add_argument("--strain-unit", default="-", help="- | % | microstrain")
    c.set_defaults(func=cmd_data_import)

    t = sub.add_parser("train", help="train a constitutive (or joint) network from a data set")
    t.add_argument("data", help="HDF5 data set")
    t.add_argument("-o", "--output", required=True, help="checkpoint .pt (report .json and loss .png beside it)")
    t.add_argument("--model", choices=["mlp", "icnn"], default="mlp")
    t.add_argument("--epochs", type=int, default=300)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--hidden", default="32,32", help="hidden layer widths (default 32,32)")
    t.add_argument("--val-fraction", type=float, default=0.2)
    t.add_argument("--patience", type=int, default=40, help="early stopping patience in epochs")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--projection", action="store_true", help="fixed-point projection training (noisy strain and stress)")
    t.add_argument("--outer-iterations", type=int, default=8, help="projection training: outer iterations")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)
