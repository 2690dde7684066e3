"""Run orchestration: case → solver runner → one published output folder with summary.json."""

from __future__ import annotations

import datetime as _dt
import signal
import sys
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from mpi4py import MPI

from coupling.case.common import material_planes
from coupling.case.loader import Case, load_case, with_overrides
from coupling.case.registry import runner_for
from coupling.errors import CaseDiverged, CaseError, SolverDivergence
from coupling.output.progress import RunLog
from coupling.output.provenance import command_line, versions
from coupling.output.rundir import RUN_FORMAT, RUN_FORMAT_VERSION, RunDirectory
from coupling.output.units import result_units
from coupling.limits import check_limits
from coupling.runner_context import RunContext, RunPayload, SetupChecked
from coupling.runners.reporting import mark_references, mark_sif_references
from coupling.signals import Interrupted, StopRequest
from learned.data_region import outside_count, unavailable


class RunStatus(str, Enum):
    """How a run ended, as written to summary.json."""

    OK = "ok"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"


@dataclass
class Result:
    """What a run produced: the summary (as written to summary.json) and where it lies.

    summary : dict, as summary.json: ``results`` (probes: value in the unit of its quantity,
              ux/uy [m], sxx/syy/sxy/von_mises [Pa]; reference, relative_error [-]), ``solver``
              (statistics), ``case`` (the validated input, SI units), ``timings`` [s], ``versions``
    out_dir : the run folder (None when run with ``out=None``)
    :meth:`fields` gives the arrays of a field output step (points (n, 3) [m], displacement
    (n, 3) [m], stress components per cell [Pa]; DDA: the block frame, one polygon cell per
    block).
    """

    summary: dict[str, Any]
    out_dir: Path | None = None

    @property
    def status(self) -> str:
        """``ok`` or ``diverged``."""
        return self.summary["status"]

    @property
    def results(self) -> dict[str, Any]:
        """The key results (probes, references, errors, maxima): what the case reports."""
        return self.summary["results"]

    @property
    def not_resolved(self) -> dict[str, Any]:
        """The results the case names in its ``not_resolved`` key (computed, not resolved to the
        2 % its reported results are; the case's ``accuracy`` says by how much they move): {} for
        most cases. ``{**result.results, **result.not_resolved}`` is everything the run computed."""
        return self.summary.get("not_resolved", {})

    def field_steps(self) -> list[tuple[float, Path]]:
        """(timestep, file) of every field output step of the run folder, in order: fields.pvd
        (FEM, data-driven, NMM; timestep = load factor or time [s]) or, for DDA, blocks.pvd (the
        block frames; timestep = time [s]); [] without a run folder or with ``output.fields = false``."""
        import re

        if self.out_dir is None:
            return []
        index = next((self.out_dir / n for n in ("fields.pvd", "blocks.pvd") if (self.out_dir / n).is_file()), None)
        if index is None:
            return []
        text = index.read_text(encoding="utf-8")
        return [(float(t), self.out_dir / f) for t, f in re.findall(r'timestep="([^"]+)"[^>]*file="([^"]+)"', text)]

    def fields(self, step: int = -1):
        """The field arrays of one output step (default: the last) as a ``meshio.Mesh``:
        ``points`` (n, 3) [m], ``point_data["displacement"]`` (n, 3) [m], ``cell_data`` of the
        named stress components [Pa] (see :mod:`coupling.output.fields_vtu`). DDA: the block
        frame, one polygon per block with ``cell_data`` ``displacement`` of its centroid (n_blocks, 3)
        [m], ``velocity`` [m/s], ``rotation_rate`` [rad/s], ``stress`` (σxx, σyy, τxy) [Pa], … (docs/cases.md)."""
        import meshio

        steps = self.field_steps()
        if not steps:
            raise FileNotFoundError("this run wrote no fields (no run folder, or output.fields = false)")
        return meshio.read(steps[step][1])


def computed_results(summary: dict[str, Any]) -> dict[str, Any]:
    """Every result a run computed, from its summary (summary.json as a dict): ``results`` (what
    the case reports) with ``not_resolved`` (what it computes and does not resolve; its case's
    ``not_resolved`` key) merged in. Studies of a case's resolution and ensemble tables read these."""
    return {**(summary.get("results") or {}), **(summary.get("not_resolved") or {})}


