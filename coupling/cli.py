"""Command line: ``deepmanifold run|check|cases`` (and ``data``, ``train``, ``ensemble``, ``surrogate``,
``calibrate``) — a thin layer over :mod:`coupling`."""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
#: the text of ``deepmanifold --help`` (plain text: help output shows no reST markup)
DESCRIPTION = ("Run and check case files (FEM, NMM, DDA, data-driven), make data sets and learned laws "
               "(data, train), and study parameters (ensemble, surrogate, calibrate). "
               "'deepmanifold COMMAND --help' describes a command; docs/cases.md lists every case key.")


def shipped_cases() -> dict[str, tuple[Path, str]]:
    """Shipped case name → (path, one-line description)."""
    out: dict[str, tuple[Path, str]] = {}
    for path in sorted(CASES_DIR.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        out[path.stem] = (path, str(data.get("description") or data.get("title", "")))
    return out


def case_path(name: str) -> Path:
    """A path as given, or the name of a shipped case."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    shipped = shipped_cases()
    return shipped[name][0] if name in shipped else path


def _rank() -> int:
    from mpi4py import MPI

    return MPI.COMM_WORLD.rank


def _fail(message: str, code: int) -> int:
    if _rank() == 0:
        print(f"error: {message}", file=sys.stderr)
    return code


def cmd_cases(args: argparse.Namespace) -> int:
    """``deepmanifold cases``: one line per shipped case."""
    cases = shipped_cases()
    if _rank() == 0:
        width = max((len(n) for n in cases), default=0)
        for name, (_, desc) in cases.items():
            print(f"{name:<{width}}  {desc}")
    return 0


def _size_item(key: str, value) -> str:
    """One item of ``check``'s size line: counts with thousands separators, the memory estimate
    in MB (``estimated_memory_bytes`` 27,013,120 → ``estimated memory 27.0 MB``)."""
    if key == "estimated_memory_bytes" and isinstance(value, (int, float)):
        return f"estimated memory {value / 1e6:,.1f} MB"
    return f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"


def cmd_check(args: argparse.Namespace) -> int:
    """Everything ``run`` does before its first solve (the runners' own set-up), no output."""
    from coupling.case.loader import load_case
    from coupling.runner import run

    case = load_case(case_path(args.case), args.set)
    result = run(case, None, check=True)
    if _rank() == 0:
        size = ", ".join(_size_item(k, v) for k, v in result.summary["size"].items())
        print(f"{case.path}: ok ({case.solver}: {case.spec.title}; {size})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``deepmanifold run CASE``: run and publish one output folder."""
    from coupling.case.loader import load_case
    from coupling.runner import run

    case = load_case(case_path(args.case), args.set)
    out = Path(args.output) if args.output else (None if args.restart else Path("results") / case.name)
    result = run(case, out, progress=not args.quiet, force=args.force,
                 verbosity=0 if args.quiet else 1 + args.verbose, restart=args.restart,
                 initial_guess=args.initial_guess)
    if _rank() == 0:
        _print_result(result)
    return 0


ITEM_LINES = 10  # a results list of at most this many tables (joints, holes, crack tips) prints one line per table


def _print_result(result) -> None:
    from coupling.output.units import result_units

    s = result.summary
    units = s.get("units") or result_units(s["results"])[0]
    print(f"{s['case']['name']}: {s['status']} in {s['timings']['total_s']:.1f} s "
          f"on {s['solver']['mpi_ranks']} rank(s) -> {result.out_dir}")
    _print_values(s["results"], units)
    if s.get("not_resolved"):
        print("  not resolved (computed, not reported: the case's accuracy says by how much they move):")
        _print_values(s["not_resolved"], units, indent="    ")


def _print_values(results: dict, units: dict, indent: str = "  ") -> None:
    """One line per result (probes, tables: one line each), with its unit."""
    from coupling.output.units import unit_text

    for key, value in results.items():
        if key == "probes":
            for name, p in value.items():
                u = unit_text(units.get(f"probes.{name}.value"))
                err = p.get("relative_error")
                err_text = f", error {100 * err:.2f}%" if isinstance(err, (int, float)) else ""
                ref = f"  (reference {p['reference']:.6g}{u}{err_text})" if "reference" in p else ""
                if p.get("reference_applies") is False:  # the overrides change the problem it was given for
                    keys = p.get("reference_overrides") or []
                    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
                    ref = f"  (case reference {p['reference']:.6g}{u}, given without this run's overrides of {shown})"
                if p.get("compared") == "peak":  # dynamics: the reference is compared with the peak
                    print(f"{indent}{name}: {p['quantity']} = {p['value']:.6g}{u} at the end, peak {p['peak']:.6g}{u} "
                          f"at t = {p['time_of_peak']:.4g} s{ref}")
                else:
                    print(f"{indent}{name}: {p['quantity']} = {p['value']:.6g}{u}{ref}")
        elif isinstance(value, bool) or value is None:
            # JSON's words, as in summary.json (null: a quantity the run did not reach)
            print(f"{indent}{key}: {'null' if value is None else str(value).lower()}")
        elif isinstance(value, (int, float)):
            print(f"{indent}{key}: {value:.6g}{unit_text(units.get(key))}")
        elif isinstance(value, list) and 0 < len(value) <= ITEM_LINES and all(isinstance(v, dict) for v in value):
            for k, item in enumerate(value):  # per joint / hole / crack tip: one line each, not cut after the first
                print(f"{indent}{key}[{k}]: {_compact(item, limit=400)}")
        elif isinstance(value, (dict, list)) and value:
            print(f"{indent}{key}: {_compact(value)}")


def _compact(value, limit: int = 160) -> str:
    """A one-line rendering of nested results (numbers to 4 significant digits)."""
    def fmt(v):
        if v is None or isinstance(v, bool):  # JSON's words, as summary.json writes them
            return "null" if v is None else str(v).lower()
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)

    text = fmt(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _VersionAction(argparse.Action):
    """--version: computed only when asked for (it imports PETSc)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from coupling.output.provenance import version_line

        if _rank() == 0:
            print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from coupling.validation import OneLineParser

    p = OneLineParser(prog="deepmanifold", description=DESCRIPTION)
    p.add_argument("--version", action=_VersionAction,
                   help="print the version, git commit and DOLFINx/PETSc/MUMPS/torch versions")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a case file (or a shipped case by name)")
    r.add_argument("case", help="case file, e.g. cases/cantilever.toml, or a shipped case name")
    r.add_argument("-o", "--output", help="output folder (default results/<case name>)")
    r.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a case value (repeatable)")
    loud = r.add_mutually_exclusive_group()  # -q -v together: one of them would be ignored, silently
    loud.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr (run.log is still written)")
    loud.add_argument("-v", "--verbose", action="count", default=0,
                   help="progress lines ten times as often, also on a terminal")
    r.add_argument("--force", action="store_true",
                   help="let -o replace an existing folder that is not a previous run folder")
    r.add_argument("--restart", metavar="RUN_DIR",
                   help="continue from the restart checkpoint of an earlier run folder of this case "
                        "(output.restart_every_steps / restart_every_seconds; DDA and dynamic NMM); publishes "
                        "over RUN_DIR unless -o is given")
    r.add_argument("--initial-guess", metavar="S.pt",
                   help="FEM static cases, NMM static cases with one load step, data-driven cases: start Newton "
                        "/ the fixed point from a field surrogate's displacement (deepmanifold surrogate field); "
                        "stops at the cold start's accuracy")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="validate a case file without running it")
    c.add_argument("case", help="case file, e.g. cases/cantilever.toml, or a shipped case name")
    c.add_argument("--set", action="append", metavar="KEY.PATH=VALUE", help="override a case value (repeatable)")
    c.set_defaults(func=cmd_check)

    ls = sub.add_parser("cases", help="list the shipped cases")
    ls.set_defaults(func=cmd_cases)

    from coupling.learning_cli import add_commands

    add_commands(sub)
    from coupling import global_local_cli

    global_local_cli.add_commands(sub)
    return p


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that flushing what is left of it at exit raises nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (an in-process caller's StringIO)
        pass


def main(argv: list[str] | None = None) -> int:
    """The entry point: parse, run a command, print bad input on one line (exit 2), divergence (exit 3)."""
    from coupling.errors import CaseError, SolverDivergence
    from coupling.signals import CommandInterrupted, Interrupted
    from learned.errors import LearnedInputError

    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # a reader that went away (`| head`) shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # `deepmanifold run CASE | head -3`: the command's work is done
        _stdout_to_devnull()
        return 141  # 128 + SIGPIPE, what the shell reports for a command its pipe's reader left
    except (CaseError, LearnedInputError) as exc:
        return _fail(exc.line(), exc.exit_code)
    except SolverDivergence as exc:
        where = getattr(getattr(exc, "result", None), "out_dir", None)
        return _fail(f"{exc}" + (f" (last good state in {where})" if where else ""), 3)
    except CommandInterrupted as exc:  # calibrate, surrogate, train, data generate: what was (not) written
        return _fail(f"interrupted by {exc}" + (f": {exc.note}" if exc.note else ""), exc.exit_code)
    except Interrupted as exc:
        result = getattr(exc, "result", None)
        where = getattr(result, "out_dir", None)
        what = ("last complete step" if result is not None
                and (result.summary.get("results") or result.summary.get("not_resolved")) else "summary")
        if result is not None and result.summary.get("status") == "ok":  # the signal came after the last step
            what = "after the last step: the complete run"
        return _fail(f"interrupted by {exc}" + (f" ({what} in {where})" if where else ""), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
