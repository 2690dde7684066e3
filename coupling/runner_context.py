"""What a solver runner gets from the orchestrator: communicator, output folder, progress."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from mpi4py import MPI

from coupling.output.progress import Progress, RunLog, progress_bar
from coupling.output.rundir import RunDirectory


class SetupChecked(Exception):
    """Raised by :meth:`RunContext.setup_done` under ``check``: the set-up ran, nothing is solved."""

    def __init__(self, size: dict[str, Any]) -> None:
        super().__init__("set-up checked")
        self.size = size


@dataclass
class RunPayload:
    """What a runner returns (and a diverged runner carries in :class:`coupling.errors.CaseDiverged`).

    results : key results for summary.json (probes with references and errors, maxima, …)
    solver  : solver statistics (DOFs, iterations, residual histories, timings [s], …)
    files   : files written into the run folder, relative to it
    """

    results: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass
class RunContext:
    """Communicator, output folder (None: write nothing) and progress switch of one run."""

    comm: MPI.Comm = field(default_factory=lambda: MPI.COMM_WORLD)
    rundir: RunDirectory | None = None
    show_progress: bool = True
    check_only: bool = False
    stop: Any = None  # coupling.signals.StopRequest while a run is under way
    verbosity: int = 1  # 0 quiet, 1 normal, 2 verbose
    runlog: RunLog | None = None  # run.log of the run folder (rank 0)
    restart: Any = None  # coupling.restart.Checkpoint to continue from (run --restart)
    initial_guess: Any = None  # path of a field surrogate: FEM Newton starts from its prediction
    #: whether a poll (:meth:`stop_requested`) ended the runner's loop before its end: the run is
    #: then published as "interrupted"; a signal that arrives after the last poll (while the
    #: complete run writes its files) leaves the status "ok"
    stopped: bool = False

    def setup_done(self, **size: Any) -> None:
        """Every runner calls this after its set-up (meshes, blocks, covers, boundaries, files,
        devices, probes, monitored groups), just before the first solve; ``size`` describes
        the problem (dofs, cells, blocks, ...). Under ``check`` it ends the run here."""
        if self.check_only:
            raise SetupChecked(size)

    def stop_requested(self) -> bool:
        """Collective: whether a SIGINT/SIGTERM arrived on any rank (a runner stops at a step
        boundary and returns its last complete step)."""
        if self.stop is None:
            return False
        stop = bool(self.comm.allreduce(int(self.stop.signum is not None), op=MPI.MAX))
        self.stopped = self.stopped or stop
        return stop

    @property
    def is_root(self) -> bool:
        """Whether this is rank 0."""
        return self.comm.rank == 0

    def progress(self, total: float, description: str, unit: str = "") -> AbstractContextManager[Progress]:
        """A bar on a terminal, plain lines in batch, lines in run.log (see coupling.output.progress)."""
        return progress_bar(total, description, enabled=self.show_progress and self.is_root,
                            log=self.runlog if self.is_root else None, verbosity=self.verbosity, unit=unit)

    def log(self, message: str) -> None:
        """A message for run.log, echoed on stderr unless quiet (rank 0)."""
        if not self.is_root:
            return
        if self.runlog is not None:
            self.runlog.line(message, echo=self.show_progress)
        elif self.show_progress:
            import sys

            print(message, file=sys.stderr)