def _open_runlog(rundir: RunDirectory | None, comm: MPI.Comm, verbosity: int,
                 previous: Path | None = None) -> tuple[RunLog | None, bool]:
    """run.log in the staged run folder, written by rank 0 (None elsewhere / without a folder).

    ``previous``: the run folder a restart continues from; its run.log (the interrupted run's
    lines) is copied in first, so that the restarted run's log holds the whole history (before
    session 19 it replaced it). Returns the log and whether it holds such lines."""
    if rundir is None or comm.rank != 0:
        return None, False
    from coupling.restart import carry_run_log

    file = open(rundir.file("run.log"), "w", encoding="utf-8")
    carried = previous is not None and carry_run_log(previous, file)
    return RunLog(file, sys.stderr, verbosity), carried


class RunDiverged(SolverDivergence):
    """Raised by :func:`run` after a diverged run was published with its last good state."""

    def __init__(self, message: str, result: Result) -> None:
        super().__init__(message, result)


class RunInterrupted(Interrupted):
    """Raised by :func:`run` after an interrupted run (SIGINT/SIGTERM) was published with its
    last complete step and ``status = "interrupted"``; also after a signal that arrived once
    the last step was done (the run published complete, ``status = "ok"``), so that a caller's
    loop over runs stops as asked."""

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
    verbosity: int = 1,
    restart: str | Path | None = None,
    initial_guess: str | Path | None = None,
) -> Result:
    """Run a case (a :class:`Case`, a path or a shipped case name) and return its :class:`Result`.

    Units are SI throughout (m, kg, s, Pa; the case file's units): probe values are [m] for
    ux/uy and [Pa] for stresses, field arrays (``Result.fields()``) are points (n, 3) [m],
    displacement (n, 3) [m], cell stresses (n_cells,) [Pa]; DDA histories in history.h5 are
    per step (n_steps, n_blocks, 2) [m].

    ``overrides`` ({"key.path": value} or ["key.path=value", …]) apply to any of them and are
    validated like the case file (a Case is not changed: the run uses a validated copy).

    With ``out`` the run writes one folder (summary.json, run.log, fields, plots), atomically.
    ``progress`` shows progress on stderr (rank 0): a bar on a terminal, plain lines in batch;
    ``verbosity`` 2 prints them ten times as often (``-v``).
    Bad input raises :class:`coupling.CaseError`; a diverged solve publishes the last good
    state and raises :class:`RunDiverged` (its ``.result`` holds the summary).
    An existing ``out`` must be a previous run folder (``force``: any folder but one holding
    the case file, the working folder or its parents); see :mod:`coupling.output.rundir`.

    ``check``: everything a run does before its first solve (sizes estimated against
    ``[limits]``, meshes, blocks, covers, boundaries, files, devices, probes, monitored
    groups), nothing solved or written; the Result's ``summary["size"]`` describes the problem.

    SIGINT/SIGTERM during the run publish the last complete step with ``status =
    "interrupted"`` and raise :class:`RunInterrupted` (see :mod:`coupling.signals`).

    ``restart``: a run folder of the same case (same rank count) holding a restart checkpoint
    (``output.restart_every_steps`` / ``restart_every_seconds``, DDA and dynamic NMM): the run continues from
    its last checkpointed step and ends with the state an uninterrupted run ends with
    (see :mod:`coupling.restart`); without ``out`` it publishes over that folder (a killed run's
    ``OUT.partial-<id>``: to ``OUT``). Its run.log starts with that folder's run.log, then a
    ``restart: from DIR at step N`` line. Once a complete run (status ok) is published to ``OUT``,
    a killed run's ``OUT.partial-<id>`` it restarted from is removed
    (:func:`coupling.restart.remove_restarted_stage`).

    ``initial_guess``: a field surrogate (FEM static cases, one load step): Newton starts from
    its displacement at the case's parameters and stops at the cold start's absolute accuracy
    (see :mod:`coupling.ensemble.warm_start`); summary.json ``solver.initial_guess``.
    """
    if not isinstance(case, Case):
        case = load_case(case, overrides)
    else:  # overrides given with a Case: applied and validated again, never ignored
        case = with_overrides(case, overrides)
    sizes = check_limits(case)
    runner = runner_for(case.solver)
    if check:
        ctx = RunContext(comm=comm, rundir=None, show_progress=False, check_only=True)
        try:
            runner(case, ctx)
        except SetupChecked as done:
            size = {**{f"estimated_{k}": int(v) for k, v in sizes.items() if k not in done.size}, **done.size}
            return Result({"status": "checked", "case": {"name": case.name, "solver": case.solver}, "size": size})
        except BaseException as exc:
            fail_collectively(comm, exc, None)
            raise
        raise RuntimeError(f"runner of '{case.solver}' never called ctx.setup_done()")  # a bug, not input
    if initial_guess is not None:
        from coupling.ensemble.warm_start import check_case, load

        check_case(case)
        load(initial_guess)  # a bad file is refused before anything is written
    checkpoint = None
    if restart is not None:
        from coupling.restart import OPTION, load_for_run, output_for

        if not (case.solver == "dda" or (case.solver == "nmm" and case.spec.nmm.dynamic)):
            what = "a static NMM case" if case.solver == "nmm" else f"a '{case.solver}' case"
            raise CaseError(None, OPTION, what, "a DDA case or a dynamic NMM case (nmm.duration)")
        checkpoint = load_for_run(restart, case, comm)
        if out is None:
            out = output_for(Path(restart))
    protect = tuple(p for p in (case.path,) if p is not None)
    rundir = RunDirectory(out, comm, force=force, protect=protect) if out is not None else None
    runlog, carried = _open_runlog(rundir, comm, verbosity if progress else 0,
                          previous=None if checkpoint is None else checkpoint.folder)
    ctx = RunContext(comm=comm, rundir=rundir, show_progress=progress, verbosity=verbosity, runlog=runlog,
                     restart=checkpoint, initial_guess=None if initial_guess is None else str(initial_guess))
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    if runlog is not None:
        if checkpoint is not None:  # after the interrupted run's lines (times below count from the restart)
            runlog.line(f"restart: from {checkpoint.folder} at step {checkpoint.step}, t = {checkpoint.time:.9g} s"
                        + (" (the lines above are its run.log)" if carried else ""))
        runlog.line(f"command: {command_line()}")
        runlog.line(f"case: {case.path or case.name} (solver {case.solver}), {comm.size} rank(s), started {started}")
        if case.overrides:
            runlog.line(f"overrides: {case.overrides}")
        runlog.line("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    status, message, payload = RunStatus.OK, "", RunPayload()
    with StopRequest() as stop:
        ctx.stop = stop
        try:
            payload = runner(case, ctx)
            if ctx.stopped:  # a step loop stopped early on a signal (the same on every rank)
                stop.signum = comm.allreduce(stop.signum or 0, op=MPI.MAX)  # the signal may have hit one rank
                status, message = RunStatus.INTERRUPTED, f"stopped by {signal.Signals(stop.signum).name}"
            elif stop.signum is not None and runlog is not None:  # after the last step: the run is complete
                runlog.line(f"{signal.Signals(stop.signum).name} received after the last step: the run is complete")
        except SolverDivergence as exc:
            status, message = RunStatus.DIVERGED, str(exc)
            payload = exc.result if isinstance(exc, CaseDiverged) and exc.result is not None else RunPayload()
        except Interrupted as exc:
            status, message = RunStatus.INTERRUPTED, f"stopped by {signal.Signals(exc.signum).name}"
            payload = RunPayload()
            stop.signum = exc.signum
        except BaseException as exc:
            if runlog is not None:
                runlog.close()
            fail_collectively(comm, exc, rundir)
            raise
        ood = out_of_distribution(case, comm)
        strict = [(key, r) for key, r in ood.items() if r.get("policy") == "error" and outside_count(r) > 0]
        if strict:  # the case asked for strictness: bad input, nothing published
            if runlog is not None:
                runlog.close()
            if rundir is not None:
                rundir.discard()
            key, r = strict[0]
            raise case.error(f"{key}.out_of_distribution", _ood_text(key, r),
                             "inputs inside the training data (or out_of_distribution = \"warn\" | \"ignore\")")
        if comm.rank == 0:
            for key, r in ood.items():
                if r.get("policy") == "warn" and outside_count(r) > 0:
                    print(f"warning: {_ood_text(key, r)}", file=sys.stderr, flush=True)
        if payload.results.get("probes"):  # does the case's reference apply to this run's overrides?
            mark_references(getattr(case.spec, "probes", []), case.overrides, payload.results)
        if payload.results.get("sif"):  # the same for the crack tips' K references (NMM)
            mark_sif_references(case.overrides, payload.results)
        summary = _summary(case, comm, status, message, payload, started, t0, with_runlog=rundir is not None,
                           ood=ood)
        if runlog is not None:
            runlog.line(f"status: {status.value}" + (f" ({message})" if message else "")
                        + f" after {summary['timings']['total_s']:.1f} s; files: {', '.join(summary['files'])}")
            runlog.close()
        out_dir = None
        if rundir is not None:
            rundir.write_json("summary.json", summary)
            out_dir = rundir.publish()
            if checkpoint is not None and status is RunStatus.OK and comm.rank == 0:
                from coupling.restart import remove_restarted_stage

                removed = remove_restarted_stage(checkpoint.folder, out_dir)
                if removed and progress and verbosity > 0:
                    print(f"restart: removed '{checkpoint.folder}' (the killed run's staged folder; the complete "
                          f"run is '{out_dir}')", file=sys.stderr, flush=True)
        result = Result(summary, out_dir)
    if status is RunStatus.INTERRUPTED or stop.signum is not None:  # a late signal: the run is complete
        raise RunInterrupted(stop.signum, result)  # (status ok), yet a caller's loop (ensemble) must stop
    if status is not RunStatus.OK:
        raise RunDiverged(message, result)
    return result


#: how long a rank that failed inside a runner waits for the other ranks to fail too [s]
FAILURE_AGREEMENT_S = 10.0


def fail_collectively(comm: MPI.Comm, exc: BaseException, rundir: RunDirectory | None) -> None:
    """The error path of a runner, safe when only some ranks raise.

    The failing ranks post a non-blocking barrier (it matches only theirs) and wait up to
    :data:`FAILURE_AGREEMENT_S`. If every rank arrives (the same bad input or divergence seen
    by all), the staged folder is discarded collectively and the exception propagates as
    usual. If not, the other ranks are still inside the solve, waiting in a collective this
    rank will never join: this rank removes the staged folder itself, prints its error on
    one line (``error: …``; a traceback for a bug) and calls ``MPI_Abort`` with the exit
    status the CLI would give (2 bad input, 3 divergence, 128 + signal, 1 otherwise), which
    ends every rank instead of hanging.
    """
    if comm.size == 1:
        if rundir is not None:
            rundir.discard()
        return
    request = comm.Ibarrier()
    deadline = time.monotonic() + FAILURE_AGREEMENT_S
    while not request.Test():
        if time.monotonic() > deadline:
            if rundir is not None:
                rundir.discard_alone()
            _abort_alone(comm, exc)
        time.sleep(0.01)
    if rundir is not None:
        rundir.discard()


def _abort_alone(comm: MPI.Comm, exc: BaseException) -> None:
    """Print ``exc`` the way the CLI would (from this rank) and abort every rank."""
    import traceback

    from learned.errors import LearnedInputError

    if isinstance(exc, (CaseError, LearnedInputError)):
        code, text = exc.exit_code, f"error: {exc.line()} (on rank {comm.rank} only)"
    elif isinstance(exc, SolverDivergence):
        code, text = 3, f"error: {exc} (on rank {comm.rank} only)"
    elif isinstance(exc, Interrupted):
        code, text = exc.exit_code, f"error: interrupted by {exc} (on rank {comm.rank} only)"
    else:
        code = 1
        text = "".join(traceback.format_exception(exc)).rstrip() + f"\nerror: rank {comm.rank} failed alone"
    print(text, file=sys.stderr, flush=True)
    # mpiexec forwards each rank's stderr through its proxy; MPI_Abort kills the ranks at once
    # and can beat the forwarding of the line just written (seen under load: exit 2, empty
    # stderr). A moment for the proxy to drain it costs nothing on an error path.
    time.sleep(1.0)
    comm.Abort(code)


def _summary(case: Case, comm: MPI.Comm, status: RunStatus, message: str, payload: RunPayload, started: str,
             t0: float, with_runlog: bool = False, ood: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary.json of a run: status, the case as validated, results and their units
    (:mod:`coupling.output.units`), solver statistics, timings [s] and versions."""
    return {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "status": status.value,
        "message": message,
        "case": {
            "file": str(case.path) if case.path else None,
            "name": case.name,
            "title": case.spec.title,
            "accuracy": case.spec.accuracy,
            "solver": case.solver,
            "overrides": case.overrides,
            "input": case.spec.model_dump(mode="json"),
            "planes": material_planes(case, case.learned_laws),
        },
        "results": {k: v for k, v in payload.results.items() if k not in case.spec.not_resolved},
        # computed and not resolved to the accuracy the case states (the case's not_resolved key)
        **({"not_resolved": {k: v for k, v in payload.results.items() if k in case.spec.not_resolved}}
           if set(case.spec.not_resolved) & set(payload.results) else {}),
        "units": result_units(payload.results)[0],
        "solver": {**payload.solver, "mpi_ranks": comm.size},
        **({"out_of_distribution": ood} if ood else {}),
        "timings": {"started": started, "total_s": comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)},
        "files": ["summary.json", *(["run.log"] if with_runlog else []), *payload.files],
        "versions": versions(),
        "command": command_line(),
    }


def out_of_distribution(case: Case, comm: MPI.Comm) -> dict[str, Any]:
    """Out-of-distribution counts of every learned law of the case, summed over the ranks.

    Per law (table key → dict): policy, points_last / outside_last (the last batch each rank
    evaluated — the converged state), outside_max, worst_excursion and worst_quantity (see
    :mod:`learned.data_region`); over the run's accepted steps (what strictness and the
    warning judge, :func:`learned.data_region.outside_count`): accepted_steps,
    accepted_steps_outside, outside_accepted_max (summed over ranks: on several ranks an upper
    bound, as each rank's largest count may come from a different step),
    worst_excursion_accepted / worst_quantity_accepted; ``available: false`` for checkpoints
    without a data region.
    """
    out: dict[str, Any] = {}
    for key, (law, policy) in sorted(case.learned_laws.items()):
        report = (law.out_of_distribution_report() if hasattr(law, "out_of_distribution_report")
                  else unavailable("this learned law keeps no data region: its evaluations are not checked"))
        reports = comm.allgather(report)
        if not all(r.get("available") for r in reports):
            out[key] = {"policy": policy, **reports[0]}
            continue
        worst = max(reports, key=lambda r: r["worst_excursion"])
        worst_accepted = max(reports, key=lambda r: r["worst_excursion_accepted"])
        out[key] = {
            "policy": policy,
            "points_last": sum(r["points_last"] for r in reports),
            "outside_last": sum(r["outside_last"] for r in reports),
            "outside_max": sum(r["outside_max"] for r in reports),
            "worst_excursion": worst["worst_excursion"],
            "worst_quantity": worst["worst_quantity"],
            "evaluations": max(r["evaluations"] for r in reports),
            "accepted_steps": max(r["accepted_steps"] for r in reports),
            "accepted_steps_outside": max(r["accepted_steps_outside"] for r in reports),
            "outside_accepted_max": sum(r["outside_accepted_max"] for r in reports),
            "worst_excursion_accepted": worst_accepted["worst_excursion_accepted"],
            "worst_quantity_accepted": worst_accepted["worst_quantity_accepted"],
            "region": worst["region"],
            "excursion": worst["excursion"],
        }
    return out


def _ood_text(key: str, r: dict[str, Any]) -> str:
    """One line: where the law left its data (accepted states when the solver accepted steps)."""
    if r.get("accepted_steps", 0) > 0:
        return (f"{key}: learned law evaluated outside its training data in {r['accepted_steps_outside']} of "
                f"{r['accepted_steps']} accepted steps, at up to {r['outside_accepted_max']} points at once "
                f"(worst excursion {r['worst_excursion_accepted']:.3g} of the data "
                f"range, in {r['worst_quantity_accepted']})")
    return (f"{key}: learned law evaluated outside its training data at {r['outside_last']} of "
            f"{r['points_last']} points (worst excursion {r['worst_excursion']:.3g} of the data range, "
            f"in {r['worst_quantity']})")
