"""Compare the key results of two sets of run folders (before/after a refactoring).

    python tools/compare_summaries.py BEFORE_DIR AFTER_DIR [--ignore KEY ...] [--json out.json]

Each directory holds one run folder per case (``BEFORE_DIR/<case>/summary.json``). For every
case present in both, every numeric leaf of ``results`` and of ``solver`` (iteration counts,
residual histories, DOFs; timings, paths and versions excluded) is compared; the relative
difference is |a − b| / max(|a|, |b|) (0 when both are 0). Prints one line per case with the
largest relative difference and where it is, then the overall maximum; keys present on one
side only are listed. Exit status 1 if a case is missing on either side.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Iterator

#: solver keys that are not results: wall-clock timings and environment
SKIP = ("time", "wall", "timings", "started", "versions", "device", "checkpoint", "data_provenance", "dataset")


def leaves(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(key.path, value) for every leaf of nested dicts / lists."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, obj


def relative_difference(a: Any, b: Any) -> float:
    """|a − b| / max(|a|, |b|) for numbers (inf if one is not finite and they differ); 0 or 1 for others."""
    if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(x, (int, float)) for x in (a, b)):
        return 0.0 if a == b else 1.0
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def compare(before: dict, after: dict, ignore: tuple[str, ...] = ()) -> tuple[float, str, list[str]]:
    """(largest relative difference, its key path, keys on one side only) of two summaries;
    key paths equal to an entry of ``ignore`` (e.g. ``results.max_von_mises``) are skipped."""
    a = {k: v for part in ("results", "not_resolved", "solver") for k, v in leaves(before.get(part, {}), part)
         if not any(s in k for s in SKIP) and k not in ignore}
    b = {k: v for part in ("results", "not_resolved", "solver") for k, v in leaves(after.get(part, {}), part)
         if not any(s in k for s in SKIP) and k not in ignore}
    worst, where = 0.0, ""
    for k in a.keys() & b.keys():
        d = relative_difference(a[k], b[k])
        if d > worst:
            worst, where = d, k
    return worst, where, sorted(a.keys() ^ b.keys())


def main(argv: list[str] | None = None) -> int:
    """Command line: compare BEFORE_DIR and AFTER_DIR case by case."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--ignore", nargs="*", default=[], help="key paths left out (an intended change)")
    ap.add_argument("--json", type=Path, help="write the per-case figures here")
    args = ap.parse_args(argv)
    cases = sorted(p.parent.name for p in args.before.glob("*/summary.json"))
    missing = [c for c in cases if not (args.after / c / "summary.json").is_file()]
    report: dict[str, Any] = {}
    overall = 0.0
    for case in cases:
        if case in missing:
            continue
        before = json.loads((args.before / case / "summary.json").read_text())
        after = json.loads((args.after / case / "summary.json").read_text())
        worst, where, only = compare(before, after, tuple(args.ignore))
        overall = max(overall, worst)
        report[case] = {"max_relative_difference": worst, "at": where, "keys_on_one_side_only": only,
                        "status": [before["status"], after["status"]]}
        print(f"{case:24s} max rel. diff {worst:.3e}  {where}" + (f"  one side only: {only}" if only else ""))
    print(f"{'overall':24s} max rel. diff {overall:.3e}" + (f"; missing after: {missing}" if missing else ""))
    if args.json:
        args.json.write_text(json.dumps({"cases": report, "overall": overall, "missing": missing}, indent=1))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
