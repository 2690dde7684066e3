"""The ensemble table: parameters → every scalar result of each member's summary.json (HDF5).

Columns of the output table (one name per scalar, NaN where a member has no value):

* ``results.*`` flattened with dots, without the prefix (``runout``, ``peak_velocity``), and
  likewise the case's ``not_resolved`` results (``duration`` of vajont_10block);
  a probe's value is ``probes.NAME`` [its unit], its relative error ``probes.NAME.relative_error``
  (only where the case's reference applies to the member: not when its overrides, e.g. the
  varied ``material.E``, change the problem; docs/cases.md "References and overrides");
* ``solver.*`` numbers (``solver.newton_iterations_total``, ``solver.steps``, …);
* ``timings.total_s`` [s], the member's wall time.

File layout (``ensemble.h5``, attribute ``format = "deepmanifold.ensemble"``, version 1)::

    parameters        (N, d) float64   the design, in the parameters' units
    outputs           (N, m) float64   NaN for a failed member or a missing value
    status            (N,)   str       ok | diverged | failed | pending
    message           (N,)   str       why a member failed ("" when ok)
    attrs: parameter_names (d,), parameter_json (JSON list of {key, lo, hi, log}),
           output_names (m,), output_units (m,: summary.json's unit of each column, "" where
           it names none, e.g. solver.*), case, design, seed
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

TABLE_FORMAT = "deepmanifold.ensemble"
TABLE_FORMAT_VERSION = 1


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, bool):
        out[prefix] = float(value)
    elif isinstance(value, (int, float)):
        if math.isfinite(float(value)):
            out[prefix] = float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)


def summary_scalars(summary: dict[str, Any]) -> dict[str, float]:
    """Every finite scalar of a run's summary.json, by column name (see the module doc)."""
    from coupling.runner import computed_results

    out: dict[str, float] = {}
    results = computed_results(summary)  # with the case's not_resolved results: an ensemble studies those too
    probes = results.pop("probes", None) or {}
    _flatten("", results, out)
    for name, probe in probes.items():
        if isinstance(probe, dict):
            value = probe.get("value")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out[f"probes.{name}"] = float(value)
            err = probe.get("relative_error")
            if isinstance(err, (int, float)) and math.isfinite(err):
                out[f"probes.{name}.relative_error"] = float(err)
    solver = {k: v for k, v in (summary.get("solver") or {}).items() if k != "settings"}
    _flatten("solver", solver, out)
    total = (summary.get("timings") or {}).get("total_s")
    if isinstance(total, (int, float)):
        out["timings.total_s"] = float(total)
    return out


def summary_units(summary: dict[str, Any]) -> dict[str, str]:
    """The unit of each result column of :func:`summary_scalars` that summary.json's ``units``
    names (``runout`` → ``m``, ``probes.NAME`` → its value's unit, ``timings.total_s`` → ``s``);
    ``solver.*`` columns have none."""
    units = summary.get("units") or {}
    out: dict[str, str] = {"timings.total_s": "s"}
    for name in summary_scalars(summary):
        if name.startswith(("solver.", "timings.")):
            continue
        key = f"{name}.value" if name.startswith("probes.") and not name.endswith(".relative_error") else name
        if isinstance(units.get(key), str):
            out[name] = units[key]
    return out


def write_table(path: Path, parameters: list[dict], points: np.ndarray, members: list[dict],
                attrs: dict[str, Any]) -> Path:
    """Write ``ensemble.h5`` atomically: the design ``points`` (N, d) and each member's scalars."""
    import h5py

    from learned.files import atomic_write

    names = sorted({k for m in members for k in (m.get("scalars") or {})})
    outputs = np.full((len(members), len(names)), np.nan)
    col = {n: j for j, n in enumerate(names)}
    for i, m in enumerate(members):
        for k, v in (m.get("scalars") or {}).items():
            outputs[i, col[k]] = v

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = TABLE_FORMAT
            f.attrs["format_version"] = TABLE_FORMAT_VERSION
            f.attrs["parameter_names"] = [p["key"] for p in parameters]
            f.attrs["parameter_json"] = json.dumps(parameters)
            f.attrs["output_names"] = names
            units = {k: u for m in members for k, u in (m.get("units") or {}).items()}
            f.attrs["output_units"] = [units.get(n, "") for n in names]
            for k, v in attrs.items():
                f.attrs[k] = v
            f.create_dataset("parameters", data=np.asarray(points, dtype=float))
            f.create_dataset("outputs", data=outputs)
            f.create_dataset("status", data=[m.get("status", "pending") for m in members], dtype=h5py.string_dtype())
            f.create_dataset("message", data=[m.get("message", "") for m in members], dtype=h5py.string_dtype())
            f.create_dataset("wall_s", data=[float(m.get("wall_s", np.nan)) for m in members])

    return atomic_write(Path(path), write)


def read_table(path: str | Path, option: str = "ENSEMBLE") -> dict[str, Any]:
    """Read an ensemble table: parameters (list of dicts), points (N, d), output_names, outputs
    (N, m), status (N,); a file that is not one raises a one-line :class:`CaseError`."""
    import h5py

    from coupling.errors import CaseError

    allowed = f"a {TABLE_FORMAT} HDF5 file written by deepmanifold ensemble (its ensemble.h5)"
    p = Path(path)
    if not p.is_file():
        from learned.files import missing_file

        raise CaseError(str(p), None, missing_file(p), allowed)
    try:
        with h5py.File(p, "r") as f:
            if f.attrs.get("format") != TABLE_FORMAT:
                raise CaseError(str(p), "format", f"found {f.attrs.get('format')!r}", allowed)
            return {
                "parameters": json.loads(f.attrs["parameter_json"]),
                "points": f["parameters"][()],
                "output_names": [str(n) for n in f.attrs["output_names"]],
                "output_units": dict(zip((str(n) for n in f.attrs["output_names"]),
                                         (str(u) for u in f.attrs.get("output_units", [])))),
                "outputs": f["outputs"][()],
                "status": [s.decode() if isinstance(s, bytes) else str(s) for s in f["status"][()]],
                "case": str(f.attrs.get("case", "")),
            }
    except CaseError:
        raise
    except Exception as exc:  # not HDF5, or missing datasets
        raise CaseError(str(p), None, f"unreadable ({str(exc).splitlines()[0][:120]})", allowed) from None
