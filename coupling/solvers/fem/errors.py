"""Errors of the FEM solver package: bad mesh input, and a Newton solve that diverged.

The package imports none of the case machinery: a case runner translates
:class:`MeshInputError` into a one-line case error naming the case file and key.
"""

from __future__ import annotations

from typing import Any

from learned.contract import SolverDivergence


class MeshInputError(ValueError):
    """A mesh that cannot be used: ``found`` (what is wrong), ``allowed`` (what would do)."""

    def __init__(self, found: str, allowed: str = "") -> None:
        self.found, self.allowed = found, allowed
        super().__init__(found + (f"; allowed: {allowed}" if allowed else ""))


class FemDivergence(SolverDivergence):
    """A load step whose Newton iteration did not converge (or whose linear solve failed).

    result : the :class:`~coupling.solvers.fem.problem.FemResult` of the last converged load
             step (the problem's displacement is restored to it), or None before the first
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message, result)
