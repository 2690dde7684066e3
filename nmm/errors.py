"""User-facing input errors of the NMM solver.

Every bad input raises :class:`InputError` naming the key path, what was found and what
is allowed, so a case runner can print one line (design.md §7) and exit with status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad NMM input: ``key`` (e.g. ``"cracks[0].points"``), ``found``, ``allowed``."""

    exit_code = 2

    def __init__(self, key: str, found: str, allowed: str = "") -> None:
        self.key = key
        self.found = found
        self.allowed = allowed
        text = f"{key}: {found}" + (f"; allowed: {allowed}" if allowed else "")
        super().__init__(text)


class SolverDivergence(RuntimeError):
    """A Newton / open–close iteration that did not converge."""
