"""One folder per run, staged and published atomically.

All ranks write into ``OUT.partial-<id>``; on success rank 0 renames it to ``OUT``
(replacing an older run). A failed run leaves no half-written ``OUT``; a diverged run is
published with its last good state and ``status = "diverged"`` in summary.json.

A user's file is never lost: ``OUT`` may only replace a previous run folder of this program,
recognised by the ``format`` key of its summary.json (:data:`RUN_FORMAT`). Anything else is
refused before the run starts (exit 2), unless ``force`` — and even then never a regular file,
the working folder or one of its parents, nor a folder holding the case file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from mpi4py import MPI

from learned.errors import OutputPathError
from learned.files import atomic_write, missing_folders, remove_empty

#: ``summary["format"]`` of every run folder we publish; what ``-o`` may replace.
RUN_FORMAT = "deepmanifold.run"
RUN_FORMAT_VERSION = 1


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


def strict_json(data: Any) -> Any:
    """``data`` with every non-finite float (NaN, ±inf) replaced by ``None``: strict JSON."""
    import math

    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(v) for v in data]
    try:
        import numpy as np

        if isinstance(data, np.ndarray):
            return strict_json(data.tolist())
        if isinstance(data, np.generic):
            return strict_json(data.item())
    except ImportError:  # pragma: no cover
        pass
    return data


def write_json(path: Path, data: dict) -> None:
    """Strict JSON (no NaN/Infinity tokens: a non-finite number is written as null)."""
    text = json.dumps(strict_json(data), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + "\n")


def is_run_folder(path: Path) -> bool:
    """A folder holding a summary.json that one of our runs wrote."""
    summary = Path(path) / "summary.json"
    try:
        if not Path(path).is_dir() or not summary.is_file() or summary.stat().st_size > 64 << 20:
            return False
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == RUN_FORMAT


def check_output_folder(final: Path, force: bool = False, protect: tuple[Path, ...] = (),
                        option: str = "-o", replaceable: bool = True) -> list[Path]:
    """Refuse an output folder that would replace anything but a previous run folder
    (and, with ``replaceable``, one that publishing could not replace: :func:`check_replaceable`).

    Returns the parent folders the run has to create (removed again if it fails).
    """
    final = Path(final)
    allowed = "a new folder, or a previous run folder of deepmanifold"
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        from learned.files import what_is

        raise OutputPathError(option, None, f"'{final}' is {what_is(final)}, not a run folder", allowed)
    if final.is_dir():
        resolved = final.resolve()
        cwd = Path.cwd().resolve()
        guarded = [cwd, *cwd.parents, Path.home().resolve()]
        if resolved in guarded or resolved.parent == resolved:
            raise OutputPathError(option, None, f"'{final}' is the working folder, one of its parents or home",
                                  allowed)
        for p in protect:
            try:
                inside = Path(p).resolve().is_relative_to(resolved)
            except OSError:
                inside = False
            if inside:
                raise OutputPathError(option, None, f"'{final}' holds the input file '{p}'", allowed)
        if not force and not is_run_folder(final):
            raise OutputPathError(option, None, f"'{final}' is an existing folder that is not a run folder",
                                  allowed + " (--force replaces any other folder)")
        if replaceable:
            check_replaceable(final, option)
    return missing_folders(final, option)


def check_replaceable(folder: Path, option: str = "-o") -> None:
    """Refuse, before the run, an existing folder that publishing could not move aside and
    empty: one this process may not write (permissions, a read-only file system, an immutable
    folder), or one in a sticky folder (/tmp) that belongs to another user. Before session 16
    such a folder was found only at the end of the run, as a traceback (exit 1) with the
    run's files left in ``OUT.partial-<id>``."""
    import stat

    folder = Path(folder)
    allowed = "a new folder, or a previous run folder you can write to"
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(option, None, f"'{folder}' is not writable (publishing replaces it)", allowed)
    try:
        own, parent = folder.stat(), folder.resolve().parent.stat()
    except OSError as exc:
        raise OutputPathError(option, None, f"'{folder}' cannot be read ({exc.strerror})", allowed) from None
    euid = os.geteuid() if hasattr(os, "geteuid") else 0
    if parent.st_mode & stat.S_ISVTX and euid not in (0, own.st_uid, parent.st_uid):
        raise OutputPathError(option, None, f"'{folder}' belongs to another user in a sticky folder "
                              "(publishing could not move it aside)", allowed)


class RunDirectory:
    """Stage a run's files and publish them as ``final`` in one rename."""

    def __init__(self, final: str | Path, comm: MPI.Comm = MPI.COMM_WORLD, *, force: bool = False,
                 protect: tuple[Path, ...] = ()) -> None:
        self.final = Path(final)
        self.comm = comm
        self.force = force
        self.protect = tuple(protect)
        self.created: list[Path] = []
        error: Exception | None = None
        token = None
        if comm.rank == 0:
            token = uuid.uuid4().hex[:8]
            try:
                self.created = check_output_folder(self.final, force, self.protect)
                self.path = self.final.with_name(f"{self.final.name}.partial-{token}")
                self.path.mkdir(parents=True, exist_ok=False)
            except OutputPathError as exc:
                error = exc
            except OSError as exc:
                remove_empty(self.created)
                error = OutputPathError("-o", None, f"cannot create '{self.final}' ({exc.strerror})",
                                        "a path in a folder you can write to")
        token, error, self.created = comm.bcast((token, error, self.created), root=0)
        if error is not None:
            raise error
        self.path = self.final.with_name(f"{self.final.name}.partial-{token}")
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
        error = None
        if self.comm.rank == 0:
            old = None
            try:
                # a folder that became unwritable during the run: the OSError below keeps the files
                check_output_folder(self.final, self.force, self.protect, replaceable=False)
            except OutputPathError as exc:  # something appeared there during the run
                error = exc
            if error is None:
                try:
                    if self.final.is_dir():
                        old = self.final.with_name(f"{self.final.name}.old-{uuid.uuid4().hex[:8]}")
                        os.replace(self.final, old)
                    os.replace(self.path, self.final)
                except OSError as exc:  # checked before the run; a change during it lands here
                    if old is not None and not self.final.exists():
                        with contextlib.suppress(OSError):
                            os.replace(old, self.final)  # the previous run folder back in place
                    old = None
                    error = OutputPathError("-o", None, f"cannot publish '{self.final}' ({exc.strerror}); "
                                            f"this run's files are kept in '{self.path}'",
                                            "a new folder, or a previous run folder you can write to")
            else:
                shutil.rmtree(self.path, ignore_errors=True)
                remove_empty(self.created)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        error = self.comm.bcast(error, root=0)
        if error is not None:
            raise error
        return self.final

    def discard_alone(self) -> None:
        """Remove the staged folder from this rank alone (no collective: the other ranks may be
        busy elsewhere; see :func:`coupling.runner.fail_collectively`)."""
        shutil.rmtree(self.path, ignore_errors=True)
        remove_empty(self.created)

    def discard(self) -> None:
        """Remove the staged folder (collective)."""
        self.comm.barrier()
        if self.comm.rank == 0:
            shutil.rmtree(self.path, ignore_errors=True)
            remove_empty(self.created)
        self.comm.barrier()
