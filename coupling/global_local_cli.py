"""``deepmanifold ensemble | surrogate train | surrogate predict | calibrate``: thin wrappers
over :mod:`coupling.ensemble` (docs/global_local.md)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from coupling.errors import CaseError

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


def ensemble_inputs(args: argparse.Namespace):
    """Validate CASE, --set, --vary and --probe before anything is written; returns
    (case path, parameters, base overrides)."""
    from coupling.case.loader import load_case, parse_overrides, with_overrides
    from coupling.cli import _case_path
    from coupling.ensemble.design import parse_vary

    path = _case_path(args.case)
    base = parse_overrides(args.set)
    case = load_case(path, base)
    params = [parse_vary(v) for v in args.vary]
    keys = [p.key for p in params]
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
    for p in params:  # both range ends must make a valid case (unknown keys, bounds, types)
        for value in (p.lo, p.hi):
            with_overrides(case, {p.key: value})
    return path, params, base


def cmd_ensemble(args: argparse.Namespace) -> int:
    """``deepmanifold ensemble CASE --vary ... --samples N -o DIR``."""
    from coupling.ensemble.design import sample_design
    from coupling.ensemble.engine import pool_executor, run_ensemble

    executor = pool_executor()  # refuses plain mpiexec -n K before anything is written
    path, params, base = ensemble_inputs(args)
    points = sample_design(params, args.samples, args.design, args.seed)
    out = Path(args.output)
    result = run_ensemble(path, params, points, out, overrides=base, design=args.design, seed=args.seed,
                          progress=None if args.quiet else sys.stderr, executor=executor)
    if executor is not None:
        executor.shutdown(wait=True)
    c = result.counts
    print(f"wrote {result.table}: {len(points)} members, {c.get('ok', 0)} ok, {c.get('diverged', 0)} diverged, "
          f"{c.get('failed', 0)} failed ({c['reused']} reused)")
    return 0


def add_commands(sub) -> None:
    """Register ``ensemble``, ``surrogate`` and ``calibrate`` on the main parser's subparsers."""
    from coupling.ensemble.design import DESIGNS
    from coupling.validation import integer

    e = sub.add_parser("ensemble", help="run a case at N parameter points (mpi4py.futures workers, or serially)")
    e.add_argument("case", help="case file or shipped case name")
    e.add_argument("--vary", action="append", required=True, metavar="KEY=LO:HI[:log]",
                   help="a case key path and its range, log-uniform with :log (repeatable)")
    e.add_argument("--samples", type=integer("--samples", 1, 1_000_000), required=True, help="number of members N")
    e.add_argument("--design", choices=list(DESIGNS), default="lhs", help="lhs (default) | sobol | grid (N = m^d)")
    e.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=0)
    e.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override for every member (repeatable)")
    e.add_argument("--probe", action="append", metavar="NAME=QUANTITY@X,Y",
                   help="an extra point value in every member's results (FEM/NMM/data-driven; repeatable)")
    e.add_argument("-o", "--output", required=True, help="ensemble folder (rerun to resume)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    e.set_defaults(func=cmd_ensemble)
