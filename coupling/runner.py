"""Run orchestration: case → solver runner → one published output folder with summary.json."""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mpi4py import MPI

from coupling.case.loader import Case, load_case
from coupling.case.registry import runner_for
from coupling.errors import SolverDivergence
from coupling.output.provenance import versions
from coupling.output.rundir import RunDirectory
from coupling.runner_context import RunContext


@dataclass
class Result:
    """What a run produced: the summary (as written to summary.json) and where it lies."""

    summary: dict[str, Any]
    out_dir: Path | None = None

    @property
    def status(self) -> str:
        return self.summary["status"]

    @property
    def results(self) -> dict[str, Any]:
        return self.summary["results"]


class RunDiverged(SolverDivergence):
    """Raised by :func:`run` after a diverged run was published with its last good state."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message)
        self.result = result


def run(
    case: Case | str | Path,
    out: str | Path | None = None,
    *,
    overrides: dict[str, Any] | list[str] | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: bool = False,
) -> Result:
    """Run a case (a :class:`Case` or a path) and return its :class:`Result`.

    With ``out`` the run writes one folder (summary.json, fields, plots), atomically.
    Bad input raises :class:`coupling.CaseError`; a diverged solve publishes the last good
    state and raises :class:`RunDiverged` (its ``.result`` holds the summary).
    """
    if not isinstance(case, Case):
        case = load_case(case, overrides)
    runner = runner_for(case.solver)
    rundir = RunDirectory(out, comm) if out is not None else None
    ctx = RunContext(comm=comm, rundir=rundir, show_progress=progress)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, message, payload = "ok", "", {}
    try:
        payload = runner(case, ctx)
    except SolverDivergence as exc:
        status, message = "diverged", str(exc)
        payload = ctx.extra.get("partial", {})
    except BaseException:
        if rundir is not None:
            rundir.discard()
        raise
    ood = out_of_distribution(case, comm)
    strict = [(key, r) for key, r in ood.items() if r.get("policy") == "error" and r.get("outside_last", 0) > 0]
    if strict:
        if rundir is not None:
            rundir.discard()
        key, r = strict[0]
        raise case.error(f"{key}.out_of_distribution", _ood_text(key, r),
                         "inputs inside the training data (or out_of_distribution = \"warn\" | \"ignore\")")
    if comm.rank == 0:
        for key, r in ood.items():
            if r.get("policy") == "warn" and r.get("outside_last", 0) > 0:
                print(f"warning: {_ood_text(key, r)}", flush=True)
    summary = {
        "status": status,
        "message": message,
        "case": {
            "file": str(case.path) if case.path else None,
            "name": case.name,
            "title": case.spec.title,
            "solver": case.solver,
            "overrides": case.overrides,
            "input": case.spec.model_dump(mode="json"),
        },
        "results": payload.get("results", {}),
        "solver": {**payload.get("solver", {}), "mpi_ranks": comm.size},
        **({"out_of_distribution": ood} if ood else {}),
        "timings": {"started": started, "total_s": comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)},
        "files": ["summary.json", *payload.get("files", [])],
        "versions": versions(),
    }
    out_dir = None
    if rundir is not None:
        rundir.write_json("summary.json", summary)
        out_dir = rundir.publish()
    result = Result(summary, out_dir)
    if status != "ok":
        raise RunDiverged(message, result)
    return result


def out_of_distribution(case: Case, comm: MPI.Comm) -> dict[str, Any]:
    """Out-of-distribution counts of every learned law of the case, summed over the ranks.

    Per law (table key → dict): policy, points_last / outside_last (the last batch each rank
    evaluated — the converged state), outside_max, worst_excursion and worst_quantity (see
    :mod:`learned.data_region`); ``available: false`` for checkpoints without a data region.
    """
    out: dict[str, Any] = {}
    for key, (law, policy) in sorted(case.learned_laws.items()):
        report = law.out_of_distribution_report() if hasattr(law, "out_of_distribution_report") else {}
        reports = comm.allgather(report)
        if not all(r.get("available") for r in reports):
            out[key] = {"policy": policy, **reports[0]}
            continue
        worst = max(reports, key=lambda r: r["worst_excursion"])
        out[key] = {
            "policy": policy,
            "points_last": sum(r["points_last"] for r in reports),
            "outside_last": sum(r["outside_last"] for r in reports),
            "outside_max": sum(r["outside_max"] for r in reports),
            "worst_excursion": worst["worst_excursion"],
            "worst_quantity": worst["worst_quantity"],
            "evaluations": max(r["evaluations"] for r in reports),
            "region": worst["region"],
            "excursion": worst["excursion"],
        }
    return out


def _ood_text(key: str, r: dict[str, Any]) -> str:
    return (f"{key}: learned law evaluated outside its training data at {r['outside_last']} of "
            f"{r['points_last']} points (worst excursion {r['worst_excursion']:.3g} of the data range, "
            f"in {r['worst_quantity']})")
