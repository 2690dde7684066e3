"""Run orchestration: case → solver runner → one published output folder with summary.json."""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from mpi4py import MPI

from coupling.case.loader import Case, load_case
from coupling.case.registry import runner_for
from coupling.errors import CaseDiverged, SolverDivergence
from coupling.output.provenance import versions
from coupling.output.rundir import RunDirectory
from coupling.runner_context import RunContext, RunPayload


class RunStatus(str, Enum):
    """How a run ended, as written to summary.json (``"ok"`` or ``"diverged"``)."""

    OK = "ok"
    DIVERGED = "diverged"


@dataclass
class Result:
    """What a run produced: the summary (as written to summary.json) and where it lies."""

    summary: dict[str, Any]
    out_dir: Path | None = None

    @property
    def status(self) -> str:
        """``ok`` or ``diverged``."""
        return self.summary["status"]

    @property
    def results(self) -> dict[str, Any]:
        """The key results (probes, references, errors, maxima)."""
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
    status, message, payload = RunStatus.OK, "", RunPayload()
    try:
        payload = runner(case, ctx)
    except SolverDivergence as exc:
        status, message = RunStatus.DIVERGED, str(exc)
        payload = exc.result if isinstance(exc, CaseDiverged) and exc.result is not None else RunPayload()
    except BaseException:
        if rundir is not None:
            rundir.discard()
        raise
    summary = {
        "status": status.value,
        "message": message,
        "case": {
            "file": str(case.path) if case.path else None,
            "name": case.name,
            "title": case.spec.title,
            "solver": case.solver,
            "overrides": case.overrides,
            "input": case.spec.model_dump(mode="json"),
        },
        "results": payload.results,
        "solver": {**payload.solver, "mpi_ranks": comm.size},
        "timings": {"started": started, "total_s": comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)},
        "files": ["summary.json", *payload.files],
        "versions": versions(),
    }
    out_dir = None
    if rundir is not None:
        rundir.write_json("summary.json", summary)
        out_dir = rundir.publish()
    result = Result(summary, out_dir)
    if status is not RunStatus.OK:
        raise RunDiverged(message, result)
    return result
