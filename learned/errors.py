"""User-facing errors of learned/: one line naming the file, the key path, what was found and
what is allowed (design.md §7). A CLI prints ``str(err)`` and exits with ``err.exit_code``.
"""

from __future__ import annotations

from pathlib import Path


class LearnedInputError(ValueError):
    """Base class: bad input file for the learned package (data set or checkpoint)."""

    exit_code = 2

    def __init__(self, path: str | Path | None, key: str | None, found: str, allowed: str = "") -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        self.found = found
        self.allowed = allowed
        super().__init__(self.line())

    def __reduce__(self):  # picklable (sent between MPI ranks)
        return (type(self), (self.path, self.key, self.found, self.allowed))

    def line(self) -> str:
        """``file: key: found; allowed: ...`` on one line."""
        where = ": ".join(p for p in (self.path, self.key) if p)
        text = self.found + (f"; allowed: {self.allowed}" if self.allowed else "")
        return (f"{where}: {text}" if where else text).replace("\n", " ")


class DataError(LearnedInputError):
    """A constitutive or joint data set (HDF5 or CSV) that cannot be used."""


class CheckpointError(LearnedInputError):
    """A model checkpoint that is missing, corrupt, or of another format / version."""


class OutputPathError(LearnedInputError):
    """An output path that would replace a file we did not write, or cannot be written."""
