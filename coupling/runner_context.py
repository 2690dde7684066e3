"""What a solver runner gets from the orchestrator: communicator, output folder, progress."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from mpi4py import MPI

from coupling.output.progress import Progress, progress_bar
from coupling.output.rundir import RunDirectory


@dataclass
class RunContext:
    comm: MPI.Comm = field(default_factory=lambda: MPI.COMM_WORLD)
    rundir: RunDirectory | None = None
    show_progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    stage_problem: Any = None

    @property
    def is_root(self) -> bool:
        return self.comm.rank == 0

    def progress(self, total: float, description: str) -> AbstractContextManager[Progress]:
        return progress_bar(total, description, enabled=self.show_progress and self.is_root)

    def log(self, message: str) -> None:
        if self.is_root and self.show_progress:
            import sys

            print(message, file=sys.stderr)
