"""One folder per run, staged and published atomically.

All ranks write into ``OUT.partial-<id>``; on success rank 0 renames it to ``OUT``
(replacing an older run). A failed run leaves no half-written ``OUT``; a diverged run is
published with its last good state and ``status = "diverged"`` in summary.json.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from mpi4py import MPI

from learned.files import atomic_write


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, then rename."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


class RunDirectory:
    """Stage a run's files and publish them as ``final`` in one rename."""

    def __init__(self, final: str | Path, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        self.final = Path(final)
        self.comm = comm
        token = comm.bcast(uuid.uuid4().hex[:8] if comm.rank == 0 else None, root=0)
        self.path = self.final.with_name(f"{self.final.name}.partial-{token}")
        if comm.rank == 0:
            self.path.mkdir(parents=True, exist_ok=False)
        comm.barrier()

    def file(self, name: str) -> Path:
        """The path of ``name`` inside the run folder being written."""
        return self.path / name

    def write_json(self, name: str, data: dict) -> None:
        """Rank 0 writes ``name`` atomically."""
        if self.comm.rank == 0:
            write_json(self.path / name, data)

    def publish(self) -> Path:
        """Move the staged folder to its final name (collective)."""
        self.comm.barrier()
        if self.comm.rank == 0:
            old = None
            if self.final.exists():
                old = self.final.with_name(f"{self.final.name}.old-{uuid.uuid4().hex[:8]}")
                os.replace(self.final, old)
            os.replace(self.path, self.final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.comm.barrier()
        return self.final

    def discard(self) -> None:
        """Remove the staged folder (collective)."""
        self.comm.barrier()
        if self.comm.rank == 0:
            shutil.rmtree(self.path, ignore_errors=True)
        self.comm.barrier()
