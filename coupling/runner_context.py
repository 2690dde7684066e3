"""What a solver runner gets from the orchestrator: communicator, output folder, progress."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from mpi4py import MPI

from coupling.output.progress import Progress, progress_bar
from coupling.output.rundir import RunDirectory


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
