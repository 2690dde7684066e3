"""User-facing input errors of the NMM solver.

Every bad input raises :class:`InputError` naming the key path, what was found and what
is allowed, so a case runner can print one line (design.md §7) and exit with status 2.
"""

from __future__ import annotations

from typing import Any

from learned.contract import SolverDivergence as _SolverDivergence


class InputError(ValueError):
    """Bad NMM input: ``key`` (e.g. ``"cracks[0].points"``), ``found``, ``allowed``."""

    exit_code = 2

    def __init__(self, key: str, found: str, allowed: str = "") -> None:
        self.key = key
        self.found = found
        self.allowed = allowed
        text = f"{key}: {found}" + (f"; allowed: {allowed}" if allowed else "")
        super().__init__(text)


class SolverDivergence(_SolverDivergence):
    """A Newton / open–close iteration that did not converge.

    result      : the last converged :class:`nmm.NMMResult` (None before the first load step)
    load_factor : the load factor of that result (0 before the first load step)
    """

    def __init__(self, message: str, result: Any = None, load_factor: float = 0.0) -> None:
        super().__init__(message, result)
        self.load_factor = float(load_factor)
