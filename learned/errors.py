"""User-facing errors of learned/: one line naming the file, the key path, what was found and
what is allowed (design.md §7). A CLI prints ``str(err)`` and exits with ``err.exit_code``.
"""

from __future__ import annotations

import re
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


def torch_load_fault(exc: BaseException) -> str:
    """What ``torch.load(weights_only=True)`` found wrong with a file, in a few words.

    torch's message for a file that is no checkpoint, or one holding pickled objects, is a
    paragraph that advises loading with ``weights_only=False`` (running the file's code); this
    keeps only the fault, e.g. ``not tensors, numbers and text only (Unsupported operand 103)``.
    """
    if isinstance(exc, EOFError):
        return "empty or cut short"
    if isinstance(exc, KeyError):  # the unpickler read a text or other file's bytes as a memo key: '101'
        return "not a checkpoint (neither a zip archive nor a pickle: e.g. a text file)"
    text = " ".join(ln.strip() for ln in str(exc).splitlines() if ln.strip())
    m = re.search(r"WeightsUnpickler error:\s*(.*?)\s*(Check the documentation of torch\.load.*)?$", text)
    if m:
        detail = m.group(1).strip()
        return "not tensors, numbers and text only" + (f" ({detail[:120]})" if detail else "")
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]  # torch's first sentence; the rest is advice
    return (first or type(exc).__name__)[:160]


class DataError(LearnedInputError):
    """A constitutive or joint data set (HDF5 or CSV) that cannot be used."""


class CheckpointError(LearnedInputError):
    """A model checkpoint that is missing, corrupt, or of another format / version."""


class OutputPathError(LearnedInputError):
    """An output path that would replace a file we did not write, or cannot be written."""
