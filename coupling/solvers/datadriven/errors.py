"""Errors of the data-driven solver package."""

from __future__ import annotations

from typing import Any

from learned.contract import SolverDivergence


class DataDrivenDivergence(SolverDivergence):
    """The fixed point (ε*, σ*) ← project(mechanical state) did not converge.

    result : the :class:`~coupling.solvers.datadriven.solver.DataDrivenResult` of the last
             iterate (the problem's fields hold that state)
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message, result)
