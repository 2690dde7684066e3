"""coupling — case files, CLI, run orchestration and the FEM continuum.

Python API::

    import coupling
    case = coupling.load_case("cases/cantilever.toml", overrides={"mesh.cells": [80, 8]})
    result = coupling.run(case, out="results/cantilever")
    result.summary["results"]["probes"]["tip_deflection"]["value"]
"""

from coupling.case.loader import Case, load_case
from coupling.errors import CaseError, SolverDivergence
from coupling.runner import Result, RunDiverged, run

__all__ = ["Case", "CaseError", "Result", "RunDiverged", "SolverDivergence", "load_case", "run"]
