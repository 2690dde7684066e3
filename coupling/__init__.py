"""coupling — case files, CLI, run orchestration and the FEM continuum.

Python API::

    import coupling
    case = coupling.load_case("cases/cantilever.toml", overrides={"mesh.cells": [80, 8]})
    result = coupling.run(case, out="results/cantilever")
    result.summary["results"]["probes"]["tip_deflection"]["value"]
"""

from coupling.signals import keep_signals_from_petsc

keep_signals_from_petsc()  # before anything imports petsc4py: PETSc must not own SIGINT/SIGTERM

from coupling.case.loader import Case, load_case  # noqa: E402
from coupling.errors import CaseError, SolverDivergence  # noqa: E402
from coupling.runner import Result, RunDiverged, RunInterrupted, run  # noqa: E402

__all__ = ["Case", "CaseError", "Result", "RunDiverged", "RunInterrupted", "SolverDivergence", "load_case", "run"]
