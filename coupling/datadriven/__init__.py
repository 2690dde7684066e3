"""Data-driven solvers: equilibrium states closest to a material manifold or data set."""

from coupling.datadriven.projectors import ExactLinearProjector, LawProjector, NearestDataProjector, Projector
from coupling.datadriven.solver import DataDrivenProblem, DataDrivenResult

__all__ = [
    "DataDrivenProblem",
    "DataDrivenResult",
    "ExactLinearProjector",
    "LawProjector",
    "NearestDataProjector",
    "Projector",
]
