"""What a solver runner gets from the orchestrator: communicator, output folder, progress."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from mpi4py import MPI

from coupling.output.progress import Progress, progress_bar
from coupling.output.rundir import RunDirectory


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

    @property
    def is_root(self) -> bool:
        """Whether this is rank 0."""
        return self.comm.rank == 0

    def progress(self, total: float, description: str) -> AbstractContextManager[Progress]:
        """A progress bar (shown on rank 0 when progress is on)."""
        return progress_bar(total, description, enabled=self.show_progress and self.is_root)

    def log(self, message: str) -> None:
        """Print a message to stderr (rank 0, when progress is on)."""
        if self.is_root and self.show_progress:
            import sys

            print(message, file=sys.stderr)
