"""Surrogate orchestration: an ensemble table → :func:`learned.surrogate.train_surrogate` →
a checkpoint plus its report; and predictions from a checkpoint."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import numpy as np

from coupling.ensemble.table import read_table
from coupling.errors import CaseError


def default_outputs(names: Sequence[str]) -> list[str]:
    """The result columns (not ``solver.*`` statistics nor ``timings.*``)."""
    return [n for n in names if not n.startswith(("solver.", "timings."))]


def training_data(table: dict[str, Any], outputs: Sequence[str] | None, source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of the ok members and the chosen output columns that are finite on all of them and vary."""
    names = table["output_names"]
    ok = np.array([s == "ok" for s in table["status"]])
    if ok.sum() < 2:
        raise CaseError(source, None, f"{int(ok.sum())} member(s) with status ok", "at least 2 finished members")
    if outputs:
        unknown = [o for o in outputs if o not in names]
        if unknown:
            raise CaseError("--outputs", None, f"found {unknown[0]!r}", ", ".join(default_outputs(names)))
        chosen = list(outputs)
    else:
        chosen = default_outputs(names)
    y = table["outputs"][ok][:, [names.index(o) for o in chosen]] if chosen else np.zeros((int(ok.sum()), 0))
    keep = [k for k in range(len(chosen)) if np.all(np.isfinite(y[:, k])) and np.ptp(y[:, k]) > 0]
    if outputs and len(keep) < len(chosen):
        bad = chosen[next(k for k in range(len(chosen)) if k not in keep)]
        raise CaseError("--outputs", None, f"{bad!r} is missing or constant over the ensemble", "outputs that vary")
    if not keep:
        raise CaseError(source, None, "no result varies over the finished members", "an ensemble whose results vary")
    return table["points"][ok], y[:, keep], [chosen[k] for k in keep]


def train_from_table(path: str | Path, out: str | Path, *, outputs: Sequence[str] | None = None,
                     members: int = 5, hidden: Sequence[int] = (32, 32), iterations: int = 300,
                     val_fraction: float = 0.2, seed: int = 0,
                     writing: Callable[[], ContextManager[Any]] = contextlib.nullcontext) -> tuple[Path, dict[str, Any]]:
    """Train a surrogate on an ensemble table and write ``out`` (.pt) and its report (.json),
    both inside ``writing()`` (the CLI: signals wait until both are written)."""
    from learned.surrogate import save_surrogate, train_surrogate

    from coupling.output.rundir import write_json

    table = read_table(path, str(path))
    x, y, names = training_data(table, outputs, str(path))
    params = table["parameters"]
    try:
        net, report = train_surrogate(x, y, lo=[p["lo"] for p in params], hi=[p["hi"] for p in params],
                                      log=[p["log"] for p in params], parameter_keys=[p["key"] for p in params],
                                      output_names=names, members=members, hidden=hidden, iterations=iterations,
                                      val_fraction=val_fraction, seed=seed)
    except ValueError as exc:
        raise CaseError(str(path), None, f"cannot train on this table ({exc})", "at least 2 finished members") from None
    manifest = Path(path).parent / "ensemble.json"
    ensemble = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    net.meta.update(ranges=params, ensemble=str(path), case=ensemble.get("case", table["case"]),
                    overrides=ensemble.get("overrides", {}),
                    units={n: table["output_units"].get(n, "") for n in names})
    report = {"format": "deepmanifold.surrogate_report", "ensemble": str(path), **report}
    for n, r in report["outputs"].items():
        r["unit"] = net.meta["units"][n]
    out = Path(out)
    with writing():
        save_surrogate(out, net, report)
        write_json(out.with_suffix(".json"), report)
    return out, report


def load(path: str | Path):
    """(network, report) of a surrogate checkpoint; a bad file is a one-line error (exit 2)."""
    from learned.surrogate import load_surrogate

    return load_surrogate(path)


def unit_text(net, name: str) -> str:
    """' UNIT' of output ``name`` of a surrogate (checkpoint meta ``units``), '' if it has none."""
    unit = (net.meta.get("units") or {}).get(name, "")
    return f" {unit}" if unit and unit != "-" else ""
