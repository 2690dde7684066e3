"""What a solver runner gets from the orchestrator: communicator, output folder, progress."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from mpi4py import MPI

from coupling.output.progress import Progress, RunLog, progress_bar
from coupling.output.rundir import RunDirectory


@dataclass
class RunContext:
    comm: MPI.Comm = field(default_factory=lambda: MPI.COMM_WORLD)
    rundir: RunDirectory | None = None
    show_progress: bool = True
    verbosity: int = 1  # 0 quiet, 1 normal, 2 verbose
    runlog: RunLog | None = None  # run.log of the run folder (rank 0)
    extra: dict[str, Any] = field(default_factory=dict)
    stage_problem: Any = None

    @property
    def is_root(self) -> bool:
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
