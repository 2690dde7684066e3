"""Data-driven solvers: equilibrium states closest to a material manifold or data set."""

from coupling.solvers.datadriven.errors import DataDrivenDivergence
from coupling.solvers.datadriven.projectors import ExactLinearProjector, LawProjector, NearestDataProjector, Projector
from coupling.solvers.datadriven.solver import DataDrivenProblem, DataDrivenResult, DataDrivenStats

__all__ = [
    "DataDrivenDivergence",
    "DataDrivenProblem",
    "DataDrivenResult",
    "DataDrivenStats",
    "ExactLinearProjector",
    "LawProjector",
    "NearestDataProjector",
    "Projector",
]
