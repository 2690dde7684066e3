"""Run orchestration: case → solver runner → one published output folder with summary.json."""

from __future__ import annotations

import datetime as _dt
import signal
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
from coupling.output.rundir import RUN_FORMAT, RUN_FORMAT_VERSION, RunDirectory
from coupling.limits import check_limits
from coupling.runner_context import RunContext, RunPayload, SetupChecked
from coupling.signals import Interrupted, StopRequest


class RunStatus(str, Enum):
    """How a run ended, as written to summary.json."""

    OK = "ok"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"


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


class RunInterrupted(Interrupted):
    """Raised by :func:`run` after an interrupted run (SIGINT/SIGTERM) was published with its
    last complete step and ``status = "interrupted"``."""

    def __init__(self, signum: int, result: Result) -> None:
        super().__init__(signum)
        self.result = result


def run(
    case: Case | str | Path,
    out: str | Path | None = None,
    *,
    overrides: dict[str, Any] | list[str] | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: bool = False,
    force: bool = False,
    check: bool = False,
) -> Result:
    """Run a case (a :class:`Case` or a path) and return its :class:`Result`.

    With ``out`` the run writes one folder (summary.json, fields, plots), atomically.
    Bad input raises :class:`coupling.CaseError`; a diverged solve publishes the last good
    state and raises :class:`RunDiverged` (its ``.result`` holds the summary).
    An existing ``out`` must be a previous run folder (``force``: any folder but one holding
    the case file, the working folder or its parents); see :mod:`coupling.output.rundir`.

    ``check``: everything a run does before its first solve (sizes estimated against
    ``[limits]``, meshes, blocks, covers, boundaries, files, devices, probes, monitored
    groups), nothing solved or written; the Result's ``summary["size"]`` describes the problem.

    SIGINT/SIGTERM during the run publish the last complete step with ``status =
    "interrupted"`` and raise :class:`RunInterrupted` (see :mod:`coupling.signals`).
    """
    if not isinstance(case, Case):
        case = load_case(case, overrides)
    sizes = check_limits(case)
    runner = runner_for(case.solver)
    if check:
        ctx = RunContext(comm=comm, rundir=None, show_progress=False, check_only=True)
        try:
            runner(case, ctx)
        except SetupChecked as done:
            size = {**{f"estimated_{k}": int(v) for k, v in sizes.items() if k not in done.size}, **done.size}
            return Result({"status": "checked", "case": {"name": case.name, "solver": case.solver}, "size": size})
        raise RuntimeError(f"runner of '{case.solver}' never called ctx.setup_done()")  # a bug, not input
    protect = tuple(p for p in (case.path,) if p is not None)
    rundir = RunDirectory(out, comm, force=force, protect=protect) if out is not None else None
    ctx = RunContext(comm=comm, rundir=rundir, show_progress=progress)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, message, payload = RunStatus.OK, "", RunPayload()
    with StopRequest() as stop:
        ctx.stop = stop
        try:
            payload = runner(case, ctx)
            if stop.signum is not None:  # a step loop stopped early on a signal
                status, message = RunStatus.INTERRUPTED, f"stopped by {signal.Signals(stop.signum).name}"
        except SolverDivergence as exc:
            status, message = RunStatus.DIVERGED, str(exc)
            payload = exc.result if isinstance(exc, CaseDiverged) and exc.result is not None else RunPayload()
        except Interrupted as exc:
            status, message = RunStatus.INTERRUPTED, f"stopped by {signal.Signals(exc.signum).name}"
            payload = RunPayload()
            stop.signum = exc.signum
        except BaseException:
            if rundir is not None:
                rundir.discard()
            raise
        summary = _summary(case, comm, status, message, payload, started, t0)
        out_dir = None
        if rundir is not None:
            rundir.write_json("summary.json", summary)
            out_dir = rundir.publish()
        result = Result(summary, out_dir)
    if status is RunStatus.INTERRUPTED:
        raise RunInterrupted(stop.signum, result)
    if status is not RunStatus.OK:
        raise RunDiverged(message, result)
    return result


def _summary(case: Case, comm: MPI.Comm, status: RunStatus, message: str, payload: RunPayload, started: str,
             t0: float) -> dict[str, Any]:
    """The summary.json of a run: status, the case as validated, results, solver statistics,
    timings [s] and versions."""
    return {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
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
