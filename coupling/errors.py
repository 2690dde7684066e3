"""User-facing errors: one line naming the file, the key path, what was found and what is allowed."""

from __future__ import annotations

from pathlib import Path


class CaseError(Exception):
    """Bad input in a case file (or a --set override). The CLI prints it and exits with 2."""

    exit_code = 2

    def __init__(self, file: str | Path | None, key: str | None, found: str, allowed: str = "") -> None:
        self.file = str(file) if file is not None else None
        self.key = key
        self.found = found
        self.allowed = allowed
        super().__init__(self.line())

    def __reduce__(self):  # picklable (sent between MPI ranks)
        return (type(self), (self.file, self.key, self.found, self.allowed))

    def line(self) -> str:
        """``file: key: found; allowed: ...`` on one line."""
        where = ": ".join(p for p in (self.file, self.key) if p)
        text = self.found + (f"; allowed: {self.allowed}" if self.allowed else "")
        return f"{where}: {text}" if where else text


# One divergence type for every solver (FEM, data-driven, NMM, DDA); defined in learned/,
# the package every solver may import. A run that catches it keeps its last good state.
from learned.contract import SolverDivergence  # noqa: E402,F401  (re-exported)


class CaseDiverged(SolverDivergence):
    """Raised by a case runner when its solver diverged; ``result`` is the
    :class:`coupling.runner_context.RunPayload` of the last good state (or None), which the
    orchestrator publishes."""
